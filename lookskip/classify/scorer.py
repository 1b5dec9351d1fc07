"""The one loaded model behind every classify path: the Rust extension, or the numpy reference.

``lookskip classify`` (one file or many), the bulk runs, the ``classify`` task, the
cascade and ``lookskip validate --model`` all load the model here (``load_scorer``)
and score through ``Scorer.predict_proba`` / ``Scorer.classify_file``.

``lookskip_rs`` (built from ``rust/`` by ``scripts/setup``) is the fast path. When it
is not importable, or ``LOOKSKIP_NO_RUST=1`` is set (to test or to compare), the
pure-numpy :class:`~lookskip.model.reference.ReferenceModel` scores the same model
file with the same line handling, so results agree (the parity tests check it);
only speed differs, by orders of magnitude, hence the warning callers show.

Line handling, identical in both: split on ``\\n`` (a ``\\r`` before it dropped),
bytes decoded as UTF-8 with U+FFFD replacement, a line longer than
``max_line_bytes`` scored on its first ``max_line_bytes`` bytes and counted as
truncated; plain or compressed input (gzip, xz, bzip2, zstd: by magic bytes); ``-``
is stdin.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from lookskip import storage
from lookskip.classify.threshold import THRESHOLD_RULE, check_threshold, pick_threshold
from lookskip.model.files import LEARNED_FILE, MODEL_FILE
from lookskip.rust import rust_module
from lookskip.settings import get_settings
from lookskip.shipped import shipped_file

# The threshold rule lives in lookskip.classify.threshold (below this module and
# lookskip.classify.local, which both use it); its names stay importable from here.
__all__ = ["THRESHOLD_RULE", "check_threshold", "pick_threshold"]

# A longer line is scored on its first 64 KiB (and counted as truncated), here, in
# lookskip_rs and in the bulk chunker alike.
DEFAULT_MAX_LINE_BYTES = 64 << 10


def model_choice(model_path: str | None = None) -> tuple[str, str]:
    """The model file to load and where that choice came from.

    In order: ``model_path`` (``--model``), ``LOOKSKIP_MODEL_PATH``, the model learned
    from Claude's answers in the data dir (``classify --ask-claude``), the data dir's own
    ``models/look_skip_model.json.gz`` (a model trained here), else the model lookskip
    ships with: classify works from any directory, and a retrained model wins as soon
    as it is exported into the data dir.
    """
    if model_path:
        return model_path, "given"
    s = get_settings()
    if s.model_path:
        return s.model_path, "LOOKSKIP_MODEL_PATH"
    learned = storage.join(s.models_dir, LEARNED_FILE)
    if storage.exists(learned):
        return learned, "the model learned from Claude's answers"
    own = storage.join(s.models_dir, MODEL_FILE)
    if storage.exists(own):
        return own, "the data dir's model"
    shipped = shipped_file(f"models/{MODEL_FILE}")
    return (str(shipped), "the shipped model") if shipped else (own, "the data dir's model")


def missing_model_message(path: str, origin: str) -> str:
    """One line: which model is missing and what to do about it."""
    if origin == "given":
        return f"model not found: {path} (check the path of the exported model file)"
    if origin == "LOOKSKIP_MODEL_PATH":
        return f"model not found: {path} (from LOOKSKIP_MODEL_PATH; fix or unset it)"
    return (
        f"model not found: {path}, and no shipped model (a broken install?): reinstall "
        "lookskip, or `lookskip train && lookskip export` to make one"
    )


def default_model_path() -> str:
    """The model ``lookskip classify`` loads when none is given (``model_choice``)."""
    return model_choice()[0]


class ReferenceEngine:
    """The numpy reference behind the Rust classifier's ``predict_proba`` interface."""

    def __init__(self, model: Any, json_fields: Sequence[str] | None = None):
        from lookskip.classify.jsonlog import JSON_FIELDS

        self.model = model
        self.threshold = float(model.threshold)
        self.threads = 1
        self.json_fields = tuple(JSON_FIELDS if json_fields is None else json_fields)

    @property
    def n_answers(self) -> int:
        return len(self.model.answers)

    def answer(self, line: str) -> tuple[str, str] | None:
        from lookskip.classify.jsonlog import scored_text

        found = self.model.answers.find(
            self.model.template_key(scored_text(line, self.json_fields))
        )
        return None if found is None else (found.label, found.reason)

    def predict_proba(self, lines: Sequence[str | bytes]) -> Any:
        from lookskip.classify.jsonlog import scored_text

        texts = [ln.decode("utf-8", "replace") if isinstance(ln, bytes) else ln for ln in lines]
        return self.model.predict_proba_look([scored_text(t, self.json_fields) for t in texts])


