"""Read-modify-write state on an object store: a real S3 server (moto) and a real Redis.

Two processes racing on the labeling manifest lose nothing; a holder whose lock expired
writes nothing (fencing); a write that slipped past the fence check is refused by the
store itself (conditional write). The file-lock path of a local data dir is covered by
the labeling tests.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time

import pytest

from lookskip import storage
from lookskip.locking import LockLost, StateConflict, locked_json, state_lock
from lookskip.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_settings(s3_service, redis_service, request) -> Settings:
    base = s3_service.bucket("lookskip-locks")
    return Settings(
        data_dir=f"{base}/{request.node.name}",
        result_backend=redis_service.url,
        broker_url=redis_service.url,
    )


def _empty() -> dict:
    return {"items": {}}


def _writer(env: dict[str, str], data_dir: str, redis_url: str, who: str, n: int) -> None:
    """One racing writer (a separate process): n read-modify-writes of its own keys."""
    os.environ.update(env)
    from lookskip.labeling import batches as B

    s = Settings(data_dir=data_dir, result_backend=redis_url, broker_url=redis_url)
    for i in range(n):
        with B.locked_manifest(s) as m:
            m["windows"][f"{who}-{i}"] = {"by": who, "i": i}
            time.sleep(0.005)  # widen the read-modify-write window


def test_two_processes_racing_on_the_manifest_lose_nothing(s3_settings, s3_service, redis_service):
    n = 25
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(
            target=_writer,
            args=(s3_service.env, s3_settings.data_dir, redis_service.url, who, n),
        )
        for who in ("a", "b")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    from lookskip.labeling import batches as B

    m = B.load_manifest(s3_settings)
    assert sorted(m["windows"]) == sorted(f"{w}-{i}" for w in "ab" for i in range(n))
    assert m["fence"] == 2 * n  # one acquisition per update, numbered in order


def test_a_holder_whose_lock_expired_writes_nothing(s3_settings):
    url = storage.join(s3_settings.data_dir, "state.json")
    stale_lock = locked_json(s3_settings, "state", url, _empty, ttl_s=0.3, heartbeat=False)
    with pytest.raises(LockLost), stale_lock as stale:
        stale["items"]["stale"] = 1
        time.sleep(0.6)  # stalls past its lock's expiry; another holder comes and goes
        with locked_json(s3_settings, "state", url, _empty) as fresh:
            fresh["items"]["fresh"] = 1
    doc = storage.read_json(url)
    assert doc["items"] == {"fresh": 1}


def test_the_heartbeat_keeps_a_long_holder_s_lock(s3_settings):
    url = storage.join(s3_settings.data_dir, "state.json")
    with locked_json(s3_settings, "state", url, _empty, ttl_s=0.3) as doc:
        time.sleep(0.8)  # longer than the lock's lifetime: renewed meanwhile
        doc["items"]["long"] = 1
    assert storage.read_json(url)["items"] == {"long": 1}


def test_a_write_past_the_fence_check_is_refused_by_the_store(s3_settings):
    """The window the fence cannot close (check passed, then the lock expired) is closed
    by S3's conditional write: the stale holder's PUT names an ETag that is gone."""
    url = storage.join(s3_settings.data_dir, "state.json")
    storage.write_json(url, {"items": {"first": 1}})
    stale_lock = locked_json(s3_settings, "state", url, _empty, ttl_s=0.3, heartbeat=False)
    with pytest.raises(StateConflict), stale_lock as stale:
        stale._fence.check = lambda: None  # as if the check ran just before the expiry
        time.sleep(0.6)
        with locked_json(s3_settings, "state", url, _empty) as fresh:
            fresh["items"]["fresh"] = 1
        stale["items"]["stale"] = 1
    assert storage.read_json(url)["items"] == {"first": 1, "fresh": 1}


def test_conditional_writes_on_s3(s3_settings):
    url = storage.join(s3_settings.data_dir, "doc.json")
    assert storage.read_versioned(url) == (None, None)
    v1 = storage.write_if_unchanged(url, b"1", None)
    with pytest.raises(StateConflict):  # it exists now: a create-only write is refused
        storage.write_if_unchanged(url, b"x", None)
    data, v = storage.read_versioned(url)
    assert (data, v) == (b"1", v1)
    storage.write_bytes(url, b"2")  # someone else writes
    with pytest.raises(StateConflict):
        storage.write_if_unchanged(url, b"3", v1)
    assert storage.read_bytes(url) == b"2"


def test_lock_is_per_data_dir_and_released(s3_settings, redis_service):
    other = s3_settings.model_copy(update={"data_dir": s3_settings.data_dir + "-other"})
    with state_lock(s3_settings, "manifest") as f1, state_lock(other, "manifest") as f2:
        assert f1.token == f2.token == 1  # separate locks, separate counters
    with state_lock(s3_settings, "manifest", acquire_timeout_s=1) as f3:
        assert f3.token == 2  # the first was released (no 1 s wait, no timeout)


def test_a_local_data_dir_needs_no_redis(tmp_path):
    s = Settings(data_dir=str(tmp_path), result_backend="redis://127.0.0.1:1/0")
    from lookskip.labeling import batches as B

    with B.locked_manifest(s) as m:
        m["windows"]["x"] = {}
    doc = json.loads((tmp_path / "batches" / "manifest.json").read_text())
    assert "x" in doc["windows"] and "fence" not in doc
