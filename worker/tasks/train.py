"""Training as tasks, the same steps as ``lookskip.training.run.train_local``:

    plan → chord(corpus features) → chord(per-fold features) → chord(fit jobs) → select+refit

One ``lookskip.train.fit`` task per (grid combination, fold): it reads the plan and
the feature cache from the data dir and returns a small dict of metrics (its
held-out probabilities go to the run dir), so jobs run on any worker in any order
and a redone job writes the same files. Feature-cache entries are built first, in
two waves, so that fit jobs on different workers do not build the same matrices.
"""

from __future__ import annotations

import time
from typing import Any

from celery import chord, group

from worker.app import app, stage_settings
from worker.workflows import task_sig

FEATURES, FITS = "features", "fits"


def _item_name(item: dict[str, Any]) -> str:
    if item["level"] == "corpus":
        return f"corpus:{item['part']}"
    mf = item.get("max_features")
    return f"fold{item['fold']}:{item['part']}" + (f":{mf}" if mf is not None else "")


def _wave(wf: str | None, plan_path: str, items: list[dict[str, Any]]) -> group:
    return group(
        task_sig(
            "lookskip.train.features",
            _item_name(it),
            wf=wf,
            item=_item_name(it),
            plan_path=plan_path,
            spec=it,
        )
        for it in items
    )


@app.task(name="lookskip.train.plan", bind=True)
def plan(
    self,
    *,
    wf: str | None = None,
    labels_dir: str | None = None,
    grid: str = "default",
    folds: int = 5,
    holdout: list[str] | None = None,
    datasets: list[str] | None = None,
    models_dir: str | None = None,
) -> Any:
    """Validate the labels, write the plan (folds × combinations) and fan out."""
    from lookskip.training.cache import cache_items
    from lookskip.training.plan import plan_training

    started = time.time()
    p = plan_training(
        labels_dir, grid, folds, holdout or (), stage_settings(), datasets=datasets or None
    )
    waves = cache_items(p)
    self.set_total(wf, FEATURES, sum(len(w) for w in waves))
    self.set_total(wf, FITS, len(p["jobs"]))
    self.progress(
        wf,
        0,
        len(p["jobs"]),
        f"train: {len(p['combinations'])} combinations × "
        f"{len(p['folds'])} folds = {len(p['jobs'])} fits",
    )
    run = {
        "plan_path": p["plan_path"],
        "models_dir": models_dir,
        "started": started,
        "planned": time.time(),
    }
    nxt = task_sig(
        "lookskip.train.fan_out", "fold features", takes_result=True, wf=wf, run=run, wave=1
    )
    return self.replace(chord(_wave(wf, p["plan_path"], waves[0]), nxt))


@app.task(name="lookskip.train.features", bind=True)
def features(
    self, *, wf: str | None = None, item: str, plan_path: str, spec: dict[str, Any]
) -> str:
    """Build one feature-cache entry (content-addressed; a redo finds it built)."""
    from lookskip.training.cache import build_item

    path = build_item(plan_path, spec)
    self.item_done(wf, FEATURES, item)
    return path


@app.task(name="lookskip.train.fan_out", bind=True)
def fan_out(
    self, _previous: Any = None, *, wf: str | None = None, run: dict[str, Any], wave: int
) -> Any:
    """After a features wave: the next wave, or the chord of fit jobs."""
    from lookskip.training.cache import cache_items
    from lookskip.training.plan import load_plan

    p = load_plan(run["plan_path"])
    if wave == 1:
        nxt = task_sig(
            "lookskip.train.fan_out", "fit jobs", takes_result=True, wf=wf, run=run, wave=2
        )
        return self.replace(chord(_wave(wf, run["plan_path"], cache_items(p)[1]), nxt))
    run = {**run, "features_done": time.time()}
    # biggest fits first, as the local run does, so the last wave leaves no core idle
    jobs = sorted(p["jobs"], key=lambda j: -p["combinations"][j["combination"]]["C"])
    fits = group(
        task_sig(
            "lookskip.train.fit", j["job_id"], wf=wf, item=j["job_id"], plan_path=run["plan_path"]
        )
        for j in jobs
    )
    select = task_sig(
        "lookskip.train.select", "select best, refit", takes_result=True, wf=wf, run=run
    )
    return self.replace(chord(fits, select))


@app.task(name="lookskip.train.fit", bind=True)
def fit(self, *, wf: str | None = None, item: str, plan_path: str) -> dict[str, Any]:
    """Fit one combination on one fold's training data and score its held-out fold."""
    from lookskip.training.jobs import fit_and_score

    result = fit_and_score(plan_path, item)
    self.item_done(wf, FITS, item)
    return result


@app.task(name="lookskip.train.select", bind=True)
def select(
    self, results: list[dict[str, Any]], *, wf: str | None = None, run: dict[str, Any]
) -> dict[str, Any]:
    """Pick the best combination (macro unseen-system LOOK F1), refit it, write the report."""
    from lookskip import storage
    from lookskip.model.files import REPORT_NAME
    from lookskip.training.plan import load_plan
    from lookskip.training.select import finish_grid

    self.progress(wf, 0, 1, f"selecting among {len(results)} fits, refitting the best")
    now = time.time()
    timings = {
        "plan_seconds": round(run["planned"] - run["started"], 3),
        "features_seconds": round(run["features_done"] - run["planned"], 3),
        "jobs_seconds": round(now - run["features_done"], 3),
        "grid_search_seconds": round(now - run["planned"], 3),
        "executor": "celery",
    }
    report = finish_grid(
        run["plan_path"],
        results,
        models_dir=run.get("models_dir"),
        timings=timings,
        started=run["started"],
    )
    out_dir = run.get("models_dir") or load_plan(run["plan_path"])["models_dir"]
    report_path = storage.join(out_dir, REPORT_NAME)
    return {
        "best_params": report["best_params"],
        "best_cv_look_f1": report["best_cv_look_f1"],
        "threshold": report["threshold"]["value"],
        "train_size": report["train_size"],
        "timings": report["timings"],
        "run_id": report["run_id"],
        "model_path": report["model_path"],
        "artifacts": [report["model_path"], report_path],
    }
