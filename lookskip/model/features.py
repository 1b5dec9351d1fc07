"""The 17 handcrafted features: cheap signals TF-IDF cannot see directly.

Like every block of the model they are computed on a line's template key
(``lookskip.model.key``), so ``n_hex`` and ``digit_ratio`` see what the key keeps
(placeholders, status codes), not the raw ids.

Each feature is a regex count, a character-class count or a ratio, defined by the
table below (exported verbatim in the model file) so the Rust side computes the
same numbers. Counts that can grow large pass through ``log1p`` before the
StandardScaler so LogisticRegression converges and no single long line dominates.

Definitions (``n_chars`` = number of code points, at least 1; regexes are ASCII,
case-sensitive unless written ``(?i)``):

=================== ===========================================================
has_level           1 if ``LEVEL`` matches (a level/error word, ``level_pattern``)
has_stack           1 if ``STACK`` matches (Traceback, ``at com.foo(``, ``Caused by:`` …)
has_negative        1 if ``NEGATIVE`` matches (unable, cannot, timeout, denied, panic …)
n_negative          log1p(number of ``NEGATIVE`` matches)
has_path            1 if ``PATH`` matches (a Unix path of ≥ 2 parts or a Windows drive path)
n_hex               log1p(number of ``HEX`` matches)
has_repeated_punct  1 if ``REPEATED_PUNCT`` matches (``!!``, ``??``, ``***``, ``===``, ``---`` …)
n_kv                log1p(number of ``KV`` matches: ``key=value``)
uppercase_ratio     ASCII uppercase letters / n_chars
digit_ratio         ASCII digits / n_chars
struct_punct        log1p(number of characters in ``[]{}()<>=:;|``)
word_count          log1p(number of ``\\S+`` tokens)
n_allcaps           log1p(number of ``ALLCAPS`` matches: words of ≥ 2 capitals)
unique_ratio        distinct ``\\S+`` tokens / max(1, number of ``\\S+`` tokens)
leading_ws          log1p(number of leading spaces and tabs)
n_emphasis          log1p(number of ``EMPHASIS`` matches: ``!``, ``**``, ``>>``, ``<<`` runs)
length              log1p(n_chars)
=================== ===========================================================
"""

from __future__ import annotations

import math
import re

import numpy as np

# The level and error words (the seed's six, with their inflections). `LEVEL` finds them
# as words, not as substrings of names: a package `liberror-perl` or `libgpg-error-dev`,
# a file `error.log`, a symbol `objc_exception_throw` say nothing about the line.
LEVEL_WORDS: tuple[str, ...] = (
    *("error", "errors", "errored", "fatal", "critical"),
    *("warn", "warns", "warned", "warning", "warnings", "exception", "exceptions"),
    *("fail", "fails", "failed", "failing", "failure", "failures"),
)


def level_pattern(words: tuple[str, ...] = LEVEL_WORDS) -> str:
    """A level/error word, in one of three shapes (ASCII; Python re and Rust alike):

    * a word of its own, any case, not glued to a name by a letter, digit, ``-``, ``_``
      or ``.`` on either side (``ERROR``, ``error:``, ``Failed``, ``warnings.``; not
      ``liberror-perl``, ``libgpg-error-dev``, ``error_log``, ``error.log``); the
      pattern reads template keys, where glued digits are a placeholder
      (``fail2ban`` → ``fail<NUM>ban``), so a ``<`` after the word glues too;
    * a capitalised part of a CamelCase name, not continued in lower case
      (``AuthFail``, ``java.io.IOException``, ``FailedScheduling``, ``ValueError``;
      not ``Failover``, ``Errorf``);
    * an upper-case part of an UPPER_SNAKE name (``FAIL_TASK_CLEANUP``, ``SYNC_FAILED``).

    ``(?m)`` lets ``$`` (the end of a line) read the same in both engines (rust/src/rx.rs).
    """
    lower = "|".join(words)
    cap = "|".join(w.capitalize() for w in words)
    upper = "|".join(w.upper() for w in words)
    return (
        "(?m)"
        rf"(?:^|[^A-Za-z0-9_\-])(?i:{lower})(?:[^A-Za-z0-9_.<\-]|\.\B|$)"
        rf"|(?:{cap})(?:[^a-z]|$)"
        rf"|(?:^|[^A-Za-z0-9\-])(?:{upper})(?:[^A-Za-z0-9.<\-]|\.\B|$)"
    )


