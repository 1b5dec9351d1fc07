"""Feature matrices cached on disk, keyed by content hash, shared by all jobs.

What a (combination, fold) job needs does not depend on C or class_weight, and
most of it not even on the fold:

* corpus level (once per labels content): the labeled lines collapsed to distinct
  (dataset, template key, label) rows with their line counts as weights
  (``collapse_keys``: 30,811 lines → ~2,900 rows), the term-count matrix of every row
  for each TF-IDF block over the full sorted vocabulary, and the raw handcrafted
  features. Analysing the keys is the slow part of training; it is done once
  instead of once per fit, and for each key once instead of for each line.
* fold level (once per fold and block and max_features): the fold's TF-IDF train
  and test matrices. The fold vocabulary is the columns of the corpus vocabulary
  that occur in the fold's training rows (a subset of a sorted vocabulary is still
  sorted, so columns keep scikit-learn's order), limited to the ``max_features``
  most frequent ones with the very expression scikit-learn's ``_limit_features``
  uses (``(-tfs).argsort()[:limit]`` on the same float64 array), so ties break
  the same way. Term totals, document frequencies and the idf count each row
  ``weight`` times, so the matrices equal ``TfidfVectorizer`` fitted on every line
  (``tests/test_training_cache.py`` checks it).

Keys hash the labels' content, the transform definitions (template-key rules,
n-gram ranges, feature patterns, TF-IDF options) and the fold's datasets, so a
changed rule or label file never reuses a stale matrix. Files are written
atomically; two workers building the same entry at once both write the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

from lookskip import storage
from lookskip.model.analyzers import CHAR_NGRAM_RANGE, WORD_NGRAM_RANGE, WORD_TOKEN_PATTERN
from lookskip.model.features import FEATURE_NAMES, FEATURE_PATTERNS, STRUCT_PUNCT_CHARS
from lookskip.model.key import KEY_RULES, SQUEEZE_CHARS
from lookskip.model.pipeline import TFIDF_OPTIONS
from lookskip.training.labels import KeyedRows, LabelError, collapse_keys, load_files

CACHE_VERSION = 2  # 2: rows are distinct template keys with weights
BLOCKS = ("word", "char")


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def transform_key() -> str:
    """Hash of everything that defines the features (not the data)."""
    import sklearn

    return _sha(
        {
            "version": CACHE_VERSION,
            "key": [KEY_RULES, SQUEEZE_CHARS],
            "word": [WORD_NGRAM_RANGE, WORD_TOKEN_PATTERN],
            "char": CHAR_NGRAM_RANGE,
            "features": [FEATURE_NAMES, FEATURE_PATTERNS, STRUCT_PUNCT_CHARS],
            "tfidf": TFIDF_OPTIONS,
            "sklearn": sklearn.__version__,
        }
    )


def corpus_key(plan: dict[str, Any]) -> str:
    return _sha([plan["data_hash"], transform_key()])[:20]


def corpus_dir(plan: dict[str, Any]) -> str:
    return storage.join(plan["cache_dir"], f"corpus-{corpus_key(plan)}")


# --- (de)serialisation ---------------------------------------------------------
def _save_arrays(path: str, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    storage.write_bytes(path, buf.getvalue())


def _load_arrays(path: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(storage.read_bytes(path)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _pack(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": m.data,
        f"{prefix}_indices": m.indices,
        f"{prefix}_indptr": m.indptr,
        f"{prefix}_shape": np.asarray(m.shape),
    }


def _unpack(prefix: str, z: dict[str, np.ndarray]) -> sp.csr_matrix:
    return sp.csr_matrix(
        (z[f"{prefix}_data"], z[f"{prefix}_indices"], z[f"{prefix}_indptr"]),
        shape=tuple(z[f"{prefix}_shape"]),
    )


# --- corpus level --------------------------------------------------------------
def corpus_data(plan: dict[str, Any]):
    """The labeled lines of the plan, checked against the plan's data hash."""
    data = load_files(plan["files"])
    if data.data_hash() != plan["data_hash"]:
        raise LabelError(
            f"labels under {plan['labels_dir']} changed since plan {plan['run_id']} was made; "
            "plan the training again"
        )
    return data


def _corpus_rows(plan: dict[str, Any]) -> KeyedRows:
    return collapse_keys(corpus_data(plan))


