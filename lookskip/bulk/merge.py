"""Merge the parts of a file into ``<file>.look.jsonl``, in line order, with global numbers.

A unit numbers its lines from 1; the global number of its line ``k`` is ``k`` plus
the line counts of all units before it. The merge reads the units' metadata first
(so a missing or failed unit is known before anything is written), then streams
their rows in order into one atomic write: the output has every LOOK line once,
in order, or the previous output stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from itertools import accumulate
from typing import Any

from lookskip import storage
from lookskip.bulk.chunks import Unit
from lookskip.bulk.inputs import Source, output_relpath
from lookskip.bulk.parts import part_urls, read_meta
from lookskip.bulk.patterns import merge_units as merge_patterns
from lookskip.bulk.scan import UnitResult
from lookskip.classify.rows import row_prefix

COPY_BLOCK = 4 << 20


@dataclass
class FileSummary:
    """One file's line of the summary."""

    file: str
    path: str
    kind: str
    size: int = 0
    bytes: int = 0
    lines: int = 0
    look: int = 0
    look_share: float = 0.0
    written: int = 0
    seconds: float = 0.0
    score_seconds: float = 0.0
    truncated: int = 0
    lines_per_s: float = 0.0
    chunks: int = 1
    output: str | None = None
    errors: list[str] = field(default_factory=list)
    density: list[float] = field(default_factory=list)  # LOOK share in DENSITY_BINS slices
    look_new: int = 0  # with a baseline: LOOK rows whose key is new
    look_events: int = 0  # with events: LOOK events
    # per-key aggregates of the LOOK lines, for the report (lookskip.bulk.patterns)
    patterns: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        # shallow: ``asdict`` deep-copies ``patterns`` (seconds for 10,000 keys)
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileSummary:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    @classmethod
    def collect(
        cls, source: Source, results: Iterable[UnitResult], output: str | None
    ) -> FileSummary:
        fr = cls(
            file=source.name,
            path=source.url if source.member is None else f"{source.url}!{source.member}",
            kind=source.kind,
            size=source.size,
        )
        fr.chunks = 0
        results = list(results)
        for r in results:
            fr.chunks += 1
            fr.bytes += r.bytes
            fr.lines += r.lines
            fr.look += r.look
            fr.written += r.written
            fr.seconds += r.seconds
            fr.score_seconds += r.score_seconds
            fr.truncated += r.truncated
            fr.look_new += r.look_new
            fr.look_events += r.look_events
            if r.error and r.error not in fr.errors:
                fr.errors.append(r.error)
        fr.look_share = fr.look / fr.lines if fr.lines else 0.0
        fr.lines_per_s = fr.lines / fr.seconds if fr.seconds > 0 else 0.0
        fr.output = None if fr.errors else output
        if not fr.errors:
            fr.density = density_bins(results)
            offsets = accumulate((r.lines for r in results[:-1]), initial=0)
            fr.patterns = merge_patterns(zip(offsets, (r.patterns for r in results), strict=True))
        return fr


DENSITY_BINS = 100


def density_bins(results: list[UnitResult], bins: int = DENSITY_BINS) -> list[float]:
    """LOOK share in ``bins`` equal slices of the file's lines, from the units' buckets.

    A unit's bucket ``j`` covers its lines ``[j*B, (j+1)*B)`` (``B = unit.bucket``); a
    bucket that straddles two slices is shared between them in proportion to its lines.
    """
    total = sum(r.lines for r in results)
    if total == 0:
        return []
    bins = min(bins, total)
    look = [0.0] * bins
    width = total / bins
    offset = 0
    for r in results:
        for j, c in enumerate(r.density):
            lo = offset + j * r.bucket
            hi = min(lo + r.bucket, offset + r.lines)
            if not c or hi <= lo:
                continue
            per_line = c / (hi - lo)
            b = min(int(lo / width), bins - 1)
            while lo < hi:
                edge = hi if b == bins - 1 else min(hi, (b + 1) * width)
                look[b] += per_line * (edge - lo)
                lo, b = edge, b + 1
        offset += r.lines
    return [round(x / width, 6) for x in look]


def finalize_rows(block: bytes, prefix: bytes, offset: int) -> bytes:
    """Part rows -> output rows: prepend the file prefix, add ``offset`` to line numbers."""
    if not block:
        return b""
    if offset == 0:  # the separator tab is the only raw tab (JSON escapes tabs in text)
        body = block[:-1] if block.endswith(b"\n") else block
        return prefix + body.replace(b"\t", b"").replace(b"\n", b"\n" + prefix) + b"\n"
    out = []
    for row in block.split(b"\n"):
        if row:
            n, rest = row.split(b"\t", 1)
            out.append(prefix + str(int(n) + offset).encode() + rest)
    return b"\n".join(out) + b"\n"


def remove_output(url: str) -> None:
    fs, path = storage.fs_and_path(url)
    if fs.exists(path):
        fs.rm(path)


def merge_units(
    units: list[Unit], parts_dir: str, output_dir: str, max_look: int | None = None
) -> FileSummary:
    """Write one source's output from its units' parts and return its summary line."""
    source = units[0].source
    rel = output_relpath(source)
    out_url = storage.join(output_dir, rel)
    metas = [read_meta(parts_dir, u) for u in units]
    missing = [u.index for u, m in zip(units, metas, strict=True) if m is None]
    results = [
        m or UnitResult(error=f"part {u.key} missing (its task never finished)")
        for u, m in zip(units, metas, strict=True)
    ]
    fr = FileSummary.collect(source, results, rel)
    if fr.errors or missing:
        remove_output(out_url)  # never leave an earlier run's output looking current
        return fr
    prefix = row_prefix(source.row_file)
    written = 0
    with storage.atomic_writer(out_url, "wb") as out:
        offset = 0
        for u, r in zip(units, results, strict=True):
            rows_url, _ = part_urls(parts_dir, u)
            if r.written and (max_look is None or written < max_look):
                with storage.open_file(rows_url, "rb") as f:
                    written += _copy_rows(
                        f, out, prefix, offset, None if max_look is None else max_look - written
                    )
            offset += r.lines
    fr.written = written
    return fr


def _copy_rows(f: Any, out: Any, prefix: bytes, offset: int, limit: int | None) -> int:
    n = 0
    carry = b""
    while True:
        data = f.read(COPY_BLOCK)
        if not data:
            break
        data = carry + data
        cut = data.rfind(b"\n") + 1
        block, carry = data[:cut], data[cut:]
        if limit is not None:
            rows = block.count(b"\n")
            if n + rows > limit:
                block = b"".join(line + b"\n" for line in block.split(b"\n")[: limit - n])
        n += block.count(b"\n")
        out.write(finalize_rows(block, prefix, offset))
        if limit is not None and n >= limit:
            break
    return n
