"""TF-IDF → BERT cascade: the fast model finds candidates, BERT decides.

TF-IDF scores every line at over a million lines a second but is imprecise; BERT
is precise but thousands of times slower. Run TF-IDF at a *low* threshold (high
recall: it should miss almost no LOOK line), then let BERT re-score only the lines
TF-IDF flagged — a few percent of a typical log — and keep those BERT calls LOOK.
A line TF-IDF calls LOOK and BERT calls SKIP is *demoted*; the summary counts how
many lines BERT saw and how many it demoted, so a user can see what the second
stage bought.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookskip.classify.scorer import check_threshold, pick_threshold

DEFAULT_TFIDF_THRESHOLD = 0.2
DEFAULT_BATCH_SIZE = 32


class CascadeError(RuntimeError):
    """The BERT half of the cascade cannot run (no export, extension without BERT)."""


def load_bert(export_dir: str, device: str = "auto", threads: int = 0) -> InputCache:
    """``lookskip_rs.BertClassifier`` for ``export_dir`` behind an :class:`InputCache`,
    or a clear error why not. An export in the object store is loaded through a
    temporary local copy.
    """
    from lookskip import storage

    with storage.local_dir(export_dir) as local:
        return _load_bert_local(export_dir, local, device, threads)


def _load_bert_local(export_dir: str, local: str, device: str, threads: int) -> InputCache:

    if not os.path.exists(os.path.join(local, "model.safetensors")):
        raise CascadeError(
            f"no BERT export in {export_dir}; run `lookskip train-transformer` "
            "and `lookskip export-transformer` (or pass --bert-model)"
        )
    try:
        import lookskip_rs
    except ImportError as exc:
        raise CascadeError(
            f"the Rust extension lookskip_rs is not built ({exc}); run scripts/setup"
        ) from exc
    if not hasattr(lookskip_rs, "BertClassifier"):
        raise CascadeError(
            "lookskip_rs was built without BERT (cargo feature `bert`); rebuild with scripts/setup"
        )
    bert = lookskip_rs.BertClassifier(local, device=device, threads=threads)
    with open(os.path.join(local, "config.json"), encoding="utf-8") as f:
        inputs = json.load(f).get("lookskip_inputs", "lines")
    return InputCache(bert, inputs)


class InputCache:
    """A BERT classifier that scores each distinct model input once.

    Most lines of a log repeat a template, so a run sees far fewer distinct inputs
    than lines; each is scored once and remembered (bounded by ``max_entries``; when
    full, the memory starts over — exact either way). An export trained on template
    keys (``lookskip_inputs: keys`` in its config.json) reads
    ``lookskip.transformer.inputs.model_input(line)``, so that transform is applied
    here, once for every path that scores lines with it.
    """

    def __init__(self, bert: Any, inputs: str = "lines", max_entries: int = 1 << 20):
        if inputs not in ("lines", "keys"):
            raise CascadeError(f"unknown lookskip_inputs {inputs!r} in the export (lines or keys)")
        self.bert, self.inputs, self.max_entries = bert, inputs, max_entries
        self.memo: dict[str, float] = {}
        self.scored = 0  # encoder calls (distinct inputs scored)

    @property
    def threshold(self) -> float:
        return float(self.bert.threshold)

    def predict_proba(self, lines: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE):
        if self.inputs == "keys":
            from lookskip.transformer.inputs import model_inputs

            texts = model_inputs(lines)
        else:
            texts = list(lines)
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            if len(self.memo) + len(todo) > self.max_entries:
                self.memo.clear()
            probs = self.bert.predict_proba(todo, batch_size=batch_size)
            self.memo.update(zip(todo, (float(p) for p in probs), strict=True))
            self.scored += len(todo)
        return np.fromiter((self.memo[t] for t in texts), dtype=np.float64, count=len(texts))


@dataclass
class Cascade:
    """The two loaded models of a cascade run and BERT's threshold."""

    tfidf: Any  # a lookskip.classify.scorer.Scorer
    bert: InputCache
    bert_threshold: float


def open_cascade(
    model_path: str | None = None,
    bert_model: str | None = None,
    bert_threshold: float | None = None,
    threads: int | None = None,
    max_line_bytes: int | None = None,
) -> Cascade:
    """Load TF-IDF (``model_path``, default the configured model) and the BERT export
    (``bert_model``, default ``<models_dir>/transformer/export``); BERT's threshold is
    the export's unless given."""
    from lookskip import storage
    from lookskip.classify.scorer import DEFAULT_MAX_LINE_BYTES, load_scorer
    from lookskip.settings import get_settings
    from lookskip.transformer.export import EXPORT_SUBDIR
    from lookskip.transformer.train import MODEL_SUBDIR

    settings = get_settings()
    threads = settings.threads if threads is None else threads
    tfidf = load_scorer(
        model_path, threads, max_line_bytes=max_line_bytes or DEFAULT_MAX_LINE_BYTES
    )
    export_dir = bert_model or storage.join(settings.models_dir, MODEL_SUBDIR, EXPORT_SUBDIR)
    bert = load_bert(export_dir, device=settings.device, threads=threads)
    thr = pick_threshold(bert_threshold, bert.threshold, "--bert-threshold")
    return Cascade(tfidf, bert, thr)