def _build_counts(lines: list[str], block: str) -> tuple[sp.csr_matrix, list[str]]:
    from sklearn.feature_extraction.text import CountVectorizer

    from lookskip.model.analyzers import char_ngrams, word_ngrams

    analyzer = {"word": word_ngrams, "char": char_ngrams}[block]
    cv = CountVectorizer(analyzer=analyzer, lowercase=False, dtype=np.int32)
    counts = cv.fit_transform(lines).tocsr()
    counts.sort_indices()
    terms = [""] * len(cv.vocabulary_)
    for term, i in cv.vocabulary_.items():
        terms[i] = term
    return counts, terms


def ensure_corpus(plan: dict[str, Any], part: str) -> str:
    """Build one corpus-level entry (``meta``, ``hand``, ``word``, ``char``) if missing."""
    path = storage.join(corpus_dir(plan), f"{part}.npz")
    if storage.exists(path):
        return path
    rows = _corpus_rows(plan)
    if part == "meta":
        _save_arrays(path, y=rows.y, groups=rows.groups, weight=rows.weight)
    elif part == "hand":
        from lookskip.model.features import features_matrix

        _save_arrays(path, hand=features_matrix(rows.keys))
    elif part in BLOCKS:
        counts, terms = _build_counts(rows.keys, part)
        _save_arrays(path, terms=np.asarray(terms, dtype=str), **_pack("counts", counts))
    else:
        raise ValueError(f"unknown corpus part {part!r}")
    return path


def corpus_meta(plan: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, groups, weight)`` of the plan's distinct key rows."""
    z = _load_arrays(ensure_corpus(plan, "meta"))
    return z["y"], z["groups"], z["weight"]


def corpus_hand(plan: dict[str, Any]) -> np.ndarray:
    """Raw handcrafted features of the plan's key rows."""
    return _load_arrays(ensure_corpus(plan, "hand"))["hand"]


def corpus_counts(plan: dict[str, Any], block: str) -> tuple[sp.csr_matrix, np.ndarray]:
    z = _load_arrays(ensure_corpus(plan, block))
    return _unpack("counts", z), z["terms"]


