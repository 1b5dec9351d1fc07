"""Triage: what a LOOK row says beyond *that* a line matters.

* ``why``: the top contributions to the row's score (``[term, weight]``: word and
  char n-grams, handcrafted features, ``look_floor``), computed by the Rust
  classifier for LOOK rows only (``Classifier.explain``), so a run that does not
  ask pays nothing.
* ``new``: the row's template key occurs nowhere in a baseline of good runs
  (logjuicer's idea: read a failed run against good ones, report what is new).
  Month and weekday names are masked in baseline keys (``baseline.rs``
  ``baseline_key``): they say when, not what, and would make every dated line new.
  :func:`lookskip.bulk.baseline.build_baseline` reads baseline inputs (files,
  directories, archives, as classify inputs) into a ``lookskip_rs.Baseline`` (64-bit
  key hashes), which ``save`` keeps as a small reusable file (``--save-baseline``,
  ``--baseline-file``); :func:`load_baseline` reads one back.
* ``event_end`` / ``event``: continuation lines joined to their event
  (:mod:`lookskip.classify.events`).

:class:`Triage` carries the choice through every classify path to the Rust calls
(``classify_file``, ``classify_unit``), whose keyword arguments it produces.
"""

from __future__ import annotations

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


def rust_module(scorer: Any) -> Any:
    """``lookskip_rs``, when ``scorer`` is its classifier (a baseline needs it)."""
    import lookskip_rs

    if getattr(scorer, "backend", None) != "rust":
        raise RuntimeError(
            "a baseline needs the Rust extension lookskip_rs "
            f"({getattr(scorer, 'fallback_reason', None) or 'not in use'})"
        )
    return lookskip_rs


def load_baseline(scorer: Any, path: str) -> Any:
    """A baseline saved by ``--save-baseline``, checked against the model's key rules
    (a local path or a URL: the Rust side reads a local copy)."""
    from lookskip import storage

    rs = rust_module(scorer)
    with storage.local_copy(path) as local:
        return rs.Baseline.load(local, scorer.engine)


def triage_run_info(triage: Triage) -> dict[str, Any]:
    """What ``summary.json``'s ``run`` records of the triage (the report reads it)."""
    return {
        "why": triage.why,
        "baseline_keys": None if triage.baseline is None else len(triage.baseline),
        "only_new": triage.only_new,
        "events": triage.events,
    }
