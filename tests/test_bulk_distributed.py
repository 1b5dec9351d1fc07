"""The ``classify`` workflow on a real Redis and real Celery worker processes.

It must give exactly the local result (same LOOK lines, numbers, probabilities, same
errors), and survive ``kill -9`` of the worker process that is in the middle of a
chunk: the chunk is redone and the merged output has no gap and no duplicate.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from fixtures_services import wait_workflow
from test_bulk_local import MODEL, load_sample_lines, write_tree

from lookskip.bulk.inputs import expand_inputs
from lookskip.bulk.run import run_local
from lookskip.classify.scorer import load_scorer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sample_lines(shared_data: Path) -> dict[str, list[bytes]]:
    return load_sample_lines(shared_data)


@pytest.fixture(scope="module")
def scorer():
    return load_scorer(str(MODEL), threads=1)


def _enqueue(inputs: list[Path], output: Path, **extra) -> str:
    from worker.workflows import enqueue

    params = {
        "inputs": [str(p) for p in inputs],
        "output": str(output),
        "model_path": str(MODEL),
        **extra,
    }
    return enqueue("classify", params)


def _outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.look.jsonl"))}


def _by_file(summary: dict) -> dict[str, tuple]:
    return {
        f["file"]: (f["lines"], f["look"], f["written"], f["errors"], f["output"])
        for f in summary["files"]
    }


def test_distributed_equals_local(celery_workers, tmp_path, sample_lines, scorer):
    d = write_tree(tmp_path, sample_lines)
    big = tmp_path / "big.log"  # split into many chunks by the workers
    big.write_bytes(b"\n".join(sample_lines["HDFS"] + sample_lines["BGL"]) + b"\r\nlast")
    inputs = [d, tmp_path / "bad", big, tmp_path / "missing.log"]
    exp = expand_inputs([str(p) for p in inputs])
    local = run_local(
        exp.sources, exp.errors, str(tmp_path / "local"), scorer.engine, scorer.threshold
    )
    wf = _enqueue(inputs, tmp_path / "dist", chunk_bytes=2048)
    view = wait_workflow(wf, timeout=240)
    assert view.state == "SUCCESS", view
    totals = view.result["result"]["totals"]
    dist = json.loads((tmp_path / "dist" / "summary.json").read_text())
    assert totals == dist["totals"]
    assert _by_file(dist) == _by_file(local)
    assert next(f for f in dist["files"] if f["file"] == "big.log")["chunks"] > 5
    assert _outputs(tmp_path / "dist") == _outputs(tmp_path / "local")
    assert (tmp_path / "dist" / "report.html").exists()
    assert not (tmp_path / "dist" / ".parts" / wf).exists()  # parts cleaned up
    units = next(p for p in view.parts if p["name"] == "units")
    assert units["done"] == units["total"] > 10

    # run again into the same folder: same outputs, replaced atomically, nothing left over
    view2 = wait_workflow(_enqueue(inputs, tmp_path / "dist", chunk_bytes=4096), timeout=240)
    assert view2.state == "SUCCESS"
    assert _outputs(tmp_path / "dist") == _outputs(tmp_path / "local")
    assert not list((tmp_path / "dist").rglob(".tmp-*"))


def _holder_of(path_glob: str, parts: Path, pids: list[int]) -> tuple[int, Path] | None:
    """The worker process that has an unfinished part (temp file) open, if any."""
    tmps = list(parts.rglob(path_glob))
    if not tmps:
        return None
    for pid in pids:
        try:
            for f in psutil.Process(pid).open_files():
                if any(f.path == str(t) for t in tmps):
                    return pid, Path(f.path)
        except psutil.Error:
            continue
    return None


def test_kill9_mid_chunk_is_redone_without_gap_or_duplicate(
    celery_workers, tmp_path, sample_lines, scorer
):
    # Enough lines that a chunk takes a while on one core, whichever scorer runs.
    lines = sample_lines["HDFS"] + sample_lines["BGL"] + sample_lines["Linux"]
    block = b"\n".join(lines)
    # Size the file from the scorer's speed: ~8 chunks of ~0.3 s each on one core.
    t = time.perf_counter()
    scorer.engine.predict_proba(lines * 4)
    rate = 4 * len(lines) / (time.perf_counter() - t)
    repeat = int(min(max(8 * 0.3 * rate / len(lines), 4), 2000))
    big = tmp_path / "big.log"
    with big.open("wb") as f:
        for i in range(repeat):
            f.write(block.replace(b"081109", b"%06d" % (81109 + i)) + b"\n")
    size = big.stat().st_size
    chunk = max(size // 8, 1)
    exp = expand_inputs([str(big)])
    local = run_local(exp.sources, [], str(tmp_path / "local"), scorer.engine, scorer.threshold)

    children = [
        c.pid for p in celery_workers.procs.values() for c in psutil.Process(p.pid).children()
    ]
    out = tmp_path / "dist"
    wf = _enqueue([big], out, chunk_bytes=chunk)
    deadline = time.monotonic() + 120
    victim = None
    while victim is None and time.monotonic() < deadline:
        victim = _holder_of(".tmp-*.rows", out / ".parts", children)
        if victim is None:
            time.sleep(0.005)
    assert victim is not None, "never saw a chunk in progress"
    os.kill(victim[0], signal.SIGKILL)

    view = wait_workflow(wf, timeout=240)
    assert view.state == "SUCCESS", view
    dist = json.loads((out / "summary.json").read_text())
    assert _by_file(dist) == _by_file(local)
    rows = (out / "big.log.look.jsonl").read_bytes()
    assert rows == (tmp_path / "local" / "big.log.look.jsonl").read_bytes()
    numbers = [json.loads(r)["line"] for r in rows.splitlines()]
    assert numbers == sorted(set(numbers))  # in order, no duplicate
    assert dist["files"][0]["lines"] == local["files"][0]["lines"] == repeat * 270

    # the killed chunk really ran twice (redelivered), and a new pool process took over
    from worker.app import job_store

    r = job_store().r
    counts = [int(r.get(k)) for k in r.scan_iter("lookskip:deliveries:*")]
    assert max(counts) >= 2
    assert (
        not psutil.pid_exists(victim[0])
        or psutil.Process(victim[0]).status() == psutil.STATUS_ZOMBIE
    )


def test_enqueue_classify_cli_waits_and_writes_outputs(celery_workers, tmp_path, sample_lines):
    import subprocess
    import sys

    d = write_tree(tmp_path, sample_lines)
    out = tmp_path / "out"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "enqueue",
            "classify",
            str(d / "bundle.tar.gz"),
            str(d / "hdfs.log"),
            "--output",
            str(out),
            "--model",
            str(MODEL),
            "--chunk-mib",
            "1",
            "--max-look",
            "5",
            "--wait",
        ],
        cwd=MODEL.parent.parent.parent,
        env=celery_workers.env,
        capture_output=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    wf = r.stdout.decode().split()[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["workflow"] == wf and summary["mode"] == "distributed"
    assert sorted(f["file"] for f in summary["files"]) == [
        "bundle.tar.gz!var/log/hdfs.log",
        "bundle.tar.gz!var/log/linux.log",
        "hdfs.log",
    ]
    for f in summary["files"]:
        assert not f["errors"] and f["written"] == min(5, f["look"])
        assert len((out / f["output"]).read_text().splitlines()) == f["written"]
    assert (out / "report.html").exists()


def test_enqueue_classify_honours_every_triage_option(
    celery_workers, tmp_path, shared_data, monkeypatch
):
    """Item 2: --why, --baseline, --events and --json-field mean on the workers what they
    mean here (they were offered and silently ignored): the outputs are byte for byte
    the local run's. And the parameters are checked once per enqueue, not twice."""
    from click.testing import CliRunner

    from cli.main import cli
    from lookskip import preflight

    hdfs = (shared_data / "loghub" / "HDFS_2k.log").read_bytes().split(b"\n")
    good = tmp_path / "good.log"
    good.write_bytes(b"\n".join(hdfs[:1000]) + b"\n")
    target = tmp_path / "failed.log"
    target.write_bytes(
        b"\n".join(hdfs[500:1500])
        + b"\n2026-01-01 12:00:00 ERROR java.lang.IllegalStateException: pool exhausted\n"
        + b"\tat org.example.Pool.take(Pool.java:42)\n\tat org.example.Main.run(Main.java:7)\n"
        + b'{"time": "2026-01-01 12:00:01", "body": "FATAL kernel: Out of memory: Kill '
        + b'process 4242"}\n{"time": "2026-01-01 12:00:02", "body": "GET /health 200"}\n'
    )  # (JSON lines with a timestamp up front: each its own event)
    options = [
        "--model", str(MODEL), "--why", "--baseline", str(good), "--events",
        "--json-field", "body", "--json-field", "msg",
    ]  # fmt: skip
    local = CliRunner().invoke(
        cli, ["classify", str(target), "--output", str(tmp_path / "local"), *options]
    )
    assert local.exit_code == 0, local.output

    calls = []
    real_check = preflight.check

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real_check(*args, **kwargs)

    monkeypatch.setattr(preflight, "check", counted)
    dist_args = ["--output", str(tmp_path / "dist"), *options, "--chunk-mib", "1", "--wait"]
    dist = CliRunner().invoke(cli, ["enqueue", "classify", str(target), *dist_args])
    assert dist.exit_code == 0, dist.output
    assert calls == ["classify"]

    rows = [json.loads(r) for r in (tmp_path / "dist" / "failed.log.look.jsonl").open()]
    assert rows and all(r["why"] for r in rows)
    assert any(r["new"] for r in rows) and not all(r["new"] for r in rows)
    assert any(r.get("event_end", r["line"]) > r["line"] for r in rows)  # a joined trace
    oom = next(r for r in rows if "Out of memory" in r["text"])  # scored on "body": LOOK
    assert oom["event_end"] == oom["line"]
    assert _outputs(tmp_path / "dist") == _outputs(tmp_path / "local")
    local_sum = json.loads((tmp_path / "local" / "summary.json").read_text())
    dist_sum = json.loads((tmp_path / "dist" / "summary.json").read_text())
    for k in ("lines", "look", "look_new", "look_events"):
        assert dist_sum["totals"][k] == local_sum["totals"][k], k
    for k in ("why", "baseline_keys", "only_new", "events"):
        assert dist_sum["run"][k] == local_sum["run"][k], k
    assert not (tmp_path / "dist" / ".parts").exists() or not any(
        (tmp_path / "dist" / ".parts").iterdir()
    )


def test_baseline_inputs_outside_the_allowed_roots_are_refused(celery_workers, tmp_path):
    """A baseline is read like an input: on the workers, only within the allowed roots."""
    secret = Path("/etc/passwd")
    assert os.access(secret, os.R_OK) and not str(secret).startswith(str(tmp_path.parent.parent))
    log = tmp_path / "a.log"
    log.write_text("ERROR disk failed\n")
    wf = _enqueue([log], tmp_path / "out", baseline_inputs=[str(secret)], why=True)
    view = wait_workflow(wf, timeout=120)
    assert view.state == "SUCCESS", view
    run = json.loads((tmp_path / "out" / "summary.json").read_text())["run"]
    assert run["baseline_keys"] == 0  # nothing of the file was read
    (err,) = run["baseline_errors"]
    assert "input refused" in err and "outside the folders" in err, err

    wf = _enqueue([log], tmp_path / "out2", baseline_file=str(secret))
    view = wait_workflow(wf, timeout=120)
    assert view.state == "FAILURE", view
    assert "baseline file refused" in json.dumps(view.to_dict()), view
