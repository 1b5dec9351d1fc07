"""How classify cuts bytes into lines, in Python: the twin of the Rust reader's rule.

Every Python path that reads lines the classifier will see (the numpy fallback of the
bulk unit loop, ``--follow``, a baseline, the ask-Claude survey) cuts them here, so a
line is the same line whichever path read it.
"""

from __future__ import annotations

from lookskip.classify.scorer import DEFAULT_MAX_LINE_BYTES


def split_lines(block: bytes, cap: int = DEFAULT_MAX_LINE_BYTES) -> tuple[list[bytes], int]:
    """The lines of a block of whole lines, as the Rust reader cuts them; and how many were cut.

    A line is split on ``\\n``; a ``\\r`` right before the ``\\n`` is dropped. A line longer
    than ``cap`` bytes keeps its first ``cap`` bytes (scored and shown so; a ``\\r`` is
    then not dropped), exactly like ``lookskip_rs``'s ``classify_file``. Bytes stay bytes:
    the classifier decodes them lossily (U+FFFD), so only LOOK lines are ever decoded here.
    """
    if not block:
        return [], 0
    terminated = block.endswith(b"\n")
    lines = (block[:-1] if terminated else block).split(b"\n")
    cut: set[int] = set()
    if len(block) > cap and max(map(len, lines)) > cap:
        for i, ln in enumerate(lines):
            if len(ln) > cap:
                lines[i] = ln[:cap]
                cut.add(i)
    if b"\r" in block:
        last = len(lines) - 1
        for i, ln in enumerate(lines):
            if ln.endswith(b"\r") and (terminated or i < last) and i not in cut:
                lines[i] = ln[:-1]
    return lines, len(cut)
