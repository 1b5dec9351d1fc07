"""The survey: what templates the inputs hold, and which are worth asking Claude about.

Template keys (``lookskip.model.key``) mask numbers, ids and addresses, which
collapses most loghub systems but not modern machine logs, whose variable parts are
words (package names, versions, paths, queue names): a dpkg log has 0.8 distinct keys
per line. A position-based log parser groups those: Drain (``drain3``, similarity
0.4, depth 4) clusters the *distinct keys* (never every line: keys are already
masked, so this is the same grouping at a fraction of the cost), and each cluster's
template is derived from its member keys (a token shared by all at a position stays,
others become ``<*>``), so a template matches every key it was made from, in
Python and in Rust alike (``lookskip.model.answers``).

Each template is then valued for asking: not at all when the answer store or the base
rows already label all its keys; else ``(1 + ln lines) × (0.1 + max(uncertainty,
novelty))``, where uncertainty is the model's closeness to its threshold on the
template's keys (``labeling.select.uncertainty``) and novelty the share of the
template's words the base training rows never use. A model can be confidently wrong
on a system unlike any it learned from (Thunderbird: LOOK F1 0.09), which
uncertainty alone never picks; novelty does.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lookskip.model.answers import WILDCARD
from lookskip.templates import KeySeen, Sample, Template, group_templates

#: Lines of context kept before and after a sample line (shown to Claude).
CONTEXT_LINES = 2
#: Which occurrences of a key are kept as samples: the first is the one a template
#: or key item shows; the others are what a budget left over buys votes with.
SAMPLE_AT = frozenset({1, 3, 10, 30, 100})
_WORD = re.compile(r"[A-Za-z]{3,}")


@dataclass
class Survey:
    templates: list[Template]
    lines: int
    keys: int
    sources: list[str]
    errors: list[str] = field(default_factory=list)
    sampled: bool = False  # stopped at max_lines
    seconds: float = 0.0

    @property
    def to_ask(self) -> list[Template]:
        """Templates worth asking about, best value first."""
        return sorted((t for t in self.templates if t.known is None), key=lambda t: -t.value)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def read_keys(
    scorer: Any,
    inputs: Sequence[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_lines: int | None = None,
) -> tuple[dict[str, KeySeen], int, list[str], list[str], bool]:
    """Distinct keys of ``inputs`` with counts and sample lines (the 1st, 3rd, 10th,
    30th and 100th occurrence, each with its context).

    Returns ``(keys, lines, sources, errors, sampled)``; ``sampled`` when reading
    stopped at ``max_lines``.
    """
    from lookskip.bulk.lines import input_lines
    from lookskip.model.key import template_keys

    seen: dict[str, KeySeen] = {}
    counts: dict[str, int] = {}
    errors: list[str] = []
    sources: list[str] = []
    total = 0
    line_no: dict[str, int] = {}
    sampled = False
    scored = getattr(scorer.engine, "scored_text", None)
    for name, raw in input_lines(inputs, include, exclude, int(scorer.max_line_bytes), errors):
        if raw is None:
            sources.append(name)
            continue
        if max_lines is not None and total + len(raw) > max_lines:
            raw = raw[: max(0, max_lines - total)]
            sampled = True
        texts = [_text(r) for r in raw]
        if scored is not None:
            texts = [scored(t) if t.startswith("{") else t for t in texts]
        keys = template_keys(texts)
        start = line_no.get(name, 0)
        for i, k in enumerate(keys):
            c = counts[k] = counts.get(k, 0) + 1
            if c not in SAMPLE_AT:
                continue
            sample = Sample(
                texts[i],
                name,
                start + i + 1,
                tuple(texts[max(0, i - CONTEXT_LINES) : i]),
                tuple(texts[i + 1 : i + 1 + CONTEXT_LINES]),
            )
            if c == 1:
                seen[k] = KeySeen(k, 0, [sample])
            else:
                seen[k].samples.append(sample)
        line_no[name] = start + len(keys)
        total += len(keys)
        if sampled:
            break
    for k, ks in seen.items():
        ks.count = counts[k]
    return seen, total, sources, errors, sampled


def base_words(base_keys: Sequence[str]) -> set[str]:
    return {w.lower() for k in base_keys for w in _WORD.findall(k)}


def novelty(template: str, known_words: set[str]) -> float:
    """Share of the template's words (3+ letters) the base rows never use."""
    words = [w.lower() for w in _WORD.findall(template.replace(WILDCARD, " "))]
    if not words:
        return 0.0
    return sum(w not in known_words for w in words) / len(words)


def value_templates(
    templates: list[Template],
    threshold: float,
    stored: Any,
    base_labels: dict[str, set[str]],
    known_words: set[str],
) -> None:
    """Set each template's ``known`` and ``value`` (see the module doc)."""
    from lookskip.labeling.select import uncertainty

    for t in templates:
        if all(stored.find(k.key) is not None for k in t.keys):
            t.known = "store"
            continue
        if all(len(base_labels.get(k.key, ())) == 1 for k in t.keys):
            t.known = "base"
            continue
        unsure = max(uncertainty(k.p_look, threshold) for k in t.keys)
        t.value = (1.0 + math.log(max(t.count, 1))) * (
            0.1 + max(unsure, novelty(t.template, known_words))
        )


def survey(
    scorer: Any,
    inputs: Sequence[str],
    *,
    stored: Any,
    base_rows: Sequence[dict] = (),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_lines: int | None = None,
) -> Survey:
    """Read ``inputs``, group their keys into templates and value them for asking."""
    started = time.perf_counter()
    seen, total, sources, errors, sampled = read_keys(scorer, inputs, include, exclude, max_lines)
    keys = list(seen.values())
    if keys:
        p = scorer.predict_proba([k.example for k in keys])
        for k, pv in zip(keys, p, strict=True):
            k.p_look = float(pv)
    templates = group_templates(keys)
    base_labels: dict[str, set[str]] = {}
    for r in base_rows:
        base_labels.setdefault(r["key"], set()).add(r["label"])
    value_templates(
        templates, float(scorer.threshold), stored, base_labels, base_words(list(base_labels))
    )
    return Survey(
        templates,
        total,
        len(keys),
        sources,
        errors,
        sampled,
        time.perf_counter() - started,
    )
