"""The simulator's answers: recorded replays, a keyword heuristic, and malformations.

The heuristic is deterministic (same lines → same labels), so a test can predict every
label it will get back; it is a stand-in for the model, not a classifier to rely on.
Malformations imitate what real models return on a bad day; which one a request gets
depends only on the seed, its custom_id and how often it was asked before, so a
resubmitted request gets a fresh draw and a test run is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass

# (pattern, reason) — first match wins; order from most to least specific.
_LOOK_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.I), why)
    for p, why in [
        (
            r"traceback|^\s+at [\w$.<>]+\(|^caused by|exception\b|\w+Error\b",
            "exception or stack trace",
        ),
        (
            r"\b(fatal|panic|critical|crit|emerg|alert|segfault|core dump|oops)\b",
            "fatal or critical event",
        ),
        (r"\b(error|err|errno|fail(ed|ure|s)?|faulty|corrupt\w*)\b", "error or failure"),
        (r"\b(warn(ing)?|deprecated)\b", "warning"),
        (
            r"\b(denied|refused|unauthori[sz]ed|forbidden|invalid user|authentication failure"
            r"|break-in|illegal|rejected|blocked|intrusion|brute)\b",
            "security event",
        ),
        (
            r"\b(timed? ?out|timeout|unreachable|lost|dropp(ed|ing)|retry(ing)?|retries"
            r"|unable|cannot|can't|could not|not found|no such|missing)\b",
            "operation did not succeed",
        ),
        (
            r"\b(out of memory|oom|exhausted|no space|disk full|overload\w*|throttl\w*)\b",
            "resource exhaustion",
        ),
        (
            r"\b(shut ?down|restart\w*|reboot\w*|terminat\w*|killed|abort\w*|crash\w*|"
            r"stopp(ed|ing)|started|starting|failover|down|offline)\b",
            "state transition",
        ),
        (
            r"\b(interrupt\w*|exit(ed)? with|non-zero|unexpected|anomal\w*|mismatch)\b",
            "unexpected condition",
        ),
    ]
]
_NUMBERED = re.compile(r"^(\d+): ?(.*)$")


def label_line(line: str) -> tuple[str, str]:
    for pattern, why in _LOOK_RULES:
        if pattern.search(line):
            return "LOOK", why
    return "SKIP", "routine message"


def user_text(params: dict) -> str:
    msgs = params.get("messages") or []
    if not msgs:
        return ""
    content = msgs[-1].get("content", "")
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content)


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """The ``n: line`` rows of a labeling user message (after its header)."""
    _, _, body = text.partition("\n\n")
    out = []
    for row in (body or text).split("\n"):
        m = _NUMBERED.match(row)
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return out


def heuristic_items(params: dict) -> list[dict]:
    return [
        {"line": n, "label": lab, "reason": why}
        for n, line in numbered_lines(user_text(params))
        for lab, why in [label_line(line)]
    ]


class Oracle:
    """Answers from labels files: each shown line gets its own label, found by raw line
    or, for a request that shows template keys (``--send masked``), by key.

    Tests and benchmarks measure a whole ask-Claude or labeling loop against known
    labels this way, with no API key. A line shown cut (over the prompt's length
    limit) is found by its shown prefix; a line in no labels file gets the keyword
    heuristic's label (counted as a miss).
    """

    def __init__(self, by_line: dict[str, tuple[str, str]], by_key: dict[str, tuple[str, str]]):
        self.by_line = by_line
        self.by_key = by_key

    @classmethod
    def load(cls, paths) -> Oracle:
        from collections import Counter

        from lookskip.model.key import template_key

        by_line: dict[str, tuple[str, str]] = {}
        votes: dict[str, Counter] = {}
        for path in paths:
            with open(path, encoding="utf-8") as f:
                for raw in f:
                    if not raw.strip():
                        continue
                    row = json.loads(raw)
                    line, label = row["raw_line"], row["label"]
                    by_line.setdefault(line, (label, row.get("reason") or "oracle"))
                    votes.setdefault(template_key(line), Counter())[label] += 1
        by_key = {k: (c.most_common(1)[0][0], "oracle (by key)") for k, c in votes.items()}
        return cls(by_line, by_key)

    def label(self, shown: str) -> tuple[str, str] | None:
        hit = self.by_line.get(shown) or self.by_key.get(shown)
        if hit is None and " …[" in shown:
            prefix = shown.split(" …[", 1)[0]
            hit = next((v for k, v in self.by_line.items() if k.startswith(prefix)), None)
        return hit

    def items(self, params: dict) -> tuple[list[dict], int]:
        out, misses = [], 0
        for n, line in numbered_lines(user_text(params)):
            hit = self.label(line)
            if hit is None:
                misses += 1
                hit = label_line(line)
            out.append({"line": n, "label": hit[0], "reason": hit[1]})
        return out, misses


def render(items: list[dict]) -> str:
    """The shape real answers have: a fenced JSON array, one object per row."""
    body = ",\n".join("  " + json.dumps(i, ensure_ascii=False) for i in items)
    return f"```json\n[\n{body}\n]\n```"


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 2.5))


def message(
    params: dict, text: str, stop_reason: str = "end_turn", msg_id: str | None = None
) -> dict:
    """A Messages API ``message`` object, shaped as the SDK's ``Message`` type."""
    prompt = (params.get("system") or "") if isinstance(params.get("system"), str) else ""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return {
        "id": msg_id or f"msg_sim_{digest}",
        "type": "message",
        "role": "assistant",
        "model": params.get("model", "claude-sim"),
        "content": [{"type": "text", "text": text, "citations": None}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": estimate_tokens(prompt + user_text(params)) + 10,
            "output_tokens": estimate_tokens(text),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "batch",
        },
    }


