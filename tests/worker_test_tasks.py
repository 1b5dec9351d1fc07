"""Tasks that exist only for the integration tests (loaded by the test workers with -I).

``gated`` is provably mid-run while its gate file is absent (it has written its pid),
so a test can kill the exact process that runs it; it writes its output atomically
and appends one line to ``runs.log`` per completed run, so a test can count
duplicates. ``poison`` kills its own worker process every time it starts.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

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
