"""Expanding a grid search into independent (combination, fold) jobs.

The plan is a small JSON file in the run directory: the labels it was made from
(paths and hashes), the folds as lists of dataset names, the combinations and the
jobs. Any worker that can read the data dir can run any job from it, in any order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lookskip import storage
from lookskip.model.pipeline import DEFAULT_PARAMS
from lookskip.settings import Settings, get_settings
from lookskip.training.labels import LabeledData, LabelError, load_files, training_files

# C × class_weight × word max_features × char max_features. The word vocabulary of
# all normalized lines holds ~26K n-grams and the char one ~700K, so the values
# below actually limit it.
GRIDS: dict[str, dict[str, list[Any]]] = {
    "default": {
        "C": [1.0, 2.0, 4.0, 8.0],
        "class_weight": [None, "balanced"],
        "word_max_features": [5000, 20000],
        "char_max_features": [30000, 100000],
    },
    # small and fast, for tests and smoke runs
    "quick": {
        "C": [1.0, 8.0],
        "class_weight": [None],
        "word_max_features": [2000],
        "char_max_features": [3000, 10000],
    },
}
PARAM_ORDER = ("C", "class_weight", "word_max_features", "char_max_features")


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """All combinations, in a fixed order (the first key varies slowest)."""
    keys = [k for k in PARAM_ORDER if k in grid]
    extra = set(grid) - set(keys)
    if extra:
        raise ValueError(f"unknown grid parameter(s): {', '.join(sorted(extra))}")
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def resolve_grid(
    grid: str | dict[str, list[Any]] | list[dict[str, Any]],
) -> tuple[str, dict[str, list[Any]], list[dict[str, Any]]]:
    """``(name, values per parameter, combinations)`` of a grid name, a dict of value
    lists, or an explicit list of combinations."""
    if isinstance(grid, list):
        values = {
            k: sorted({c[k] for c in grid if k in c}, key=str)
            for k in PARAM_ORDER
            if any(k in c for c in grid)
        }
        return "custom", values, [dict(c) for c in grid]
    if isinstance(grid, dict):
        values = {k: grid[k] for k in PARAM_ORDER if k in grid}
        return "custom", values, expand_grid(grid)
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r} (choose from {', '.join(GRIDS)})")
    return grid, GRIDS[grid], expand_grid(GRIDS[grid])


def make_folds(data: LabeledData, n_folds: int) -> list[dict[str, Any]]:
    """GroupKFold by dataset, as dataset names (what a remote worker needs to rebuild it).

    The same ``GroupKFold(n_folds).split`` a plain ``GridSearchCV`` would use, so both
    see identical folds.
    """
    from sklearn.model_selection import GroupKFold

    groups = data.groups
    n_groups = len(set(data.systems))
    if n_folds < 2 or n_folds > n_groups:
        raise ValueError(f"--folds must be between 2 and the number of datasets ({n_groups})")
    folds = []
    for i, (_, test_idx) in enumerate(GroupKFold(n_splits=n_folds).split(groups, groups=groups)):
        test = sorted(set(groups[test_idx]))
        train = sorted(set(data.systems) - set(test))
        folds.append({"fold": i, "train": train, "test": test, "n_test": int(test_idx.size)})
    return folds


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def plan_training(
    labels_dir: str | None = None,
    grid: str | dict[str, list[Any]] | list[dict[str, Any]] = "default",
    folds: int = 5,
    holdout: Sequence[str] = (),
    settings: Settings | None = None,
    run_dir: str | None = None,
    datasets: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Validate the labels, make the folds and jobs, write ``<run_dir>/plan.json``.

    Returns the plan; ``plan["plan_path"]`` is what ``fit_and_score`` and
    ``select_and_refit`` take.
    """
    settings = settings or get_settings()
    labels_dir = labels_dir or settings.labels_dir
    data = load_files(training_files(labels_dir, datasets, settings))
    holdout = sorted(set(holdout))
    unknown = sorted(set(holdout) - set(data.systems))
    if unknown:
        raise LabelError(f"--holdout: no labels for {', '.join(unknown)}")
    train = data.subset(~np.isin(data.groups, holdout)) if holdout else data
    if len(set(train.systems)) < 2:
        raise ValueError("need labels for at least 2 training datasets (the CV groups)")
    if len(set(train.labels)) < 2:
        raise ValueError("the training labels hold only one class; LOOK and SKIP are both needed")
    grid_name, grid_values, combos = resolve_grid(grid)
    combos = [{**DEFAULT_PARAMS, **c} for c in combos]
    fold_list = make_folds(train, folds)
    jobs = [
        {"job_id": f"c{c:03d}-f{f['fold']}", "combination": c, "fold": f["fold"]}
        for c in range(len(combos))
        for f in fold_list
    ]
    data_hash = data.data_hash()
    created = dt.datetime.now(dt.UTC)
    run_id = (
        created.strftime("%Y%m%dT%H%M%S")
        + "-"
        + hashlib.sha256(
            json.dumps([data_hash, grid_values, folds, holdout], default=str).encode()
        ).hexdigest()[:8]
    )
    run_dir = run_dir or settings.path("runs", run_id)
    plan = {
        "run_id": run_id,
        "run_dir": run_dir,
        "plan_path": storage.join(run_dir, "plan.json"),
        "created": created.isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "labels_dir": labels_dir,
        "datasets": datasets and sorted(datasets),
        "files": data.files,
        "data_hash": data_hash,
        "holdout": holdout,
        "train_datasets": sorted(set(train.systems)),
        "train_size": len(train.lines),
        "n_folds": folds,
        "folds": fold_list,
        "grid_name": grid_name,
        "grid": grid_values,
        "combinations": combos,
        "jobs": jobs,
        "cache_dir": settings.cache_dir,
        "models_dir": settings.models_dir,
    }
    storage.write_json(plan["plan_path"], plan)
    return plan


def load_plan(plan_path: str) -> dict[str, Any]:
    return storage.read_json(plan_path)


def job_spec(plan: dict[str, Any], job_id: str) -> dict[str, Any]:
    for job in plan["jobs"]:
        if job["job_id"] == job_id:
            return {**job, "params": plan["combinations"][job["combination"]]}
    raise KeyError(f"job {job_id!r} is not in plan {plan['run_id']}")
