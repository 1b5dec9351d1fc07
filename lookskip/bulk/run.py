"""The two ways to run a bulk classification: here (local) or as units on workers.

Local: each source's units run one after the other here (the classifier spreading
each batch over all cores) and rows go straight to the output with their global line
numbers. Distributed: :func:`plan` cuts the sources into units, workers run
:func:`lookskip.bulk.parts.run_unit` on each, and :func:`merge_all` (the chord
callback) writes the outputs. Both read the same units the same way, so both give
the same output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from lookskip import storage
from lookskip.bulk.chunks import DEFAULT_CHUNK_BYTES, Unit, plan_units
from lookskip.bulk.inputs import InputError, Source, output_relpath
from lookskip.bulk.merge import FileSummary, merge_units, remove_output
from lookskip.bulk.parts import Discard, local_target, remove_parts
from lookskip.bulk.report import write_report
from lookskip.bulk.scan import Engine, UnitResult, classify_unit_to
from lookskip.bulk.staging import staged_output
from lookskip.bulk.summary import build_summary, write_summary
from lookskip.classify.rows import row_prefix
from lookskip.classify.scorer import DEFAULT_MAX_LINE_BYTES, pick_threshold
from lookskip.classify.triage import NO_TRIAGE, Triage, triage_run_info
from lookskip.progress import RunProgress, exact_bytes_total

# With events a file is one unit: an event may straddle any cut.
WHOLE_FILE = 1 << 62


def classify_source_local(
    source: Source,
    output_dir: str,
    scorer: Engine,
    threshold: float,
    max_look: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: RunProgress | None = None,
    triage: Triage = NO_TRIAGE,
) -> FileSummary:
    """Classify one source here, unit after unit, into ``<file>.look.jsonl`` (atomically).

    The units are those a distributed run would send to workers; here each one's line
    offset is already known when it starts, so rows get their global numbers at once
    and go straight to the output (no parts, no merge).
    """
    rel = output_relpath(source)
    out_url = storage.join(output_dir, rel)
    prefix = row_prefix(source.row_file)
    results: list[UnitResult] = []
    try:
        with local_target(out_url) as tmp:
            lines = written = 0
            whole = WHOLE_FILE if triage.events else chunk_bytes
            for unit in plan_units(source, whole):
                room = None if max_look is None else max(0, max_look - written)
                res = classify_unit_to(
                    unit,
                    scorer,
                    threshold,
                    tmp,
                    prefix=prefix,
                    line_offset=lines,
                    append=True,
                    max_look=room,
                    triage=triage,
                    progress=progress,
                )
                results.append(res)
                if res.error:
                    raise Discard
                lines += res.lines
                written += res.written
    except Discard:
        remove_output(out_url)  # never leave an earlier run's output looking current
    return FileSummary.collect(source, results, rel)


def finish_run(
    files: list[FileSummary],
    input_errors: Sequence[InputError],
    output_dir: str,
    started: float,
    report: bool = True,
    **run: Any,
) -> dict[str, Any]:
    """Write ``summary.json`` (and ``report.html``) for a finished run; returns the summary."""
    summary = build_summary(files, input_errors, time.time() - started, **run)
    write_summary(output_dir, summary)
    if report:
        write_report(summary, output_dir)
    return summary


def run_local(
    sources: Sequence[Source],
    input_errors: Sequence[InputError],
    output_dir: str,
    scorer: Engine,
    threshold: float,
    max_look: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: RunProgress | None = None,
    on_file: Callable[[FileSummary], Any] | None = None,
    report: bool = True,
    triage: Triage = NO_TRIAGE,
    **run: Any,
) -> dict[str, Any]:
    """Classify ``sources`` here into ``output_dir``, staged (:mod:`lookskip.bulk.staging`):
    the previous run's files there are replaced only once this run has finished."""
    started = time.time()
    files = []
    if progress is not None:
        progress.set_totals(len(sources), exact_bytes_total(sources))
    with staged_output(output_dir) as stage:
        for source in sources:
            fr = classify_source_local(
                source, stage, scorer, threshold, max_look, chunk_bytes, progress, triage
            )
            files.append(fr)
            if progress is not None:
                progress.file_done(failed=bool(fr.errors))
            if on_file:
                on_file(fr)
        summary = finish_run(
            files,
            input_errors,
            stage,
            started,
            report=report,
            mode="local",
            threshold=threshold,
            max_look=max_look,
            **run,
        )
    return summary


def plan(sources: Sequence[Source], chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[list[Unit]]:
    """The units of every source (stdin cannot be sent to a worker)."""
    for s in sources:
        if s.kind == "stdin":
            raise ValueError("stdin ('-') can only be classified locally")
    return [plan_units(s, chunk_bytes) for s in sources]


def merge_all(
    units_by_source: Sequence[Sequence[Unit]],
    parts_dir: str,
    output_dir: str,
    input_errors: Sequence[InputError],
    started: float,
    max_look: int | None = None,
    report: bool = True,
    keep_parts: bool = False,
    **run: Any,
) -> dict[str, Any]:
    """Merge every source's parts into its output, then write the summary and report,
    all staged: the previous run's files are replaced once the merge has finished."""
    with staged_output(output_dir) as stage:
        files = [
            merge_units(list(units), parts_dir, stage, max_look)
            for units in units_by_source
            if units
        ]
        summary = finish_run(
            files,
            input_errors,
            stage,
            started,
            report=report,
            mode="distributed",
            max_look=max_look,
            **run,
        )
    if not keep_parts:
        remove_parts(parts_dir)
    return summary


def classify_inputs(
    inputs: Sequence[str],
    output_dir: str,
    *,
    model_path: str | None = None,
    threads: int | None = None,
    threshold: float | None = None,
    max_look: int | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    report: bool = True,
    on_start: Callable[[Any, Any], Any] | None = None,
    progress: RunProgress | None = None,
    on_file: Callable[[FileSummary], Any] | None = None,
    loaded: Any = None,
    triage: Triage = NO_TRIAGE,
) -> dict[str, Any]:
    """``lookskip classify``: expand the inputs, load the model, classify, summarize.

    ``on_start(loaded scorer, expansion)`` runs once the work is known (progress bars);
    ``progress`` is kept current from the first byte read (poll its ``snapshot``).
    ``loaded``: a scorer already loaded (the one a baseline was built with).
    """
    from lookskip.bulk.inputs import expand_inputs
    from lookskip.classify.scorer import load_scorer
    from lookskip.classify.triage import require_rust

    if loaded is None:
        loaded = load_scorer(model_path, threads, max_line_bytes=max_line_bytes)
    require_rust(loaded, triage)
    exp = expand_inputs(inputs, include, exclude, skip=[output_dir])
    if on_start:
        on_start(loaded, exp)
    thr = pick_threshold(threshold, loaded.threshold)
    return run_local(
        exp.sources,
        exp.errors,
        output_dir,
        loaded.engine,
        thr,
        max_look,
        chunk_bytes,
        progress,
        on_file,
        report,
        triage,
        backend=loaded.backend,
        model=loaded.model_path,
        threads=loaded.threads,
        max_line_bytes=max_line_bytes,
        **triage_run_info(triage),
        **mode_run_info(loaded),
    )


def mode_run_info(loaded: Any) -> dict[str, Any]:
    """What summary.json's ``run`` records of a transformer mode, as ``scored_by`` (its
    ``mode`` is local or distributed); nothing for tfidf."""
    mode = getattr(loaded, "mode", "tfidf")
    if mode == "tfidf":
        return {}
    return {"scored_by": mode, "transformer": loaded.bert_model}
