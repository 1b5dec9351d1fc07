"""Hand back the tasks of workers that died hard, long before the visibility timeout.

Why: with ``task_acks_late`` on the Redis transport, a message a worker has taken sits in
kombu's ``unacked`` hash (its delivery time in the ``unacked_index`` zset) until the worker
acks it. If a pool *child* dies, the worker rejects the message and it is requeued at once;
if the whole worker dies (kill -9 of its main process, ``docker kill``, host loss), nobody
rejects it and kombu restores it only after the visibility timeout, which must stay above
the longest task (3 h, ``worker.config``). A workflow waiting on that task stalls for hours.

What: every worker runs :class:`ReaperStep`, a thread that every
``LOOKSKIP_REAPER_INTERVAL_S`` seconds

1. refreshes a liveness key ``lookskip:reaper:alive:<node>`` (TTL a few intervals);
2. unless another worker is doing it now (a Redis lock), calls :func:`reap_once`.

:func:`reap_once` restores, with kombu's own ``QoS.restore_by_tag``, every unacked message
that was delivered more than ``LOOKSKIP_REAPER_GRACE_S`` ago and that no live worker holds.
Races, and why each is safe:

* A message just delivered is not yet in its worker's lists: the grace period covers it.
* The unacked entries are read *before* the workers are asked, and workers are asked
  ``scheduled`` → ``reserved`` → ``active`` (the order a request moves in), so a message
  held at the snapshot is seen in one of the lists unless it finished in between; then it
  was acked, and ``restore_by_tag`` (a WATCH transaction on the hash) finds nothing to restore.
* A live worker that does not answer in time (busy, loaded host): every node with a fresh
  liveness key must answer all three questions, or the round does nothing. A dead worker's
  key expires after its TTL; from then on it no longer counts, and its messages come back.
* Workers are matched to messages by task id (Celery's ``inspect`` does not expose delivery
  tags); a task id held anywhere protects every message with that id: a miss errs towards
  waiting for the visibility timeout, never towards running a task twice.

Tasks are idempotent (atomic writes), a restored message is marked redelivered (so
``worker_deduplicate_successful_tasks`` skips one that had in fact finished), and
``LOOKSKIP_MAX_DELIVERIES`` still bounds a task that kills every worker it lands on.
Only the Redis transport needs this; on another broker the step does nothing.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from celery import bootsteps
from celery.utils.log import get_logger

from lookskip.settings import get_settings

logger = get_logger(__name__)

ALIVE_PREFIX = "lookskip:reaper:alive:"
ROUND_KEY = "lookskip:reaper:lock"
INSPECT_TIMEOUT_S = 2.0


def alive_ttl_s(interval_s: float) -> int:
    """Long enough that a live worker's key never lapses between two refreshes (a round
    takes up to three inspect timeouts), short enough that a dead one is noticed soon."""
    return int(3 * interval_s + 3 * INSPECT_TIMEOUT_S) + 1


def held_task_ids(
    app: Any, must_answer: set[str], timeout: float = INSPECT_TIMEOUT_S
) -> set[str] | None:
    """Ids of the tasks the live workers hold, or None if a node in ``must_answer`` is silent."""
    held: set[str] = set()
    insp = app.control.inspect(timeout=timeout)
    for method in ("scheduled", "reserved", "active"):  # the order a request moves in
        replies = getattr(insp, method)() or {}
        silent = must_answer - set(replies)
        if silent:
            logger.info(
                "reaper: %s did not answer %s; nothing handed back this round",
                ", ".join(sorted(silent)),
                method,
            )
            return None
        for entries in replies.values():
            for entry in entries or []:
                req = entry.get("request", entry) if method == "scheduled" else entry
                if req.get("id"):
                    held.add(req["id"])
    return held


def reap_once(app: Any, grace_s: float, timeout: float = INSPECT_TIMEOUT_S) -> list[str]:
    """Restore the unacked messages older than ``grace_s`` held by no live worker.

    Returns the ids of the tasks handed back (see the module docstring for the races).
    """
    with app.connection_for_write() as conn:
        if conn.transport.driver_type != "redis":
            return []
        channel = conn.default_channel
        client = channel.client
        ceiling = time.time() - grace_s
        stale = client.zrangebyscore(channel.unacked_index_key, "-inf", ceiling, withscores=True)
        if not stale:
            return []
        candidates: dict[bytes, tuple[str, float]] = {}
        for tag, delivered_at in stale:
            raw = client.hget(channel.unacked_key, tag)
            if raw is None:  # acked meanwhile
                continue
            with contextlib.suppress(ValueError, TypeError, IndexError, AttributeError):
                payload = json.loads(raw)[0]
                task_id = (payload.get("headers") or {}).get("id")
                if task_id:  # only Celery task messages
                    candidates[tag] = (task_id, delivered_at)
        if not candidates:
            return []
        known = {k.decode()[len(ALIVE_PREFIX) :] for k in client.scan_iter(f"{ALIVE_PREFIX}*")}
        held = held_task_ids(app, known, timeout)
        if held is None:
            return []
        restored = []
        for tag, (task_id, delivered_at) in candidates.items():
            if task_id in held:
                continue
            if client.hexists(channel.unacked_key, tag):
                channel.qos.restore_by_tag(tag, client)
                restored.append(task_id)
                logger.warning(
                    "reaper: handed back task %s, delivered %.0f s ago and held by no live worker",
                    task_id,
                    time.time() - delivered_at,
                )
        return restored


def _beat(app: Any, node: str, ttl_s: int) -> None:
    with app.connection_for_write() as conn:
        if conn.transport.driver_type == "redis":
            conn.default_channel.client.set(f"{ALIVE_PREFIX}{node}", str(time.time()), ex=ttl_s)


@contextlib.contextmanager
def _round_lock(app: Any):
    """Yield True for the one worker that does a round now, False for the others.

    Held only during the round: a round per worker per interval, which costs three
    ``inspect`` broadcasts only while some message has been unacked longer than the grace
    period. Its expiry is barely above a round's length, because a worker killed during
    its round leaves the lock behind; should a slow round outlive it, two rounds overlap
    harmlessly (each restore is a transaction that finds an already restored tag gone).
    """
    with app.connection_for_write() as conn:
        lock = conn.default_channel.client.lock(
            ROUND_KEY, timeout=4 * INSPECT_TIMEOUT_S + 5, blocking=False
        )
        got = lock.acquire()
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(Exception):
                    lock.release()


class ReaperStep(bootsteps.StartStopStep):
    """Worker bootstep running the reaper thread (the event loop must stay free: the
    worker answers the reaper's own ``inspect`` from it)."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, worker: Any) -> None:
        from worker.config import broker_kind

        s = get_settings()
        if s.reaper_interval_s <= 0 or broker_kind(worker.app.conf.broker_url) != "redis":
            return  # RabbitMQ requeues a lost consumer's messages by itself
        self._thread = threading.Thread(
            target=self._run,
            name="lookskip-reaper",
            daemon=True,
            args=(worker.app, worker.hostname, s.reaper_interval_s, s.reaper_grace_s),
        )
        self._thread.start()

    def _run(self, app: Any, node: str, interval_s: float, grace_s: float) -> None:
        ttl = alive_ttl_s(interval_s)
        while True:
            try:
                _beat(app, node, ttl)
                with _round_lock(app) as mine:
                    if mine:
                        reap_once(app, grace_s)
                        _beat(app, node, ttl)
            except Exception as exc:  # a broker hiccup must not end the thread
                logger.warning("reaper: round failed: %s", str(exc).split("\n")[0])
            if self._stop.wait(interval_s):
                return

    def stop(self, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=INSPECT_TIMEOUT_S * 4)
            # (a clean stop restores its own messages: its key need not outlive it)
            with contextlib.suppress(Exception), worker.app.connection_for_write() as conn:
                if conn.transport.driver_type == "redis":
                    conn.default_channel.client.delete(f"{ALIVE_PREFIX}{worker.hostname}")
