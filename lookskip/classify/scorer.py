"""The one loaded model behind every classify path: the Rust extension, or the numpy reference.

``lookskip classify`` (one file or many), the bulk runs, the ``classify`` task, the
cascade and ``lookskip validate --model`` all load the model here (``load_scorer``)
and score through ``Scorer.predict_proba`` (a file into memory:
``lookskip.classify.local.classify_file``).

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

    def __init__(
        self,
        model: Any,
        json_fields: Sequence[str] | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ):
        from lookskip.classify.jsonlog import JSON_FIELDS

        self.model = model
        self.threshold = float(model.threshold)
        self.threads = 1
        self.max_line_bytes = max_line_bytes  # the bulk loop's cap, as the Rust engine's
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
    """One loaded model file, whichever backend scores it, in one mode.

    ``engine`` is the ``lookskip_rs.Classifier`` (``backend == "rust"``) or a
    ``ReferenceEngine``; both answer ``predict_proba(lines)``, and the bulk layer hands
    the Rust one whole units (``lookskip.bulk.scan``). A transformer ``mode``
    (:mod:`lookskip.classify.modes`) loads the transformer export into the Rust engine,
    with the persistent scores of that export (``score_cache``); call
    :meth:`save_scores` when a run (or a unit, on a worker) is done.
    """

    def __init__(
        self,
        model_path: str,
        threads: int = 0,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        allow_fallback: bool = True,
        json_fields: Sequence[str] | None = None,
        mode: str = "tfidf",
        bert_model: str | None = None,
        bert_threshold: float | None = None,
        candidate_threshold: float | None = None,
        score_cache: bool = True,
    ):
        from lookskip.classify.modes import DEFAULT_CANDIDATE_THRESHOLD, MODES, ModeError

        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} ({', '.join(MODES)})")
        if not storage.exists(model_path):
            raise FileNotFoundError(missing_model_message(model_path, "given"))
        self.model_path = model_path
        self.max_line_bytes = max_line_bytes
        self.mode = mode
        self.bert_model: str | None = None
        self.score_cache: Any = None
        self.score_cache_error: str | None = None
        module, why = rust_module()
        self.fallback_reason = why
        started = time.perf_counter()
        if mode != "tfidf" and module is None:
            raise ModeError(f"--model {mode} needs the Rust extension lookskip_rs ({why})")
        if module is not None:
            self.backend = "rust"
            options: dict[str, Any] = {}
            if mode != "tfidf":
                options = self._transformer_options(
                    module, mode, bert_model, bert_threshold, threads, score_cache
                )
                options["candidate_threshold"] = check_threshold(
                    DEFAULT_CANDIDATE_THRESHOLD
                    if candidate_threshold is None
                    else candidate_threshold,
                    "--tfidf-threshold",
                )
            with storage.local_copy(model_path) as path:  # Rust reads local files only
                self.engine: Any = module.Classifier(
                    path,
                    threads=threads,
                    max_line_bytes=max_line_bytes,
                    json_fields=json_fields,
                    **options,
                )
            if self.score_cache is not None:
                self._load_scores()
        elif allow_fallback:
            from lookskip.model.reference import ReferenceModel

            self.backend = "reference"
            self.engine = ReferenceEngine(
                ReferenceModel.load(model_path), json_fields, max_line_bytes
            )
        else:
            raise RuntimeError(f"the Rust extension lookskip_rs is unavailable: {why}")
        self.threshold = check_threshold(self.engine.threshold, f"{model_path}: threshold")
        self.threads = int(self.engine.threads)
        self.load_seconds = time.perf_counter() - started

    def _transformer_options(
        self,
        module: Any,
        mode: str,
        bert_model: str | None,
        bert_threshold: float | None,
        threads: int,
        score_cache: bool,
    ) -> dict[str, Any]:
        """Load the transformer export of a mode: the engine's keyword arguments."""
        from lookskip.classify.modes import load_transformer, transformer_choice
        from lookskip.transformer.scorecache import ScoreCache, cache_path

        settings = get_settings()
        export_dir, _ = transformer_choice(bert_model)
        bert, model_hash = load_transformer(module, export_dir, settings.device, threads)
        self.bert_model = export_dir
        if score_cache:
            if storage.is_local(settings.cache_dir):
                self.score_cache = ScoreCache(cache_path(settings.cache_dir, model_hash))
            else:
                self.score_cache_error = "the data dir is not local"
        thr = (
            None if bert_threshold is None else check_threshold(bert_threshold, "--bert-threshold")
        )
        return {"mode": mode, "bert": bert, "bert_threshold": thr}

    def _load_scores(self) -> None:
        import sqlite3

        try:
            self.engine.load_transformer_scores(self.score_cache.load())
        except (OSError, sqlite3.Error) as exc:
            self.score_cache_error = f"{self.score_cache.path}: {exc}"
            self.score_cache = None

    def save_scores(self) -> int:
        """Add the transformer scores computed since the last call to the persistent
        score cache; returns how many were new there (0 without a cache). A cache that
        cannot be written is dropped with ``score_cache_error`` set: it only saves time."""
        import sqlite3

        if self.score_cache is None:
            return 0
        try:
            return self.score_cache.add(self.engine.take_transformer_scores())
        except (OSError, sqlite3.Error) as exc:
            self.score_cache_error = f"{self.score_cache.path}: {exc}"
            self.score_cache = None
            return 0

    def transformer_stats(self) -> dict[str, Any] | None:
        """The transformer's counters (``scored``: inputs the encoder actually scored);
        None in ``tfidf`` mode."""
        fn = getattr(self.engine, "transformer_stats", None)
        return None if fn is None else fn()

    def predict_proba(self, lines: Sequence[str | bytes]) -> Any:
        """``p_look`` per line (str, or bytes decoded lossily), the mode's."""
        return self.engine.predict_proba(list(lines))


def load_scorer(
    model_path: str | None = None,
    threads: int | None = None,
    allow_reference: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    json_fields: Sequence[str] | None = None,
    **mode_options: Any,
) -> Scorer:
    """Load the model for scoring (default: ``model_choice``); ``threads`` 0
    means all cores, None the ``LOOKSKIP_THREADS`` setting. ``json_fields``: the
    message fields of JSON-lines logs (None: ``jsonlog.JSON_FIELDS``; empty: off).
    ``mode_options``: :class:`Scorer`'s ``mode``, ``bert_model``, ``bert_threshold``,
    ``candidate_threshold``, ``score_cache``."""
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
        **mode_options,
    )
