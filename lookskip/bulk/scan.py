"""Read one unit of work and score its lines: the only place lines meet the classifier.

Local classify and the ``classify`` Celery tasks both call :func:`classify_unit_to`,
so a file gives the same LOOK lines, numbers and probabilities either way. With the
Rust extension, ``lookskip_rs.classify_unit`` reads, scores and writes a whole unit
(plain range, .gz, tar member, stdin) without a line passing through Python; what
only Python can read (zip members, object-store URLs) it is handed as blocks of
bytes. The Python path (:func:`scan_unit`, the numpy fallback without the
extension) does the same with the same line rules: blocks of a few MiB (memory stays flat
whatever the file size), split once per block, scored a block at a time; only LOOK
lines are decoded.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, fields
from typing import IO, Any, Protocol

import numpy as np

from lookskip import storage
from lookskip.bulk.chunks import (
    READ_BLOCK,
    Unit,
    count_lines,
    owned_blocks,
)
from lookskip.bulk.inputs import STDIN, Source
from lookskip.bulk.patterns import PatternAggregator, scorer_keyer
from lookskip.classify.linecut import split_lines
from lookskip.classify.rows import named_text_row, row_rest
from lookskip.classify.scorer import DEFAULT_MAX_LINE_BYTES
from lookskip.classify.triage import NO_TRIAGE, Triage
from lookskip.compression import (
    BINARY_PROBE,
    DECODE_ERRORS,
    SNIFF_BYTES,
    STREAM_SUFFIXES,
    decompress,
    skip,
    sniff,
    unreadable,
)
from lookskip.progress import RunProgress

DENSITY_BUCKET = 16  # first bucket size (lines); doubles to keep at most DENSITY_MAX buckets
DENSITY_MAX = 4096


class Engine(Protocol):
    """What scores a unit's lines: ``Scorer.engine`` (``lookskip.classify.scorer``)."""

    def predict_proba(self, lines: list[bytes]) -> Any: ...


class UnreadableInput(Exception):
    """The input cannot be classified (binary, corrupt, truncated); the message says why."""


# What reading a source can raise when the source itself is bad (the summary says why).
READ_ERRORS = (OSError, *DECODE_ERRORS, zipfile.BadZipFile, tarfile.TarError, UnreadableInput)


@dataclass
class UnitResult:
    """What a unit reports (also the part's metadata): counts, timings, or an error."""

    lines: int = 0
    look: int = 0
    written: int = 0
    bytes: int = 0
    seconds: float = 0.0
    score_seconds: float = 0.0
    truncated: int = 0  # lines longer than the cap, scored and shown on their first 64 KiB
    error: str | None = None
    # LOOK lines per ``bucket`` lines of the unit, for the report's density chart
    density: list[int] = field(default_factory=list)
    bucket: int = DENSITY_BUCKET
    look_new: int = 0  # with a baseline: LOOK rows whose key is new
    look_events: int = 0  # with events: LOOK events
    # per-key aggregates of the LOOK lines (lookskip.bulk.patterns; unit line numbers)
    patterns: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        # shallow: ``asdict`` deep-copies ``patterns`` (seconds for 10,000 keys)
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnitResult:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class _Bounded:
    """The next ``size`` bytes of a stream; running short means the archive is truncated."""

    def __init__(self, f: IO[bytes], size: int):
        self.f, self.left = f, size

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        if not data:
            raise UnreadableInput(f"truncated archive: member ends {self.left} bytes early")
        self.left -= len(data)
        return data


class _Prepend:
    """``head`` (already read to sniff the format), then the rest of ``f``."""

    def __init__(self, head: bytes, f: IO[bytes]):
        self.head, self.f = head, f

    def read(self, n: int = -1) -> bytes:
        if not self.head:
            return self.f.read(n)
        if n < 0:
            data, self.head = self.head + self.f.read(), b""
            return data
        data, self.head = self.head[:n], self.head[n:]
        if len(data) < n:
            data += self.f.read(n - len(data))
        return data


