"""JSON-lines logs: a line that is a JSON object is scored on its message field.

Structured loggers (bunyan, pino, zap, logrus, structlog, Docker's json-file driver)
write ``{"time":…,"level":"error","msg":"connection refused",…}``. Scored whole, the
model would read field names and timestamps, the same on every line, instead of the
message. So the *scored text* of such a line is ``"<level> <message>"``: the first
of ``fields`` (default :data:`JSON_FIELDS`; ``lookskip classify --json-field``)
present with a string value, preceded by the first :data:`LEVEL_FIELDS` value, so
the level stays a feature (the model's level words and ``look_floor`` read it). A
line that is not a JSON object, or has no such field, is scored as it is; rows show
the line as written. The Rust classifier (``rust/src/jsonlog.rs``) is the twin of
:func:`scored_text`, which the numpy reference uses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

JSON_FIELDS: tuple[str, ...] = ("msg", "message", "log")
LEVEL_FIELDS: tuple[str, ...] = ("level", "severity", "lvl", "levelname", "loglevel")


def json_fields_option(names: Sequence[str] | None) -> list[str] | None:
    """``--json-field`` values as the scorer takes them: None for the default fields
    (none given), [] for ``none`` (JSON lines scored whole), else the names."""
    if not names:
        return None
    if [n.lower() for n in names] == ["none"]:
        return []
    return [n for n in names if n]


def _not_json(name: str) -> None:
    raise ValueError(name)


def scored_text(line: str, fields: Sequence[str] = JSON_FIELDS) -> str:
    """The text the model scores for ``line`` (see the module docstring)."""
    if not fields:
        return line
    trimmed = line.lstrip(" \t")
    if not trimmed.startswith("{"):
        return line
    try:  # NaN/Infinity are not JSON (serde_json refuses them too)
        obj = json.loads(trimmed, parse_constant=_not_json)
    except ValueError:
        return line
    if not isinstance(obj, dict):
        return line
    msg = next((obj[f] for f in fields if isinstance(obj.get(f), str)), None)
    if msg is None:
        return line
    msg = msg.rstrip("\r\n")
    level = next((obj[f] for f in LEVEL_FIELDS if isinstance(obj.get(f), str)), None)
    return msg if level is None else f"{level} {msg}"
