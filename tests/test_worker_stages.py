"""Stages as workflows on real workers: same outputs as the local commands, clear failures.

The workers (tests/fixtures_services.py) share one data dir for the session and talk
to a Batch-API simulator over HTTP; the local twin runs in this process on its own
data dir against the same simulator, and the outputs are compared byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_services import FAKE_API_KEY, ROOT

from cli.main import cli

pytestmark = pytest.mark.integration

DATASETS = "HDFS,BGL"


def _run(*args: str):
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res


def _wf_id(output: str) -> str:
    return next(
        line.strip()
        for line in output.splitlines()
        if len(line.strip()) == 36 and line.count("-") == 4
    )


def _local_settings(tmp: Path, sim_url: str):
    from lookskip.settings import Settings

    return Settings(
        data_dir=str(tmp),
        anthropic_base_url=sim_url,
        anthropic_api_key="sim-key",
        poll_initial_s=0.02,
        poll_max_s=0.2,
        api_max_retries=10,
    )


@pytest.fixture
def fit_gate(celery_workers):
    """The fit gate of tests/worker_test_tasks.py, armed: the next fit to start holds.
    Opened and removed at teardown, so no later fit can wait on it."""
    from worker_test_tasks import fit_gate_dir

    d = celery_workers.data_dir / "test-gates" / "fit"
    assert Path(fit_gate_dir()) == d  # the workers read the same data dir
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / "armed").touch()
    yield d
    (d / "open").touch()
    time.sleep(0.2)
    shutil.rmtree(d, ignore_errors=True)


def _kill_the_held_fit(gate: Path, timeout: float = 300) -> str:
    """SIGKILL the pool process of the fit the gate holds (provably mid-run); its task id."""
    deadline = time.monotonic() + timeout
    while not (gate / "held").exists():
        assert time.monotonic() < deadline, "no fit job started within the timeout"
        time.sleep(0.05)
    pid, task_id = (gate / "held").read_text().split()
    os.kill(int(pid), signal.SIGKILL)
    (gate / "open").touch()
    return task_id


def test_whole_pipeline_on_workers_matches_the_local_run_despite_a_killed_fit(
    celery_workers, batch_sim, shared_data, tmp_path, fit_gate
):
    """ingest → label → train → export on the workers; a fit job's process is SIGKILLed."""
    models = celery_workers.data_dir / "models-pipeline"
    res = _run(
        "enqueue",
        "pipeline",
        "--source",
        str(shared_data / "loghub"),
        "--datasets",
        DATASETS,
        "--grid",
        "quick",
        "--folds",
        "2",
        "--models-dir",
        str(models),
    )
    assert res.exit_code == 0, res.output
    wf = _wf_id(res.output)
    killed = _kill_the_held_fit(fit_gate)
    res = _run("status", wf, "--wait")
    assert res.exit_code == 0, res.output
    # the killed fit was started again (in another pool process) and finished
    starts = [line.split() for line in (fit_gate / "starts.log").read_text().splitlines()]
    assert [pid for tid, pid in starts if tid == killed][1:], starts
    from worker.app import app

    assert app.AsyncResult(killed).state == "SUCCESS"
    st = json.loads(_run("status", wf, "--json").stdout)
    assert st["state"] == "SUCCESS"
    parts = {p["name"]: (p["done"], p["total"]) for p in st["progress"]}
    assert parts["datasets"] == (2, 2)
    assert parts["batches"][0] == parts["batches"][1] >= 1
    assert parts["fits"] == (8, 8)  # 4 quick-grid combinations × 2 folds, each once
    exported = st["result"]["result"]
    assert exported["parity"]["max_abs_diff"] <= 1e-9
    for artifact in exported["artifacts"]:
        assert Path(artifact).exists(), artifact
    report = json.loads((models / "eval_report.json").read_text())
    results = json.loads(
        (celery_workers.data_dir / "runs" / report["run_id"] / "results.json").read_text()
    )
    assert sorted(r["job_id"] for r in results) == [
        f"c{c:03d}-f{f}" for c in range(4) for f in range(2)
    ]

    # the local twin: same functions in this process, own data dir, same simulator
    from lookskip import datasets as ds
    from lookskip import ingest
    from lookskip.labeling import pipeline
    from lookskip.model.pipeline import load_model
    from lookskip.training.run import train_local

    local = _local_settings(tmp_path / "local", batch_sim.url)
    assert all(r.ok for r in ingest.ingest(DATASETS, str(shared_data / "loghub"), local))
    assert not pipeline.run_label(ds.select(DATASETS, local), local).errors
    remote = celery_workers.data_dir
    for name in DATASETS.split(","):
        assert (remote / "loghub" / f"{name}_2k.log").read_bytes() == (
            tmp_path / "local" / "loghub" / f"{name}_2k.log"
        ).read_bytes()
        assert (remote / "labels" / f"{name}.jsonl").read_bytes() == (
            tmp_path / "local" / "labels" / f"{name}.jsonl"
        ).read_bytes()
        rows = (remote / "labels" / f"{name}.jsonl").read_text().splitlines()
        assert len({json.loads(r)["line_number"] for r in rows}) == len(rows) == 2000
    local_report = train_local(
        local.labels_dir,
        grid="quick",
        folds=2,
        n_jobs=2,
        settings=local,
        models_dir=str(tmp_path / "local-models"),
    )
    assert report["best_params"] == local_report["best_params"]
    assert report["per_dataset"] == local_report["per_dataset"]
    assert report["threshold"]["value"] == pytest.approx(
        local_report["threshold"]["value"], abs=1e-12
    )
    lines = [json.loads(x)["raw_line"] for x in rows[:300]]
    p_remote = load_model(str(models / "look_skip_model.json.gz")).predict_proba_look(lines)
    p_local = load_model(
        str(tmp_path / "local-models" / "look_skip_model.joblib")
    ).predict_proba_look(lines)
    assert max(abs(a - b) for a, b in zip(p_remote, p_local, strict=True)) <= 1e-9

    # re-running the label stage pays nothing and changes nothing
    before = (remote / "labels" / "all_labeled.jsonl").read_bytes()
    res = _run("enqueue", "label", "--datasets", DATASETS, "--wait")
    assert res.exit_code == 0, res.output
    again = json.loads(_run("status", _wf_id(res.output), "--json").stdout)["result"]["result"]
    assert again["requests"] == 0 and again["cost_usd"] == 0.0
    assert (remote / "labels" / "all_labeled.jsonl").read_bytes() == before


