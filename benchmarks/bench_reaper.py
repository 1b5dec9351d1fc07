"""How soon the reaper (worker/reaper.py) hands back the task of a worker that died hard.

    uv run --no-sync python benchmarks/bench_reaper.py [--runs 3] [--interval 1] [--grace 4]

Starts its own redis-server and worker processes. Each run: a worker takes a gated
task (tests/worker_test_tasks.py), a second worker starts, the first one's whole
process group is SIGKILLed mid-task, and the time until the task starts again on
the survivor is printed. The figure depends on LOOKSKIP_REAPER_INTERVAL_S and
LOOKSKIP_REAPER_GRACE_S (passed as --interval/--grace): the dead worker's liveness
key must expire (``worker.reaper.alive_ttl_s``), its message be held past the grace
period, and a survivor's reaper round come round. It lives here, not in
tests/test_worker_reaper.py: a speed goal is a figure to print, never a timed test.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

QUEUE = "bench-reaper"


def wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def one_run(env: dict[str, str], work: Path, n: int) -> float:
    from celery import signature

    from worker.launch import answering, spawn_worker

    gate = work / f"gate{n}"
    starts = lambda: list((gate / "pids").glob("dead.*")) if (gate / "pids").exists() else []  # noqa: E731

    def start(name: str):
        return spawn_worker(
            name,
            QUEUE,
            env=env,
            logfile=work / f"{name}.log",
            concurrency=1,
            imports=["worker_test_tasks"],
            new_session=True,
        )

    victim = start(f"victim{n}")
    wait(lambda: f"victim{n}" in answering(), 60, "the victim worker")
    res = signature(
        "lookskip.test.gated", kwargs={"gate_dir": str(gate), "item": "dead"}
    ).apply_async(queue=QUEUE)
    wait(lambda: len(starts()) == 1, 60, "the task on the victim")
    survivor = start(f"survivor{n}")
    try:
        wait(lambda: f"survivor{n}" in answering(), 60, "the survivor worker")
        t0 = time.monotonic()
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        wait(lambda: len(starts()) == 2, 600, "the task to start again")
        took = time.monotonic() - t0
        (gate / "open").touch()
        res.get(timeout=60)
        return took
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--interval", type=float, default=1.0, help="LOOKSKIP_REAPER_INTERVAL_S")
    ap.add_argument("--grace", type=float, default=4.0, help="LOOKSKIP_REAPER_GRACE_S")
    args = ap.parse_args()
    from bench_celery import start_redis, worker_env

    with tempfile.TemporaryDirectory(prefix="bench-reaper-") as tmp:
        work = Path(tmp)
        redis_proc, url = start_redis(work)
        env = worker_env(url, work / "data")
        env.update(
            {
                "LOOKSKIP_REAPER_INTERVAL_S": str(args.interval),
                "LOOKSKIP_REAPER_GRACE_S": str(args.grace),
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
            }
        )
        os.environ.update({k: env[k] for k in ("LOOKSKIP_BROKER_URL", "LOOKSKIP_RESULT_BACKEND")})
        os.environ["LOOKSKIP_DATA_DIR"] = env["LOOKSKIP_DATA_DIR"]
        try:
            times = [one_run(env, work, n) for n in range(args.runs)]
        finally:
            redis_proc.terminate()
            redis_proc.wait(10)
    print(
        f"reaper recovery (interval {args.interval:g} s, grace {args.grace:g} s): "
        f"{' '.join(f'{t:.1f}' for t in times)} s; median {statistics.median(times):.1f} s "
        f"(the visibility timeout it replaces: 3 h)"
    )


if __name__ == "__main__":
    main()
