"""One grid-search job: fit one combination on one fold's training data, score its test.

``fit_and_score(plan_path, job_id)`` takes two strings and returns a small dict of
numbers, so it runs as a joblib task or a Celery task alike. Its held-out
probabilities go to ``<run_dir>/preds/<job_id>.npy`` (selection and threshold tuning
read them there) rather than into the result, which stays small. A job depends on
nothing but the plan and the cache: jobs may run in any order, on any worker, and
a job that is run twice writes the same files.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np

from lookskip import storage
from lookskip.evaluate import counts, from_counts
from lookskip.model.pipeline import LOOK_FLOOR_FEATURE, make_logreg
from lookskip.training import cache
from lookskip.training.plan import job_spec, load_plan


def preds_path(plan: dict[str, Any], job_id: str) -> str:
    return storage.join(plan["run_dir"], "preds", f"{job_id}.npy")


def line_class_weight(class_weight: str | None, y: np.ndarray, weight: np.ndarray):
    """``"balanced"`` as scikit-learn computes it on every line, for weighted key rows.

    scikit-learn balances on the rows it is given, ignoring ``sample_weight``; the
    rows here are distinct keys, so the line counts give the weights instead.
    """
    if class_weight != "balanced":
        return class_weight
    lines = np.bincount(np.asarray(y, dtype=np.int64), weights=weight, minlength=2)
    return {c: float(lines.sum() / (2 * lines[c])) for c in (0, 1) if lines[c] > 0}


def fit_and_score(plan_path: str, job_id: str) -> dict[str, Any]:
    """Fit job ``job_id`` of the plan at ``plan_path``; return its held-out metrics."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    t0 = time.perf_counter()
    plan = load_plan(plan_path)
    job = job_spec(plan, job_id)
    params = job["params"]
    y, groups, weight = cache.corpus_meta(plan)
    train_rows, test_rows = cache.fold_rows(plan, job["fold"])
    x_train, x_test = cache.fold_matrices(plan, job["fold"], params)
    t1 = time.perf_counter()
    clf = make_logreg(
        params["C"], line_class_weight(params["class_weight"], y[train_rows], weight[train_rows])
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        # each row is a distinct key standing for `weight` lines: the loss of a fit on
        # every line, on a tenth of the rows
        clf.fit(x_train, y[train_rows], sample_weight=weight[train_rows])
    # The LOOK floor holds at every threshold: a floored row counts as p = 1 here.
    hand = cache.corpus_hand(plan)
    floored = hand[test_rows, LOOK_FLOOR_FEATURE] > 0
    p_look = np.where(floored, 1.0, clf.predict_proba(x_test)[:, 1])
    t2 = time.perf_counter()
    buf = io.BytesIO()
    np.save(buf, p_look)
    storage.write_bytes(preds_path(plan, job_id), buf.getvalue())
    y_test, w_test, g_test = y[test_rows], weight[test_rows], groups[test_rows]
    c = counts(y_test, p_look >= 0.5, w_test)
    per_dataset = {
        str(g): counts(y_test[g_test == g], p_look[g_test == g] >= 0.5, w_test[g_test == g])
        for g in sorted(set(g_test.tolist()))
    }
    return {
        "job_id": job_id,
        "combination": job["combination"],
        "fold": job["fold"],
        "params": params,
        "n_train": int(weight[train_rows].sum()),
        "n_test": int(w_test.sum()),
        "n_train_rows": int(train_rows.size),
        "n_test_rows": int(test_rows.size),
        "per_dataset": per_dataset,
        **{k: v for k, v in from_counts(c).items() if k not in c},
        **c,
        "n_iter": int(np.max(clf.n_iter_)),
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
        "load_seconds": round(t1 - t0, 3),
        "fit_seconds": round(t2 - t1, 3),
    }
