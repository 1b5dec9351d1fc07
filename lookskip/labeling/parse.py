"""Turn a model's answer for one window into per-line labels, never guessing.

Models wrap JSON in markdown fences, add prose, stop mid-array at ``max_tokens``,
repeat or skip line numbers and vary the case of labels. The parser recovers every
well-formed ``{"line", "label", "reason"}`` object it can find and reports the rest:
a line gets a label only when the answer states one for exactly that line; every
other line is returned in ``unlabeled`` with the reason, for the caller to retry
or record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lookskip.model.pipeline import LABELS

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_decoder = json.JSONDecoder()
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass
class ParsedWindow:
    labels: dict[int, tuple[str, str]] = field(default_factory=dict)  # line -> (label, reason)
    unlabeled: dict[int, str] = field(default_factory=dict)  # line -> why
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unlabeled


def _candidates(text: str) -> list[str]:
    """Fenced blocks first (the usual shape), then the whole text."""
    blocks = [m.group(1) for m in _FENCE.finditer(text) if "{" in m.group(1)]
    return [*blocks, text]


def _values_at(text: str, opener: str, pos: int = 0) -> Iterator[tuple[Any, int]]:
    """Each complete JSON value starting at an ``opener`` character from ``pos`` on, with
    where it ends, skipping junk between them. A value found is skipped whole, so a
    value nested inside it is never returned on its own."""
    while (pos := text.find(opener, pos)) != -1:
        try:
            value, end = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            pos += 1
            continue
        yield value, end
        pos = max(end, pos + 1)


def _objects_from(text: str, pos: int) -> list[dict]:
    """Every complete JSON object from ``pos`` on: the finished part of a truncated
    array, and objects written without an enclosing array."""
    return [v for v, _ in _values_at(text, "{", pos) if isinstance(v, dict)]


def _label_arrays(text: str) -> list[tuple[list[dict], int]]:
    """Every top-level JSON array of label objects in ``text``, with where it ends
    (an array inside one, a list in a reason say, is never taken for the answer)."""
    found: list[tuple[list[dict], int]] = []
    for value, end in _values_at(text, "["):
        if isinstance(value, list):
            objs = [x for x in value if isinstance(x, dict)]
            if any("label" in x for x in objs):
                found.append((objs, end))
    return found


def _label_objects(text: str, pos: int = 0) -> list[dict]:
    return [o for o in _objects_from(text, pos) if "label" in o]


def _recovered(objs: list[dict]) -> str:
    return f"answer is not one complete JSON array; recovered {len(objs)} complete object(s)"


def extract_items(text: str) -> tuple[list[dict], list[str]]:
    """The answer's label objects and notes on how they were recovered.

    The answer array is the *last* complete array of label objects: a model that
    quotes an example of the format in its prose writes it before its answer. An
    unclosed array of label objects after it means the answer itself was cut short
    (an example, then a truncated answer): its complete objects are the answer,
    never the example.
    """
    arrays = _label_arrays(text)
    if arrays:
        objs, end = arrays[-1]
        tail = text.find("[", end)
        after = _label_objects(text, tail) if tail != -1 else []
        if not after:
            return objs, []
        return after, [_recovered(after)]
    for candidate in _candidates(text):
        objs = _label_objects(candidate)
        if objs:
            return objs, [_recovered(objs)]
    return [], ["answer contains no JSON label objects"]


def _line_number(item: dict) -> int | None:
    for key in ("line", "line_number", "lineNumber", "n"):
        if key in item:
            value = item[key]
            if isinstance(value, bool):
                return None
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            # ASCII digits only: str.isdigit() also accepts "²" or "①", which int() refuses
            if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
                return int(value.strip())
            return None
    return None


def parse_answer(text: str, n_lines: int) -> ParsedWindow:
    """Labels for lines 1..``n_lines`` of a window from the model's answer ``text``."""
    out = ParsedWindow()
    items, notes = extract_items(text or "")
    out.problems.extend(notes)
    seen: dict[int, tuple[str, str]] = {}
    conflicts: set[int] = set()
    for item in items:
        line = _line_number(item)
        label = item.get("label")
        label = label.strip().upper() if isinstance(label, str) else None
        if line is None:
            out.problems.append(f"item without a usable line number: {json.dumps(item)[:80]}")
            continue
        if not 1 <= line <= n_lines:
            out.problems.append(f"line {line} out of range 1-{n_lines}")
            continue
        if label not in LABELS:
            out.problems.append(f"line {line}: label {item.get('label')!r} is not LOOK/SKIP")
            continue
        reason = item.get("reason")
        if not (isinstance(reason, str) and reason.strip()):
            reason = "(no reason given)"
        reason = reason.strip()
        if line in seen:
            if seen[line][0] != label:
                conflicts.add(line)
                out.problems.append(f"line {line} labeled both {seen[line][0]} and {label}")
            else:
                out.problems.append(f"line {line} repeated")
            continue
        seen[line] = (label, reason)
    for line in range(1, n_lines + 1):
        if line in conflicts:
            out.unlabeled[line] = "conflicting labels in the answer"
        elif line in seen:
            out.labels[line] = seen[line]
        else:
            out.unlabeled[line] = (
                "no label in the answer" if items else (notes[0] if notes else "empty answer")
            )
    return out


def answer_text(message: dict) -> str:
    """The text of a Messages API message (its text blocks joined)."""
    return "".join(
        block.get("text", "")
        for block in message.get("content") or []
        if block.get("type", "text") == "text"
    )
