"""The fold feature cache derives every max_features vocabulary from one corpus count
matrix; it must give exactly what scikit-learn's TfidfVectorizer gives, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from lookskip.model.pipeline import make_vectorizer
from lookskip.training.cache import _build_counts, tfidf_pair
from lookskip.training.labels import load_labels

SMALL = ["JavaApp", "KernelErrors", "Microservices", "WebServer"]


@pytest.fixture(scope="module")
def small(shared_data):
    return load_labels(str(shared_data / "labels"), SMALL)


@pytest.mark.parametrize("block", ["word", "char"])
def test_derived_vocabularies_equal_sklearn_including_ties(small, block):
    lines = small.lines
    groups = small.groups
    train = np.flatnonzero(groups != "WebServer")
    test = np.flatnonzero(groups == "WebServer")
    counts, terms = _build_counts(lines, block)
    n_train_terms = int((np.bincount(counts[train].indices, minlength=counts.shape[1]) > 0).sum())
    # limits well inside the vocabulary, so the cut falls among tied frequencies
    limits = [50, 997, n_train_terms // 3, None]
    for k in limits:
        x_train, x_test, cols = tfidf_pair(counts, train, test, k)
        vec = make_vectorizer(block, k)
        ref_train = vec.fit_transform([lines[i] for i in train])
        ref_test = vec.transform([lines[i] for i in test])
        ref_terms = vec.get_feature_names_out().tolist()
        assert [terms[c] for c in cols] == ref_terms, f"vocabulary differs at max_features={k}"
        assert x_train.shape == ref_train.shape and x_test.shape == ref_test.shape
        assert abs(x_train - ref_train).max() <= 1e-12
        assert abs(x_test - ref_test).max() <= 1e-12
    # the cut really fell among ties for at least one limit
    tf = np.asarray(counts[train].sum(axis=0)).ravel()
    tf = np.sort(tf[tf > 0])[::-1]
    assert any(tf[k - 1] == tf[k] for k in limits[:3])


@pytest.mark.parametrize("block", ["word", "char"])
def test_weighted_key_rows_equal_a_fit_on_every_line(small, block):
    """Training collapses lines to distinct (dataset, key, label) rows with their counts as
    weights: vocabulary, idf and the fitted model must be those of a fit on every line."""
    from lookskip.model.key import template_keys
    from lookskip.model.pipeline import make_logreg
    from lookskip.training.jobs import line_class_weight
    from lookskip.training.labels import collapse_keys

    rows = collapse_keys(small)
    assert len(rows.keys) < len(small.lines) / 3  # the collapse is real
    assert int(rows.weight.sum()) == len(small.lines)
    counts, terms = _build_counts(rows.keys, block)
    train = np.flatnonzero(rows.groups != "WebServer")
    test = np.flatnonzero(rows.groups == "WebServer")
    keys = template_keys(small.lines)
    line_train = [k for k, g in zip(keys, small.groups, strict=True) if g != "WebServer"]
    y_line = small.y[small.groups != "WebServer"]
    for k in (300, None):
        x_train, x_test, cols = tfidf_pair(counts, train, test, k, rows.weight)
        vec = make_vectorizer(block, k)
        ref_train = vec.fit_transform(line_train)
        assert [terms[c] for c in cols] == vec.get_feature_names_out().tolist()
        assert abs(x_test - vec.transform([rows.keys[i] for i in test])).max() <= 1e-12
        # the same loss: weighted rows and every line give the same coefficients
        for cw in (None, "balanced"):
            w = rows.weight[train]
            a = make_logreg(2.0, line_class_weight(cw, rows.y[train], w))
            a.fit(x_train, rows.y[train], sample_weight=w)
            b = make_logreg(2.0, cw).fit(ref_train, y_line)
            assert np.abs(a.coef_ - b.coef_).max() < 1e-4, (block, k, cw)
            assert abs(a.intercept_[0] - b.intercept_[0]) < 1e-4
