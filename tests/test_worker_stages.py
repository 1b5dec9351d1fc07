"""Stages as workflows on real workers: same outputs as the local commands, clear failures.

The workers (tests/fixtures_services.py) share one data dir for the session and talk
to a Batch-API simulator over HTTP; the local twin runs in this process on its own
data dir against the same simulator, and the outputs are compared byte for byte.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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
    return next(line.strip() for line in output.splitlines()
                if len(line.strip()) == 36 and line.count("-") == 4)


def _local_settings(tmp: Path, sim_url: str):
    from lookskip.settings import Settings

    return Settings(data_dir=str(tmp), anthropic_base_url=sim_url,
                    anthropic_api_key="sim-key", poll_initial_s=0.02, poll_max_s=0.2,
                    api_max_retries=10)


def test_pipeline_ingest_label_on_workers_matches_the_local_run(
        celery_workers, batch_sim, shared_data, tmp_path):
    res = _run("enqueue", "pipeline", "--source", str(shared_data / "loghub"),
               "--datasets", DATASETS, "--wait")
    assert res.exit_code == 0, res.output
    wf = _wf_id(res.output)
    st = json.loads(_run("status", wf, "--json").stdout)
    assert st["state"] == "SUCCESS"
    parts = {p["name"]: (p["done"], p["total"]) for p in st["progress"]}
    assert parts["datasets"] == (2, 2)
    assert parts["batches"][0] == parts["batches"][1] >= 1
    label_result = st["result"]["result"]
    assert set(label_result["datasets"]) == {"HDFS", "BGL"}
    assert "BGL" in label_result["validate"]  # ground truth came along from the mirror

    # the local twin: same functions in this process, own data dir, same simulator
    from lookskip import datasets as ds
    from lookskip import ingest
    from lookskip.labeling import pipeline

    local = _local_settings(tmp_path / "local", batch_sim)
    results = ingest.ingest(DATASETS, str(shared_data / "loghub"), local)
    assert all(r.ok for r in results)
    run = pipeline.run_label(ds.select(DATASETS, local), local)
    assert not run.errors

    remote = celery_workers.data_dir
    for name in ("HDFS", "BGL"):
        assert (remote / "loghub" / f"{name}_2k.log").read_bytes() == \
            (tmp_path / "local" / "loghub" / f"{name}_2k.log").read_bytes()
        assert (remote / "labels" / f"{name}.jsonl").read_bytes() == \
            (tmp_path / "local" / "labels" / f"{name}.jsonl").read_bytes()
        rows = (remote / "labels" / f"{name}.jsonl").read_text().splitlines()
        assert len(rows) == 2000 and len({json.loads(r)["line_number"] for r in rows}) == 2000
    for artifact in label_result["artifacts"]:
        assert Path(artifact).exists()

    # re-running the label stage pays nothing and changes nothing
    before = (remote / "labels" / "all_labeled.jsonl").read_bytes()
    res = _run("enqueue", "label", "--datasets", DATASETS, "--wait")
    assert res.exit_code == 0, res.output
    again = json.loads(_run("status", _wf_id(res.output), "--json").stdout)["result"]["result"]
    assert again["requests"] == 0 and again["cost_usd"] == 0.0
    assert (remote / "labels" / "all_labeled.jsonl").read_bytes() == before


def test_enqueue_ingest_bad_dataset_fails_clearly_and_the_others_are_done(
        celery_workers, shared_data, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "Apache_2k.log").write_bytes((shared_data / "loghub" / "Apache_2k.log").read_bytes())
    (mirror / "Linux_2k.log").write_bytes(b"\x7fELF\x00\x00binary\x00" * 100)
    res = _run("enqueue", "ingest", "--source", str(mirror), "--datasets", "Apache,Linux",
               "--wait")
    assert res.exit_code == 1
    assert "lookskip.ingest.dataset [Linux]" in res.output
    assert "Traceback" not in res.output
    wf = _wf_id(res.output)
    st = _run("status", wf)
    assert st.exit_code == 1 and "Linux" in st.output and "binary" in st.output.lower()
    assert (celery_workers.data_dir / "loghub" / "Apache_2k.log").read_bytes() == \
        (shared_data / "loghub" / "Apache_2k.log").read_bytes()
    assert not (celery_workers.data_dir / "loghub" / "Linux_2k.log").exists()
    listing = _run("jobs")
    assert wf in listing.output and "FAILURE" in listing.output


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
    env = dict(os.environ, LOOKSKIP_BROKER_URL=f"redis://:s3cret-pw@127.0.0.1:{port}/0",
               LOOKSKIP_RESULT_BACKEND=f"redis://:s3cret-pw@127.0.0.1:{port}/0",
               LOOKSKIP_DATA_DIR=str(tmp_path))
    for args in (["enqueue", "ingest"], ["status", "x"], ["jobs"], ["worker"]):
        p = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 1, (args, p.stderr)
        assert f"127.0.0.1:{port}" in p.stderr
        assert "s3cret-pw" not in p.stderr + p.stdout
        assert "Traceback" not in p.stderr