class _ShrinkGuard:
    """A plain file whose end of file is trusted only if it did not shrink
    (:func:`lookskip.storage.shrank`; ``source.size``: its size when listed)."""

    def __init__(self, f: IO[bytes], source: Source):
        self.f, self.url, self.listed = f, source.url, source.size

    def _now(self) -> int | None:
        try:
            return os.fstat(self.f.fileno()).st_size
        except (OSError, AttributeError, io.UnsupportedOperation):
            try:
                return storage.size(self.url)
            except OSError:
                return None

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        if not data and n != 0:
            why = storage.shrank(self._now(), self.f.tell(), self.listed)
            if why:
                raise UnreadableInput(why)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.f.seek(pos, whence)

    def tell(self) -> int:
        return self.f.tell()


def _by_content(stack: ExitStack, f: Any) -> Any:
    """An archive member read by content, as a file is: a compressed one
    (``app.log.gz``, ``app.log.xz`` …) is decompressed."""
    head = f.read(SNIFF_BYTES)
    stream = _Prepend(head, f)
    kind = sniff(head)
    if kind is not None:
        return stack.enter_context(decompress(kind, stream))  # type: ignore[arg-type]
    return stream


@contextmanager
def open_stream(source: Source) -> Iterator[IO[bytes]]:
    """A binary stream of the source's (decompressed) bytes; seekable for plain files."""
    with ExitStack() as stack:
        if source.kind == "stdin" or source.url == STDIN:
            stdin = sys.stdin.buffer
            if not hasattr(stdin, "peek"):
                stdin = stack.enter_context(open(stdin.fileno(), "rb", closefd=False))
            kind = sniff(stdin.peek(SNIFF_BYTES)[:SNIFF_BYTES])  # compressed stdin, no zcat
            if kind is not None:
                stdin = stack.enter_context(decompress(kind, stdin))
            yield stdin
            return
        raw = stack.enter_context(storage.open_file(source.url, "rb"))
        if source.kind == "plain":
            yield _ShrinkGuard(raw, source)  # type: ignore[misc]
        elif source.kind in STREAM_SUFFIXES:
            yield stack.enter_context(decompress(source.kind, raw))
        elif source.kind == "tar":
            if source.compression is None:
                f = raw
                f.seek(source.offset)
                at = f.tell()
            else:
                f = stack.enter_context(decompress(source.compression, raw))
                at = skip(f, source.offset)
            if at != source.offset:
                raise UnreadableInput("truncated archive: member data missing")
            yield _by_content(stack, _Bounded(f, source.size))
        elif source.kind == "zip":
            zf = stack.enter_context(zipfile.ZipFile(raw))
            yield _by_content(stack, stack.enter_context(zf.open(_zip_member(zf, source))))
        else:
            raise ValueError(f"unknown source kind {source.kind!r}")


def _refuse_binary(f: IO[bytes]) -> IO[bytes]:
    """``f`` unchanged after checking its first :data:`BINARY_PROBE` bytes for a NUL.

    Why before the lines are cut: a member with no newline for its first GiB would be
    read to its end before its first line, and so its first bytes, could be seen.
    """
    head = b""
    while len(head) < BINARY_PROBE:
        more = f.read(BINARY_PROBE - len(head))
        if not more:
            break
        head += more
    if why := unreadable(head):  # a compressed format not read here, or binary
        raise UnreadableInput(why)
    return _Prepend(head, f)  # type: ignore[return-value]


def _zip_member(zf: zipfile.ZipFile, source: Source) -> zipfile.ZipInfo | str:
    """The member ``source`` names, by its header offset: a zip may hold two members
    of the same name, and ``ZipFile.open(name)`` always opens the last of them."""
    for info in zf.infolist():
        if info.header_offset == source.offset and info.filename == source.member:
            return info
    return source.member or ""


def describe_error(exc: BaseException, source: Source) -> str:
    """One line saying why a source could not be read, for the summary."""
    msg = str(exc).strip().split("\n")[0]
    if isinstance(exc, UnreadableInput):
        return msg
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, gzip.BadGzipFile):
        return f"corrupt gzip: {msg}"
    if isinstance(exc, DECODE_ERRORS):
        what = "archive" if source.kind in ("tar", "zip") else "compressed input"
        return f"truncated or corrupt {what}: {msg or type(exc).__name__}"
    if isinstance(exc, (zipfile.BadZipFile, tarfile.TarError)):
        return f"corrupt archive: {msg}"
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


