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


class _Block:
    """One TF-IDF block as the format defines it."""

    def __init__(self, spec: dict[str, Any], coef: list[float]):
        self.lo, self.hi = spec["ngram_range"]
        self.index = {t: i for i, t in enumerate(spec["vocabulary"])}
        self.idf = np.asarray(spec["idf"], dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.sublinear = bool(spec["sublinear_tf"])
        self.norm = spec["norm"]
        if not (len(self.index) == self.idf.size == self.coef.size):
            raise ValueError("vocabulary, idf and coef sizes differ")

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
        elif self.norm is not None:
            raise ValueError(f"unsupported norm {self.norm!r}")
        return float(np.dot(v, self.coef[idx]))


class ReferenceModel:
    """Scores lines from an exported model document."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.threshold = float(doc["threshold"])
        self.intercept = float(doc["intercept"])
        key = doc["key"]
        rules = key["rules"]
        self._placeholders = {name: ph for name, ph, _ in rules}
        self._keyer = re.compile("|".join(f"(?P<{n}>{p})" for n, _, p in rules), re.ASCII)
        self._squeeze = re.compile(f"[{re.escape(key['squeeze_chars'])}]+")
        word = doc["word"]
        self._token = re.compile(word["token_pattern"], re.ASCII)
        self.word = _Block(word, doc["coef"]["word"])
        self.char = _Block(doc["char"], doc["coef"]["char"])
        hand = doc["handcrafted"]
        self.names = list(hand["names"])
        self._rx = {k: re.compile(p, re.ASCII) for k, p in hand["patterns"].items()}
        self._struct = frozenset(hand["struct_punct_chars"])
        self.mean = np.asarray(hand["mean"], dtype=np.float64)
        self.scale = np.asarray(hand["scale"], dtype=np.float64)
        self.hand_coef = np.asarray(doc["coef"]["handcrafted"], dtype=np.float64)
        floor = doc.get("look_floor")
        self._floor = re.compile(floor, re.ASCII) if floor else None
        from lookskip.model.answers import Answers

        self.answers = Answers(doc.get("answers") or ())

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
        from lookskip.model.export import check_version

        check_version(doc, path)
        return cls(doc)

    # --- transforms ---------------------------------------------------------
    def _replace(self, m: re.Match[str]) -> str:
        placeholder = self._placeholders[m.lastgroup]
        return m.group(0) if placeholder is None else placeholder

    def template_key(self, line: str) -> str:
        return self._squeeze.sub(" ", self._keyer.sub(self._replace, line))

    # The blocks below take a key, never a raw line.
    def word_terms(self, line: str) -> list[str]:
        tokens = self._token.findall(line.translate(_ASCII_LOWER))
        return _ngrams(tokens, self.word.lo, self.word.hi, " ")

    def char_terms(self, line: str) -> list[str]:
        return _ngrams(line.translate(_ASCII_LOWER), self.char.lo, self.char.hi, "")

    def line_features(self, line: str) -> np.ndarray:
        rx = self._rx
        n_chars = max(1, len(line))
        tokens = rx["TOKEN"].findall(line)
        n_neg = len(rx["NEGATIVE"].findall(line))
        upper = sum(1 for ch in line if "A" <= ch <= "Z")
        digits = sum(1 for ch in line if "0" <= ch <= "9")
        struct = sum(1 for ch in line if ch in self._struct)
        leading = rx["LEADING_WS"].match(line)
        values = {
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
        return np.asarray([values[name] for name in self.names], dtype=np.float64)

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
