"""What is sent to Claude about templates: the prompt, the requests, their cost.

One request shows up to ``LOOKSKIP_ASK_PER_REQUEST`` (40) items, each as one
numbered line (for a template, the first line of its most frequent key; for a vote,
another sample line of a key), a second example when the item's template has other
keys, and up to two lines before and after the numbered line for context. Claude
answers in the labeling answer format (``[{"line", "label", "reason"}]``, one object
per numbered item), so the labeling parser reads it (``labeling.parse.parse_answer``)
and the Batch-API simulator's oracle answers it by the numbered lines, as it answers
windows.

``send="masked"`` shows template keys (numbers, ids, addresses masked) instead of raw
lines: what leaves the host is then the masked form only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from lookskip.labeling.prompt import LABEL_DEFINITIONS

TEMPLATE_PROMPT = (
    LABEL_DEFINITIONS
    + """\
Each numbered item is one template: a representative line of a group of similar lines \
of the same log (other lines of the group differ in values, names or ids). Lines marked \
"also:" are other lines of the same group; "before:" and "after:" lines are context \
only. Label the template, judging the numbered line in its context.

Return ONLY a JSON array with one object per numbered item, in order, and nothing else:
[{"line": 1, "label": "LOOK", "reason": "short reason"}, ...]
"line" is the item number, "label" is "LOOK" or "SKIP", "reason" is a few words."""
)

#: Longer shown lines are cut: one huge line must not make a request too large.
MAX_SHOWN_CHARS = 500
SEND_MODES = ("raw", "masked")


@dataclass(frozen=True)
class AskRequest:
    """One request: its items (``lookskip.templates.Template``: a template, a key, or a vote on a
    key's other sample line), in the order they are numbered."""

    custom_id: str
    items: tuple
    request: dict  # the Message Batches request ({custom_id, params})

    @property
    def templates(self) -> tuple[str, ...]:
        return tuple(t.template for t in self.items)

    @property
    def params(self) -> dict:
        return self.request["params"]


def _clip(text: str) -> str:
    text = text.replace("\n", " ").replace("\r", " ")
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return f"{text[:MAX_SHOWN_CHARS]} …[{len(text) - MAX_SHOWN_CHARS} more chars]"


def _shown(text: str, send: str) -> str:
    if send == "masked":
        from lookskip.model.key import template_key

        text = template_key(text)
    return _clip(text)


def item_lines(n: int, template, send: str) -> list[str]:
    """The lines of one numbered item (``template``: a ``lookskip.templates.Template``)."""
    shown = template.shown
    out = [f"{n}: {_shown(shown.text, send)}"]
    if len(template.keys) > 1:
        out.append(f"   also: {_shown(template.keys[1].example, send)}")
    out += [f"   before: {_shown(b, send)}" for b in shown.before]
    out += [f"   after: {_shown(a, send)}" for a in shown.after]
    return out


def user_message(system: str, templates: Sequence, first: int, total: int, send: str) -> str:
    body: list[str] = []
    for i, t in enumerate(templates, 1):
        body += item_lines(i, t, send)
    last = first + len(templates) - 1
    return (
        f"System: {system}\nTemplates {first}-{last} (of {total}), one numbered line each:\n\n"
        + "\n".join(body)
    )


def build_requests(
    system: str,
    templates: Sequence,
    model: str,
    max_tokens: int,
    per_request: int,
    send: str = "raw",
) -> list[AskRequest]:
    """Requests for ``templates`` (in order), ``per_request`` items each.

    The ``custom_id`` is a hash of the request's content, so the same question asked
    again has the same id (a resumed run finds its answer).
    """
    if send not in SEND_MODES:
        raise ValueError(f"send must be one of {', '.join(SEND_MODES)}")
    out = []
    for i in range(0, len(templates), per_request):
        part = templates[i : i + per_request]
        params = {
            "model": model,
            "max_tokens": max_tokens,
            "system": TEMPLATE_PROMPT,
            "messages": [
                {
                    "role": "user",
                    "content": user_message(system, part, i + 1, len(templates), send),
                }
            ],
        }
        blob = json.dumps(params, sort_keys=True, ensure_ascii=False).encode("utf-8")
        cid = "tpl_" + hashlib.sha256(blob).hexdigest()[:24]
        out.append(AskRequest(cid, tuple(part), {"custom_id": cid, "params": params}))
    return out


def estimate_cost(requests: Sequence[AskRequest], model: str, batch: bool = True) -> float | None:
    """Estimated dollars (the labeling estimates: chars/2.5 in, 30 tokens per answer out)."""
    from lookskip.labeling import pricing

    total = 0.0
    for r in requests:
        usage = pricing.Usage(
            pricing.estimate_input_tokens(r.request),
            pricing.estimate_output_tokens(len(r.templates)),
        )
        cost = pricing.cost_usd(model, usage, batch=batch)
        if cost is None:
            return None
        total += cost
    return round(total, 6)
