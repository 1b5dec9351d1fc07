"""The reaper (worker/reaper.py) hands back the task of a worker that died hard.

Real Redis, real worker processes: a worker of our own takes a gated task, its whole
process group (main process and pool child) is SIGKILLed mid-task, and another worker
must redo the task (not wait out the 3 h visibility timeout), once; how soon it does
is printed by benchmarks/bench_reaper.py.
Before the kill, the test checks the reaper leaves alone tasks that live workers hold
well past the grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fixtures_services import wait_for

pytestmark = pytest.mark.integration

QUEUE = "reaper-test"
FAST = {"LOOKSKIP_REAPER_INTERVAL_S": "1", "LOOKSKIP_REAPER_GRACE_S": "4"}


def _start(name: str, env: dict[str, str], log_dir: Path, concurrency: int) -> subprocess.Popen:
    """A worker in its own process group, so the test can kill it with its pool at once."""
    from worker.launch import spawn_worker

    return spawn_worker(
        name,
        QUEUE,
        env=env,
        logfile=log_dir / f"{name}.log",
        concurrency=concurrency,
        imports=["worker_test_tasks"],
        new_session=True,
    )


def _answers(name: str) -> bool:
    from worker.launch import answering

    return name in answering()


def _starts(gate: Path, item: str) -> list[Path]:
    return list((gate / "pids").glob(f"{item}.*")) if (gate / "pids").exists() else []


def _send(gate: Path, item: str):
    from celery import signature

    return signature(
        "lookskip.test.gated", kwargs={"gate_dir": str(gate), "item": item}
    ).apply_async(queue=QUEUE)


def test_a_task_held_by_a_worker_killed_hard_is_redone_once(
    celery_workers, redis_service, tmp_path
):
    import redis

    from worker.reaper import ALIVE_PREFIX

    env = {**celery_workers.env, **FAST}
    gate = tmp_path / "gate"
    procs: dict[str, subprocess.Popen] = {}
    try:
        procs["victim"] = _start("reaper-victim", env, tmp_path, concurrency=1)
        wait_for(lambda: _answers("reaper-victim"), timeout=60, what="the victim worker")
        dead = _send(gate, "dead")
        wait_for(lambda: _starts(gate, "dead"), timeout=60, what="the task running on the victim")
        # The survivor starts only now, so the first task is provably the victim's.
        procs["survivor"] = _start("reaper-survivor", env, tmp_path, concurrency=2)
        wait_for(lambda: _answers("reaper-survivor"), timeout=60, what="the survivor worker")
        live = _send(gate, "live")  # the victim (prefetch 1) is full: the survivor takes it
        wait_for(lambda: _starts(gate, "live"), timeout=60, what="the task running on the survivor")

        # Both workers alive, both tasks held past the grace period (4 s) for several
        # rounds (1 s): nothing may be handed back.
        time.sleep(8)
        assert len(_starts(gate, "dead")) == 1 and len(_starts(gate, "live")) == 1
        r = redis.Redis.from_url(redis_service.url)
        assert r.exists(f"{ALIVE_PREFIX}reaper-victim@{os.uname().nodename}")

        victim = procs.pop("victim")
        os.killpg(victim.pid, signal.SIGKILL)  # main process and pool child, no goodbye
        victim.wait(10)
        wait_for(
            lambda: len(_starts(gate, "dead")) == 2,
            timeout=120,
            what="the dead worker's task to start again elsewhere",
        )
        # how soon is a figure, printed by benchmarks/bench_reaper.py, not asserted here

        (gate / "open").touch()
        assert dead.get(timeout=60) == {"item": "dead", "output": str(gate / "out/dead.json")}
        assert live.get(timeout=60)["item"] == "live"
        assert sorted((gate / "runs.log").read_text().split()) == ["dead", "live"]
        assert len(_starts(gate, "live")) == 1, "a live worker's task was never handed back"
        logs = (tmp_path / "reaper-survivor.log").read_text(errors="replace")
        logs += celery_workers.all_logs()  # (their reapers may do the round too)
        handed = [
            line
            for line in logs.splitlines()
            if "reaper: handed back task" in line and (dead.id in line or live.id in line)
        ]
        assert len(handed) == 1 and dead.id in handed[0], handed
        # nothing of ours is left unacked (the ack follows the stored result closely)
        wait_for(
            lambda: (
                not [
                    v for v in r.hvals("unacked") if dead.id.encode() in v or live.id.encode() in v
                ]
            ),
            timeout=10,
            what="both messages to be acked",
        )
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
