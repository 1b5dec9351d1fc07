"""Triage: what a LOOK row says beyond *that* a line matters.

* ``why``: the top contributions to the row's score (``[term, weight]``: word and
  char n-grams, handcrafted features, ``look_floor``), computed by the Rust
  classifier for LOOK rows only (``Classifier.explain``), so a run that does not
  ask pays nothing.
* ``new``: the row's template key occurs nowhere in a baseline of good runs
  (logjuicer's idea: read a failed run against good ones, report what is new).
  Month and weekday names are masked in baseline keys (``baseline.rs``
  ``baseline_key``): they say when, not what, and would make every dated line new.
  :func:`build_baseline` reads baseline inputs (files, directories, archives, as
  classify inputs) into a ``lookskip_rs.Baseline`` (64-bit key hashes), which
  ``save`` keeps as a small reusable file (``--save-baseline``, ``--baseline-file``).
* ``event_end`` / ``event``: continuation lines joined to their event
  (:mod:`lookskip.classify.events`).

:class:`Triage` carries the choice through every classify path to the Rust calls
(``classify_file``, ``classify_unit``), whose keyword arguments it produces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

WHY_TOP = 5  # contributions per row: enough to read, few enough to scan


@dataclass(frozen=True)
class Triage:
    """What LOOK rows add; the default adds nothing (and costs nothing)."""

    why: int = 0
    baseline: Any = None  # lookskip_rs.Baseline
    only_new: bool = False
    events: bool = False

    @property
    def active(self) -> bool:
        return bool(self.why or self.baseline is not None or self.events)

    def rust_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``Classifier.classify_file`` / ``classify_unit``."""
        if not self.active:
            return {}
        return {
            "why": self.why,
            "baseline": self.baseline,
            "only_new": self.only_new and self.baseline is not None,
            "events": self.events,
        }


NO_TRIAGE = Triage()


def require_rust(scorer: Any, triage: Triage) -> None:
    """Triage is computed by the Rust classifier; refuse it clearly without one."""
    if triage.active and getattr(scorer, "backend", "rust") != "rust":
        raise RuntimeError(
            "--why, --baseline and --events need the Rust extension lookskip_rs "
            f"({getattr(scorer, 'fallback_reason', None) or 'not in use'})"
        )


def explain_rows(scorer: Any, texts: Sequence[str], top: int = WHY_TOP) -> list[dict[str, Any]]:
    """``{"why": …, "why_model": "tfidf"}`` per text: the TF-IDF model's explanation,
    for rows another model (the BERT cascade) scored, labeled as TF-IDF's."""
    require_rust(scorer, Triage(why=top))
    return [{"why": w, "why_model": "tfidf"} for w in scorer.engine.explain(list(texts), top)]


def _rust(scorer: Any) -> Any:
    import lookskip_rs

    if getattr(scorer, "backend", None) != "rust":
        raise RuntimeError(
            "a baseline needs the Rust extension lookskip_rs "
            f"({getattr(scorer, 'fallback_reason', None) or 'not in use'})"
        )
    return lookskip_rs


def build_baseline(
    scorer: Any,
    inputs: Sequence[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    on_source: Callable[[str, int], Any] | None = None,
) -> tuple[Any, list[str]]:
    """The template keys of every line of ``inputs`` as a ``lookskip_rs.Baseline``,
    and the errors of inputs that could not be read (the rest are still read).

    Lines are cut as classify cuts them (``split_lines``, the scorer's line cap) and
    keyed on their scored text, so a baseline line and a classified line with the
    same key are the same pattern. ``on_source(name, lines)`` after each source.
    """
    from lookskip.bulk.lines import input_lines

    rs = _rust(scorer)
    clf = scorer.engine
    baseline = rs.Baseline(clf)
    errors: list[str] = []
    read: dict[str, int] = {}
    for name, lines in input_lines(inputs, include, exclude, int(scorer.max_line_bytes), errors):
        if lines is not None:
            baseline.add_lines(clf, lines)
            read[name] = read.get(name, 0) + len(lines)
            continue
        baseline.add_source(name)
        if on_source:
            on_source(name, read.pop(name, 0))
    return baseline, errors


def load_baseline(scorer: Any, path: str) -> Any:
    """A baseline saved by ``--save-baseline``, checked against the model's key rules."""
    rs = _rust(scorer)
    return rs.Baseline.load(path, scorer.engine)
