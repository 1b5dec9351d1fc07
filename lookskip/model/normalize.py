"""Line normalization: variable parts (ids, addresses, numbers) become placeholders.

Two log lines that differ only in a block id, an IP or a counter should look the
same to the word n-gram model; otherwise the vocabulary fills with one-off tokens.

The rules are ONE ordered alternation applied in a single left-to-right pass
(leftmost-first, the first listed alternative wins at a position), so Python and
Rust agree by construction: both engines give leftmost-first matches. The table is
exported verbatim in the model file (``normalization.rules``) and the Rust side
builds the same alternation from it.
"""

from __future__ import annotations

import re

# (name, placeholder, pattern). Order matters: earlier rules win at a position.
NORMALIZATION_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "uuid",
        "<UUID>",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    ),
    # full IPv6 (3-7 colons between hex groups) and the compressed "::" form
    (
        "ipv6",
        "<IP>",
        r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"
        r"|\b(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6}\b)?",
    ),
    ("ipv4", "<IP>", r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5})?\b"),
    # 0x-prefixed, or a hex word holding at least one letter a-f AND one digit
    # (letter first, or digit first): ids like 7fff0a3c, e1000, a1b2c3
    (
        "hex",
        "<HEX>",
        r"\b0[xX][0-9a-fA-F]+\b"
        r"|\b[0-9]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b"
        r"|\b[0-9]+[a-fA-F][0-9a-fA-F]*\b",
    ),
    ("num", "<NUM>", r"[0-9]+(?:\.[0-9]+)*"),
)

PLACEHOLDERS = {name: placeholder for name, placeholder, _ in NORMALIZATION_RULES}
NORMALIZATION_PATTERN = "|".join(f"(?P<{n}>{p})" for n, _, p in NORMALIZATION_RULES)
_NORMALIZER = re.compile(NORMALIZATION_PATTERN, re.ASCII)


def _placeholder(m: re.Match[str]) -> str:
    return PLACEHOLDERS[m.lastgroup]  # type: ignore[index]


def normalize(line: str) -> str:
    """Replace ids, addresses, hex values and numbers with placeholders.

    >>> normalize("blk_-6952295868487656571 from 10.250.19.102:54106 took 0.5s")
    'blk_-<NUM> from <IP> took <NUM>s'
    """
    return _NORMALIZER.sub(_placeholder, line)
