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
    expand: Callable[..., Any] | None = None,
) -> tuple[Any, list[str]]:
    """The template keys of every line of ``inputs`` as a ``lookskip_rs.Baseline``,
    and the errors of inputs that could not be read (the rest are still read).

    Lines are cut as classify cuts them (``split_lines``, the scorer's line cap) and
    keyed on their scored text, so a baseline line and a classified line with the
    same key are the same pattern. ``on_source(name, lines)`` after each source;
    ``expand`` as in :func:`~lookskip.bulk.lines.input_lines`.
    """
    from lookskip.bulk.lines import input_lines

    rs = _rust(scorer)
    clf = scorer.engine
    baseline = rs.Baseline(clf)
    errors: list[str] = []
    read: dict[str, int] = {}
    cap = int(scorer.max_line_bytes)
    for name, lines in input_lines(inputs, include, exclude, cap, errors, expand):
        if lines is not None:
            baseline.add_lines(clf, lines)
            read[name] = read.get(name, 0) + len(lines)
            continue
        baseline.add_source(name)
        if on_source:
            on_source(name, read.pop(name, 0))
    return baseline, errors


def load_baseline(scorer: Any, path: str) -> Any:
    """A baseline saved by ``--save-baseline``, checked against the model's key rules
    (a local path or a URL: the Rust side reads a local copy)."""
    from lookskip import storage

    rs = _rust(scorer)
    with storage.local_copy(path) as local:
        return rs.Baseline.load(local, scorer.engine)


def make_triage(
    scorer: Any,
    *,
    why: bool = False,
    baseline_inputs: Sequence[str] = (),
    baseline_file: str | None = None,
    only_new: bool = False,
    events: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    expand: Callable[..., Any] | None = None,
) -> tuple[Triage, list[str]]:
    """The run's :class:`Triage` from classify's options, and the errors of baseline
    inputs that could not be read (the rest of the baseline is still used).

    One definition for ``lookskip classify`` and the workers' plan task, so an option
    means the same on both: ``--baseline-file`` and ``--baseline`` merge into one
    baseline; ``--why`` gives the top ``WHY_TOP`` contributions.
    """
    baseline = load_baseline(scorer, baseline_file) if baseline_file else None
    errors: list[str] = []
    if baseline_inputs:
        built, errors = build_baseline(scorer, baseline_inputs, include, exclude, expand=expand)
        if baseline is not None:
            built.merge(baseline)
        baseline = built
    triage = Triage(why=WHY_TOP if why else 0, baseline=baseline, only_new=only_new, events=events)
    require_rust(scorer, triage)
    return triage, errors


def triage_run_info(triage: Triage) -> dict[str, Any]:
    """What ``summary.json``'s ``run`` records of the triage (the report reads it)."""
    return {
        "why": triage.why,
        "baseline_keys": None if triage.baseline is None else len(triage.baseline),
        "only_new": triage.only_new,
        "events": triage.events,
    }
