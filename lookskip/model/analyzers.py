"""Tokenisers for the two TF-IDF blocks, as plain module-level functions of a key.

Both take a line's template key (``lookskip.model.key.template_key``), never the
raw line: the sklearn pipeline keys the lines first, so a line scores exactly as
its key does. scikit-learn's built-in analyzers apply Unicode lowercasing whose
details are hard to mirror bit for bit in Rust. These are the whole definition
instead, and they pickle by reference (no lambdas):

* ``word_ngrams``: the key, lowercase ASCII letters only, tokens ``<[a-z]+>`` (a
  placeholder) or ``[a-z0-9_]+``, then all 1..3-grams joined by one space — the
  same order scikit-learn's ``_word_ngrams`` produces.
* ``char_ngrams``: the key, ASCII-lowercased, every run of code points of length
  3..6, like scikit-learn's ``char`` analyzer.

Only ASCII ``A-Z`` are lowercased, so Unicode-version differences between Python
and Rust cannot change a feature.
"""

from __future__ import annotations

import re

WORD_NGRAM_RANGE = (1, 3)
CHAR_NGRAM_RANGE = (3, 6)
WORD_TOKEN_PATTERN = r"<[a-z]+>|[a-z0-9_]+"
_WORD_TOKEN = re.compile(WORD_TOKEN_PATTERN, re.ASCII)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def word_tokens(key: str) -> list[str]:
    return _WORD_TOKEN.findall(ascii_lower(key))


def _ngrams(items: list[str] | str, lo: int, hi: int, sep: str) -> list[str]:
    out: list[str] = []
    n_items = len(items)
    for n in range(lo, min(hi, n_items) + 1):
        for i in range(n_items - n + 1):
            out.append(sep.join(items[i : i + n]))
    return out


def word_ngrams(key: str) -> list[str]:
    """Word 1..3-grams of a template key (the ``analyzer`` of the word block)."""
    lo, hi = WORD_NGRAM_RANGE
    return _ngrams(word_tokens(key), lo, hi, " ")


def char_ngrams(key: str) -> list[str]:
    """Character 3..6-grams of a template key (the ``analyzer`` of the char block)."""
    lo, hi = CHAR_NGRAM_RANGE
    return _ngrams(ascii_lower(key), lo, hi, "")