@dataclass
class CascadeResult:
    """One file through the cascade; ``look_lines`` holds (line, p_tfidf, p_bert, text)."""

    path: str
    lines: int = 0
    tfidf_look: int = 0  # = lines BERT saw
    look: int = 0  # LOOK after BERT
    demoted: int = 0  # TF-IDF LOOK, BERT SKIP
    truncated: int = 0
    tfidf_seconds: float = 0.0
    bert_seconds: float = 0.0
    look_lines: list[tuple[int, float, float, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def bert_seen(self) -> int:
        return self.tfidf_look

    def totals(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "lines": self.lines,
            "tfidf_look": self.tfidf_look,
            "bert_seen": self.bert_seen,
            "look": self.look,
            "demoted": self.demoted,
            "truncated": self.truncated,
            "tfidf_seconds": self.tfidf_seconds,
            "bert_seconds": self.bert_seconds,
            "error": self.error,
        }


def rescore(
    bert: Any,
    candidates: Sequence[tuple[int, float, str]],
    bert_threshold: float,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> tuple[list[tuple[int, float, float, str]], np.ndarray]:
    """BERT P(LOOK) of TF-IDF's candidates; returns (kept rows, all BERT probabilities)."""
    if not candidates:
        return [], np.zeros(0)
    probs = np.asarray(bert.predict_proba([t for _, _, t in candidates], batch_size=batch_size))
    kept = [
        (n, p, float(q), t)
        for (n, p, t), q in zip(candidates, probs, strict=True)
        if q >= bert_threshold
    ]
    return kept, probs


def cascade_file(
    tfidf: Any,
    bert: Any,
    path: str,
    tfidf_threshold: float = DEFAULT_TFIDF_THRESHOLD,
    bert_threshold: float | None = None,
    max_look: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> CascadeResult:
    """Classify ``path``: TF-IDF (a ``Scorer``) at ``tfidf_threshold``, BERT on
    its LOOK lines. TF-IDF's candidates are held in memory (a few percent of lines)."""
    thr = pick_threshold(bert_threshold, bert.threshold, "--bert-threshold")
    check_threshold(tfidf_threshold, "--tfidf-threshold")
    started = time.perf_counter()
    first = tfidf.classify_file(path, threshold=tfidf_threshold, max_look=None)
    res = CascadeResult(
        path=path,
        lines=first.lines,
        tfidf_look=first.look,
        truncated=first.truncated,
        tfidf_seconds=time.perf_counter() - started,
    )
    t0 = time.perf_counter()
    kept, _ = rescore(bert, first.look_lines, thr, batch_size)
    res.bert_seconds = time.perf_counter() - t0
    res.look = len(kept)
    res.demoted = res.tfidf_look - res.look
    res.look_lines = kept if max_look is None else kept[:max_look]
    return res


def cascade_paths(
    tfidf: Any, bert: Any, paths: Sequence[str], on_file: Any = None, **options: Any
) -> list[CascadeResult]:
    """Each path through the cascade; a file that fails gets ``error`` and the rest go on."""
    results = []
    for path in paths:
        try:
            res = cascade_file(tfidf, bert, path, **options)
        except (OSError, ValueError) as exc:
            res = CascadeResult(path=path, error=str(exc))
        results.append(res)
        if on_file is not None:
            on_file(res)
    return results


def summarize(
    results: Sequence[CascadeResult], tfidf_threshold: float, bert_threshold: float
) -> dict[str, Any]:
    ok = [r for r in results if r.error is None]
    return {
        "tfidf_threshold": tfidf_threshold,
        "bert_threshold": bert_threshold,
        "totals": {
            "files": len(results),
            "failed": len(results) - len(ok),
            "lines": sum(r.lines for r in ok),
            "bert_seen": sum(r.bert_seen for r in ok),
            "look": sum(r.look for r in ok),
            "demoted": sum(r.demoted for r in ok),
            "tfidf_seconds": sum(r.tfidf_seconds for r in ok),
            "bert_seconds": sum(r.bert_seconds for r in ok),
        },
        "files": [r.totals() for r in results],
    }
