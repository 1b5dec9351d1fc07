"""Each transform of the Rust classifier equals its Python definition, one by one.

Normalization, word and char n-grams, and every handcrafted feature separately (a
mismatch names the feature), over every shared line and over generated lines.
"""

from __future__ import annotations

import functools

import lookskip_rs
import numpy as np
import pytest
from fixtures_rust import parity_lines, trained
from hypothesis import given, settings
from hypothesis import strategies as st

from lookskip.model import analyzers, features, normalize


@functools.cache
def clf():
    return lookskip_rs.Classifier(trained()[0], threads=1)


@functools.cache
def python_features() -> np.ndarray:
    return features.features_matrix(list(parity_lines()))


@functools.cache
def rust_features() -> np.ndarray:
    c = clf()
    return np.asarray([c.line_features(line) for line in parity_lines()], dtype=np.float64)


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


def test_normalization_matches_python():
    assert first_mismatches(parity_lines(), clf().normalize, normalize.normalize) == []


def test_word_ngrams_match_python():
    assert first_mismatches(parity_lines()[::3], clf().word_ngrams, analyzers.word_ngrams) == []


def test_char_ngrams_match_python():
    assert first_mismatches(parity_lines()[::11], clf().char_ngrams, analyzers.char_ngrams) == []


@pytest.mark.parametrize("name", features.FEATURE_NAMES)
def test_feature_matches_python(name):
    j = features.FEATURE_NAMES.index(name)
    r, p = rust_features()[:, j], python_features()[:, j]
    bad = np.flatnonzero(np.abs(r - p) > 1e-12)
    assert bad.size == 0, (
        f"{name}: {bad.size} lines differ, first {parity_lines()[bad[0]]!r}: "
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
    assert c.normalize(line) == normalize.normalize(line)
    assert c.word_ngrams(line) == analyzers.word_ngrams(line)
    assert c.char_ngrams(line) == analyzers.char_ngrams(line)
    for name, r, p in zip(
        features.FEATURE_NAMES, c.line_features(line), features.line_features(line), strict=True
    ):
        assert abs(r - p) <= 1e-12, f"{name}: rust {r!r} python {p!r} on {line!r}"


@pytest.mark.parametrize(
    "line,expected",
    [
        (
            "blk_-6952295868487656571 from 10.250.19.102:54106 took 0.5s",
            "blk_-<NUM> from <IP> took <NUM>s",
        ),
        (
            "id 123e4567-e89b-12d3-a456-426614174000 at 0x7FFF fe80::1 e1000 deadbeef",
            "id <UUID> at <HEX> <IP> <HEX> deadbeef",
        ),
    ],
)
def test_normalization_examples(line, expected):
    assert clf().normalize(line) == normalize.normalize(line) == expected
