"""Fault tolerance of the job system with real Redis and real worker processes.

These use the gated test task (tests/worker_test_tasks.py) because it is provably
mid-run when the test acts; the stage workflows are covered in test_worker_stages.py.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from celery import chord, group
from fixtures_services import (
    FAKE_API_KEY,
    redis_backend_choice,
    redis_blobs,
    wait_for,
    wait_workflow,
)

pytestmark = pytest.mark.integration


def _gated_workflow(gate: Path, items: list[str]) -> str:
    from kombu.utils.uuid import uuid

    from worker.workflows import send, task_sig

    wf = uuid()
    header = group(
        task_sig("lookskip.test.gated", f"item={i}", gate_dir=str(gate), item=i, wf=wf)
        for i in items
    )
    body = chord(header, _collect(wf))
    from worker.app import job_store

    send(wf, "test", {"items": items}, ["items"], body, last_queue="ingest")
    job_store().set_total(wf, "items", len(items))
    return wf


def _collect(wf: str):
    from celery import signature

    return signature("lookskip.test.collect", kwargs={"wf": wf})


def test_kill9_of_the_process_running_a_task_loses_and_duplicates_nothing(celery_workers, tmp_path):
    check_kill9_mid_task(tmp_path)


def check_kill9_mid_task(tmp_path: Path) -> None:
    """SIGKILL of the process running a task: it is redone, once (any broker)."""
    gate = tmp_path / "gate"
    items = ["a", "b", "c", "d"]
    wf = _gated_workflow(gate, items)
    # Two tasks are provably running (one per worker, prefetch 1): kill one of them.
    pids = wait_for(
        lambda: list((gate / "pids").glob("*.*")) if (gate / "pids").exists() else [],
        what="a running task",
    )
    victim = pids[0]
    os.kill(int(victim.read_text()), signal.SIGKILL)
    time.sleep(0.5)
    (gate / "open").touch()
    view = wait_workflow(wf)
    assert view.state == "SUCCESS", view
    assert view.result["result"] == {"items": items}
    runs = (gate / "runs.log").read_text().split()
    assert sorted(runs) == items, "every item completed exactly once"
    assert sorted(p.stem for p in (gate / "out").glob("*.json")) == items
    killed_item = victim.name.split(".")[0]
    assert len(list((gate / "pids").glob(f"{killed_item}.*"))) == 2, "the killed task was redone"
    assert view.parts == [{"name": "items", "done": 4, "total": 4}]


def test_redis_restart_mid_workflow_completes(celery_workers, redis_service, tmp_path):
    """Both workers are busy (each runs a task) when Redis restarts; both survive it."""
    check_broker_restart_mid_workflow(celery_workers, redis_service, tmp_path)


def check_broker_restart_mid_workflow(workers, broker, tmp_path: Path) -> None:
    """Both workers are busy when the broker is killed and started again: the workflow
    completes, every item once, and both workers reconnect (any broker)."""
    import psutil

    gate = tmp_path / "gate"
    items = ["r1", "r2", "r3", "r4", "r5"]
    wf = _gated_workflow(gate, items)
    pids = wait_for(
        lambda: (
            list((gate / "pids").iterdir())
            if (gate / "pids").exists() and len(list((gate / "pids").iterdir())) >= 2
            else None
        ),
        what="two running tasks",
    )
    procs = {n: p.pid for n, p in workers.procs.items()}
    busy = {psutil.Process(int(p.read_text())).ppid() for p in pids}
    assert busy == set(procs.values()), f"not one task on each worker: {busy} vs {procs}"
    broker.restart(down_s=1.0)  # SIGKILL + start again from its files (AOF, quorum log)
    (gate / "open").touch()
    view = wait_workflow(wf, timeout=120)
    assert view.state == "SUCCESS", view
    assert view.result["result"] == {"items": items}
    assert sorted((gate / "runs.log").read_text().split()) == items
    # every worker reconnected and goes on: alive, answering, no unrecoverable error
    dead = {n: p.returncode for n, p in workers.procs.items() if p.poll() is not None}
    assert not dead, f"workers died across the broker restart: {dead}"
    workers.wait_ready(timeout=60)
    assert "Unrecoverable error" not in workers.all_logs()


def test_bad_input_fails_clearly_and_the_rest_of_the_group_goes_on(celery_workers, tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    gate = tmp_path / "gate"
    items = ["ok1", "bad-utf8", "ok2", "ok3"]
    wf = _gated_workflow(gate, items)
    (gate / "open").touch()
    wait_for(
        lambda: (gate / "runs.log").exists() and len((gate / "runs.log").read_text().split()) == 3,
        what="the good items",
    )
    assert sorted(p.stem for p in (gate / "out").glob("*.json")) == ["ok1", "ok2", "ok3"]
    view = wait_workflow(wf)
    assert view.state == "FAILURE"
    assert view.failures[0]["task"] == "lookskip.test.gated"
    assert "bad-utf8: input is not valid UTF-8" in view.failures[0]["error"]

    res = CliRunner().invoke(cli, ["status", wf])
    assert res.exit_code == 1, res.output
    assert "FAILURE" in res.output and "lookskip.test.gated" in res.output
    assert "not valid UTF-8" in res.output
    res = CliRunner().invoke(cli, ["status", wf, "--json"])
    doc = json.loads(res.stdout)
    assert doc["state"] == "FAILURE" and doc["progress"][0]["done"] == 3


def test_a_poison_task_fails_after_max_deliveries(celery_workers):
    import redis
    from celery import signature

    from lookskip.settings import get_settings

    res = signature("lookskip.test.poison", kwargs={}).apply_async(queue="ingest")

    def failed():
        try:  # (poll: an earlier test restarted Redis under this client's connections)
            return res.state == "FAILURE"
        except redis.ConnectionError:
            return False

    wait_for(failed, timeout=60, what="the poison task to fail")
    assert "giving up after 3 deliveries" in str(res.result)
    assert get_settings().max_deliveries == 3
    # the workers survive it (their pool replaced the killed child every time)
    celery_workers.wait_ready(timeout=20)


def test_no_secret_in_logs_arguments_or_redis(celery_workers, redis_service):
    blobs = redis_blobs(redis_service.url)
    assert blobs, "redis holds the workflows of the other tests"
    assert not [b for b in blobs if FAKE_API_KEY.encode() in b]
    logs = celery_workers.all_logs()
    assert "lookskip.test.gated" in logs  # the logs are the real ones
    assert FAKE_API_KEY not in logs


@pytest.mark.parametrize(
    ("forced", "image", "expected"),
    [
        ("local", "redis:7", ("local", None)),  # forced local wins over a present image
        (" LOCAL ", None, ("local", None)),
        ("docker", "redis:7", ("docker", "redis:7")),
        ("", "redis:7", ("docker", "redis:7")),  # an image present: a container
        ("", None, ("local", None)),  # none: redis-server
        ("whatever", None, ("local", None)),
    ],
)
def test_redis_backend_choice_is_explicit(forced, image, expected):
    """The real function, each input fixed: not a copy of its logic checked against it."""
    assert redis_backend_choice({"LOOKSKIP_TEST_REDIS": forced}, lambda: image) == expected


def test_forcing_docker_without_an_image_fails_instead_of_falling_back():
    with pytest.raises(pytest.fail.Exception, match="no Docker engine with a redis image"):
        redis_backend_choice({"LOOKSKIP_TEST_REDIS": "docker"}, lambda: None)


def test_the_session_redis_is_the_chosen_one(redis_service):
    assert redis_service.kind == redis_backend_choice()[0]
