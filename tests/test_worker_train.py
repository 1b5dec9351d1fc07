"""The train workflow on real workers: same model as the local run, and a fit job whose
worker process is killed with SIGKILL is redone without losing or duplicating anything.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli

pytestmark = pytest.mark.integration

DATASETS = ("HDFS", "Apache", "Linux", "JavaApp")
LINES = 300  # per dataset: small enough for a 2-core CI machine, big enough to be real


@pytest.fixture(scope="module")
def small_labels(shared_data, tmp_path_factory) -> Path:
    """The first LINES labeled lines of a few datasets (a scratch copy, never committed)."""
    d = tmp_path_factory.mktemp("labels")
    for name in DATASETS:
        rows = (shared_data / "labels" / f"{name}.jsonl").read_text().splitlines()[:LINES]
        (d / f"{name}.jsonl").write_text("\n".join(rows) + "\n")
    return d


def _wait(wf: str, timeout: float = 300):
    from worker.app import job_store

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = job_store().get(wf)
        if v.done:
            return v
        time.sleep(0.2)
    raise AssertionError(f"workflow {wf} did not finish: {job_store().get(wf)}")


def _kill_a_running_fit(wf: str, timeout: float = 120) -> list[str]:
    """SIGKILL the pool process of running fit jobs until one provably dies mid-run.

    A fit is mid-run when a worker reports it active; it provably died mid-run when its
    delivery counter reaches 2 (the same message started again). Returns the task ids
    killed that way.
    """
    from worker.app import app, job_store

    r = job_store().r
    deadline = time.monotonic() + timeout
    hit: list[str] = []
    tried: set[str] = set()
    while time.monotonic() < deadline and not hit:
        view = job_store().get(wf)
        if view.done:
            break
        active = app.control.inspect(timeout=0.5).active() or {}
        for tasks in active.values():
            for t in tasks:
                if t["name"] == "lookskip.train.fit" and t["id"] not in tried:
                    tried.add(t["id"])
                    try:
                        os.kill(t["worker_pid"], signal.SIGKILL)
                    except ProcessLookupError:
                        continue
                    # it is redelivered at once (reject_on_worker_lost) unless it had
                    # finished just before the kill: then it is done and not counted
                    for _ in range(600):
                        counts = [int(r.get(k) or 0)
                                  for k in r.scan_iter(f"lookskip:deliveries:{t['id']}:*")]
                        if max(counts, default=0) >= 2:
                            hit.append(t["id"])
                            break
                        if app.AsyncResult(t["id"]).state == "SUCCESS":
                            break
                        time.sleep(0.1)
                    break
    return hit


def test_train_on_workers_gives_the_local_model_and_survives_a_killed_fit(
        celery_workers, small_labels, tmp_path):
    from lookskip.model.pipeline import load_model
    from lookskip.settings import Settings
    from lookskip.training.run import train_local

    models = celery_workers.data_dir / "models-train-test"
    res = CliRunner().invoke(cli, ["enqueue", "train", "--labels-dir", str(small_labels),
                                   "--grid", "quick", "--folds", "2",
                                   "--models-dir", str(models)])
    assert res.exit_code == 0, res.output
    wf = res.stdout.split()[0]
    killed = _kill_a_running_fit(wf)
    view = _wait(wf)
    assert view.state == "SUCCESS", view.failures
    assert killed, "no fit job was caught mid-run"
    parts = {p["name"]: (p["done"], p["total"]) for p in view.parts}
    assert parts["fits"] == (8, 8)  # 4 combinations × 2 folds, each counted once
    exported = view.result["result"]
    remote = exported["train"]
    assert exported["parity"]["max_abs_diff"] <= 1e-9
    from lookskip.training.labels import label_files, load_files

    assert exported["parity"]["lines"] == len(load_files(label_files(str(small_labels))).lines)
    for artifact in exported["artifacts"]:
        assert Path(artifact).exists(), artifact
    assert {Path(a).name for a in exported["artifacts"]} == {
        "look_skip_model.joblib", "eval_report.json", "look_skip_model.json.gz",
        "reference_outputs.jsonl.gz"}

    # nothing lost or duplicated: one result per (combination, fold) in the run's results
    report = json.loads((models / "eval_report.json").read_text())
    results = json.loads((celery_workers.data_dir / "runs" / report["run_id"]
                          / "results.json").read_text())
    assert sorted(r["job_id"] for r in results) == sorted(
        f"c{c:03d}-f{f}" for c in range(4) for f in range(2))

    local_settings = Settings(data_dir=str(tmp_path / "local"))
    local = train_local(str(small_labels), grid="quick", folds=2, n_jobs=1,
                        settings=local_settings, models_dir=str(tmp_path / "local-models"))
    assert remote["best_params"] == local["best_params"]
    assert remote["best_cv_look_f1"] == pytest.approx(local["best_cv_look_f1"], abs=1e-12)
    assert report["per_dataset"] == local["per_dataset"]
    assert report["threshold"]["value"] == pytest.approx(local["threshold"]["value"], abs=1e-12)

    lines = [json.loads(x)["raw_line"] for x in
             (small_labels / "HDFS.jsonl").read_text().splitlines()[:200]]
    p_remote = load_model(str(models / "look_skip_model.joblib")).predict_proba_look(lines)
    p_local = load_model(str(tmp_path / "local-models" / "look_skip_model.joblib")
                         ).predict_proba_look(lines)
    np.testing.assert_allclose(p_remote, p_local, rtol=0, atol=1e-12)
    assert report["timings"]["executor"] == "celery"