RowWriter = Callable[[bytes], Any]

# Where a unit's rows go: a local path, or an open file descriptor (rows straight to
# stdout, :mod:`lookskip.bulk.sink`).
RowTarget = str | int


def scan_unit(
    unit: Unit,
    scorer: Engine,
    threshold: float,
    write: RowWriter,
    max_look: int | None = None,
    on_progress: Callable[[int, int], Any] | None = None,
    prefix: bytes | None = None,
    line_offset: int = 0,
    fmt: str = "jsonl",
) -> UnitResult:
    """Score every line the unit owns in Python; ``write`` gets the LOOK rows.

    The reference path for what ``lookskip_rs.classify_unit`` does in one call (zip
    members, object-store inputs, or without the extension). A part row is
    ``<n>\\t<rest of the JSON row>\\n``, where the rest starts after the line number
    (the merge only adds the unit's line offset); with ``prefix`` rows are final:
    ``<prefix><n><rest>``. ``n`` = ``line_offset`` + the line's number in the unit. At
    most ``max_look`` rows are written (the count of LOOK lines is still complete).
    With ``fmt="text"`` rows are ``<prefix>:<n>:<prob>:<text>`` (``prefix``: the
    file's name as text rows print it). Unreadable input ends the unit with ``error``
    set instead of raising.
    """
    name = prefix.decode("utf-8") if fmt == "text" and prefix is not None else None
    res = UnitResult()
    t0 = time.perf_counter()
    sep = "" if prefix is not None else "\t"
    cap = int(getattr(scorer, "max_line_bytes", DEFAULT_MAX_LINE_BYTES))
    answered = bool(getattr(scorer, "n_answers", 0))  # rows name Claude's answers
    agg = PatternAggregator(scorer_keyer(scorer))
    # cascade/blend modes: rows carry TF-IDF's probability beside the mode's
    pair = getattr(scorer, "predict_proba_pair", None)

    def dropped(n: int) -> None:  # bytes of overlong lines read past the cap
        res.bytes += n
        if on_progress:
            on_progress(n, 0)

    try:
        with open_stream(unit.source) as f:
            blocks = owned_blocks(
                _refuse_binary(f) if unit.start == 0 else f,
                unit.start,
                unit.end,
                READ_BLOCK,
                cap=cap,
                on_drop=dropped,
            )
            for block in blocks:
                lines, cut = split_lines(block, cap)
                res.truncated += cut
                ts = time.perf_counter()
                if pair is not None:
                    probs, tfidf = pair(lines)
                else:
                    probs, tfidf = np.asarray(scorer.predict_proba(lines), dtype=np.float64), None
                res.score_seconds += time.perf_counter() - ts
                agg.observe(lines, probs, threshold, res.lines + 1)
                hits = np.flatnonzero(probs >= threshold)
                if len(hits):
                    room = len(hits) if max_look is None else max(0, max_look - res.written)
                    out = []
                    for i, p in zip(hits[:room].tolist(), probs[hits[:room]].tolist(), strict=True):
                        text = lines[i].decode("utf-8", "replace")
                        n = line_offset + res.lines + i + 1
                        if name is not None:
                            out.append(named_text_row(name, n, p, text))
                            continue
                        found = scorer.answer(text) if answered else None
                        extra = {} if tfidf is None else {"prob_tfidf": float(tfidf[i])}
                        rest = row_rest(p, text, {"reason": found[1]} if found else None, **extra)
                        out.append(f"{n}{sep}{rest}\n")
                    if out:
                        rows = "".join(out).encode("utf-8")
                        if prefix is not None and name is None:
                            rows = prefix + rows[:-1].replace(b"\n", b"\n" + prefix) + b"\n"
                        write(rows)
                    res.written += len(out)
                    res.look += len(hits)
                    _add_density(res, hits + res.lines, res.lines + len(lines))
                res.lines += len(lines)
                res.bytes += len(block)
                if on_progress:
                    on_progress(len(block), len(lines))
    except BrokenPipeError:
        raise  # the rows' reader went away (stdout into `| head`), not a bad input
    except READ_ERRORS as exc:
        res.error = describe_error(exc, unit.source)
        if res.lines:
            res.error += f", after {res.lines} complete lines"
    _add_density(res, np.zeros(0, dtype=np.int64), res.lines)
    res.patterns = agg.to_dict()
    res.seconds = time.perf_counter() - t0
    return res


