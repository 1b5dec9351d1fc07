"""Parity of the Rust classifier (lookskip_rs) with scikit-learn and the numpy reference.

The contract (issue 4): |p_rust - p_sklearn| <= 1e-6 for every line of the shared
labels and ``_2k.log`` samples, and for generated adversarial lines against the
numpy reference that reads the same exported file.
"""

from __future__ import annotations

import lookskip_rs  # built by scripts/setup (maturin develop); a missing build fails loudly
import numpy as np
import pytest
from fixtures_rust import COMMITTED_MODEL, parity_lines, reference, sklearn_probs, trained
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TOL = 1e-6


@pytest.fixture(scope="module")
def clf():
    return lookskip_rs.Classifier(trained()[0], threads=0)


def assert_close(lines, got, want, what):
    diff = np.abs(np.asarray(got) - np.asarray(want))
    worst = int(np.argmax(diff)) if len(diff) else 0
    assert not len(diff) or diff[worst] <= TOL, (
        f"{what}: |Δp| = {diff[worst]:.3g} on line {lines[worst]!r} "
        f"(rust {got[worst]!r}, expected {want[worst]!r}); "
        f"{int((diff > TOL).sum())} lines over {TOL}"
    )


@pytest.mark.slow
def test_every_shared_line_matches_sklearn(clf):
    lines = list(parity_lines())
    assert len(lines) > 30_000
    p = clf.predict_proba(lines)
    assert p.dtype == np.float64 and p.shape == (len(lines),)
    assert_close(lines, p, sklearn_probs(), "rust vs sklearn")
    # a real model, not a constant: both classes occur
    assert 0.02 < float((p >= clf.threshold).mean()) < 0.98


def test_thread_counts_agree_exactly(clf):
    lines = list(parity_lines()[::7])
    one = lookskip_rs.Classifier(trained()[0], threads=1)
    assert one.threads == 1
    np.testing.assert_array_equal(one.predict_proba(lines), clf.predict_proba(lines))


def test_bytes_are_decoded_lossily(clf):
    p = clf.predict_proba([b"disk error \xff\xfe at 0x1f", "disk error \ufffd\ufffd at 0x1f"])
    assert p[0] == p[1]


def test_special_lines_match_reference(clf):
    ref = reference()
    lines = [
        "",
        "\t",
        " " * 7,
        "0" * 50,
        "x" * 100_000 + " ERROR",
        "é" * 3000,
        "\r",
        "a\x00b",
        "ERROR\tfailed\tto open /var/log/x.log: permission denied",
    ]
    assert_close(
        lines, clf.predict_proba(lines), ref.predict_proba_look(lines), "rust vs reference"
    )


def _log_lines() -> list[str]:
    return list(parity_lines()[::97])


adversarial = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789 .:-x", max_size=80),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=200),
    st.sampled_from(["", "\t\t", "   leading", "0", "ERROR!!! ***", "a=b c=d", "<NUM> <ip>"]),
    st.builds(
        lambda line, extra, at: line[:at] + extra + line[at:],
        st.sampled_from(_log_lines()),
        st.text(max_size=40),
        st.integers(0, 200),
    ),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(["é", "\t", "9", "!", "ab", "日本"]),
        st.integers(1, 3000),
    ),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(adversarial, min_size=1, max_size=12))
def test_property_adversarial_lines_match_reference(clf, lines):
    assert_close(
        lines, clf.predict_proba(lines), reference().predict_proba_look(lines), "rust vs reference"
    )


@pytest.mark.skipif(not COMMITTED_MODEL.exists(), reason="no committed model yet")
def test_committed_model_matches_reference():
    from lookskip.model.reference import ReferenceModel

    rust = lookskip_rs.Classifier(str(COMMITTED_MODEL), threads=0)
    ref = ReferenceModel.load(str(COMMITTED_MODEL))
    lines = list(parity_lines()[::13])
    assert rust.threshold == ref.threshold
    assert_close(
        lines,
        rust.predict_proba(lines),
        ref.predict_proba_look(lines),
        "committed model: rust vs reference",
    )


def test_model_errors_are_clear(tmp_path):
    with pytest.raises(OSError, match=r"missing\.json\.gz"):
        lookskip_rs.Classifier(str(tmp_path / "missing.json.gz"))
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="corrupt gzip"):
        lookskip_rs.Classifier(str(bad))
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a lookskip-tfidf model"):
        lookskip_rs.Classifier(str(other))


def test_incompatible_regex_is_refused(tmp_path):
    """A pattern Python and Rust would read differently is an error, not a silent drift."""
    import gzip
    import json

    with open(trained()[0], "rb") as f:
        doc = json.loads(gzip.decompress(f.read()))
    doc["handcrafted"]["patterns"]["ALLCAPS"] = r"\<[A-Z]{2,}\>"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="ALLCAPS"):
        lookskip_rs.Classifier(str(path))


ADVERSARIAL = [
    "",
    " ",
    "\t\t",
    "é" * 3000 + " ERROR 42",
    "x" * (10 << 20) + " failed 0x1f",  # a 10 MB line
    "状态 status=500 错误 12",
    "\U0001f4a5 boom at 10.0.0.1:80 \u200b",
]
ADVERSARIAL_BYTES = [b"disk \xff\xfe error 7", b"\xc3\x28 timeout", b"\x00\x01\x02 12"]


def test_key_cache_on_and_off_identical():
    """The cache is exact: a line's score is its key's. Also with a cache so small that it
    evicts all along, and across lines that share keys but differ in numbers."""
    path = trained()[0]
    lines = list(parity_lines()[::5]) + ADVERSARIAL
    variants = [line.replace("1", "7") for line in lines[:2000]]  # same keys, other digits
    lines = lines + variants + ADVERSARIAL_BYTES
    off = lookskip_rs.Classifier(path, threads=1, cache_mib=0)
    p_off = off.predict_proba(lines)
    assert off.cache_stats()["hits"] == 0 and off.cache_stats()["entries"] == 0
    for mib, threads in ((64, 1), (64, 0), (1, 1)):
        on = lookskip_rs.Classifier(path, threads=threads, cache_mib=mib)
        np.testing.assert_array_equal(on.predict_proba(lines), p_off)
        np.testing.assert_array_equal(on.predict_proba(lines), p_off)  # warm cache
        st = on.cache_stats()
        assert st["hits"] > len(lines)  # the second pass and the shared keys hit
        assert st["bytes"] <= mib << 20
    tiny = lookskip_rs.Classifier(path, threads=1, cache_mib=1)
    words = ["".join(chr(97 + (i // 26**k) % 26) for k in range(4)) for i in range(20000)]
    distinct = [f"line {i} zq{w} failed {w * 10}" for i, w in enumerate(words)]
    np.testing.assert_array_equal(tiny.predict_proba(distinct), off.predict_proba(distinct))
    assert tiny.cache_stats()["evictions"] > 0


def test_adversarial_lines_match_reference(clf):
    ref = reference()
    text = [*ADVERSARIAL, *(b.decode("utf-8", "replace") for b in ADVERSARIAL_BYTES)]
    assert_close(text, clf.predict_proba([*ADVERSARIAL, *ADVERSARIAL_BYTES]),
                 ref.predict_proba_look(text), "adversarial: rust vs reference")  # fmt: skip


def test_shipped_model_uses_the_key_scanner():
    """The shipped rules are keyed by the scanner, so the parity tests above test it."""
    assert lookskip_rs.Classifier(str(COMMITTED_MODEL)).key_scanner
    assert lookskip_rs.Classifier(trained()[0]).key_scanner
