"""What a training sample must be: the rule ``ingest`` and ``datasets add`` share.

Its own module, below both: ``ingest`` reads the dataset registry
(:mod:`lookskip.datasets`) and ``datasets add`` checks a user's file with ingest's
rule, so the rule lives here and neither imports the other for it.

``SAMPLE_MAX_LINE_BYTES`` (1 MiB) is the longest line a *sample* may have: a
labeler reads whole lines, so a longer one is refused, not cut. It is not the
classifier's cap (``lookskip.classify.scorer.DEFAULT_MAX_LINE_BYTES``, 64 KiB),
which scores any line on its first bytes and counts it as truncated.
"""

from __future__ import annotations

SAMPLE_MAX_LINE_BYTES = 1 << 20


class IngestError(Exception):
    """Why one dataset (or one of its files) could not be ingested."""


def check_text(data: bytes, max_line: int = SAMPLE_MAX_LINE_BYTES) -> int:
    """Check that ``data`` is an acceptable log sample and return its line count.

    Raises ``IngestError`` with a one-line reason otherwise (see :mod:`lookskip.ingest`).
    """
    if not data:
        raise IngestError("empty file")
    nul = data.find(b"\0")
    if nul >= 0:
        raise IngestError(f"binary file (NUL byte at byte {nul})")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IngestError(f"not UTF-8 text at byte {exc.start} (line {line})") from None
    lines, start, n = 0, 0, len(data)
    while start < n:
        end = data.find(b"\n", start)
        end = n if end < 0 else end
        if end - start > max_line:
            raise IngestError(
                f"line {lines + 1} is {end - start:,} bytes long (limit {max_line:,})"
            )
        lines += 1
        start = end + 1
    return lines
