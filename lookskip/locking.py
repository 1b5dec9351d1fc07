"""Mutual exclusion for read-modify-write state in the data dir, on one host or many.

Why: the labeling manifest (``batches/manifest.json``) is updated by every label task
(prepare, submit, poll, collect, resubmit). Two tasks that load it, change different
batches and save it must not lose each other's change. On a local (or NFS) data dir a
file lock next to the file does that. An object store has no locks, and workers on
separate hosts share nothing but the broker and the bucket; so there the lock lives in
Redis (the result backend every worker already talks to), and two safeguards cover a
holder that stalls past its lock's expiry (a frozen VM, a long GC pause, a partition):

* **fencing**: every acquisition takes the next number of a per-lock counter. The
  holder checks, just before it writes, that the lock is still its own (one Lua
  script), and writes its number into the document; a holder that finds a newer
  number in the document, or the lock gone, raises :class:`LockLost` instead of
  writing stale state.
* **conditional writes**: on S3 the document is written with ``If-Match`` the ETag it
  was read with (``If-None-Match: *`` when it did not exist), so even a write that
  passed the fence check a moment too early is refused by the store itself
  (:class:`StateConflict`) rather than silently replacing a newer version.

A holder keeps its Redis lock alive with a heartbeat thread (the submit step holds the
manifest across an API call), and a holder that is killed frees it within
``LOCK_TTL_S``. The lock is keyed by the data dir's URL, so several deployments can
share one Redis.

Where the data dir is local, Redis is not needed: ``lookskip label`` runs without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lookskip import storage
from lookskip.settings import Settings

#: A Redis lock's lifetime; the heartbeat renews it every third of it. A killed holder
#: blocks the others for at most this long.
LOCK_TTL_S = 30.0
#: How long an acquirer waits before giving up (a label step is seconds; a stuck lock
#: expires after LOCK_TTL_S, so this is generous).
ACQUIRE_TIMEOUT_S = 300.0
FENCE_FIELD = "fence"

# KEYS[1] = lock, ARGV[1] = the holder's token: 1 while the lock is still the caller's.
_STILL_MINE = "return redis.call('get', KEYS[1]) == ARGV[1] and 1 or 0"


class LockLost(RuntimeError):
    """The lock expired (or was taken over) while held: nothing was written."""


#: The store refused a conditional write: the document changed since it was read.
StateConflict = storage.Conflict


@dataclass
class Fence:
    """What a holder of a state lock knows: its fencing number (None for a file lock)
    and how to check, just before a write, that the lock is still its own."""

    token: int | None = None
    check: Callable[[], None] = field(default=lambda: None)


def lock_kind(settings: Settings) -> str:
    """``file`` for a data dir on a (possibly shared) POSIX file system, ``redis`` otherwise."""
    return "file" if storage.is_local(settings.data_dir) else "redis"


_clients: dict[tuple[int, str], Any] = {}


def redis_client(settings: Settings) -> Any:
    """One client per process for the lock URL (default: the result backend)."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    url = (settings.lock_url or settings.result_backend).get_secret_value()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RuntimeError(
            "a data dir on an object store needs a Redis for its locks: set "
            "LOOKSKIP_LOCK_URL=redis://… (default: LOOKSKIP_RESULT_BACKEND, which is not Redis)"
        )
    key = (os.getpid(), url)
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 20),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            socket_connect_timeout=5,
        )
    return _clients[key]


def _scope(settings: Settings) -> str:
    return hashlib.sha1(settings.data_dir.rstrip("/").encode("utf-8")).hexdigest()[:16]


@contextlib.contextmanager
def state_lock(
    settings: Settings,
    name: str,
    *,
    ttl_s: float = LOCK_TTL_S,
    acquire_timeout_s: float = ACQUIRE_TIMEOUT_S,
    heartbeat: bool = True,
) -> Iterator[Fence]:
    """Hold the lock ``name`` of this data dir; yields the holder's :class:`Fence`."""
    if lock_kind(settings) == "file":
        from filelock import FileLock

        storage.makedirs(settings.batches_dir)
        path = storage.fs_and_path(settings.batches_dir)[1] + f"/.{name}.lock"
        with FileLock(path, timeout=acquire_timeout_s):
            yield Fence()
        return

    from redis.exceptions import LockError

    r = redis_client(settings)
    base = f"lookskip:lock:{_scope(settings)}:{name}"
    lock = r.lock(base, timeout=ttl_s, blocking_timeout=acquire_timeout_s, thread_local=False)
    if not lock.acquire():
        raise TimeoutError(f"lock {name} not acquired within {acquire_timeout_s:.0f}s")
    try:
        token = int(r.incr(base + ":fence"))
    except BaseException:
        with contextlib.suppress(Exception):
            lock.release()
        raise
    lost = threading.Event()
    stop = threading.Event()
    still_mine = r.register_script(_STILL_MINE)

    def check() -> None:
        if lost.is_set() or not still_mine(keys=[base], args=[lock.local.token]):
            lost.set()
            raise LockLost(f"lock {name} (fence {token}) expired while held; nothing written")

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            try:
                lock.reacquire()
            except LockError:
                lost.set()
                return
            except Exception:  # Redis briefly away: try again at the next beat
                continue

    beat = threading.Thread(target=renew, name=f"lock-{name}", daemon=True)
    if heartbeat:
        beat.start()
    try:
        yield Fence(token, check)
    finally:
        stop.set()
        if beat.is_alive():
            beat.join(5)
        with contextlib.suppress(LockError):
            lock.release()


class LockedDoc(dict):
    """A JSON document read under a state lock; :meth:`commit` writes it back safely.

    A ``dict`` (callers index it as before) that remembers the version it was read at,
    so the write is conditional, and the holder's fence, checked before each write.
    """

    def __init__(self, url: str, data: dict, version: Any, fence: Fence, on_save=None):
        super().__init__(data)
        self._url, self._version, self._fence, self._on_save = url, version, fence, on_save

    def commit(self) -> None:
        if self._on_save:
            self._on_save(self)
        self._fence.check()
        if self._fence.token is not None:
            self[FENCE_FIELD] = self._fence.token
        data = (json.dumps(self, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        self._version = storage.write_if_unchanged(self._url, data, self._version)


@contextlib.contextmanager
def locked_json(
    settings: Settings,
    name: str,
    url: str,
    empty: Callable[[], dict],
    *,
    on_save: Callable[[dict], None] | None = None,
    **lock_kw: Any,
) -> Iterator[LockedDoc]:
    """Load ``url`` (or ``empty()``) under the lock ``name``, yield it, commit on success."""
    with state_lock(settings, name, **lock_kw) as fence:
        raw, version = storage.read_versioned(url)
        data = json.loads(raw) if raw is not None else empty()
        seen = data.get(FENCE_FIELD)
        if fence.token is not None and isinstance(seen, int) and seen > fence.token:
            raise LockLost(f"{url} was written by a newer holder (fence {seen} > {fence.token})")
        doc = LockedDoc(url, data, version, fence, on_save)
        yield doc
        doc.commit()
