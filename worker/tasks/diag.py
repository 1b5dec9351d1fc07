"""Diagnostics: a trivial task that `lookskip doctor` and the benchmark send to a queue."""

from __future__ import annotations

import os
import socket
import time

from worker.app import app


@app.task(name="lookskip.diag.echo", bind=True, ignore_result=False)
def echo(self, sent_at: float | None = None) -> dict:
    """Return who ran it and when it started, so callers measure queue -> start latency."""
    return {
        "hostname": self.request.hostname or socket.gethostname(),
        "pid": os.getpid(),
        "queue": (self.request.delivery_info or {}).get("routing_key"),
        "sent_at": sent_at,
        "started_at": time.time(),
    }