def fold_rows(plan: dict[str, Any], fold: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (ascending) of the fold's training and test datasets."""
    _, groups, _ = corpus_meta(plan)
    spec = plan["folds"][fold]
    train = np.flatnonzero(np.isin(groups, spec["train"]))
    return train, np.flatnonzero(np.isin(groups, spec["test"]))


# --- fold level ----------------------------------------------------------------
def _row_weights(m: sp.csr_matrix, weight: np.ndarray | None) -> np.ndarray:
    """The weight of each stored entry's row (1 without weights)."""
    if weight is None:
        return np.ones(m.nnz, dtype=np.float64)
    return np.repeat(np.asarray(weight, dtype=np.float64), np.diff(m.indptr))


def select_columns(
    train_counts: sp.csr_matrix, max_features: int | None, weight: np.ndarray | None = None
) -> np.ndarray:
    """Corpus columns of the fold vocabulary, exactly as ``CountVectorizer`` limits it.

    ``train_counts`` holds the fold's training rows over the corpus vocabulary; row
    ``i`` stands for ``weight[i]`` identical lines.
    """
    n_cols = train_counts.shape[1]
    df = np.bincount(train_counts.indices, minlength=n_cols)
    present = np.flatnonzero(df > 0)
    if max_features is None or present.size <= max_features:
        return present
    # scikit-learn: tfs = X.sum(axis=0) of its float64 counts; (-tfs[mask]).argsort()[:limit].
    # Weighted sums of integers are exact in float64, so the ties are the same too.
    entry_w = _row_weights(train_counts, weight)
    tfs = np.bincount(
        train_counts.indices,
        weights=train_counts.data.astype(np.float64) * entry_w,
        minlength=n_cols,
    )[present]
    keep = (-tfs).argsort()[:max_features]
    return present[np.sort(keep)]


def weighted_idf(c_train: sp.csr_matrix, weight: np.ndarray | None) -> np.ndarray:
    """scikit-learn's smooth idf, ``ln((1 + n) / (1 + df)) + 1``, rows counted ``weight`` times."""
    n = float(c_train.shape[0] if weight is None else np.sum(weight))
    df = np.bincount(
        c_train.indices, weights=_row_weights(c_train, weight), minlength=c_train.shape[1]
    )
    return np.log((1.0 + n) / (1.0 + df)) + 1.0


def tfidf_pair(
    counts: sp.csr_matrix,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    max_features: int | None,
    weight: np.ndarray | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """TF-IDF train/test matrices and the selected corpus columns.

    ``weight`` (one per corpus row) makes the vocabulary limit and the idf those of a
    fit on every line: ``TfidfTransformer`` has no sample weights, so its idf is
    replaced by the weighted one (tf and the l2 norm are per row and need none).
    """
    from sklearn.feature_extraction.text import TfidfTransformer

    if TFIDF_OPTIONS.get("smooth_idf") is not True:
        raise ValueError("weighted_idf implements smooth_idf=True only")
    w_train = None if weight is None else weight[train_rows]
    train_counts = counts[train_rows]
    cols = select_columns(train_counts, max_features, w_train)
    c_train = train_counts[:, cols].astype(np.float64)
    c_test = counts[test_rows][:, cols].astype(np.float64)
    tfidf = TfidfTransformer(**TFIDF_OPTIONS).fit(c_train)
    tfidf.idf_ = weighted_idf(c_train.tocsr(), w_train)
    return tfidf.transform(c_train).tocsr(), tfidf.transform(c_test).tocsr(), cols


def fold_key(plan: dict[str, Any], fold: int, part: str, max_features: int | None = None) -> str:
    spec = plan["folds"][fold]
    return _sha([corpus_key(plan), spec["train"], spec["test"], part, max_features])[:24]


def fold_path(plan: dict[str, Any], fold: int, part: str, max_features: int | None = None) -> str:
    key = fold_key(plan, fold, part, max_features)
    return storage.join(corpus_dir(plan), "folds", f"{part}-{max_features}-{key}.npz")


def ensure_fold(plan: dict[str, Any], fold: int, part: str, max_features: int | None = None) -> str:
    """Build one fold-level entry (``hand`` or a TF-IDF block at ``max_features``) if missing."""
    path = fold_path(plan, fold, part, max_features)
    if storage.exists(path):
        return path
    train_rows, test_rows = fold_rows(plan, fold)
    if part == "hand":
        from sklearn.preprocessing import StandardScaler

        hand = _load_arrays(ensure_corpus(plan, "hand"))["hand"]
        _, _, weight = corpus_meta(plan)
        scaler = StandardScaler().fit(hand[train_rows], sample_weight=weight[train_rows])
        _save_arrays(
            path, train=scaler.transform(hand[train_rows]), test=scaler.transform(hand[test_rows])
        )
    elif part in BLOCKS:
        counts, _ = corpus_counts(plan, part)
        _, _, weight = corpus_meta(plan)
        x_train, x_test, cols = tfidf_pair(counts, train_rows, test_rows, max_features, weight)
        _save_arrays(path, cols=cols, **_pack("train", x_train), **_pack("test", x_test))
    else:
        raise ValueError(f"unknown fold part {part!r}")
    return path


@lru_cache(maxsize=8)
def _load_fold_cached(path: str) -> dict[str, Any]:
    z = _load_arrays(path)
    if "train" in z:  # hand
        return {"train": z["train"], "test": z["test"]}
    return {"train": _unpack("train", z), "test": _unpack("test", z), "cols": z["cols"]}


def fold_matrices(plan: dict[str, Any], fold: int, params: dict[str, Any]):
    """``(X_train, X_test)`` of a fold for the pipeline's params, from the cache.

    Stacked like the pipeline's ``FeatureUnion``: word, char, scaled handcrafted.
    """
    word = _load_fold_cached(ensure_fold(plan, fold, "word", params["word_max_features"]))
    char = _load_fold_cached(ensure_fold(plan, fold, "char", params["char_max_features"]))
    hand = _load_fold_cached(ensure_fold(plan, fold, "hand"))
    x_train = sp.hstack([word["train"], char["train"], hand["train"]]).tocsr()
    x_test = sp.hstack([word["test"], char["test"], hand["test"]]).tocsr()
    return x_train, x_test


def cache_items(plan: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """What to build before the jobs, in two waves (the second needs the first).

    Running them first (in parallel) keeps the fit jobs from building the same
    entry twice; a job still builds anything missing itself.
    """
    corpus = [{"level": "corpus", "part": p} for p in ("char", "word", "hand", "meta")]
    folds = []
    for f in range(len(plan["folds"])):
        for block in BLOCKS:
            ks = {c[f"{block}_max_features"] for c in plan["combinations"]}
            for k in sorted(ks, key=lambda v: (v is None, v or 0), reverse=True):
                folds.append({"level": "fold", "fold": f, "part": block, "max_features": k})
        folds.append({"level": "fold", "fold": f, "part": "hand", "max_features": None})
    return [corpus, folds]


def build_item(plan_path: str, item: dict[str, Any]) -> str:
    """Build one cache entry of the plan at ``plan_path`` (a joblib / Celery task body)."""
    from lookskip.training.plan import load_plan

    plan = load_plan(plan_path)
    if item["level"] == "corpus":
        return ensure_corpus(plan, item["part"])
    return ensure_fold(plan, item["fold"], item["part"], item.get("max_features"))
