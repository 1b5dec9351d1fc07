"""The one output format of ``lookskip classify``, whichever path produced the lines.

JSON rows (``<file>.look.jsonl`` and ``--format jsonl`` on stdout) are
``{"file","line","prob","text"}`` in line order; the cascade and blend modes add
``"prob_tfidf"`` (TF-IDF's) while ``prob`` stays the mode's probability.
``prob`` is written at full float precision (Python's ``repr``, which is what
serde_json writes too), so the Rust writer (``rust/src/bulk.rs`` ``write_row``), the
Python one here, local and distributed runs all give byte-identical rows. Text rows
(``--format text``) are ``file:line:prob:text`` with ``prob`` at :data:`PROB_DECIMALS`
decimals, for terminals and pipes.

A row whose label came from Claude's answer about its template
(``lookskip.model.answers``) says so right after ``prob``: ``"source":"claude",
"reason":…``. Triage adds fields (``lookskip.classify.triage``), in this order, each
only when asked for: ``"event_end"`` (the last line of the row's event, ``--events``),
``"new"`` (its template key is not in the baseline, ``--baseline``), ``"why"``
(``[[term, weight], …]``, the top contributions to its score, ``--why``) before
``"text"``, and ``"event"`` (the whole event's text, lines joined by ``\n``, when
it has more than one line) after it. ``extra`` floats (``prob_tfidf``) come right
after ``prob``.

Rows are built from a per-file prefix (``{"file":…,"line":``) and the rest after the
line number, so the bulk layer can write part rows whose line numbers the merge shifts
without re-encoding them (see :mod:`lookskip.bulk.parts`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

PROB_DECIMALS = 4


def row_prefix(file: str) -> bytes:
    """Start of every JSON row of ``file``, up to the line number."""
    return b'{"file":' + json.dumps(file, ensure_ascii=False).encode("utf-8") + b',"line":'


TRIAGE_FIELDS = ("reason", "event_end", "new", "why", "event", "why_model")


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def row_rest(
    prob: float, text: str, triage: Mapping[str, Any] | None = None, **extra: float
) -> str:
    """The JSON row after its line number: ``,"prob":…[,"<extra>":…][triage],"text":…}``.

    ``triage`` holds the row's ``event_end``, ``new``, ``why``, ``why_model``,
    ``event`` (any subset), written in the Rust writer's order.
    """
    fields = "".join(f',"{k}":{float(v)!r}' for k, v in extra.items())
    t = triage or {}
    if t.get("reason") is not None:
        fields += f',"source":"claude","reason":{_dumps(t["reason"])}'
    if t.get("event_end") is not None:
        fields += f',"event_end":{int(t["event_end"])}'
    if t.get("new") is not None:
        fields += f',"new":{"true" if t["new"] else "false"}'
    if t.get("why") is not None:
        fields += (
            ',"why":[' + ",".join(f"[{_dumps(term)},{float(w)!r}]" for term, w in t["why"]) + "]"
        )
    if t.get("why_model") is not None:
        fields += f',"why_model":{_dumps(t["why_model"])}'
    tail = f',"event":{_dumps(t["event"])}' if t.get("event") is not None else ""
    return f',"prob":{float(prob)!r}{fields},"text":{_dumps(text)}{tail}}}'


def json_row(
    file: str,
    line: int,
    prob: float,
    text: str,
    triage: Mapping[str, Any] | None = None,
    **extra: float,
) -> str:
    """One JSON row, newline-terminated."""
    rest = row_rest(prob, text, triage, **extra)
    return f"{row_prefix(file).decode('utf-8')}{int(line)}{rest}\n"


def format_why(why: Sequence[Sequence[Any]]) -> str:
    """``word:error +1.23, feature:has_level +0.45``: a row's ``why`` for terminals."""
    return ", ".join(f"{term} {float(w):+.2f}" for term, w in why)


# Control characters in a file name, as C escapes: ``\n`` in a name printed raw would
# end a text row early and let the rest of the name pose as a row of its own.
_NAME_ESCAPES = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


def text_name(file: str) -> str:
    """``file`` as text rows print it: control characters escaped (``\\n``,
    ``\\x1b``), everything else as is, so a name cannot forge rows or move the cursor."""
    return file.translate(_NAME_ESCAPES)


def text_row(
    file: str, line: int, prob: float, text: str, triage: Mapping[str, Any] | None = None
) -> str:
    """One ``file:line:prob:text`` row, newline-terminated.

    Triage adds, grep-style: `` [new]`` after the probability field's text for a new
    row, the event's other lines as ``file-N-text`` context lines, and the ``why``
    as a ``file-line-why: …`` line. The Rust twin (``rust/src/rows.rs``
    ``write_text_row``) writes the same bytes for the rows on stdout.
    """
    return named_text_row(text_name(file), line, prob, text, triage)


def named_text_row(
    name: str, line: int, prob: float, text: str, triage: Mapping[str, Any] | None = None
) -> str:
    """:func:`text_row` for a name already escaped by :func:`text_name`."""
    t = triage or {}
    mark = "[new] " if t.get("new") else ""
    out = [f"{name}:{int(line)}:{float(prob):.{PROB_DECIMALS}f}:{mark}{text}\n"]
    if t.get("event"):
        for k, cont in enumerate(str(t["event"]).split("\n")[1:], start=1):
            out.append(f"{name}-{int(line) + k}-{cont}\n")
    if t.get("why"):
        label = f" ({t['why_model']})" if t.get("why_model") else ""
        out.append(f"{name}-{int(line)}-why{label}: {format_why(t['why'])}\n")
    return "".join(out)


def write_rows(
    stream: IO[str], file: str, rows: Iterable[Sequence[Any]], fmt: str = "jsonl"
) -> int:
    """Print ``(line, prob, text[, triage])`` rows of ``file`` as ``jsonl`` or ``text``;
    returns the count."""
    n = 0
    for row in rows:
        line, prob, text = row[0], row[1], row[2]
        extra = row[3] if len(row) > 3 else None
        if fmt != "jsonl":
            stream.write(text_row(file, line, prob, text, extra))
        elif extra and extra.get("prob_tfidf") is not None:  # cascade, blend modes
            stream.write(json_row(file, line, prob, text, extra, prob_tfidf=extra["prob_tfidf"]))
        else:
            stream.write(json_row(file, line, prob, text, extra))
        n += 1
    return n