def test_label_survives_a_worker_restart_between_submit_and_collect(
    celery_workers, batch_sim, shared_data
):
    """Both workers restart while the batch is in flight: it is polled, never paid twice."""
    name = "Proxifier"
    res = _run(
        "enqueue", "ingest", "--source", str(shared_data / "loghub"), "--datasets", name, "--wait"
    )
    assert res.exit_code == 0, res.output
    opts = batch_sim.simulator.options
    opts.delay, saved = 6.0, opts.delay
    try:
        res = _run("enqueue", "label", "--datasets", name)
        assert res.exit_code == 0, res.output
        wf = _wf_id(res.output)
        manifest = celery_workers.data_dir / "batches" / "manifest.json"

        def submitted() -> bool:
            if not manifest.exists():
                return False
            m = json.loads(manifest.read_text())
            return any(
                b["api_id"]
                for b in m["batches"].values()
                if any(c.startswith(f"{name}_") for c in b["custom_ids"])
            )

        deadline = time.monotonic() + 60
        while not submitted():
            assert time.monotonic() < deadline, "the batch was never submitted"
            time.sleep(0.1)
        for w in ("w1", "w2"):  # warm shutdown: unacked (countdown) messages go back to Redis
            celery_workers.stop(w)
        for w in ("w1", "w2"):
            celery_workers.start(w)
        celery_workers.wait_ready()
    finally:
        opts.delay = saved
    res = _run("status", wf, "--wait")
    assert res.exit_code == 0, res.output
    created = [
        b
        for b in batch_sim.simulator.batches.values()
        if any(r["custom_id"].startswith(f"{name}_") for r in b.requests)
    ]
    assert len(created) == 1, "the batch was created once, then polled"
    rows = (celery_workers.data_dir / "labels" / f"{name}.jsonl").read_text().splitlines()
    assert len(rows) == len({json.loads(r)["line_number"] for r in rows}) == 2000


