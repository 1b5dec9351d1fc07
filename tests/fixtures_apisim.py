"""The ``api_sim`` fixture: a real Batch-API simulator on a free 127.0.0.1 port.

``api_sim(**SimOptions fields)`` starts one (batches end after 0.1 s unless told
otherwise) and points the settings at it: ``ANTHROPIC_BASE_URL``, a dummy key, a tiny
poll interval and enough SDK retries to ride out injected HTTP faults. The official
SDK then talks to it over HTTP. Stopped at teardown.
"""

from __future__ import annotations

import pytest

from lookskip.apisim import RunningSim, SimOptions, serve_in_thread
from lookskip.settings import get_settings


@pytest.fixture
def api_sim(monkeypatch: pytest.MonkeyPatch):
    started: list[RunningSim] = []

    def start(**options) -> RunningSim:
        sim = serve_in_thread(SimOptions(**{"delay": 0.1, **options}))
        started.append(sim)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sim-test-key")
        monkeypatch.setenv("LOOKSKIP_POLL_INITIAL_S", "0.02")
        monkeypatch.setenv("LOOKSKIP_POLL_MAX_S", "0.2")
        monkeypatch.setenv("LOOKSKIP_API_MAX_RETRIES", "10")
        get_settings.cache_clear()
        return sim

    yield start
    for sim in started:
        sim.stop()
    get_settings.cache_clear()