def rust_unit_function(scorer: Any) -> Callable[..., dict[str, Any]] | None:
    """``lookskip_rs.classify_unit`` when ``scorer`` is the Rust classifier that has it."""
    mod = sys.modules.get("lookskip_rs")
    fn = getattr(mod, "classify_unit", None)
    if fn is None or not isinstance(scorer, mod.Classifier):  # type: ignore[union-attr]
        return None
    return fn


def unit_lines_function() -> Callable[..., tuple[int, int]] | None:
    """``lookskip_rs.count_unit_lines`` (a unit's lines without scoring), if built."""
    return getattr(sys.modules.get("lookskip_rs"), "count_unit_lines", None)


def _rust_args(unit: Unit) -> dict[str, Any] | None:
    """How ``classify_unit`` reads this unit itself, or None if only Python can (zip,
    URLs: then Python hands it the bytes, ``kind="blocks"``)."""
    src = unit.source
    if src.kind == "stdin":
        return {"kind": "whole", "path": STDIN}
    if not storage.is_local(src.url):
        return None
    path = storage.fs_and_path(src.url)[1]
    if src.kind == "plain":
        return {
            "kind": "plain",
            "path": path,
            "start": unit.start,
            "end": unit.end,
            "size": src.size,  # found shorter at its end: cut while read, an error
        }
    if src.kind == "gz":
        return {"kind": "gz", "path": path}
    if src.kind in STREAM_SUFFIXES:  # xz, bz2, zst: Rust reads them by their magic bytes
        return {"kind": "whole", "path": path}
    if src.kind == "tar":  # Rust finds the tar stream's compression by its magic bytes
        return {"kind": "tar", "path": path, "offset": src.offset, "size": src.size}
    return None


def classify_unit_to(
    unit: Unit,
    scorer: Engine,
    threshold: float,
    path: RowTarget,
    prefix: bytes | None = None,
    line_offset: int = 0,
    append: bool = False,
    max_look: int | None = None,
    triage: Triage = NO_TRIAGE,
    progress: RunProgress | None = None,
    fmt: str = "jsonl",
) -> UnitResult:
    """Score a unit into the local file ``path``, or straight into the open file
    descriptor ``path`` (an int: stdout), rows as in :func:`scan_unit`.

    The Rust extension scores and writes the unit in one call, so no line passes
    through Python: it reads local files itself, and takes the bytes of what only
    Python can read (zip member, object-store URL) block by block; without the
    extension :func:`scan_unit` does the same work (and triage is refused).
    ``progress`` sees the unit's bytes and lines as they are read (its counter given
    to the extension) and its exact totals at the end.
    """
    res = _classify_unit_to(
        unit, scorer, threshold, path, prefix, line_offset, append, max_look, triage, progress, fmt
    )
    if progress is not None:
        progress.unit_done(res.bytes, res.lines)
    return res


def _classify_unit_to(
    unit: Unit,
    scorer: Engine,
    threshold: float,
    path: RowTarget,
    prefix: bytes | None,
    line_offset: int,
    append: bool,
    max_look: int | None,
    triage: Triage,
    progress: RunProgress | None,
    fmt: str,
) -> UnitResult:
    t0 = time.perf_counter()
    fn = rust_unit_function(scorer)
    if fn is None:
        if triage.active:
            return UnitResult(error="--why, --baseline and --events need the Rust extension")
        # a descriptor is the caller's (stdout): written to, never closed here
        with open(path, "ab" if append else "wb", closefd=not isinstance(path, int)) as f:
            return scan_unit(
                unit,
                scorer,
                threshold,
                f.write,
                max_look=max_look,
                on_progress=progress.add if progress is not None else None,
                prefix=prefix,
                line_offset=line_offset,
                fmt=fmt,
            )
    args = _rust_args(unit)
    dropped = [0]
    if args is None:  # zip member, object store: Python reads the bytes, Rust the rest
        cap = int(getattr(scorer, "max_line_bytes", DEFAULT_MAX_LINE_BYTES))
        args = {
            "kind": "blocks",
            "path": "",
            "start": unit.start,
            "blocks": _owned_blocks(unit, cap, dropped),
        }
    res = _rust_unit(
        fn,
        unit,
        args,
        scorer,
        threshold,
        path,
        prefix,
        line_offset,
        append,
        max_look,
        triage,
        t0,
        progress,
        fmt,
    )
    res.bytes += dropped[0]
    return res