FEATURE_PATTERNS: dict[str, str] = {
    "LEVEL": level_pattern(),
    "STACK": r"Traceback \(most recent call last\)|^\s*at [A-Za-z_$][A-Za-z0-9_$.<>]*\(|Caused by:"
    r"|^\s*File \"[^\"]*\", line [0-9]+|Exception in thread|\.java:[0-9]+\)",
    "NEGATIVE": r"(?i)\b(?:unable|cannot|can't|could not|couldn't|timeout|timed out|denied|refused"
    r"|panic|oom|out of memory|not found|invalid|unreachable|abort|aborted|killed|crash|crashed"
    r"|corrupt|corrupted|lost|reject|rejected|unauthori[sz]ed|forbidden|violation|no such"
    r"|unavailable|overflow|deadlock|segfault|fault|illegal|bad|broken|unexpected|disconnect"
    r"|disconnected|dropped|expired|mismatch|missing|retry|retrying)\b",
    "PATH": r"(?:^|[\s=:\"'(\[])(?:/[A-Za-z0-9._@+-]+){2,}|\b[A-Za-z]:\\[A-Za-z0-9]",
    "HEX": r"\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b",
    "REPEATED_PUNCT": r"!{2,}|\?{2,}|\*{3,}|#{3,}|={3,}|-{3,}|~{3,}",
    "KV": r"\b[A-Za-z_][A-Za-z0-9_.-]*=[^\s,;]",
    "ALLCAPS": r"\b[A-Z]{2,}\b",
    "EMPHASIS": r"!+|\*{2,}|>{2,}|<{2,}",
    "TOKEN": r"\S+",
    "LEADING_WS": r"^[ \t]*",
}
STRUCT_PUNCT_CHARS = "[]{}()<>=:;|"

FEATURE_NAMES: tuple[str, ...] = (
    "has_level",
    "has_stack",
    "has_negative",
    "n_negative",
    "has_path",
    "n_hex",
    "has_repeated_punct",
    "n_kv",
    "uppercase_ratio",
    "digit_ratio",
    "struct_punct",
    "word_count",
    "n_allcaps",
    "unique_ratio",
    "leading_ws",
    "n_emphasis",
    "length",
)
N_FEATURES = len(FEATURE_NAMES)

_RX = {name: re.compile(p, re.ASCII) for name, p in FEATURE_PATTERNS.items()}
_STRUCT = frozenset(STRUCT_PUNCT_CHARS)


def _count(name: str, line: str) -> int:
    return sum(1 for _ in _RX[name].finditer(line))


def line_features(line: str) -> list[float]:
    """The 17 raw (unscaled) features of one line, in ``FEATURE_NAMES`` order."""
    n_chars = max(1, len(line))
    tokens = _RX["TOKEN"].findall(line)
    n_neg = _count("NEGATIVE", line)
    upper = digits = struct = 0
    for ch in line:
        if "A" <= ch <= "Z":
            upper += 1
        elif "0" <= ch <= "9":
            digits += 1
        if ch in _STRUCT:
            struct += 1
    leading = _RX["LEADING_WS"].match(line)
    return [
        float(_RX["LEVEL"].search(line) is not None),
        float(_RX["STACK"].search(line) is not None),
        float(n_neg > 0),
        math.log1p(n_neg),
        float(_RX["PATH"].search(line) is not None),
        math.log1p(_count("HEX", line)),
        float(_RX["REPEATED_PUNCT"].search(line) is not None),
        math.log1p(_count("KV", line)),
        upper / n_chars,
        digits / n_chars,
        math.log1p(struct),
        math.log1p(len(tokens)),
        math.log1p(_count("ALLCAPS", line)),
        len(set(tokens)) / max(1, len(tokens)),
        math.log1p(leading.end() if leading else 0),
        math.log1p(_count("EMPHASIS", line)),
        math.log1p(len(line)),
    ]


def features_matrix(lines: list[str]) -> np.ndarray:
    """Raw features for many lines, shape ``(len(lines), 17)``, float64."""
    out = np.empty((len(lines), N_FEATURES), dtype=np.float64)
    for i, line in enumerate(lines):
        out[i] = line_features(line)
    return out
