"""Whole events: the rule that joins continuation lines to the line they continue.

A Java exception logs one line, then ``\\tat …`` frames, ``Caused by: …`` and
``... 12 more``; a Python one ``Traceback (most recent call last):``, indented
``File …`` lines and the exception line. Read line by line, the frames are noise
and the head line loses its context; ``lookskip classify --events`` reads them as
one event: a row per LOOK event, from its head line to ``event_end``, scored by its
highest-scoring line.

The rule is data, :data:`EVENT_RULE`, so it can be changed without a rebuild: the
exported model file carries it (optional field ``events``; a format-2 file without
it gets this default), and the Rust classifier (``rust/src/events.rs``, whose
``DEFAULT_EVENT_RULE`` must equal this one: a test checks) applies it. A line
continues the current event when it matches ``continuation`` (indented, a stack
frame, ``Caused by:``, ``Traceback …``), or when it has no ``timestamp`` in its
first ``head_bytes`` bytes while the event's head line has one (a multi-line
message, the exception line of a Python traceback). An event holds at most
``max_lines`` lines, so a file whose only timestamp is on its first line does not
become one event.

``timestamp`` knows syslog (``Jun 14 15:16:01``), ISO 8601, ``yy/mm/dd``,
``dd/Mon/yyyy:`` (access logs), ``mm-dd hh:mm:ss`` (Android), ``yymmdd hhmmss``
(HDFS), ``yyyymmdd-hh:mm:ss`` (HealthApp), epoch seconds and a bare ``hh:mm:ss``.
It was written from those formats' documentation, not from BGL or Thunderbird lines.
"""

from __future__ import annotations

from typing import Any

EVENT_RULE: dict[str, Any] = {
    "continuation": (
        r"^(?:[ \t]+\S|at [\w$.<>/]+\(|Caused by: |Suppressed: "
        r"|\.\.\. \d+ (?:more|common frames omitted)"
        r"|Traceback \(most recent call last\):"
        r"|During handling of the above exception"
        r"|The above exception was the direct cause)"
    ),
    "timestamp": (
        r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\d{4}/\d\d/\d\d[T ]\d\d:\d\d"
        r"|\d\d/\d\d/\d\d \d\d:\d\d:\d\d"
        r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d"
        r"|\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d\d:\d\d"
        r"|\b\d\d-\d\d \d\d:\d\d:\d\d|\b\d{6} \d{6}\b|\b\d{8}-\d\d:\d\d:\d\d"
        r"|\b1\d{9}(?:\.\d+)?\b|\b\d\d:\d\d:\d\d"
    ),
    "head_bytes": 64,
    "max_lines": 200,
}
