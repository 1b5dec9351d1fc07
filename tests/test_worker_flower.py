"""`lookskip flower` against a password-protected Redis: basic auth on, no secret shown."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from fixtures_services import FAKE_API_KEY, ROOT, free_port, wait_for_redis

pytestmark = pytest.mark.integration

REDIS_PASSWORD = "redis-pw-7c1e55"
FLOWER_PASSWORD = "flower-pw-0b9d"


@pytest.fixture
def secured(tmp_path):
    """A Redis with requirepass, one worker and Flower, all from `lookskip` commands."""
    port, web = free_port(), free_port()
    redis_proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--requirepass",
            REDIS_PASSWORD,
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    wait_for_redis(url)
    env = dict(
        os.environ,
        LOOKSKIP_BROKER_URL=url,
        LOOKSKIP_RESULT_BACKEND=url,
        LOOKSKIP_DATA_DIR=str(tmp_path / "data"),
        ANTHROPIC_API_KEY=FAKE_API_KEY,
        LOOKSKIP_FLOWER_USER="ops",
        LOOKSKIP_FLOWER_PASSWORD=FLOWER_PASSWORD,
    )
    logs = {n: open(tmp_path / f"{n}.log", "w") for n in ("worker", "flower")}  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "worker",
                "--queues",
                "ingest",
                "--pool",
                "solo",
                "--name",
                "fl",
            ],
            cwd=ROOT,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "cli.main", "flower", "--port", str(web)],
            cwd=ROOT,
            env=env,
            stdout=logs["flower"],
            stderr=subprocess.STDOUT,
        ),
    ]
    base = f"http://127.0.0.1:{web}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/healthcheck", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, url, tmp_path
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        redis_proc.terminate()
        redis_proc.wait(10)
        for f in logs.values():
            f.close()


def test_flower_needs_auth_and_shows_no_secret(secured):
    base, url, tmp = secured
    assert httpx.get(base + "/workers", timeout=5).status_code == 401
    auth = ("ops", FLOWER_PASSWORD)
    assert httpx.get(base + "/workers", auth=("ops", "wrong"), timeout=5).status_code == 401

    from celery import Celery, signature

    # set_as_current=False: a new app would otherwise become Celery's *current* app in
    # this process, and later tests' results (AsyncResult without app=) would talk to this
    # fixture's Redis after it is gone.
    client = Celery(broker=url, backend=url, set_as_current=False)
    client.conf.update(task_serializer="json", accept_content=["json"])
    try:
        sig = signature("lookskip.diag.echo", kwargs={"sent_at": 1.0}, app=client)
        sig.set(queue="ingest", kwargsrepr="probe=readable").apply_async().get(timeout=60)
    finally:
        client.close()

    deadline = time.monotonic() + 30
    tasks: dict = {}
    while time.monotonic() < deadline and not tasks:
        tasks = httpx.get(base + "/api/tasks", auth=auth, timeout=5).json()
        time.sleep(0.5)
    shown = [t for t in tasks.values() if t["name"] == "lookskip.diag.echo"]
    assert shown and shown[0]["kwargs"] == "probe=readable"  # readable name and arguments

    workers = httpx.get(base + "/api/workers?refresh=1", auth=auth, timeout=20).json()
    assert workers, "the worker is visible"
    pages = [
        httpx.get(base + p, auth=auth, timeout=20).text
        for p in (
            "/workers",
            "/broker",
            "/tasks",
            "/api/workers?refresh=1",
            "/api/tasks",
            *(f"/worker/{w}" for w in workers),
        )
    ]
    text = "\n".join(pages)
    assert "ingest" in text
    logs = (tmp / "worker.log").read_text() + (tmp / "flower.log").read_text()
    for secret in (REDIS_PASSWORD, FAKE_API_KEY, FLOWER_PASSWORD):
        assert secret not in text, secret
        assert secret not in logs, secret