class Scorer:
    """One loaded model file, whichever backend scores it.

    ``engine`` is the ``lookskip_rs.Classifier`` (``backend == "rust"``) or a
    ``ReferenceEngine``; both answer ``predict_proba(lines)``, and the bulk layer hands
    the Rust one whole units (``lookskip.bulk.scan``).
    """

    def __init__(
        self,
        model_path: str,
        threads: int = 0,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        allow_fallback: bool = True,
        json_fields: Sequence[str] | None = None,
    ):
        if not storage.exists(model_path):
            raise FileNotFoundError(missing_model_message(model_path, "given"))
        self.model_path = model_path
        self.max_line_bytes = max_line_bytes
        module, why = rust_module()
        self.fallback_reason = why
        started = time.perf_counter()
        if module is not None:
            self.backend = "rust"
            with storage.local_copy(model_path) as path:  # Rust reads local files only
                self.engine: Any = module.Classifier(
                    path,
                    threads=threads,
                    max_line_bytes=max_line_bytes,
                    json_fields=json_fields,
                )
        elif allow_fallback:
            from lookskip.model.reference import ReferenceModel

            self.backend = "reference"
            self.engine = ReferenceEngine(ReferenceModel.load(model_path), json_fields)
        else:
            raise RuntimeError(f"the Rust extension lookskip_rs is unavailable: {why}")
        self.threshold = check_threshold(self.engine.threshold, f"{model_path}: threshold")
        self.threads = int(self.engine.threads)
        self.load_seconds = time.perf_counter() - started

    def predict_proba(self, lines: Sequence[str | bytes]) -> Any:
        """``p_look`` per line (str, or bytes decoded lossily)."""
        return self.engine.predict_proba(list(lines))

    @property
    def has_answers(self) -> bool:
        """Whether the model carries Claude's answers about templates."""
        return bool(getattr(self.engine, "n_answers", 0))

    def answer_reason(self, text: str) -> str | None:
        """Claude's reason when an answer about ``text``'s template decided its label
        (rows then say ``"source": "claude"``); None otherwise."""
        if not self.has_answers:
            return None
        found = self.engine.answer(text)
        return None if found is None else found[1]

    def classify_file(
        self,
        path: str,
        threshold: float | None = None,
        max_look: int | None = None,
        output: str | None = None,
    ):
        """Classify one file, streaming; see ``lookskip.classify.local.classify_file``."""
        from lookskip.classify.local import classify_file

        return classify_file(self, path, threshold, max_look, output)


def load_scorer(
    model_path: str | None = None,
    threads: int | None = None,
    allow_reference: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    json_fields: Sequence[str] | None = None,
) -> Scorer:
    """Load the model for scoring (default: ``model_choice``); ``threads`` 0
    means all cores, None the ``LOOKSKIP_THREADS`` setting. ``json_fields``: the
    message fields of JSON-lines logs (None: ``jsonlog.JSON_FIELDS``; empty: off)."""
    threads = get_settings().threads if threads is None else threads
    path, origin = model_choice(model_path)
    if not storage.exists(path):
        raise FileNotFoundError(missing_model_message(path, origin))
    return Scorer(
        path,
        threads=threads or 0,
        max_line_bytes=max_line_bytes,
        allow_fallback=allow_reference,
        json_fields=json_fields,
    )