def test_enqueue_ingest_bad_dataset_fails_clearly_and_the_others_are_done(
    celery_workers, shared_data, tmp_path
):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "Apache_2k.log").write_bytes((shared_data / "loghub" / "Apache_2k.log").read_bytes())
    (mirror / "Linux_2k.log").write_bytes(b"\x7fELF\x00\x00binary\x00" * 100)
    res = _run("enqueue", "ingest", "--source", str(mirror), "--datasets", "Apache,Linux", "--wait")
    assert res.exit_code == 1
    assert "lookskip.ingest.dataset [Linux]" in res.output
    assert "Traceback" not in res.output
    wf = _wf_id(res.output)
    st = _run("status", wf)
    assert st.exit_code == 1 and "Linux" in st.output and "binary" in st.output.lower()
    deadline = time.monotonic() + 60  # the failure is reported at once; Apache goes on
    while json.loads(_run("status", wf, "--json").stdout)["progress"][0]["done"] < 1:
        assert time.monotonic() < deadline, "the good dataset was not ingested"
        time.sleep(0.2)
    assert (celery_workers.data_dir / "loghub" / "Apache_2k.log").read_bytes() == (
        shared_data / "loghub" / "Apache_2k.log"
    ).read_bytes()
    assert not (celery_workers.data_dir / "loghub" / "Linux_2k.log").exists()
    listing = _run("jobs")
    assert wf in listing.output and "FAILURE" in listing.output


def test_enqueue_classify_takes_the_local_options(celery_workers, shared_data, tmp_path):
    model = ROOT / "data" / "models" / "look_skip_model.json.gz"
    log = shared_data / "loghub" / "HDFS_2k.log"
    res = _run(
        "enqueue",
        "classify",
        str(log),
        "--model",
        str(model),
        "--max-look",
        "5",
        "--output",
        str(tmp_path / "out"),
        "--wait",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["totals"]["lines"] == 2000 and summary["totals"]["files_failed"] == 0
    assert summary["totals"]["written"] <= 5  # --max-look reached the workers


def test_doctor_sees_workers_on_every_queue_and_hides_the_key(celery_workers):
    res = _run("doctor")
    assert res.exit_code == 0, res.output
    for q in ("ingest", "label", "train", "classify", "transformer"):
        assert f"queue {q}" in res.output
    assert "no worker consumes" not in res.output
    assert "ANTHROPIC_API_KEY is set" in res.output
    assert FAKE_API_KEY not in res.output


def test_unreachable_broker_is_one_clear_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    env = dict(
        os.environ,
        LOOKSKIP_BROKER_URL=f"redis://:s3cret-pw@127.0.0.1:{port}/0",
        LOOKSKIP_RESULT_BACKEND=f"redis://:s3cret-pw@127.0.0.1:{port}/0",
        LOOKSKIP_DATA_DIR=str(tmp_path),
    )
    for args in (["enqueue", "ingest"], ["status", "x"], ["jobs"], ["worker"]):
        p = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == 1, (args, p.stderr)
        assert f"127.0.0.1:{port}" in p.stderr
        assert "s3cret-pw" not in p.stderr + p.stdout
        assert "Traceback" not in p.stderr
        # The next step, on the same one line: how to start a broker, and that local
        # classify needs none.
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert "redis-server" in p.stderr and "docker compose up -d redis" in p.stderr
        assert "`lookskip classify` runs locally without one" in p.stderr
