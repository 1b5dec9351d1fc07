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


def counts(
    y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None = None
) -> dict[str, int]:
    """Confusion counts with LOOK (1) as the positive class.

    ``weight``: the number of lines each row stands for (training scores each distinct
    key once), so the counts are always counts of lines.
    """
    t = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    w = np.ones(t.shape, dtype=np.int64) if weight is None else np.asarray(weight)
    return {
        "tp": int(np.sum(w[t & p])),
        "fp": int(np.sum(w[~t & p])),
        "fn": int(np.sum(w[t & ~p])),
        "tn": int(np.sum(w[~t & ~p])),
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


def metrics(
    y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None = None
) -> dict[str, Any]:
    return from_counts(counts(y_true, y_pred, weight))


MACRO_FIELDS = ("accuracy", "look_precision", "look_recall", "look_f1")


def macro(per_dataset: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The unweighted mean over datasets of each metric: every system counts once.

    Why: a user runs lookskip on one system at a time. A pooled figure is dominated by
    the largest and LOOK-heaviest datasets; the macro average is what a new system
    can expect.
    """
    if not per_dataset:
        return {**dict.fromkeys(MACRO_FIELDS, 0.0), "n_datasets": 0}
    out: dict[str, Any] = {
        f: float(np.mean([m[f] for m in per_dataset.values()])) for f in MACRO_FIELDS
    }
    out["n_datasets"] = len(per_dataset)
    return out


def grouped_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: Sequence[str],
    weight: np.ndarray | None = None,
) -> dict[str, Any]:
    """``{"overall", "per_dataset": {name: …}, "macro"}``; overall pooled over all lines."""
    groups = np.asarray(groups)
    w = np.ones(len(groups), dtype=np.int64) if weight is None else np.asarray(weight)
    per = {}
    for g in sorted(set(groups.tolist())):
        m = groups == g
        per[str(g)] = metrics(y_true[m], y_pred[m], w[m])
    return {"overall": metrics(y_true, y_pred, w), "per_dataset": per, "macro": macro(per)}


def macro_f1_curve(
    y_true: np.ndarray,
    p_look: np.ndarray,
    groups: np.ndarray,
    weight: np.ndarray | None,
    thresholds: np.ndarray,
) -> np.ndarray:
    """Macro LOOK F1 over ``groups`` at each of ``thresholds``."""
    groups = np.asarray(groups)
    y = np.asarray(y_true, dtype=bool)
    w = np.ones(y.shape) if weight is None else np.asarray(weight, dtype=np.float64)
    f1s = []
    for g in sorted(set(groups.tolist())):
        m = groups == g
        yg, pg, wg = y[m], p_look[m], w[m]
        pred = pg[None, :] >= thresholds[:, None]  # (thresholds, rows)
        tp = (pred & yg) @ wg
        fp = (pred & ~yg) @ wg
        fn = (~pred & yg) @ wg
        with np.errstate(invalid="ignore", divide="ignore"):
            f1s.append(np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0))
    return np.mean(f1s, axis=0)


THRESHOLD_GRID = np.round(np.arange(0.02, 0.981, 0.01), 2)


def best_macro_threshold(
    y_true: np.ndarray, p_look: np.ndarray, groups: np.ndarray, weight: np.ndarray | None = None
) -> tuple[float, float]:
    """The threshold on ``THRESHOLD_GRID`` with the highest macro LOOK F1, and that F1.

    A grid, not every distinct probability: a macro optimum over a handful of systems
    is flat and noisy, and a coarse grid keeps it from chasing single lines. Ties go to
    the threshold closest to 0.5.
    """
    f1 = macro_f1_curve(y_true, p_look, groups, weight, THRESHOLD_GRID)
    best = f1.max()
    candidates = np.flatnonzero(f1 >= best - 1e-12)
    i = candidates[np.argmin(np.abs(THRESHOLD_GRID[candidates] - 0.5))]
    return float(THRESHOLD_GRID[i]), float(f1[i])


def best_threshold(
    y_true: np.ndarray, p_look: np.ndarray, weight: np.ndarray | None = None
) -> tuple[float, float]:
    """The threshold ``t`` (LOOK iff ``p >= t``) with the highest pooled LOOK F1, and that F1.

    Ties go to the threshold closest to 0.5 so a flat optimum does not drift to an
    extreme.
    """
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_true, p_look, sample_weight=weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = f1[:-1]  # the last point has no threshold
    best = f1.max()
    candidates = np.flatnonzero(f1 >= best - 1e-12)
    i = candidates[np.argmin(np.abs(thresholds[candidates] - 0.5))]
    return float(thresholds[i]), float(f1[i])


def evaluate_model(model_path: str, label_paths: Sequence[str]) -> dict[str, Any]:
    """Score the model at ``model_path`` (joblib or exported) on labeled ``.jsonl`` files.

    Uses the model's own threshold. Returns ``overall``, ``per_dataset`` (by the rows'
    ``system``) and their ``macro`` average, plus the threshold and the files read.
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
