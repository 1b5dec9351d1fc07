"""What is sent to Claude: the system prompt, the 50-line windows, the batch requests.

The format is the one that produced the recorded labels in the reference data
(``System: <Dataset>`` / ``Lines a-b (of N):`` / numbered lines), so recorded answers
can be replayed and new labels stay comparable with old ones. Line numbers in the
user message are relative to the window (1..n); the custom_id carries the window's
first line, which maps them back to the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from lookskip import storage

#: What LOOK and SKIP mean: the part every labeling prompt shares.
LABEL_DEFINITIONS = """\
You label log lines for a log-triage classifier. Each line gets exactly one label:

LOOK - a line an operator should read: errors, warnings, failures, exceptions and stack \
traces, timeouts, retries, anomalies, unexpected values, state transitions (start, stop, \
restart, shutdown, failover, a component going up or down), resource exhaustion, and \
security events (authentication failures, invalid users, denied access, privilege changes).
SKIP - routine noise: periodic heartbeats, debug tracing, normal request/response logging, \
successful routine operations, statistics that look normal.

Lean toward LOOK when in doubt: a missed problem costs more than an extra line to read.

"""

SYSTEM_PROMPT = (
    LABEL_DEFINITIONS
    + """\
Return ONLY a JSON array with one object per input line, in order, and nothing else:
[{"line": 1, "label": "LOOK", "reason": "short reason"}, ...]
"line" is the number shown before the line, "label" is "LOOK" or "SKIP", "reason" is a \
few words."""
)

#: A line longer than this is cut in the prompt (the label row keeps the full line):
#: one 10 MB line must not make a request too large for the API.
MAX_PROMPT_LINE_CHARS = 2000


class SampleError(ValueError):
    """A dataset sample that cannot be labeled (missing, empty, binary, not UTF-8)."""


def read_sample(url: str) -> list[str]:
    """The lines of a sample file, without line ends; a clear ``SampleError`` if unusable."""
    if not storage.exists(url):
        raise SampleError(f"{url}: sample file not found (run `lookskip ingest` first)")
    data = storage.read_bytes(url)
    if not data.strip():
        raise SampleError(f"{url}: the sample file is empty")
    if b"\x00" in data[:65536]:
        raise SampleError(f"{url}: looks like a binary file (NUL bytes), not a text log")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SampleError(f"{url}: not valid UTF-8 at byte {exc.start}") from None
    # Split on "\n" only: str.splitlines() would also split on \x0c, \x1c, \u2028 …,
    # which appear inside real log lines and would shift every later line number.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


@dataclass(frozen=True)
class Window:
    """``lines`` of ``dataset`` starting at 1-based file line ``start``, of ``total``."""

    dataset: str
    start: int
    lines: tuple[str, ...]
    total: int

    @property
    def end(self) -> int:
        return self.start + len(self.lines) - 1

    @property
    def custom_id(self) -> str:
        return custom_id(self.dataset, self.start)

    def user_message(self) -> str:
        body = "\n".join(f"{i}: {_clip(line)}" for i, line in enumerate(self.lines, 1))
        return f"System: {self.dataset}\nLines {self.start}-{self.end} (of {self.total}):\n\n{body}"


def _clip(line: str) -> str:
    if len(line) <= MAX_PROMPT_LINE_CHARS:
        return line
    return f"{line[:MAX_PROMPT_LINE_CHARS]} …[{len(line) - MAX_PROMPT_LINE_CHARS} more chars]"


def custom_id(dataset: str, start: int) -> str:
    return f"{dataset}_{start}"


def split_custom_id(cid: str) -> tuple[str, int]:
    dataset, _, start = cid.rpartition("_")
    return dataset, int(start)


def windows(dataset: str, lines: list[str], size: int) -> list[Window]:
    """Non-overlapping windows of ``size`` lines covering the whole sample."""
    total = len(lines)
    return [
        Window(dataset, i + 1, tuple(lines[i : i + size]), total) for i in range(0, total, size)
    ]


def build_request(window: Window, model: str, max_tokens: int, system: str | None = None) -> dict:
    """One Message Batches request (``custom_id`` + Messages API ``params``)."""
    return {
        "custom_id": window.custom_id,
        "params": {
            "model": model,
            "max_tokens": max_tokens,
            "system": system or SYSTEM_PROMPT,
            "messages": [{"role": "user", "content": window.user_message()}],
        },
    }


def request_hash(request: dict) -> str:
    """Identity of a request's content: same hash = same answer can be reused."""
    blob = json.dumps(request["params"], sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]
