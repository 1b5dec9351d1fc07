"""The one output format of ``lookskip classify``, whichever path produced the lines.

JSON rows (``<file>.look.jsonl`` and ``--format jsonl`` on stdout) are
``{"file","line","prob","text"}`` in line order; the BERT cascade adds
``"prob_tfidf"`` (its first stage) while ``prob`` stays the final probability.
``prob`` is written at full float precision (Python's ``repr``, which is what
serde_json writes too), so the Rust writer (``rust/src/bulk.rs`` ``write_row``), the
Python one here, local and distributed runs all give byte-identical rows. Text rows
(``--format text``) are ``file:line:prob:text`` with ``prob`` at :data:`PROB_DECIMALS`
decimals, for terminals and pipes.

Rows are built from a per-file prefix (``{"file":…,"line":``) and the rest after the
line number, so the bulk layer can write part rows whose line numbers the merge shifts
without re-encoding them (see :mod:`lookskip.bulk.parts`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO

PROB_DECIMALS = 4


def row_prefix(file: str) -> bytes:
    """Start of every JSON row of ``file``, up to the line number."""
    return b'{"file":' + json.dumps(file, ensure_ascii=False).encode("utf-8") + b',"line":'


def row_rest(prob: float, text: str, **extra: float) -> str:
    """The JSON row after its line number: ``,"prob":…[,"<extra>":…],"text":…}``."""
    fields = "".join(f',"{k}":{float(v)!r}' for k, v in extra.items())
    return f',"prob":{float(prob)!r}{fields},"text":{json.dumps(text, ensure_ascii=False)}}}'


def json_row(file: str, line: int, prob: float, text: str, **extra: float) -> str:
    """One JSON row, newline-terminated."""
    return f"{row_prefix(file).decode('utf-8')}{int(line)}{row_rest(prob, text, **extra)}\n"


def text_row(file: str, line: int, prob: float, text: str) -> str:
    """One ``file:line:prob:text`` row, newline-terminated."""
    return f"{file}:{int(line)}:{float(prob):.{PROB_DECIMALS}f}:{text}\n"


def write_rows(
    stream: IO[str], file: str, rows: Iterable[tuple[int, float, str]], fmt: str = "jsonl"
) -> int:
    """Print ``(line, prob, text)`` rows of ``file`` as ``jsonl`` or ``text``; returns the count."""
    fn = json_row if fmt == "jsonl" else text_row
    n = 0
    for line, prob, text in rows:
        stream.write(fn(file, line, prob, text))
        n += 1
    return n
