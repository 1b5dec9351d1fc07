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
