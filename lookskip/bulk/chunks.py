"""Cut sources into units of work and read exactly the lines a unit owns.

A large plain file is split into byte ranges ``[start, end)`` of about
``chunk_bytes`` each, without looking at its content: the split costs nothing and
every worker can find its own lines. The rule that makes the ranges agree with
each other is:

    a unit owns the lines that START inside its byte range.

A line starts at offset 0 and right after every ``\\n`` (but not at end of file).
A unit therefore skips the tail of a line begun in the previous range and reads
past ``end`` to finish its own last line. Lines are numbered per unit; the merge
turns them into global line numbers from the line counts of the preceding units.
Compressed files and archive members cannot be entered in the middle, so they are
one unit each (``end=None``: to the end of the stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from lookskip.bulk.inputs import Source

DEFAULT_CHUNK_BYTES = 64 << 20
READ_BLOCK = 4 << 20  # bytes read (and scored) at a time: bounds memory per worker
SKIP_BLOCK = 64 << 10


@dataclass(frozen=True)
class Unit:
    """One task's worth of a source: a byte range of a plain file, or a whole stream."""

    source: Source
    index: int
    start: int = 0
    end: int | None = None

    @property
    def key(self) -> str:
        return f"{self.index:06d}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "index": self.index,
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Unit:
        return cls(
            Source.from_dict(d["source"]),
            int(d["index"]),
            int(d["start"]),
            None if d["end"] is None else int(d["end"]),
        )


def plan_units(source: Source, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[Unit]:
    """Byte ranges for a plain file larger than ``chunk_bytes``; one unit otherwise."""
    if chunk_bytes <= 0:
        raise ValueError(f"chunk size must be positive, got {chunk_bytes}")
    if not source.splittable or source.size <= chunk_bytes:
        return [Unit(source, 0, 0, None)]
    starts = range(0, source.size, chunk_bytes)
    return [
        Unit(
            source,
            i,
            s,
            min(s + chunk_bytes, source.size) if s + chunk_bytes < source.size else None,
        )
        for i, s in enumerate(starts)
    ]


def owned_blocks(
    f: IO[bytes],
    start: int = 0,
    end: int | None = None,
    block: int = READ_BLOCK,
    cap: int | None = None,
    on_drop: Callable[[int], Any] | None = None,
) -> Iterator[bytes]:
    """Blocks of whole lines whose first byte lies in ``[start, end)``.

    Every block but the very last of a stream ends with ``\\n``; the last may lack it
    (a file without a final newline). ``start > 0`` needs a seekable ``f``; with
    ``start == 0`` ``f`` is read from where it stands (a decompressing stream).

    Memory stays within ``block`` plus the longest line, or with ``cap`` within
    ``block + cap + 1`` whatever the input: a line longer than ``cap`` keeps its first
    ``cap + 1`` bytes (so :func:`~lookskip.classify.linecut.split_lines` still sees it
    as too long, cuts it to ``cap`` and counts it) and the rest of it is read and
    dropped, ``on_drop`` told how many bytes. Why: a zip member of 1 GiB without a
    newline (a zip bomb is 1 MB) was otherwise held whole, and grown by copying,
    before the cap applied.
    """
    pending = b""
    pos = start
    if start > 0:
        f.seek(start - 1)
        prev = f.read(1)
        if not prev:
            return
        if prev != b"\n":  # we are inside a line that the previous unit owns: skip it
            while True:
                buf = f.read(SKIP_BLOCK)
                if not buf:
                    return
                i = buf.find(b"\n")
                if i >= 0:
                    pos += i + 1
                    pending = buf[i + 1 :]
                    break
                pos += len(buf)
    if end is not None and pos >= end:
        return
    keep = None if cap is None else cap + 1
    # Phase 1: the bytes of the range itself (pending already holds some of them).
    left = None if end is None else end - pos
    excess = b""  # bytes already read beyond ``end`` (only when the range is tiny)
    if left is not None and len(pending) > left:
        pending, excess, left = pending[:left], pending[left:], 0
    elif left is not None:
        left -= len(pending)
    carry = b""
    dropping = False  # inside an overlong line whose first ``keep`` bytes are in carry
    eof = False
    data = pending
    while True:
        if data and dropping:
            i = data.find(b"\n")
            skip = len(data) if i < 0 else i
            if on_drop and skip:
                on_drop(skip)
            data, dropping = data[skip:], i < 0
        if data:
            buf = carry + data
            cut = buf.rfind(b"\n")
            if cut >= 0:
                yield buf[: cut + 1]
                carry = buf[cut + 1 :]
            else:
                carry = buf
            if keep is not None and len(carry) > keep:
                if on_drop:
                    on_drop(len(carry) - keep)
                carry, dropping = carry[:keep], True
        if left == 0:
            break
        want = block if left is None else min(block, left)
        data = f.read(want)
        if not data:
            eof = True
            break
        if left is not None:
            left -= len(data)
    # Phase 2: the last line began inside the range; finish it past ``end``.
    if carry and not eof and end is not None:
        parts = [carry]
        size = len(carry)
        while True:
            buf, excess = (excess, b"") if excess else (f.read(SKIP_BLOCK), b"")
            if not buf:
                break
            i = buf.find(b"\n")
            body = buf if i < 0 else buf[:i]
            room = len(body) if keep is None else max(0, keep - size)
            if len(body) > room:  # over the cap: read on to the newline, keep nothing
                if on_drop:
                    on_drop(len(body) - room)
                body = body[:room]
            parts.append(body if i < 0 else body + b"\n")
            size += len(body)
            if i >= 0:
                break
        carry = b"".join(parts)
    if carry:
        yield carry


def count_lines(block: bytes) -> int:
    return block.count(b"\n") + (0 if not block or block.endswith(b"\n") else 1)
