"""A numpy-only reference scorer that reads nothing but the exported model file.

It is the executable form of ``docs/model-format.md``: every pattern, n-gram range,
vocabulary, idf, scaling and coefficient comes from the file, none from the
training code, so a test that it matches scikit-learn's ``predict_proba`` within
1e-9 proves the file is complete. The Rust classifier implements the same steps.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from lookskip import storage

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ngrams(items: Sequence[str] | str, lo: int, hi: int, sep: str) -> list[str]:
    out: list[str] = []
    for n in range(lo, min(hi, len(items)) + 1):
        for i in range(len(items) - n + 1):
            out.append(sep.join(items[i : i + n]))
    return out


def _kind(value: Any) -> str:
    """How a JSON value is named in an error: its JSON type and a glimpse of it."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"{names.get(type(value), type(value).__name__)} ({json.dumps(value)[:40]})"


def _at(doc: Any, path: str, optional: bool = False) -> Any:
    """The value at dotted ``path``; a missing field is an error naming it."""
    value = doc
    for key in path.split("."):
        if not isinstance(value, dict):
            raise ValueError(f"field {path}: expected an object around {key!r}, not {_kind(value)}")
        if key not in value:
            if optional:
                return None
            raise ValueError(f"missing field {path}")
        value = value[key]
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _number(doc: Any, path: str) -> float:
    v = _at(doc, path)
    if not _is_number(v):
        raise ValueError(f"field {path} must be a finite number, not {_kind(v)}")
    return float(v)


def _string(doc: Any, path: str, optional: bool = False) -> str | None:
    v = _at(doc, path, optional)
    if v is None and optional:
        return None
    if not isinstance(v, str):
        raise ValueError(f"field {path} must be a string, not {_kind(v)}")
    return v


def _list(doc: Any, path: str, item_ok: Any, item_name: str) -> list[Any]:
    v = _at(doc, path)
    if not isinstance(v, list):
        raise ValueError(f"field {path} must be an array of {item_name}, not {_kind(v)}")
    for i, x in enumerate(v):
        if not item_ok(x):
            raise ValueError(f"field {path}[{i}] must be {item_name}, not {_kind(x)}")
    return v


def _numbers(doc: Any, path: str) -> np.ndarray:
    return np.asarray(_list(doc, path, _is_number, "finite numbers"), dtype=np.float64)


def _strings(doc: Any, path: str) -> list[str]:
    return _list(doc, path, lambda x: isinstance(x, str), "strings")


def _pattern(path: str, pattern: Any) -> re.Pattern[str]:
    """Compile a model pattern in the shared dialect (ASCII, ``re.ASCII``)."""
    if not isinstance(pattern, str):
        raise ValueError(f"field {path} must be a string, not {_kind(pattern)}")
    if not pattern.isascii():
        raise ValueError(f"field {path}: patterns are ASCII-only (the dialect shared with Rust)")
    try:
        return re.compile(pattern, re.ASCII)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"field {path}: invalid pattern ({exc})") from None


