"""Workers that share nothing but the broker and an object store (a real S3 server).

Two worker processes, each with its own temp folder, whose data dir, inputs and outputs
are all ``s3://`` on moto's S3 server: the whole pipeline (ingest → label via the
simulator → train → export) and a bulk classify give what the local-disk run gives,
and the S3 secret never reaches a task, a log or Redis. They use their own Redis, so
the session's local-disk workers never take their tasks.
"""

from __future__ import annotations

import gc
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_services import (
    FAKE_S3_SECRET,
    RedisService,
    Workers,
    _point_app_at,
    free_port,
    redis_blobs,
    service_env,
    wait_workflow,
)
from test_bulk_local import MODEL, load_sample_lines, write_tree

from cli.main import cli
from lookskip import storage

pytestmark = pytest.mark.integration

DATASETS = "HDFS,BGL"
CLIENT_KEYS = ("LOOKSKIP_BROKER_URL", "LOOKSKIP_RESULT_BACKEND", "LOOKSKIP_DATA_DIR")


@pytest.fixture(scope="module")
def s3_sim():
    """This module's own Batch-API simulator (other tests count the session one's batches)."""
    from lookskip.apisim import SimOptions, serve_in_thread

    sim = serve_in_thread(SimOptions(delay=0.3))
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def s3_workers(s3_service, s3_sim, tmp_path_factory) -> Iterator[Workers]:
    from lookskip.settings import get_settings

    redis = RedisService(kind="local", port=free_port(), workdir=tmp_path_factory.mktemp("r"))
    redis.start()
    data_dir = f"{s3_service.bucket('lookskip-data')}/{uuid.uuid4().hex[:8]}"
    env = {**service_env(redis.url, Path("."), s3_sim.url), **s3_service.env}
    env["LOOKSKIP_DATA_DIR"] = data_dir
    saved = {k: os.environ.get(k) for k in CLIENT_KEYS}
    os.environ.update({k: env[k] for k in CLIENT_KEYS})
    get_settings.cache_clear()
    _point_app_at(redis.url)
    logs = tmp_path_factory.mktemp("s3-worker-logs")
    workers = Workers(redis=redis, data_dir=data_dir, log_dir=logs, env=env)  # type: ignore[arg-type]
    for name in ("h1", "h2"):  # "hosts": nothing on disk in common but this repo
        workers.start(name, TMPDIR=str(tmp_path_factory.mktemp(f"{name}-tmp")))
    try:
        workers.wait_ready()
        yield workers
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        _point_app_at(get_settings().broker_url.get_secret_value())
        gc.collect()  # results of this module's runs let go while their Redis still answers
        for n in list(workers.procs):
            workers.stop(n)
        redis.stop()


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _wf_id(output: str) -> str:
    return next(
        line.strip()
        for line in output.splitlines()
        if len(line.strip()) == 36 and line.count("-") == 4
    )


