"""Claude's answers about templates, and which template key an answer applies to.

An *answer* labels a *template*: template-key tokens (split on spaces) in which the
token ``<*>`` stands for any one token; a template without ``<*>`` is one exact key.
A key matches a template with as many tokens and the same token at every literal
position; the most specific match wins (most literal tokens, then the earlier
answer). The model file carries the answers (``"answers": [{"template", "label",
"reason"}]``), and every scorer applies them before the model: a matching key scores
1.0 (LOOK) or 0.0 (SKIP) whatever the TF-IDF score and the keyword floor say (a
SKIP answer about ``status installed liberror-perl`` is right, and the floor is
not). The Rust twin is ``rust/src/answers.rs``; the parity tests hold them equal.

Why tokens and not regexes: templates come from a position-based log parser
(``lookskip.templates``), whose variable parts are whole tokens; token matching needs
no escaping, cannot blow up, and is the same few lines in both languages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WILDCARD = "<*>"
LABELS = ("LOOK", "SKIP")


def tokens(key: str) -> list[str]:
    """A key's tokens: split on single spaces (keys have no other runs), empties dropped."""
    return [t for t in key.split(" ") if t]


def literal_tokens(template: str) -> int:
    """How many of a template's tokens are not the wildcard."""
    return sum(t != WILDCARD for t in tokens(template))


@dataclass(frozen=True)
class Answer:
    template: str
    label: str  # LOOK or SKIP
    reason: str = ""

    @property
    def look(self) -> bool:
        return self.label == "LOOK"


class Answers:
    """Compiled answers: ``find(key)`` is the answer that applies to a template key."""

    def __init__(self, answers: Iterable[Answer | Mapping[str, Any]] = ()):
        self.list: list[Answer] = []
        self._exact: dict[str, int] = {}
        self._patterns: dict[int, list[tuple[list[str | None], int]]] = {}
        for i, a in enumerate(answers):
            if not isinstance(a, Answer):
                a = Answer(str(a["template"]), str(a["label"]), str(a.get("reason", "")))
            if a.label not in LABELS:
                raise ValueError(f"answers[{i}]: label {a.label!r} is neither LOOK nor SKIP")
            toks = tokens(a.template)
            if not toks:
                raise ValueError(f"answers[{i}]: empty template")
            self.list.append(a)
            if WILDCARD in toks:
                pattern = [None if t == WILDCARD else t for t in toks]
                self._patterns.setdefault(len(toks), []).append((pattern, i))
            else:
                self._exact.setdefault(" ".join(toks), i)
        for group in self._patterns.values():
            group.sort(key=lambda p: -sum(t is not None for t in p[0]))  # stable

    def __len__(self) -> int:
        return len(self.list)

    def find(self, key: str) -> Answer | None:
        if not self.list:
            return None
        toks = tokens(key)
        i = self._exact.get(" ".join(toks))
        if i is not None:
            return self.list[i]
        for pattern, j in self._patterns.get(len(toks), ()):
            if all(p is None or p == t for p, t in zip(pattern, toks, strict=True)):
                return self.list[j]
        return None
