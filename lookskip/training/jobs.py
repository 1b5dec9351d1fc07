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
from lookskip.model.pipeline import make_logreg
from lookskip.training import cache
from lookskip.training.plan import job_spec, load_plan


def preds_path(plan: dict[str, Any], job_id: str) -> str:
    return storage.join(plan["run_dir"], "preds", f"{job_id}.npy")


def fit_and_score(plan_path: str, job_id: str) -> dict[str, Any]:
    """Fit job ``job_id`` of the plan at ``plan_path``; return its held-out metrics."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    t0 = time.perf_counter()
    plan = load_plan(plan_path)
    job = job_spec(plan, job_id)
    params = job["params"]
    y, _ = cache.corpus_meta(plan)
    train_rows, test_rows = cache.fold_rows(plan, job["fold"])
    x_train, x_test = cache.fold_matrices(plan, job["fold"], params)
    t1 = time.perf_counter()
    clf = make_logreg(params["C"], params["class_weight"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(x_train, y[train_rows])
    p_look = clf.predict_proba(x_test)[:, 1]
    t2 = time.perf_counter()
    buf = io.BytesIO()
    np.save(buf, p_look)
    storage.write_bytes(preds_path(plan, job_id), buf.getvalue())
    c = counts(y[test_rows], p_look >= 0.5)
    return {
        "job_id": job_id,
        "combination": job["combination"],
        "fold": job["fold"],
        "params": params,
        "n_train": int(train_rows.size),
        "n_test": int(test_rows.size),
        **{k: v for k, v in from_counts(c).items() if k not in c},
        **c,
        "n_iter": int(np.max(clf.n_iter_)),
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
        "load_seconds": round(t1 - t0, 3),
        "fit_seconds": round(t2 - t1, 3),
    }
