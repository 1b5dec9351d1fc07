"""A local Message Batches API simulator (``lookskip api-sim``).

Free dry runs for users and fault injection for tests: the official ``anthropic`` SDK
talks to it over HTTP when ``ANTHROPIC_BASE_URL`` points at it.

In-process (tests, Celery integration tests)::

    url, stop = serve_in_thread(SimOptions(delay=0.1, replay="batch_results.jsonl"))

As a separate process: ``start_subprocess(["--delay", "0.1"])`` returns the URL and
the ``Popen`` to terminate.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from lookskip.apisim.server import RunningSim, SimOptions, Simulator, serve_in_thread

__all__ = ["RunningSim", "SimOptions", "Simulator", "serve_in_thread", "start_subprocess"]


def start_subprocess(
    args: list[str] | None = None, timeout: float = 30.0, **popen_kwargs
) -> tuple[str, subprocess.Popen]:
    """Run ``lookskip api-sim --port 0 ARGS`` in a child process; returns (url, process).

    The command prints ``listening on URL`` once bound; this waits for that line.
    """
    cmd = [
        sys.executable,
        "-m",
        "cli.main",
        "api-sim",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *(args or []),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, **popen_kwargs)
    box: dict[str, str] = {}
    ready = threading.Event()

    def read() -> None:  # keeps draining stdout so the child never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("listening on ") and "url" not in box:
                box["url"] = line.split()[2]
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(timeout)
    if "url" not in box:
        proc.kill()
        raise RuntimeError(f"api-sim subprocess did not start: {' '.join(cmd)}")
    return box["url"], proc
