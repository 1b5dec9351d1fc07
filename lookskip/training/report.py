"""``eval_report.json``: what a training run found, in the seed project's field names.

Top-level fields kept from the seed: ``best_params``, ``best_cv_look_f1``,
``train_size``, ``overall`` and ``per_dataset.<Name>`` (each with ``n``,
``accuracy``, ``look_precision``, ``look_recall``, ``look_f1``). ``overall`` and
``per_dataset`` are out-of-fold: every dataset is scored by the model of the fold
that held it out, at threshold 0.5 like the seed. The tuned threshold's figures
are beside them, under ``threshold``, with an honest nested estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lookskip import storage


def class_balance(y: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    def one(mask: np.ndarray) -> dict[str, Any]:
        n = int(mask.sum())
        look = int(y[mask].sum())
        return {"n": n, "LOOK": look, "SKIP": n - look, "look_share": look / n if n else 0.0}

    return {
        "overall": one(np.ones(y.shape, dtype=bool)),
        "per_dataset": {str(g): one(groups == g) for g in sorted(set(groups.tolist()))},
    }


def combination_table(aggregated: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per grid combination, best first: params, macro and pooled F1, per-fold F1."""
    rows = [
        {
            "combination": a["combination"],
            "params": a["params"],
            "cv_macro_look_f1": a["macro"]["look_f1"],
            "cv_look_f1": a["pooled"]["look_f1"],
            "cv_look_precision": a["pooled"]["look_precision"],
            "cv_look_recall": a["pooled"]["look_recall"],
            "fold_look_f1": [f["look_f1"] for f in a["folds"]],
            "fit_seconds": a["fit_seconds"],
        }
        for a in aggregated
    ]
    return sorted(rows, key=lambda r: (-r["cv_macro_look_f1"], -r["cv_look_f1"], r["combination"]))


def write_report(report: dict[str, Any], *paths: str) -> None:
    for path in paths:
        storage.write_json(path, report)
