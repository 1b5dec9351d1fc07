"""Start Celery worker processes from Python, and see which ones answer.

Why: the integration tests and the benchmarks run real workers as subprocesses; this
is the one place that says how (prefork pool, the given queues, a log file, and a
quiet start-up: no heartbeat, mingle or gossip, which only slow a small cluster down).
``lookskip worker`` runs a worker in its own process instead (``app.worker_main``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def spawn_worker(
    name: str,
    queues: str,
    *,
    env: Mapping[str, str],
    logfile: Path,
    concurrency: int = 1,
    loglevel: str = "INFO",
    imports: Sequence[str] = (),
    new_session: bool = False,
) -> subprocess.Popen:
    """A ``celery worker`` process named ``name@<host>`` serving ``queues`` (comma-separated).

    ``imports``: extra task modules (``-I``). ``new_session``: its own process group, so
    a caller can kill the worker together with its pool.
    """
    argv = [
        sys.executable, "-m", "celery", "-A", "worker.app", "worker",
        "--pool=prefork", f"--concurrency={concurrency}",
        "-Q", queues, "-n", f"{name}@%h",
        f"--loglevel={loglevel}", f"--logfile={logfile}",
    ]  # fmt: skip
    for module in imports:
        argv += ["-I", module]
    argv += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=new_session,
    )


def answering(timeout: float = 0.5) -> set[str]:
    """Names (the part before ``@``) of the workers that answer a ping now."""
    from worker.app import app

    return {
        node.split("@")[0] for reply in app.control.ping(timeout=timeout) or [] for node in reply
    }