MALFORMATIONS = ("truncated", "missing_lines", "prose", "label_case", "duplicates", "not_json")


def malform(items: list[dict], kind: str, rnd: random.Random) -> tuple[str, str]:
    """(text, stop_reason) of an answer damaged in the way ``kind`` names."""
    if kind == "truncated":
        text = render(items)
        return text[: max(20, int(len(text) * rnd.uniform(0.3, 0.8)))], "max_tokens"
    if kind == "missing_lines":
        keep = [i for i in items if rnd.random() > 0.25] or items[:1]
        return render(keep), "end_turn"
    if kind == "prose":
        body = json.dumps(items, ensure_ascii=False)
        return (
            f"Here are the labels for the lines:\n{body}\nLet me know if you need more.",
            "end_turn",
        )
    if kind == "label_case":
        fixed = [
            {**i, "label": rnd.choice([i["label"].lower(), i["label"].title()])} for i in items
        ]
        return render(fixed), "end_turn"
    if kind == "duplicates":
        extra = [dict(i) for i in items[: max(1, len(items) // 5)]]
        bad = {"line": len(items) + 3, "label": "LOOK", "reason": "out of range"}
        return render([*items, *extra, bad]), "end_turn"
    return "I'm sorry, but I can't provide labels for these lines.", "end_turn"


def recorded_items(result: dict) -> list[dict] | None:
    """The label objects of a recorded succeeded result, if its text is clean JSON."""
    try:
        text = "".join(b.get("text", "") for b in result["message"]["content"])
        text = re.sub(r"^\s*```[a-z]*\s*|\s*```\s*$", "", text)
        items = json.loads(text)
        return items if isinstance(items, list) else None
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class Draw:
    """The fate of one request in one batch."""

    outcome: str  # succeeded | errored | expired
    malformation: str | None = None


def draw(
    seed: int,
    custom_id: str,
    attempt: int,
    error_rate: float,
    expire_rate: float,
    malformed_rate: float,
) -> tuple[Draw, random.Random]:
    rnd = random.Random(f"{seed}:{custom_id}:{attempt}")
    x = rnd.random()
    if x < error_rate:
        return Draw("errored"), rnd
    if x < error_rate + expire_rate:
        return Draw("expired"), rnd
    if rnd.random() < malformed_rate:
        return Draw("succeeded", rnd.choice(MALFORMATIONS)), rnd
    return Draw("succeeded"), rnd
