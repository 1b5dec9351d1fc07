"""Classify one file into memory (:func:`classify_file`): the library call.

The scorer (``lookskip.classify.scorer``: the Rust extension, or the numpy
reference) is the one every classify path loads. ``lookskip classify`` itself
reads every input, plain files included, through the bulk unit loop
(``lookskip.bulk.run``), rows to ``--output`` or stdout by the same writer; this
module serves library callers that want a file's LOOK rows as Python tuples (the
triage tests read them); no command or worker calls it.

Line handling, identical in both: split on ``\\n`` (a ``\\r`` before it dropped),
bytes decoded as UTF-8 with U+FFFD replacement, a line longer than
``max_line_bytes`` scored on its first ``max_line_bytes`` bytes and counted as
truncated; plain or compressed input (gzip, xz, bzip2, zstd: by magic bytes); ``-``
is stdin.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from lookskip import storage
from lookskip.bulk.chunks import Unit
from lookskip.bulk.inputs import STDIN, Source, kind_by_content
from lookskip.bulk.scan import scan_unit
from lookskip.classify.rows import row_prefix
from lookskip.classify.threshold import pick_threshold
from lookskip.classify.triage import NO_TRIAGE, Triage, require_rust
from lookskip.progress import RunProgress

if TYPE_CHECKING:
    from lookskip.classify.scorer import Scorer


@dataclass
class FileResult:
    """Totals of one classified file; ``look_lines`` holds ``(line_number, p_look, text)``,
    with triage ``(line_number, p_look, text, {event_end, new, why, event})``."""

    path: str
    lines: int = 0
    look: int = 0
    bytes: int = 0
    truncated: int = 0
    seconds: float = 0.0
    look_kept: int = 0
    look_lines: list[tuple[Any, ...]] = field(default_factory=list)
    look_new: int | None = None  # with a baseline: LOOK rows whose key is new
    look_events: int | None = None  # with events: LOOK events
    output: str | None = None
    error: str | None = None

    def totals(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("look_lines")
        return d


def classify_file(
    scorer: Scorer,
    path: str,
    threshold: float | None = None,
    max_look: int | None = None,
    output: str | None = None,
    triage: Triage = NO_TRIAGE,
    progress: RunProgress | None = None,
) -> FileResult:
    """Classify one file with ``scorer``, streaming. LOOK rows go to ``output`` when given
    (JSONL in the :mod:`~lookskip.classify.rows` format), else into ``look_lines``;
    either way at most ``max_look`` of them. ``triage`` (Rust only) adds why/new/events.
    ``progress`` sees the bytes and lines as they are read (see :mod:`lookskip.progress`)."""
    thr = pick_threshold(threshold, scorer.threshold)
    require_rust(scorer, triage)
    res = _classify_file(scorer, path, thr, max_look, output, triage, progress)
    if progress is not None:
        progress.unit_done(res.bytes, res.lines)
    return res


def _classify_file(
    scorer: Scorer,
    path: str,
    thr: float,
    max_look: int | None,
    output: str | None,
    triage: Triage,
    progress: RunProgress | None,
) -> FileResult:
    if scorer.backend == "rust":
        watch = {"progress": progress.counter} if progress and progress.counter else {}
        d = scorer.engine.classify_file(
            path,
            threshold=thr,
            max_look=max_look,
            output=output,
            **triage.rust_kwargs(),
            **watch,
        )
        look_lines = [(int(r[0]), float(r[1]), *r[2:]) for r in d["look_lines"]]
        return FileResult(
            path=path,
            lines=d["lines"],
            look=d["look"],
            bytes=d["bytes"],
            truncated=d["truncated"],
            seconds=d["seconds"],
            look_kept=d["look_kept"],
            look_lines=look_lines,
            look_new=d["look_new"] if triage.baseline is not None else None,
            look_events=d["look_events"] if triage.events else None,
            output=output,
        )
    return _classify_reference(scorer, path, thr, max_look, output, progress)


# --- the numpy fallback -------------------------------------------------------
def _classify_reference(
    scorer: Scorer,
    path: str,
    thr: float,
    max_look: int | None,
    output: str | None,
    progress: RunProgress | None = None,
) -> FileResult:
    """The file as one unit of the bulk path's Python loop (``scan_unit``): one line
    loop for the numpy fallback, not two (this module kept its own until issue 24)."""
    started = time.perf_counter()
    res = FileResult(path=path, output=output)
    stdin = path == STDIN
    source = Source(
        name=path,
        url=path,
        kind="stdin" if stdin else kind_by_content(path),
        size=0 if stdin else storage.size(path),
    )

    def scan(write: Callable[[bytes], Any]) -> None:
        u = scan_unit(
            Unit(source, 0),
            scorer.engine,
            thr,
            write,
            max_look=max_look,
            on_progress=progress.add if progress is not None else None,
            prefix=row_prefix(path),
        )
        if u.error:
            raise OSError(f"{path}: {u.error}")
        res.lines, res.look, res.bytes = u.lines, u.look, u.bytes
        res.truncated, res.look_kept = u.truncated, u.written

    if output is None:
        rows = io.BytesIO()
        scan(rows.write)
        for r in map(json.loads, rows.getvalue().splitlines()):
            why = [{"reason": r["reason"]}] if "reason" in r else []
            res.look_lines.append((r["line"], r["prob"], r["text"], *why))
    else:
        with storage.atomic_writer(output, "wb") as out:
            scan(out.write)
    res.seconds = time.perf_counter() - started
    return res
