"""Classify one file into memory (``Scorer.classify_file``): the library call.

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

import os
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from lookskip import storage
from lookskip.classify.rows import json_row
from lookskip.classify.threshold import pick_threshold
from lookskip.classify.triage import NO_TRIAGE, Triage, require_rust
from lookskip.compression import BINARY_PROBE, SNIFF_BYTES, decompress, sniff, unreadable
from lookskip.progress import RunProgress

if TYPE_CHECKING:  # scorer.py imports this module (lazily) for classify_file
    from lookskip.classify.scorer import Scorer

_BATCH = 4096


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
    started = time.perf_counter()
    res = FileResult(path=path, output=output)
    limit = sys.maxsize if max_look is None else max_look
    opened = _open_input(path)
    with opened as f:
        if why := unreadable(f.peek(BINARY_PROBE)[:BINARY_PROBE]):  # the bulk path's rule
            raise OSError(f"{path}: {why}")
        if output is None:
            _scan(scorer, f, res, thr, limit, None, progress)
            opened.check_whole(res)
        else:
            with storage.atomic_writer(output, "wb") as out:
                _scan(scorer, f, res, thr, limit, out, progress)
                opened.check_whole(res)
    res.seconds = time.perf_counter() - started
    return res


def _scan(
    scorer: Scorer,
    f: IO[bytes],
    res: FileResult,
    thr: float,
    limit: int,
    out: IO[bytes] | None,
    progress: RunProgress | None = None,
) -> None:
    seen = (0, 0)
    for first, batch in _batches(f, scorer.max_line_bytes, res):
        if progress is not None:
            progress.add(res.bytes - seen[0], res.lines - seen[1])
            seen = (res.bytes, res.lines)
        texts = [raw.decode("utf-8", "replace") for raw, _ in batch]
        probs = scorer.predict_proba(texts)
        for i in np.flatnonzero(probs >= thr):
            res.look += 1
            if res.look_kept >= limit:
                continue
            res.look_kept += 1
            why = scorer.answer_reason(texts[i])
            row = (first + int(i), float(probs[i]), texts[i], *([{"reason": why}] if why else []))
            if out is None:
                res.look_lines.append(row)
            else:
                out.write(json_row(res.path, *row).encode("utf-8"))


class _open_input:
    """Binary stream of a local file or stdin (``-``), decompressed when it starts with
    a compressed format read here (``lookskip.compression.sniff``)."""

    def __init__(self, path: str):
        self.path = path
        self._owned: list[IO[bytes]] = []
        self._size: int | None = None  # a regular file's size when opened

    def __enter__(self) -> IO[bytes]:
        raw: IO[bytes] = sys.stdin.buffer if self.path == "-" else open(self.path, "rb")
        if self.path != "-":
            self._owned.append(raw)
            st = os.fstat(raw.fileno())
            self._size = st.st_size if stat.S_ISREG(st.st_mode) else None
        buffered = raw if hasattr(raw, "peek") else open(raw.fileno(), "rb", closefd=False)
        if buffered is not raw:
            self._owned.append(buffered)
        kind = sniff(buffered.peek(SNIFF_BYTES)[:SNIFF_BYTES])
        if kind is not None:
            stream = decompress(kind, buffered)
            self._owned.append(stream)
            return stream
        return buffered

    def __exit__(self, *exc: object) -> None:
        for f in reversed(self._owned):
            f.close()

    def check_whole(self, res: FileResult) -> None:
        """Raise if the file shrank while it was read (:func:`lookskip.storage.shrank`)."""
        if self._size is None:
            return
        raw = self._owned[0]
        why = storage.shrank(os.fstat(raw.fileno()).st_size, raw.tell(), self._size)
        if why:
            raise OSError(f"{self.path}: {why}, after {res.lines} complete lines")


def _batches(
    f: IO[bytes], cap: int, res: FileResult
) -> Iterator[tuple[int, list[tuple[bytes, bool]]]]:
    """``(first line number, [(line bytes, truncated)])`` batches, counting into ``res``."""
    batch: list[tuple[bytes, bool]] = []
    first = 1
    try:
        for raw, dropped in _capped_lines(f, cap):
            res.lines += 1
            res.bytes += len(raw) + dropped
            line = raw[:-1] if raw.endswith(b"\n") else raw
            if len(line) > cap:
                line, cut = line[:cap], True
                res.truncated += 1
            else:
                cut = False
                if raw.endswith(b"\n") and line.endswith(b"\r"):
                    line = line[:-1]
            batch.append((line, cut))
            if len(batch) >= _BATCH:
                yield first, batch
                first += len(batch)
                batch = []
    except (OSError, EOFError) as exc:
        raise OSError(f"{res.path}: corrupt or truncated compressed input ({exc})") from exc
    if batch:
        yield first, batch


def _capped_lines(f: IO[bytes], cap: int) -> Iterator[tuple[bytes, int]]:
    """``(line, dropped)``: the lines of ``f`` as ``for line in f`` gives them, except
    that a line longer than ``cap + 1`` bytes keeps only its first ``cap + 2`` (and its
    newline; still too long, so it is cut and counted) while the rest is read in
    pieces and dropped (``dropped`` bytes). Why: ``for line in f`` holds a line whole,
    so one line of a GiB cost a GiB before the cap applied.
    """
    while True:
        raw = f.readline(cap + 2)
        if not raw:
            return
        dropped = 0
        if len(raw) == cap + 2 and not raw.endswith(b"\n"):
            while True:
                rest = f.readline(1 << 20)
                if rest.endswith(b"\n"):
                    dropped += len(rest) - 1
                    raw += b"\n"
                    break
                dropped += len(rest)
                if not rest:
                    break
        yield raw, dropped