def _owned_blocks(unit: Unit, cap: int, dropped: list[int]) -> Iterator[bytes]:
    """The unit's owned bytes in blocks, for ``classify_unit(kind="blocks")``: what
    only Python can read (fsspec, zipfile, a member's own compression). Lines longer
    than ``cap`` come cut to ``cap + 1`` bytes (Rust cuts and counts them), the bytes
    dropped added to ``dropped[0]``; a read error is re-raised as an ``OSError``
    whose message is the summary's (:func:`describe_error`), which Rust reports.

    Why not :func:`scan_unit`: measured on ``benchmarks/bench_s3.py``, splitting,
    scoring and writing rows in Python made an object-store run 0.30x a local one.
    """

    def on_drop(n: int) -> None:
        dropped[0] += n

    try:
        with open_stream(unit.source) as f:
            # probed here too: the first block ends at a newline, maybe the member's end
            g = _refuse_binary(f) if unit.start == 0 else f
            yield from owned_blocks(g, unit.start, unit.end, READ_BLOCK, cap=cap, on_drop=on_drop)
    except READ_ERRORS as exc:
        raise OSError(describe_error(exc, unit.source)) from exc


def _rust_unit(
    fn: Callable[..., dict[str, Any]],
    unit: Unit,
    args: dict[str, Any],
    scorer: Engine,
    threshold: float,
    path: RowTarget,
    prefix: bytes | None,
    line_offset: int,
    append: bool,
    max_look: int | None,
    triage: Triage,
    t0: float,
    progress: RunProgress | None = None,
    fmt: str = "jsonl",
) -> UnitResult:
    counter = progress.counter if progress is not None else None
    try:
        d = fn(
            scorer,
            rows_path=path,
            threshold=threshold,
            max_look=max_look,
            prefix=prefix,
            line_offset=line_offset,
            append=append,
            **({"progress": counter} if counter else {}),
            **({"fmt": fmt} if fmt != "jsonl" else {}),
            **args,
            **triage.rust_kwargs(),
            patterns=True,
        )
    except OSError as exc:  # the rows could not be written
        if isinstance(path, int):
            raise  # stdout failed (its reader went away: BrokenPipeError), not this input
        return UnitResult(
            error=str(exc).strip().split("\n")[0] or type(exc).__name__,
            seconds=time.perf_counter() - t0,
        )
    return UnitResult(
        error=d.get("error"),  # the input could not be read to its end (lines: up to there)
        lines=d["lines"],
        look=d["look"],
        written=d["written"],
        bytes=d["bytes"],
        truncated=d["truncated"],
        score_seconds=d["seconds"],
        density=list(d["density"]),
        bucket=d["bucket"],
        look_new=d.get("look_new", 0),
        look_events=d.get("look_events", 0),
        patterns=json.loads(d["patterns"]),
        seconds=time.perf_counter() - t0,
    )


def _add_density(res: UnitResult, hits: np.ndarray, lines: int) -> None:
    """Count LOOK lines (unit-local 0-based ``hits``) into buckets covering ``lines`` lines."""
    while -(-lines // res.bucket) > DENSITY_MAX:
        d = res.density + [0] * (len(res.density) % 2)
        res.density = [d[i] + d[i + 1] for i in range(0, len(d), 2)]
        res.bucket *= 2
    want = -(-lines // res.bucket)
    if len(res.density) < want:
        res.density.extend([0] * (want - len(res.density)))
    if len(hits):
        counts = np.bincount(hits // res.bucket)
        for j in np.flatnonzero(counts).tolist():
            res.density[j] += int(counts[j])


def count_unit_lines(unit: Unit) -> int:
    """Lines owned by a unit, without scoring (tests and checks)."""
    with open_stream(unit.source) as f:
        return sum(count_lines(b) for b in owned_blocks(f, unit.start, unit.end))
