"""The whole training flow on this machine: plan → cache → jobs (joblib) → select/refit.

The Celery workflow runs the same steps as tasks; this is the local driver behind
``lookskip train``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from lookskip.settings import Settings, get_settings
from lookskip.training.cache import build_item, cache_items
from lookskip.training.jobs import fit_and_score
from lookskip.training.plan import plan_training
from lookskip.training.select import finish_grid

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _parallel(fn, args: list[tuple], n_jobs: int, stage: str, progress: Progress | None) -> list:
    from joblib import Parallel, delayed

    out = []
    if progress:
        progress(stage, 0, len(args))
    if n_jobs == 1:
        gen = (fn(*a) for a in args)
    else:
        gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(fn)(*a) for a in args
        )
    for result in gen:
        out.append(result)
        if progress:
            progress(stage, len(out), len(args))
    return out


def train_local(
    labels_dir: str | None = None,
    grid: str | dict | list = "default",
    folds: int = 5,
    holdout: Sequence[str] = (),
    n_jobs: int = -1,
    settings: Settings | None = None,
    models_dir: str | None = None,
    progress: Progress | None = None,
    datasets: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train with the grid search spread over ``n_jobs`` local processes; returns the report."""
    import os

    settings = settings or get_settings()
    if n_jobs <= 0:
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    t0, started = time.perf_counter(), time.time()
    plan = plan_training(labels_dir, grid, folds, holdout, settings, datasets=datasets)
    plan_path = plan["plan_path"]
    t1 = time.perf_counter()
    for wave, items in enumerate(cache_items(plan)):
        _parallel(
            build_item,
            [(plan_path, it) for it in items],
            n_jobs,
            f"features {wave + 1}/2",
            progress,
        )
    t2 = time.perf_counter()
    # biggest fits first so the last wave does not leave one core idle
    jobs = sorted(plan["jobs"], key=lambda j: -plan["combinations"][j["combination"]]["C"])
    results = _parallel(
        fit_and_score, [(plan_path, j["job_id"]) for j in jobs], n_jobs, "fit jobs", progress
    )
    t3 = time.perf_counter()
    if progress:
        progress("refit", 0, 1)
    timings = {
        "plan_seconds": round(t1 - t0, 3),
        "features_seconds": round(t2 - t1, 3),
        "jobs_seconds": round(t3 - t2, 3),
        "grid_search_seconds": round(t3 - t1, 3),
        "n_jobs": n_jobs,
    }
    report = finish_grid(
        plan_path, results, models_dir=models_dir, timings=timings, started=started
    )
    if progress:
        progress("refit", 1, 1)
    return report
