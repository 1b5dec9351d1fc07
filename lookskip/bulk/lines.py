"""Every line of classify inputs, cut as classify cuts them: for passes that read
inputs without scoring them row by row (a baseline, the ask-Claude survey).

Inputs are what ``lookskip classify`` takes (files, directories, archives, URLs;
``--include``/``--exclude``), expanded by ``bulk.inputs``; lines are split with the
scorer's line cap (``classify.linecut.split_lines``). An input that cannot be read is an
error for that input (in ``errors``), and the others are still read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any


def input_lines(
    inputs: Sequence[str],
    include: Sequence[str],
    exclude: Sequence[str],
    max_line_bytes: int,
    errors: list[str],
    expand: Callable[..., Any] | None = None,
) -> Iterator[tuple[str, list[bytes] | None]]:
    """``(source name, lines)`` per block read, then ``(source name, None)`` once a
    source was read to its end (a source that failed gets an error and no end).
    ``expand``: how inputs become sources (default ``expand_inputs``; the workers pass
    one confined to their allowed roots)."""
    from lookskip.bulk.chunks import READ_BLOCK, owned_blocks
    from lookskip.bulk.inputs import expand_inputs
    from lookskip.bulk.scan import READ_ERRORS, UnreadableInput, describe_error, open_stream
    from lookskip.classify.linecut import split_lines
    from lookskip.compression import BINARY_PROBE, unreadable

    exp = (expand or expand_inputs)(inputs, include=include, exclude=exclude)
    errors.extend(
        e.error if e.error.startswith(e.name) else f"{e.name}: {e.error}" for e in exp.errors
    )
    for source in exp.sources:
        try:
            with open_stream(source) as f:
                for i, block in enumerate(owned_blocks(f, 0, None, READ_BLOCK)):
                    if i == 0 and (why := unreadable(block[:BINARY_PROBE])):
                        raise UnreadableInput(why)
                    lines, _ = split_lines(block, max_line_bytes)
                    yield source.name, lines
        except READ_ERRORS as exc:  # reported per source, as classify does
            errors.append(f"{source.name}: {describe_error(exc, source)}")
            continue
        yield source.name, None
