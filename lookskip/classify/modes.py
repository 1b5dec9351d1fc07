"""Classification modes: which model decides a line (``lookskip classify --model MODE``).

* ``tfidf``: the exported TF-IDF model alone (the default; fastest);
* ``transformer``: the transformer export's ``p_look`` for every line;
* ``cascade``: TF-IDF at a low threshold finds candidates, the transformer decides them;
* ``blend``: :func:`blend` of the two probabilities.

All four score in Rust (``rust/src/modes.rs``): the transformer (candle) is plugged in
where a distinct template key gets its probability, behind the key cache, so each
distinct transformer input is scored once per run, and once ever with the persistent
score cache (:mod:`lookskip.transformer.scorecache`). Claude's answers and the keyword
floor apply in every mode. :class:`lookskip.classify.scorer.Scorer` loads a mode.
"""

from __future__ import annotations

import os
from typing import Any

MODES = ("tfidf", "transformer", "cascade", "blend")
DEFAULT_MODE = "tfidf"
# cascade: TF-IDF's (low, high-recall) threshold for the transformer's candidates
DEFAULT_CANDIDATE_THRESHOLD = 0.2


class ModeError(RuntimeError):
    """A transformer mode cannot run (no export, an extension without BERT)."""


def blend(p_tfidf: float, p_transformer: float) -> float:
    """The blend mode's rule, twin of ``modes::blend`` in Rust: the mean. The blend's
    threshold is the same rule applied to the two models' thresholds."""
    return 0.5 * (p_tfidf + p_transformer)


def is_mode(value: Any) -> bool:
    """Whether ``--model``'s value names a mode (else it is a model file path)."""
    return value in MODES


def transformer_choice(bert_model: str | None = None) -> tuple[str, str]:
    """The transformer export a mode loads and where that choice came from: ``--bert-model``,
    else the data dir's export (``<models_dir>/transformer/export``, what
    ``lookskip export-transformer`` writes), else the shipped ``data/models/transformer/``."""
    from lookskip import storage
    from lookskip.settings import get_settings
    from lookskip.shipped import shipped_file
    from lookskip.transformer.export import EXPORT_SUBDIR
    from lookskip.transformer.train import MODEL_SUBDIR

    if bert_model:
        return bert_model, "given"
    own = storage.join(get_settings().models_dir, MODEL_SUBDIR, EXPORT_SUBDIR)
    if storage.exists(storage.join(own, "model.safetensors")):
        return own, "the data dir's export"
    shipped = shipped_file("models/transformer/model.safetensors")
    if shipped is not None:
        return str(shipped.parent), "the shipped transformer"
    return own, "the data dir's export"


def load_transformer(module: Any, export_dir: str, device: str, threads: int) -> tuple[Any, str]:
    """``lookskip_rs.BertClassifier`` of ``export_dir`` and the export's hash (what
    its persistent scores are filed under), or :class:`ModeError` saying why not. An
    export in the object store is read through a temporary local copy."""
    from lookskip import storage
    from lookskip.transformer.scorecache import export_hash

    if module is None or not hasattr(module, "BertClassifier"):
        raise ModeError(
            "the transformer modes need the Rust extension lookskip_rs built with BERT "
            "(cargo feature `bert`); run scripts/setup"
        )
    with storage.local_dir(export_dir) as local:
        if not os.path.exists(os.path.join(local, "model.safetensors")):
            raise ModeError(
                f"no transformer export in {export_dir}; run `lookskip train-transformer` "
                "and `lookskip export-transformer` (or pass --bert-model)"
            )
        bert = module.BertClassifier(local, device=device, threads=threads)
        return bert, export_hash(local)


def mode_options(
    model: str | None,
    *,
    tfidf_model: str | None = None,
    bert: bool = False,
    bert_model: str | None = None,
    tfidf_threshold: float | None = None,
    bert_threshold: float | None = None,
    score_cache: bool = True,
) -> tuple[str | None, dict[str, Any]]:
    """``classify``'s options as ``(model file path or None, load_scorer's mode options)``.

    ``model`` is ``--model``: a mode name, or a TF-IDF model file path (mode ``tfidf``,
    or ``cascade`` with ``bert``, the older spelling of ``--model cascade``);
    ``tfidf_model`` (``--tfidf-model``) names the TF-IDF model file beside a mode name.
    The local command and the classify workers both read their options through here.
    """
    mode = DEFAULT_MODE
    if is_mode(model):
        mode, model = str(model), tfidf_model
    elif tfidf_model:
        if model:
            raise ValueError(
                "--tfidf-model goes with --model MODE (--model PATH already names the model file)"
            )
        model = tfidf_model
    if bert:
        if mode not in (DEFAULT_MODE, "cascade"):
            raise ValueError(f"--bert means --model cascade; it cannot go with --model {mode}")
        mode = "cascade"
    if mode == DEFAULT_MODE:
        return model, {}
    return model, {
        "mode": mode,
        "bert_model": bert_model,
        "bert_threshold": bert_threshold,
        "candidate_threshold": tfidf_threshold,
        "score_cache": score_cache,
    }
