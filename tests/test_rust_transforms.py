"""Each transform of the Rust classifier equals its Python definition, one by one.

The template key, word and char n-grams (of keys), and every handcrafted feature
separately (a mismatch names the feature), over every shared line and over
generated lines.
"""

from __future__ import annotations

import functools

import lookskip_rs
import numpy as np
import pytest
from fixtures_rust import parity_lines, trained
from hypothesis import given, settings
from hypothesis import strategies as st

from lookskip.model import analyzers, features, key


@functools.cache
def clf():
    return lookskip_rs.Classifier(trained()[0], threads=1)


@functools.cache
def parity_keys() -> tuple[str, ...]:
    """The distinct keys of the parity lines: what the blocks read."""
    return tuple(dict.fromkeys(key.template_keys(parity_lines())))


@functools.cache
def python_features() -> np.ndarray:
    return features.features_matrix(list(parity_keys()))


@functools.cache
def rust_features() -> np.ndarray:
    c = clf()
    return np.asarray([c.line_features(k) for k in parity_keys()], dtype=np.float64)


def first_mismatches(lines, rust_fn, py_fn, limit=3):
    bad = []
    for line in lines:
        r, p = rust_fn(line), py_fn(line)
        if r != p:
            bad.append((line, r, p))
            if len(bad) >= limit:
                break
    return bad


def test_feature_names_follow_the_model():
    assert clf().feature_names == list(features.FEATURE_NAMES)


def test_template_key_matches_python():
    assert first_mismatches(parity_lines(), clf().template_key, key.template_key) == []


def test_word_ngrams_match_python():
    assert first_mismatches(parity_keys(), clf().word_ngrams, analyzers.word_ngrams) == []


def test_char_ngrams_match_python():
    assert first_mismatches(parity_keys()[::3], clf().char_ngrams, analyzers.char_ngrams) == []


@pytest.mark.parametrize("name", features.FEATURE_NAMES)
def test_feature_matches_python(name):
    j = features.FEATURE_NAMES.index(name)
    r, p = rust_features()[:, j], python_features()[:, j]
    bad = np.flatnonzero(np.abs(r - p) > 1e-12)
    assert bad.size == 0, (
        f"{name}: {bad.size} keys differ, first {parity_keys()[bad[0]]!r}: "
        f"rust {r[bad[0]]!r} python {p[bad[0]]!r}"
    )


text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=" \t0123456789abcdefABCDEF:.-x/=!*<>[]{}()|;\"'_", max_size=120),
    st.sampled_from(list(parity_lines()[::211])),
)


@settings(max_examples=300, deadline=None)
@given(line=text)
def test_property_transforms_match_python(line):
    c = clf()
    k = key.template_key(line)
    assert c.template_key(line) == k
    assert key.template_key(k) == k  # a key is its own key
    for text in (line, k):
        assert c.word_ngrams(text) == analyzers.word_ngrams(text)
        assert c.char_ngrams(text) == analyzers.char_ngrams(text)
        for name, r, p in zip(
            features.FEATURE_NAMES,
            c.line_features(text),
            features.line_features(text),
            strict=True,
        ):
            assert abs(r - p) <= 1e-12, f"{name}: rust {r!r} python {p!r} on {text!r}"


@pytest.mark.parametrize(
    "line,expected",
    [
        (
            "blk_-6952295868487656571 from 10.250.19.102:54106 took 0.5s",
            "blk_-<NUM> from <IP> took <NUM>s",
        ),
        (
            "id 123e4567-e89b-12d3-a456-426614174000 at 0x7FFF  fe80::1\te1000 deadbeef",
            "id <UUID> at <HEX> <IP> <HEX> deadbeef",
        ),
        # codes a label can depend on are kept; other numbers are not
        (
            '"GET /x HTTP/1.1" 503 1234 status=500 exit code 137 errno: 12 rc=-1 took 15 ms',
            '"GET /x HTTP/<NUM>" 503 <NUM> status=500 exit code 137 errno: 12 rc=-1 took <NUM> ms',
        ),
        ("status 2000 code 9999", "status <NUM> code <NUM>"),
    ],
)
def test_template_key_examples(line, expected):
    assert clf().template_key(line) == key.template_key(line) == expected
