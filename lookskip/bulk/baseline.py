"""A run's triage from classify's options, and baselines read from classify inputs.

In the bulk layer because a baseline is read from inputs as classify reads them
(files, directories, archives, URLs: :mod:`lookskip.bulk.lines`); what a triage *is*
(:class:`~lookskip.classify.triage.Triage`) stays in ``lookskip.classify``, below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lookskip.bulk.lines import input_lines
from lookskip.classify.triage import (
    WHY_TOP,
    Triage,
    load_baseline,
    require_rust,
    rust_module,
)


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
    rs = rust_module(scorer)
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
