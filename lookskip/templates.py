"""Template keys grouped into templates: one grouping for the ask-Claude survey and the
report's Patterns table, so both show the same rows (``status unpacked liberror-perl``
and ``status unpacked libgpg-error-dev`` are one template, ``status unpacked <*>``).

A module of its own, below both users: ``lookskip.bulk.patterns`` (read while a run
scores) and ``lookskip.ask.survey`` (which reads inputs through the bulk layer) would
otherwise import each other in a circle (``tests/test_layers.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lookskip.model.answers import WILDCARD, tokens

DRAIN_SIM_TH = 0.4
DRAIN_DEPTH = 4


@dataclass(frozen=True)
class Sample:
    """One line of a key, where it was, and the lines around it."""

    text: str  # its scored text
    source: str
    line: int  # 1-based, in ``source``
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@dataclass
class KeySeen:
    """One distinct template key of the inputs: how often, and sample lines of it
    (the first one first)."""

    key: str
    count: int
    samples: list[Sample]
    p_look: float = 0.0

    @property
    def example(self) -> str:
        return self.samples[0].text

    @property
    def source(self) -> str:
        return self.samples[0].source


@dataclass
class Template:
    template: str
    keys: list[KeySeen]  # most lines first
    value: float = 0.0
    known: str | None = None  # "store" or "base": already labeled, not asked
    sample: int = 0  # which sample of the head key is shown (a vote item: > 0)

    @property
    def shown(self) -> Sample:
        return self.keys[0].samples[self.sample]

    @property
    def count(self) -> int:
        return sum(k.count for k in self.keys)

    @property
    def p_look(self) -> float:
        n = self.count
        return sum(k.p_look * k.count for k in self.keys) / n if n else 0.0


_PLACEHOLDER = re.compile(r"<(?:NUM|IP|HEX|UUID)>")
_ALNUM = re.compile(r"[A-Za-z0-9]")


def _placeholder_only(token: str) -> bool:
    """A token that is masked values and punctuation only (a timestamp, an address)."""
    return _ALNUM.search(_PLACEHOLDER.sub("", token)) is None


def group_templates(keys: Sequence[KeySeen]) -> list[Template]:
    """Drain clusters of the keys (most frequent first, so the tree is deterministic),
    each cluster's template derived from its members (per token count).

    Drain sees a key without its placeholder-only tokens (``<NUM>-<NUM>-<NUM>``,
    ``<IP>``): a leading timestamp would otherwise fill the prefix tree's levels (depth
    4 = the first two tokens) and count as shared words, so ``status installed <*>``
    and ``status unpacked <*>`` of a dpkg log would meet and merge (measured: 5
    templates for 2,000 dpkg lines, against 31 without those tokens).
    """
    from drain3.drain import Drain

    drain = Drain(depth=DRAIN_DEPTH, sim_th=DRAIN_SIM_TH, param_str=WILDCARD)
    ordered = sorted(keys, key=lambda k: (-k.count, k.key))
    groups: dict[tuple[int, int], list[KeySeen]] = {}
    for ks in ordered:
        toks = tokens(ks.key)
        if not toks:
            groups.setdefault((-1, 0), []).append(ks)
            continue
        content = [t for t in toks if not _placeholder_only(t)] or toks
        cluster, _ = drain.add_log_message(" ".join(content))
        groups.setdefault((cluster.cluster_id, len(toks)), []).append(ks)
    out = []
    for members in groups.values():
        token_lists = [tokens(m.key) for m in members]
        if not token_lists[0]:
            continue  # empty lines: nothing to ask
        template = " ".join(
            col[0] if all(t == col[0] for t in col) else WILDCARD
            for col in zip(*token_lists, strict=True)
        )
        out.append(Template(template, members))
    return out
