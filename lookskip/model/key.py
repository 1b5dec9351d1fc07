"""The template key: the form that every line of one log template shares.

Lines of one template differ in timestamps, ids, addresses and counters; their
label does not. Masking those parts gives a *key* that all of the template's lines
share, and every block of the model (word and char n-grams, handcrafted features)
is computed on the key alone, so a line's score is exactly its key's score. That
is what lets the scorer score each distinct key once per run, and training see
each (key, label) once with its count as the sample weight.

The key is one ordered alternation of rules applied in a single leftmost-first
pass (the first listed alternative wins at a position; Python ``re`` and Rust's
``regex`` agree by construction), each match replaced by its rule's placeholder
or, for a rule whose placeholder is ``None``, kept verbatim; then every run of
spaces and tabs becomes one space. The table is exported verbatim in the model
file (``key.rules``) and the Rust side builds the same alternation from it.

Rule choices, measured on the 30,811 Claude-labeled lines of the 20 training
datasets (``benchmarks/bench_keys.py`` prints these figures):

* ids, addresses, hex and every number masked, whitespace kept: 2,948 distinct
  keys (9.6%), 148 keys labeled both LOOK and SKIP;
* + whitespace runs squeezed: 2,879 keys (9.3%), 147 mixed;
* + short status, exit and errno codes kept (``code``): 2,888 keys (9.4%), 146
  mixed. A code is what a label can depend on (``status=500`` vs ``200``);
* tried and dropped: keeping every 1-3 digit number (8,765 keys, 28.4%: triples
  the keys for 167 fewer minority-label lines) and masking month/day names
  (2,857 keys, but 858 minority-label lines against 720: it merges keys that differ).

Most mixed keys are labeled by context (a stack frame of a failing trace vs a
logged one), not because a rule masks what matters.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable

# (name, placeholder or None = keep the match, pattern). Earlier rules win at a position.
KEY_RULES: tuple[tuple[str, str | None, str], ...] = (
    # status, exit and errno codes, and an HTTP status after a quoted request line
    (
        "code",
        None,
        r"(?i:\b(?:status|code|exit|exited|errno|rc|ret|return|returned|signal|sig|http)\b"
        r"[ =:]*-?[0-9]{1,3}\b)"
        r"|\" [1-5][0-9][0-9]\b",
    ),
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
# After the rules: every run of these characters becomes one space.
SQUEEZE_CHARS = " \t"

KEY_PATTERN = "|".join(f"(?P<{n}>{p})" for n, _, p in KEY_RULES)
_PLACEHOLDERS = {name: placeholder for name, placeholder, _ in KEY_RULES}
_KEYER = re.compile(KEY_PATTERN, re.ASCII)
_SQUEEZE = re.compile(f"[{re.escape(SQUEEZE_CHARS)}]+")


def _replace(m: re.Match[str]) -> str:
    placeholder = _PLACEHOLDERS[m.lastgroup]  # type: ignore[index]
    return m.group(0) if placeholder is None else placeholder


def template_key(line: str) -> str:
    """The template key of ``line`` (idempotent: a key is its own key).

    >>> template_key("blk_-6952295868487656571 from 10.250.19.102:54106  took 0.5s")
    'blk_-<NUM> from <IP> took <NUM>s'
    >>> template_key('"GET /a HTTP/1.1" 404 512 exit code 3')
    '"GET /a HTTP/<NUM>" 404 <NUM> exit code 3'
    """
    return _SQUEEZE.sub(" ", _KEYER.sub(_replace, line))


def template_keys(lines: Iterable[str]) -> list[str]:
    """``template_key`` of each line (the first step of the sklearn pipeline).

    Through the Rust extension when it is built and its shipped rules are these
    (``lookskip_rs.DEFAULT_KEY_RULES``; the parity tests hold the two equal line for
    line): keying is ~30 µs a line here, ~0.3 µs there, and reports and training key
    thousands of lines.
    """
    fast = _rust_template_keys()
    lines = list(lines)
    if fast is not None:
        try:
            return fast(lines)
        except UnicodeEncodeError:  # a lone surrogate: not UTF-8, so not for Rust
            pass
    return [template_key(line) for line in lines]


@functools.cache
def _rust_template_keys():
    from lookskip.rust import rust_module

    lookskip_rs, _ = rust_module()
    if lookskip_rs is None:
        return None
    rules = getattr(lookskip_rs, "DEFAULT_KEY_RULES", None)
    if rules is None or [tuple(r) for r in rules] != list(KEY_RULES):
        return None
    return lookskip_rs.template_keys


def key_rules_hash() -> str:
    """Hash of the key rules (and squeeze characters) that define a template key."""
    blob = json.dumps([list(r) for r in KEY_RULES] + [SQUEEZE_CHARS]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
