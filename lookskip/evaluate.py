"""LOOK/SKIP metrics, and scoring any model on any labeled files.

The metric names are the seed project's (``n``, ``accuracy``, ``look_precision``,
``look_recall``, ``look_f1``) so reports stay comparable. Counts (``tp``, ``fp``,
``fn``, ``tn``) are kept beside them: pooled metrics over folds or datasets are
computed from summed counts, not averaged ratios.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def counts(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, int]:
    """Confusion counts with LOOK (1) as the positive class."""
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    return {
        "tp": int(np.sum(t & p)),
        "fp": int(np.sum(~t & p)),
        "fn": int(np.sum(t & ~p)),
        "tn": int(np.sum(~t & ~p)),
    }


def from_counts(c: dict[str, int]) -> dict[str, Any]:
    """Seed-compatible metrics from confusion counts (0.0 where undefined)."""
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": n,
        "accuracy": (tp + tn) / n if n else 0.0,
        "look_precision": precision,
        "look_recall": recall,
        "look_f1": f1,
        "n_look": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def add_counts(items: Sequence[dict[str, int]]) -> dict[str, int]:
    return {k: sum(int(c[k]) for c in items) for k in ("tp", "fp", "fn", "tn")}


def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    return from_counts(counts(y_true, y_pred))


def grouped_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, groups: Sequence[str]
) -> dict[str, Any]:
    """``{"overall": …, "per_dataset": {name: …}}``, overall pooled over all lines."""
    groups = np.asarray(groups)
    per = {str(g): metrics(y_true[groups == g], y_pred[groups == g]) for g in sorted(set(groups))}
    return {"overall": metrics(y_true, y_pred), "per_dataset": per}


def best_threshold(y_true: np.ndarray, p_look: np.ndarray) -> tuple[float, float]:
    """The threshold ``t`` (LOOK iff ``p >= t``) with the highest LOOK F1, and that F1.

    Ties go to the threshold closest to 0.5 so a flat optimum does not drift to an
    extreme.
    """
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_true, p_look)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = f1[:-1]  # the last point has no threshold
    best = f1.max()
    candidates = np.flatnonzero(f1 >= best - 1e-12)
    i = candidates[np.argmin(np.abs(thresholds[candidates] - 0.5))]
    return float(thresholds[i]), float(f1[i])


def evaluate_model(model_path: str, label_paths: Sequence[str]) -> dict[str, Any]:
    """Score the model at ``model_path`` (joblib or exported) on labeled ``.jsonl`` files.

    Uses the model's own threshold. Returns ``overall`` and ``per_dataset`` (by the
    rows' ``system``) plus the threshold and the files read.
    """
    from lookskip.model.pipeline import load_model
    from lookskip.training.labels import load_files

    model = load_model(model_path)
    data = load_files(label_paths)
    p = model.predict_proba_look(data.lines)
    pred = p >= model.threshold
    out = grouped_metrics(data.y, pred, data.systems)
    return {
        "model": model_path,
        "threshold": float(model.threshold),
        "files": sorted(data.files),
        **out,
    }