def test_pipeline_on_s3_matches_the_local_disk_run(
    s3_workers, s3_service, s3_sim, shared_data, tmp_path
):
    src = f"{s3_service.bucket('lookskip-inputs')}/mirror-{uuid.uuid4().hex[:6]}"
    for name in ("HDFS_2k.log", "BGL_2k.log", "BGL_2k.log_structured.csv"):
        s3_service.upload(shared_data / "loghub" / name, f"{src}/{name}")
    remote = s3_workers.data_dir
    res = _run(
        "enqueue", "pipeline", "--source", src, "--datasets", DATASETS,
        "--grid", "quick", "--folds", "2", "--wait",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    st = json.loads(_run("status", _wf_id(res.output), "--json").stdout)
    assert st["state"] == "SUCCESS"
    exported = st["result"]["result"]
    assert exported["parity"]["max_abs_diff"] <= 1e-9
    for artifact in exported["artifacts"]:
        assert artifact.startswith(remote) and storage.exists(artifact), artifact

    # the local twin: the same functions in this process, on local disk
    from lookskip import datasets as ds
    from lookskip import ingest
    from lookskip.labeling import pipeline
    from lookskip.model.pipeline import load_model
    from lookskip.settings import Settings
    from lookskip.training.run import train_local

    local = Settings(
        data_dir=str(tmp_path / "local"),
        anthropic_base_url=s3_sim.url,
        anthropic_api_key="sim-key",
        poll_initial_s=0.02,
        poll_max_s=0.2,
    )
    assert all(r.ok for r in ingest.ingest(DATASETS, str(shared_data / "loghub"), local))
    assert not pipeline.run_label(ds.select(DATASETS, local), local).errors
    for name in DATASETS.split(","):
        for rel in (f"loghub/{name}_2k.log", f"labels/{name}.jsonl"):
            assert storage.read_bytes(f"{remote}/{rel}") == (tmp_path / "local" / rel).read_bytes()
    local_report = train_local(
        local.labels_dir, grid="quick", folds=2, n_jobs=1, settings=local,
        models_dir=str(tmp_path / "local-models"),
    )  # fmt: skip
    report = storage.read_json(f"{remote}/models/eval_report.json")
    assert report["best_params"] == local_report["best_params"]
    assert report["per_dataset"] == local_report["per_dataset"]
    rows = (tmp_path / "local" / "labels" / "HDFS.jsonl").read_text().splitlines()
    lines = [json.loads(x)["raw_line"] for x in rows[:300]]
    p_remote = load_model(f"{remote}/models/look_skip_model.json.gz").predict_proba_look(lines)
    p_local = load_model(
        str(tmp_path / "local-models" / "look_skip_model.joblib")
    ).predict_proba_look(lines)
    assert max(abs(a - b) for a, b in zip(p_remote, p_local, strict=True)) <= 1e-9
    manifest = storage.read_json(f"{remote}/batches/manifest.json")
    assert manifest["fence"] >= 1  # written under the Redis lock

    # the secret reached neither a log nor Redis (task arguments, results, registry)
    blobs = redis_blobs(s3_workers.redis.url)
    assert blobs and not [b for b in blobs if FAKE_S3_SECRET.encode() in b]
    assert FAKE_S3_SECRET not in s3_workers.all_logs()


def test_classify_on_s3_matches_the_local_run(s3_workers, s3_service, shared_data, tmp_path):
    from lookskip.bulk.inputs import expand_inputs
    from lookskip.bulk.run import run_local
    from lookskip.classify.scorer import load_scorer

    lines = load_sample_lines(shared_data)
    d = write_tree(tmp_path, lines)
    big = d / "big.log"  # cut into many byte ranges, read with ranged GETs
    big.write_bytes(b"\n".join(lines["HDFS"] + lines["BGL"]) + b"\r\nlast")
    run = uuid.uuid4().hex[:6]
    inputs = f"{s3_service.bucket('lookskip-inputs')}/{run}/logs"
    s3_service.upload(d, inputs)
    model = f"{s3_workers.data_dir}/models-{run}/look_skip_model.json.gz"
    s3_service.upload(MODEL, model)
    out = f"{s3_service.bucket('lookskip-out')}/{run}"

    scorer = load_scorer(str(MODEL), threads=1)
    exp = expand_inputs([str(d)])
    local = run_local(
        exp.sources, exp.errors, str(tmp_path / "local"), scorer.engine, scorer.threshold
    )
    from worker.workflows import enqueue

    # small units (the CLI's --chunk-mib is whole MiB): many ranged reads, many parts
    params = {"inputs": [inputs], "output": out, "model_path": model, "chunk_bytes": 2048}
    wf = enqueue("classify", params)
    view = wait_workflow(wf, timeout=300)
    assert view.state == "SUCCESS", view
    dist = storage.read_json(f"{out}/summary.json")

    def by_file(summary: dict) -> dict:
        return {
            f["file"]: (f["lines"], f["look"], f["written"], f["output"]) for f in summary["files"]
        }

    assert by_file(dist) == by_file(local)
    assert dist["totals"]["lines"] == local["totals"]["lines"] > 500
    local_out = tmp_path / "local"
    for p in sorted(local_out.rglob("*.look.jsonl")):
        rel = str(p.relative_to(local_out))
        # rows name files by the path as given: here the bucket's, there the local dir's
        want = p.read_bytes().replace(f'"file":"{d}/'.encode(), f'"file":"{inputs}/'.encode())
        assert storage.read_bytes(f"{out}/{rel}") == want, rel
    assert storage.exists(f"{out}/report.html")
    assert next(f for f in dist["files"] if f["file"] == "logs/big.log")["chunks"] > 5
    assert not storage.exists(f"{out}/.parts/{wf}")


def test_enqueue_refuses_a_path_only_this_host_sees(s3_workers, tmp_path):
    log = tmp_path / "a.log"
    log.write_text("x\n")
    res = _run("enqueue", "classify", str(log), "--output", "s3://lookskip-out/x")
    assert res.exit_code != 0
    assert "a path on this host" in res.output and "s3://" in res.output
    res = _run("enqueue", "ingest", "--source", str(tmp_path))
    assert res.exit_code != 0 and "a path on this host" in res.output


def test_doctor_shows_the_redis_lock_and_conditional_writes(s3_workers):
    res = CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["doctor"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "Redis lock with fencing" in res.output
    assert "conditional writes: yes" in res.output
    assert FAKE_S3_SECRET not in res.output
