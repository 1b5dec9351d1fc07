"""Training benchmark: `lookskip train` (fold jobs over cached features) vs GridSearchCV.

Prints, from one run on the same machine:

* pooled GroupKFold LOOK F1 of the selected model on the labeled datasets (at 0.5,
  and with the tuned threshold scored nested: each fold at the threshold tuned on
  the other folds),
* grid-search wall time of `lookskip train --n-jobs N` (cold feature cache: plan +
  features + fit jobs; refit reported apart) and of a plain scikit-learn
  ``GridSearchCV(n_jobs=N, refit=False)`` over the same pipeline, grid and
  GroupKFold folds, and their ratio,
* the parameters each selected (GridSearchCV ranks by mean fold F1, lookskip by
  pooled F1; both scores are shown for both choices),
* peak memory: the summed RSS of each side's process tree (sampled) and the
  largest single-process ru_maxrss.

Each side runs in its own subprocess so memory and caches do not leak between
them. ``--baseline-combos K`` runs GridSearchCV on K evenly spread combinations
of the grid only and extrapolates its time linearly to the whole grid (said so in
the output); lookskip's side is then also timed on the same K combinations.

    nice .venv/bin/python benchmarks/bench_train.py [--labels-dir DIR] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_LABELS = os.environ.get("LOOKSKIP_SHARED_DATA", str(ROOT.parent / "shared" / "data"))


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_side(args: list[str], env: dict[str, str]) -> tuple[dict, float, int]:
    """Run a side in a subprocess; return its JSON result, wall time and peak tree RSS."""
    peak = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], env=env, stdout=subprocess.PIPE, text=True
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.5)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    stdout, _ = proc.communicate()
    done.set()
    thread.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"side {args[0]} failed with exit code {proc.returncode}")
    return json.loads(stdout.strip().splitlines()[-1]), wall, peak


def spread(n_total: int, k: int) -> list[int]:
    """``k`` evenly spread combination indices out of ``n_total`` (all when k <= 0)."""
    if k <= 0 or k >= n_total:
        return list(range(n_total))
    return sorted({round(i * (n_total - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]


# --- sides (run in subprocesses) ---------------------------------------------------
def side_lookskip(
    labels_dir: str, data_dir: str, grid: str, folds: int, n_jobs: int, combos: list[int] | None
) -> dict:
    from lookskip.settings import Settings
    from lookskip.training.plan import GRIDS, expand_grid
    from lookskip.training.run import train_local

    settings = Settings(data_dir=data_dir)
    grid_arg: str | list = grid
    if combos is not None:  # a subset of the grid, as an explicit list of combinations
        all_combos = expand_grid(GRIDS[grid])
        grid_arg = [all_combos[i] for i in combos]
    t0 = time.perf_counter()
    report = train_local(labels_dir, grid_arg, folds, (), n_jobs, settings)
    wall = time.perf_counter() - t0
    return {
        "report_path": f"{settings.models_dir}/eval_report.json",
        "wall": wall,
        "timings": report["timings"],
        "best_params": report["best_params"],
        "best_cv_look_f1": report["best_cv_look_f1"],
        "nested_tuned_f1": report["threshold"]["nested_cv_look_f1"],
        "threshold": report["threshold"]["value"],
        "table": report["cv"]["combinations"],
        "maxrss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def side_gridsearch(
    labels_dir: str, grid: str, folds: int, n_jobs: int, combos: list[int] | None
) -> dict:
    import numpy as np
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from lookskip.model.pipeline import build_pipeline, from_sklearn_params, to_sklearn_params
    from lookskip.training.labels import load_labels
    from lookskip.training.plan import GRIDS, expand_grid

    data = load_labels(labels_dir)
    all_combos = expand_grid(GRIDS[grid])
    chosen = [all_combos[i] for i in (combos if combos is not None else range(len(all_combos)))]
    param_grid = [{k: [v] for k, v in to_sklearn_params(c).items()} for c in chosen]
    search = GridSearchCV(
        build_pipeline(),
        param_grid,
        scoring="f1",
        cv=GroupKFold(folds),
        n_jobs=n_jobs,
        refit=False,
        error_score="raise",
    )
    t0 = time.perf_counter()
    search.fit(data.lines, data.y, groups=data.groups)
    wall = time.perf_counter() - t0
    res = search.cv_results_
    return {
        "wall": wall,
        "best_params": from_sklearn_params(search.best_params_),
        "best_mean_f1": float(search.best_score_),
        "params": [from_sklearn_params(p) for p in res["params"]],
        "mean_f1": [float(v) for v in res["mean_test_score"]],
        "fold_f1": [
            [float(res[f"split{i}_test_score"][j]) for i in range(folds)]
            for j in range(len(res["params"]))
        ],
        "n_fits": int(len(res["params"]) * folds),
        "maxrss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "np": np.__version__,
    }


# --- driver ------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels-dir", default=f"{DEFAULT_LABELS}/labels")
    ap.add_argument("--grid", default="default")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument(
        "--baseline-combos",
        type=int,
        default=0,
        help="GridSearchCV on this many spread combinations only (0 = whole grid)",
    )
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--workdir", default=None, help="keep run files here (default: a temp dir)")
    ap.add_argument("--side", choices=["lookskip", "gridsearch"], help=argparse.SUPPRESS)
    ap.add_argument("--combos", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    combos = [int(c) for c in a.combos.split(",")] if a.combos else None
    if a.side == "lookskip":
        print(json.dumps(side_lookskip(a.labels_dir, a.workdir, a.grid, a.folds, a.n_jobs, combos)))
        return
    if a.side == "gridsearch":
        print(json.dumps(side_gridsearch(a.labels_dir, a.grid, a.folds, a.n_jobs, combos)))
        return

    from lookskip.training.plan import GRIDS, expand_grid

    n_total = len(expand_grid(GRIDS[a.grid]))
    workdir = a.workdir or tempfile.mkdtemp(prefix="bench-train-")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    common = [
        "--labels-dir",
        a.labels_dir,
        "--grid",
        a.grid,
        "--folds",
        str(a.folds),
        "--n-jobs",
        str(a.n_jobs),
    ]
    print(
        f"bench_train: {a.grid} grid ({n_total} combinations) x {a.folds} GroupKFold folds, "
        f"n_jobs={a.n_jobs}, cpu_count={os.cpu_count()}, labels={a.labels_dir}",
        flush=True,
    )

    ours, ours_wall, ours_peak = run_side(
        ["--side", "lookskip", "--workdir", f"{workdir}/full", *common], env
    )
    t = ours["timings"]
    print(
        f"lookskip train (full grid, cold cache): grid search {t['grid_search_seconds']:.1f} s "
        f"(features {t['features_seconds']:.1f} s + {n_total * a.folds} fit jobs "
        f"{t['jobs_seconds']:.1f} s), refit {t['refit_seconds']:.1f} s, "
        f"process wall {ours_wall:.1f} s",
        flush=True,
    )
    print(
        f"lookskip peak memory: process tree {ours_peak / 2**20:.0f} MiB summed RSS, "
        f"largest process {max(ours['maxrss_self_kb'], ours['maxrss_children_kb']) / 1024:.0f}"
        f" MiB ru_maxrss",
        flush=True,
    )
    print(
        f"selected (macro unseen-system LOOK F1, pooled as tie-break): {ours['best_params']}",
        flush=True,
    )
    print(
        f"pooled GroupKFold LOOK F1: {ours['best_cv_look_f1']:.4f} at threshold 0.5; "
        f"{ours['nested_tuned_f1']:.4f} with the tuned threshold (nested); "
        f"shipped threshold {ours['threshold']:.4f}  [seed: 0.792, target >= 0.85]",
        flush=True,
    )
    print(f"report: {ours['report_path']}", flush=True)
    if a.skip_baseline:
        return

    subset = spread(n_total, a.baseline_combos)
    partial = len(subset) < n_total
    sub_args = ["--combos", ",".join(map(str, subset))] if partial else []
    base, _base_wall, base_peak = run_side(["--side", "gridsearch", *common, *sub_args], env)
    scale = n_total / len(subset)
    base_full = base["wall"] * scale
    label = (
        f"GridSearchCV(n_jobs={a.n_jobs}) on {len(subset)} of {n_total} combinations "
        f"({base['n_fits']} fits): {base['wall']:.1f} s, extrapolated to the full grid "
        f"{base_full:.1f} s"
        if partial
        else f"GridSearchCV(n_jobs={a.n_jobs}) full grid ({base['n_fits']} fits): "
        f"{base['wall']:.1f} s"
    )
    print(label, flush=True)
    print(
        f"GridSearchCV peak memory: process tree {base_peak / 2**20:.0f} MiB summed RSS, "
        f"largest process {max(base['maxrss_self_kb'], base['maxrss_children_kb']) / 1024:.0f}"
        f" MiB ru_maxrss",
        flush=True,
    )
    ratio = t["grid_search_seconds"] / base_full
    print(
        f"ratio lookskip/GridSearchCV grid-search wall time (full grid"
        f"{', baseline extrapolated' if partial else ''}): {ratio:.3f}  [target <= 0.1]",
        flush=True,
    )
    # do both pick the same, and how do the choices score under both criteria?
    by_params = {json.dumps(r["params"], sort_keys=True): r for r in ours["table"]}
    gs_choice = by_params[json.dumps(base["best_params"], sort_keys=True)]
    print(
        f"GridSearchCV selected (mean fold F1 {base['best_mean_f1']:.4f}): "
        f"{base['best_params']} -> pooled LOOK F1 {gs_choice['cv_look_f1']:.4f}",
        flush=True,
    )
    diffs = []
    for params, fold_f1 in zip(base["params"], base["fold_f1"], strict=True):
        row = by_params[json.dumps(params, sort_keys=True)]
        diffs += [abs(x - y) for x, y in zip(row["fold_look_f1"], fold_f1, strict=True)]
    same = gs_choice["params"] == ours["best_params"]
    print(
        f"same selection: {same}; lookskip's choice pooled F1 {ours['best_cv_look_f1']:.4f} "
        f">= GridSearchCV's {gs_choice['cv_look_f1']:.4f}: "
        f"{ours['best_cv_look_f1'] >= gs_choice['cv_look_f1']}; "
        f"per-fold F1 max |diff| lookskip vs GridSearchCV: {max(diffs):.2e}",
        flush=True,
    )
    if partial:
        sub, _sub_wall, _ = run_side(
            ["--side", "lookskip", "--workdir", f"{workdir}/subset", *common, *sub_args], env
        )
        st = sub["timings"]
        print(
            f"same {len(subset)} combinations, both measured: lookskip "
            f"{st['grid_search_seconds']:.1f} s vs GridSearchCV {base['wall']:.1f} s, "
            f"ratio {st['grid_search_seconds'] / base['wall']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
