"""The two ways to run a bulk classification: here (local) or as units on workers.

Local: each source's units run one after the other here (the classifier spreading
each batch over all cores) and rows go straight to the output with their global line
numbers. Distributed: :func:`plan` cuts the sources into units, workers run
:func:`lookskip.bulk.parts.run_unit` on each, and :func:`merge_all` (the chord
callback) writes the outputs. Both read the same units the same way, so both give
the same output.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from lookskip import storage
from lookskip.bulk.chunks import DEFAULT_CHUNK_BYTES, Unit, plan_units
from lookskip.bulk.inputs import InputError, Source, output_relpath
from lookskip.bulk.merge import FileSummary, merge_units, remove_output
from lookskip.bulk.parts import Discard, local_target, remove_parts
from lookskip.bulk.patterns import file_patterns, pattern_rows
from lookskip.bulk.report import write_report
from lookskip.bulk.scan import (
    Engine,
    RowTarget,
    UnitResult,
    classify_unit_to,
    rust_unit_function,
    unit_lines_function,
)
from lookskip.bulk.sink import StdoutRows, copy_to_fd
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
    output_dir: str | None,
    scorer: Engine,
    threshold: float,
    max_look: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: RunProgress | None = None,
    triage: Triage = NO_TRIAGE,
    rows: StdoutRows | None = None,
) -> FileSummary:
    """Classify one source here, unit after unit, into ``<file>.look.jsonl`` (atomically)
    under ``output_dir``, or with ``rows`` to stdout (:mod:`lookskip.bulk.sink`).

    The units are those a distributed run would send to workers; here each one's line
    offset is already known when it starts, so rows get their global numbers at once
    and go straight to the output (no parts, no merge).
    """
    if rows is not None:
        rel, out_url, fmt = None, None, rows.fmt
        prefix, target = rows.prefix(source), rows.target(source)
    elif output_dir is not None:
        rel = output_relpath(source)
        out_url = storage.join(output_dir, rel)
        prefix, fmt = row_prefix(source.row_file), "jsonl"
        target = local_target(out_url)
    else:
        raise ValueError("classify_source_local needs output_dir or rows")
    results: list[UnitResult] = []
    units = plan_units(source, WHOLE_FILE if triage.events else chunk_bytes)
    at_once = _at_once(units, scorer, max_look)
    try:
        with target as tmp:
            if at_once > 1:
                results = _units_at_once(
                    units, at_once, scorer, threshold, tmp, prefix, triage, progress, fmt
                )
                if any(r.error for r in results):
                    raise Discard
                units = []
            lines = written = 0
            for unit in units:
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
                    fmt=fmt,
                )
                results.append(res)
                if res.error:
                    raise Discard
                lines += res.lines
                written += res.written
    except Discard:
        if out_url is not None:
            remove_output(out_url)  # never leave an earlier run's output looking current
    return FileSummary.collect(source, results, rel)


def _at_once(units: Sequence[Unit], scorer: Engine, max_look: int | None) -> int:
    """How many of one file's units to score at once: one per scoring thread for a
    plain local file of several units read by the extension (with ``--max-look`` the
    rows kept depend on the units before, so units go one after the other)."""
    threads = int(getattr(scorer, "threads", 1) or 1)
    if len(units) < 2 or threads < 2 or max_look is not None:
        return 1
    if rust_unit_function(scorer) is None or unit_lines_function() is None:
        return 1
    src = units[0].source
    if src.kind != "plain" or not storage.is_local(src.url):
        return 1
    return min(threads, len(units))


def _units_at_once(
    units: Sequence[Unit],
    workers: int,
    scorer: Engine,
    threshold: float,
    target: RowTarget,
    prefix: bytes,
    triage: Triage,
    progress: RunProgress | None,
    fmt: str,
) -> list[UnitResult]:
    """Score the units of one large plain file ``workers`` at a time, rows in line order.

    Why: a unit's reader and row writer run on one thread, so one large file kept
    a second core idle however many the scorer had. Each unit's lines are counted
    first (a newline count in the extension, far faster than scoring), so every unit
    knows its first line's number and writes final rows into its own spool; the
    spools are appended to ``target`` in order. A unit whose count and scored lines
    differ (the file changed between) is an error, as a file that shrank is.
    """
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    count = unit_lines_function()
    path = storage.fs_and_path(units[0].source.url)[1]
    size = units[0].source.size

    def lines_of(u: Unit) -> int:
        return count("plain", path, start=u.start, end=u.end, size=size)[0]

    with ThreadPoolExecutor(workers) as pool:
        counts = list(pool.map(lines_of, units))
    offsets = [sum(counts[:k]) for k in range(len(units))]
    with tempfile.TemporaryDirectory(prefix="lookskip-units-") as spools:

        def one(k: int) -> UnitResult:
            res = classify_unit_to(
                units[k],
                scorer,
                threshold,
                os.path.join(spools, str(k)),
                prefix=prefix,
                line_offset=offsets[k],
                triage=triage,
                fmt=fmt,
            )
            if not res.error and res.lines != counts[k]:
                res.error = f"changed while being read ({counts[k]} lines, then {res.lines})"
            if progress is not None:
                progress.unit_done(res.bytes, res.lines)
            return res

        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, range(len(units))))
        if not any(r.error for r in results):
            _append_files([os.path.join(spools, str(k)) for k in range(len(units))], target)
    return results


def _append_files(paths: Sequence[str], target: RowTarget) -> None:
    """Append the files ``paths`` to ``target`` (a path, or an open descriptor)."""
    fd = target if isinstance(target, int) else os.open(target, os.O_WRONLY)
    try:
        if not isinstance(target, int):
            os.lseek(fd, 0, os.SEEK_END)
        for p in paths:
            copy_to_fd(p, fd)
    finally:
        if not isinstance(target, int):
            os.close(fd)


def run_summary(
    files: list[FileSummary], input_errors: Sequence[InputError], started: float, **run: Any
) -> tuple[dict[str, Any], list[Any]]:
    """A finished run's summary with its LOOK templates grouped once
    (``summary["patterns"]`` in brief, for ``--summary``), and the templates themselves
    (for the report): whether the rows went to ``--output`` or to stdout."""
    summary = build_summary(files, input_errors, time.time() - started, **run)
    rows = pattern_rows(file_patterns(summary))
    summary["patterns"] = [r.brief() for r in rows]
    return summary, rows


def finish_run(
    files: list[FileSummary],
    input_errors: Sequence[InputError],
    output_dir: str,
    started: float,
    report: bool = True,
    **run: Any,
) -> dict[str, Any]:
    """Write ``summary.json`` (and ``report.html``) for a finished run; returns the summary.

    The run's LOOK templates (:func:`lookskip.bulk.patterns.pattern_rows`, from the
    aggregates the units collected) are grouped once: the report shows them, and
    ``summary["patterns"]`` keeps them in brief (``lookskip classify --summary``).
    """
    summary, rows = run_summary(files, input_errors, started, **run)
    write_summary(output_dir, summary)
    if report:
        write_report(summary, output_dir, rows)
    return summary


def run_local(
    sources: Sequence[Source],
    input_errors: Sequence[InputError],
    output_dir: str | None,
    scorer: Engine,
    threshold: float,
    max_look: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: RunProgress | None = None,
    on_file: Callable[[FileSummary], Any] | None = None,
    report: bool = True,
    triage: Triage = NO_TRIAGE,
    rows: StdoutRows | None = None,
    **run: Any,
) -> dict[str, Any]:
    """Classify ``sources`` here into ``output_dir``, staged (:mod:`lookskip.bulk.staging`):
    the previous run's files there are replaced only once this run has finished. With
    ``rows`` (and no ``output_dir``) the rows go to stdout and the summary is only
    returned: nothing is written to disk but the rows' spools."""
    started = time.time()
    files: list[FileSummary] = []
    if progress is not None:
        progress.set_totals(len(sources), exact_bytes_total(sources))

    def each(out: str | None) -> None:
        for source in sources:
            fr = classify_source_local(
                source, out, scorer, threshold, max_look, chunk_bytes, progress, triage, rows
            )
            files.append(fr)
            if progress is not None:
                progress.file_done(failed=bool(fr.errors))
            if on_file:
                on_file(fr)

    info = {"mode": "local", "threshold": threshold, "max_look": max_look, **run}
    if output_dir is None:
        if rows is None:
            raise ValueError("run_local needs output_dir or rows")
        each(None)
        return run_summary(files, input_errors, started, **info)[0]
    with staged_output(output_dir) as stage:
        each(stage)
        summary = finish_run(files, input_errors, stage, started, report=report, **info)
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
    with staged_output(output_dir, job=run.get("workflow")) as stage:
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
    output_dir: str | None,
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
    rows: StdoutRows | None = None,
) -> dict[str, Any]:
    """``lookskip classify``: expand the inputs, load the model, classify, summarize.

    Every input goes this way, a plain file too (one whole-file unit, or a few of
    ``chunk_bytes``): into ``output_dir``, or with ``rows`` (and ``output_dir``
    None) to stdout.

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
    exp = expand_inputs(inputs, include, exclude, skip=[output_dir] if output_dir else [])
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
        rows,
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