class _Block:
    """One TF-IDF block as the format defines it."""

    def __init__(self, doc: dict[str, Any], name: str):
        spec = f"{name}."
        lo_hi = _at(doc, spec + "ngram_range")
        if not (
            isinstance(lo_hi, list)
            and len(lo_hi) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in lo_hi)
            and 1 <= lo_hi[0] <= lo_hi[1]
        ):
            raise ValueError(f"field {spec}ngram_range must be [lo, hi] with 1 <= lo <= hi")
        self.lo, self.hi = lo_hi
        self.index = {t: i for i, t in enumerate(_strings(doc, spec + "vocabulary"))}
        self.idf = _numbers(doc, spec + "idf")
        self.coef = _numbers(doc, f"coef.{name}")
        sublinear = _at(doc, spec + "sublinear_tf")
        if not isinstance(sublinear, bool):
            raise ValueError(
                f"field {spec}sublinear_tf must be true or false, not {_kind(sublinear)}"
            )
        self.sublinear = sublinear
        self.norm = _at(doc, spec + "norm")
        if self.norm not in ("l2", None):
            raise ValueError(f"field {spec}norm: unsupported norm {self.norm!r} (l2 or null)")
        if not (len(self.index) == self.idf.size == self.coef.size):
            raise ValueError(
                f"{name} block: vocabulary ({len(self.index)}), idf ({self.idf.size}) and "
                f"coef.{name} ({self.coef.size}) sizes differ"
            )

    def score(self, terms: list[str]) -> float:
        """``coef · tfidf(terms)`` for one line."""
        counts = Counter(t for t in terms if t in self.index)
        if not counts:
            return 0.0
        idx = np.fromiter((self.index[t] for t in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.sublinear:
            tf = 1.0 + np.log(tf)
        v = tf * self.idf[idx]
        if self.norm == "l2":
            v = v / math.sqrt(float(np.dot(v, v)))
        return float(np.dot(v, self.coef[idx]))


class ReferenceModel:
    """Scores lines from an exported model document.

    Every field is read through a checker that names it, so a model file with a
    missing field or a wrong type is one clear error ("missing field coef.word"),
    never a ``KeyError`` or ``TypeError`` from deep inside the scorer.
    """

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.threshold = _number(doc, "threshold")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"field threshold {self.threshold} must be from 0 to 1")
        self.intercept = _number(doc, "intercept")
        rules = _list(
            doc,
            "key.rules",
            lambda r: (
                isinstance(r, list)
                and len(r) == 3
                and isinstance(r[0], str)
                and r[0].isidentifier()
                and isinstance(r[1], str | None)
            ),
            "[name, placeholder or null, pattern]",
        )
        if not rules:
            raise ValueError("field key.rules is empty")
        for i, (_, _, p) in enumerate(rules):
            _pattern(f"key.rules[{i}]", p)
        self._placeholders = {name: ph for name, ph, _ in rules}
        self._keyer = _pattern("key.rules", "|".join(f"(?P<{n}>{p})" for n, _, p in rules))
        squeeze = _string(doc, "key.squeeze_chars")
        self._squeeze = re.compile(f"[{re.escape(squeeze)}]+") if squeeze else None
        self._token = _pattern("word.token_pattern", _string(doc, "word.token_pattern"))
        self.word = _Block(doc, "word")
        self.char = _Block(doc, "char")
        self.names = _strings(doc, "handcrafted.names")
        patterns = _at(doc, "handcrafted.patterns")
        if not isinstance(patterns, dict):
            raise ValueError(f"field handcrafted.patterns must be an object, not {_kind(patterns)}")
        self._rx = {k: _pattern(f"handcrafted.patterns.{k}", p) for k, p in patterns.items()}
        self._struct = frozenset(_string(doc, "handcrafted.struct_punct_chars") or "")
        self.mean = _numbers(doc, "handcrafted.mean")
        self.scale = _numbers(doc, "handcrafted.scale")
        self.hand_coef = _numbers(doc, "coef.handcrafted")
        if not (len(self.names) == self.mean.size == self.scale.size == self.hand_coef.size):
            raise ValueError(
                f"handcrafted: names ({len(self.names)}), mean ({self.mean.size}), scale "
                f"({self.scale.size}) and coef.handcrafted ({self.hand_coef.size}) sizes differ"
            )
        if not np.all(self.scale != 0):
            raise ValueError("field handcrafted.scale must be non-zero")
        try:  # every feature on an empty line: uses each pattern the format requires
            known = self._feature_values("")
        except KeyError as exc:
            raise ValueError(f"missing field handcrafted.patterns.{exc.args[0]}") from None
        unknown = [n for n in self.names if n not in known]
        if unknown:
            raise ValueError(f"field handcrafted.names: unknown feature {unknown[0]!r}")
        floor = _string(doc, "look_floor", optional=True)
        self._floor = _pattern("look_floor", floor) if floor else None
        answers = _at(doc, "answers", optional=True)
        if answers is not None and not isinstance(answers, list):
            raise ValueError(f"field answers must be an array, not {_kind(answers)}")
        from lookskip.model.answers import Answers

        try:
            self.answers = Answers(answers or ())
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"field answers: each must be {{template, label, reason}} ({exc})"
            ) from None

    @classmethod
    def load(cls, path: str) -> ReferenceModel:
        data = storage.read_bytes(path)
        try:
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            doc = json.loads(data)
        except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable model file ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != "lookskip-tfidf":
            raise ValueError(f"{path}: not a lookskip-tfidf model file")
        from lookskip.model.format import check_version

        check_version(doc, path)
        try:
            return cls(doc)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    # --- transforms ---------------------------------------------------------
    def _replace(self, m: re.Match[str]) -> str:
        placeholder = self._placeholders[m.lastgroup]
        return m.group(0) if placeholder is None else placeholder

    def template_key(self, line: str) -> str:
        key = self._keyer.sub(self._replace, line)
        return self._squeeze.sub(" ", key) if self._squeeze else key

    # The blocks below take a key, never a raw line.
    def word_terms(self, line: str) -> list[str]:
        tokens = self._token.findall(line.translate(_ASCII_LOWER))
        return _ngrams(tokens, self.word.lo, self.word.hi, " ")

    def char_terms(self, line: str) -> list[str]:
        return _ngrams(line.translate(_ASCII_LOWER), self.char.lo, self.char.hi, "")

    def line_features(self, line: str) -> np.ndarray:
        values = self._feature_values(line)
        return np.asarray([values[name] for name in self.names], dtype=np.float64)

    def _feature_values(self, line: str) -> dict[str, float]:
        rx = self._rx
        n_chars = max(1, len(line))
        tokens = rx["TOKEN"].findall(line)
        n_neg = len(rx["NEGATIVE"].findall(line))
        upper = sum(1 for ch in line if "A" <= ch <= "Z")
        digits = sum(1 for ch in line if "0" <= ch <= "9")
        struct = sum(1 for ch in line if ch in self._struct)
        leading = rx["LEADING_WS"].match(line)
        return {
            "has_level": float(rx["LEVEL"].search(line) is not None),
            "has_stack": float(rx["STACK"].search(line) is not None),
            "has_negative": float(n_neg > 0),
            "n_negative": math.log1p(n_neg),
            "has_path": float(rx["PATH"].search(line) is not None),
            "n_hex": math.log1p(sum(1 for _ in rx["HEX"].finditer(line))),
            "has_repeated_punct": float(rx["REPEATED_PUNCT"].search(line) is not None),
            "n_kv": math.log1p(sum(1 for _ in rx["KV"].finditer(line))),
            "uppercase_ratio": upper / n_chars,
            "digit_ratio": digits / n_chars,
            "struct_punct": math.log1p(struct),
            "word_count": math.log1p(len(tokens)),
            "n_allcaps": math.log1p(sum(1 for _ in rx["ALLCAPS"].finditer(line))),
            "unique_ratio": len(set(tokens)) / max(1, len(tokens)),
            "leading_ws": math.log1p(leading.end() if leading else 0),
            "n_emphasis": math.log1p(sum(1 for _ in rx["EMPHASIS"].finditer(line))),
            "length": math.log1p(len(line)),
        }

    # --- scoring ------------------------------------------------------------
    def decision(self, line: str) -> float:
        """The decision value of a line: that of its template key."""
        return self.key_decision(self.template_key(line))

    def key_decision(self, key: str) -> float:
        hand = (self.line_features(key) - self.mean) / self.scale
        return (
            self.intercept
            + self.word.score(self.word_terms(key))
            + self.char.score(self.char_terms(key))
            + float(np.dot(self.hand_coef, hand))
        )

    def key_proba(self, key: str) -> float:
        """``p_look`` of a key: Claude's answer when one matches it (1 or 0), else the
        logistic of its decision, raised to the threshold where ``look_floor`` matches."""
        answer = self.answers.find(key)
        if answer is not None:
            return 1.0 if answer.look else 0.0
        z = self.key_decision(key)
        p = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0  # exp would overflow
        if self._floor is not None and self._floor.search(key):
            p = max(p, self.threshold)
        return p

    def predict_proba_look(self, lines: Sequence[str]) -> np.ndarray:
        """``p_look`` of each line; each distinct key is scored once."""
        keys = [self.template_key(line) for line in lines]
        p_of = {k: self.key_proba(k) for k in dict.fromkeys(keys)}
        return np.fromiter((p_of[k] for k in keys), dtype=np.float64, count=len(keys))

    def predict(self, lines: Sequence[str]) -> list[str]:
        return ["LOOK" if p >= self.threshold else "SKIP" for p in self.predict_proba_look(lines)]
