"""Tasks that exist only for the integration tests (loaded by the test workers with -I).

``gated`` is provably mid-run while its gate file is absent (it has written its pid),
so a test can kill the exact process that runs it; it writes its output atomically
and appends one line to ``runs.log`` per completed run, so a test can count
duplicates. ``poison`` kills its own worker process every time it starts. The fit
gate (``_hold_an_armed_fit``) holds one real fit job mid-run for a test to kill.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from celery.signals import task_prerun

from lookskip import storage
from worker.app import app


@app.task(name="lookskip.test.gated", bind=True)
def gated(self, *, gate_dir: str, item: str, wf: str | None = None) -> dict:
    d = Path(gate_dir)
    (d / "pids").mkdir(parents=True, exist_ok=True)
    (d / "pids" / f"{item}.{os.getpid()}").write_text(str(os.getpid()))
    self.progress(wf, 0, 1, f"{item} waiting")
    deadline = time.monotonic() + 120
    while not (d / "open").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {d / 'open'} never opened")
        time.sleep(0.05)
    if item.startswith("bad"):
        raise ValueError(f"{item}: input is not valid UTF-8 (byte 0xff at offset 3)")
    storage.write_json(str(d / "out" / f"{item}.json"), {"item": item})
    with open(d / "runs.log", "a") as f:
        f.write(f"{item}\n")
    self.item_done(wf, "items", item)
    return {"item": item, "output": str(d / "out" / f"{item}.json")}


@app.task(name="lookskip.test.poison", bind=True)
def poison(self, *, wf: str | None = None, item: str = "poison") -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@app.task(name="lookskip.test.collect", bind=True)
def collect(self, results: list, *, wf: str | None = None) -> dict:
    return {"items": sorted(r["item"] for r in results)}


def fit_gate_dir() -> Path:
    """Where a test arms the fit gate: ``<data dir>/test-gates/fit`` (workers and tests
    share the data dir)."""
    from lookskip.settings import get_settings

    return Path(get_settings().data_dir) / "test-gates" / "fit"


@task_prerun.connect
def _hold_an_armed_fit(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Make "a fit killed mid-run" deterministic for the tests.

    Every start of a ``lookskip.train.fit`` is logged to ``starts.log`` while the gate
    dir exists. A test arms the gate (the file ``armed``); the first fit to start
    claims it, writes ``held`` (its pid and task id) and waits for ``open``: it is
    provably running in that pool process while the test kills it.
    """
    if getattr(task, "name", "") != "lookskip.train.fit":
        return
    d = fit_gate_dir()
    if not d.exists():
        return
    with open(d / "starts.log", "a") as f:
        f.write(f"{task_id} {os.getpid()}\n")
    try:
        os.rename(d / "armed", d / "claimed")  # atomic: one fit claims it
    except FileNotFoundError:
        return
    (d / "held").write_text(f"{os.getpid()} {task_id}")
    deadline = time.monotonic() + 300
    while not (d / "open").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"fit gate {d / 'open'} never opened")
        time.sleep(0.05)
