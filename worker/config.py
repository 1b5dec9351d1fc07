"""Celery configuration, derived from ``lookskip.settings``.

Why these values:

* JSON only: a pickle-accepting worker runs whatever a broker client sends it.
* ``task_acks_late`` + ``task_reject_on_worker_lost``: a task whose worker dies
  (kill -9, OOM) goes back to the queue instead of being lost. Every task writes
  its output atomically and is idempotent, so running it again is safe.
* A task that keeps killing its worker would then loop for ever; ``max_deliveries``
  bounds it (see ``worker.app.LookskipTask``): a counter per (task id, retry) in
  Redis, because the Redis transport has no delivery-count header of its own.
* ``worker_prefetch_multiplier=1``: a worker busy with a 10-minute fit does not hold
  back queued fits that an idle worker could take.
* The Redis ``visibility_timeout`` must exceed the longest task (hard limit) and the
  longest countdown, or Redis hands a running task to a second worker. Broker and
  result backend get the same value.
* On RabbitMQ (``LOOKSKIP_BROKER_URL=amqp://…``) the role queues are quorum queues
  (replicated, durable, at-least-once) on topic exchanges, so countdowns (the label
  poll) use RabbitMQ's native delayed delivery instead of sitting unacked in a worker;
  publishes are confirmed. The broker itself redelivers a dead consumer's messages, so
  no visibility timeout (and no reaper) is needed there, but its ``consumer_timeout``
  must exceed the longest task (``rabbitmq_consumer_timeout_ms``). The result backend
  (and the workflow registry) stay on Redis.
"""

from __future__ import annotations

from typing import Any

from lookskip.settings import Settings

# Queues by role: a host runs workers only for the roles it can serve
# (a classifier host needs the Rust extension, a transformer host torch).
QUEUES = ("ingest", "label", "train", "classify", "transformer")

# Task-name prefix -> queue (routing by name, so a task module never names a queue).
ROUTES: dict[str, str] = {
    "lookskip.ingest.*": "ingest",
    "lookskip.label.*": "label",
    "lookskip.train.*": "train",
    "lookskip.export.*": "train",
    "lookskip.classify.*": "classify",
    "lookskip.transformer.*": "transformer",
}

# (soft, hard) time limits in seconds per task name; the soft limit raises
# SoftTimeLimitExceeded in the task so it can fail with a clear message first.
TIME_LIMITS: dict[str, tuple[int, int]] = {
    "lookskip.ingest.plan": (300, 360),
    "lookskip.ingest.dataset": (1800, 1900),
    "lookskip.ingest.summary": (300, 360),
    "lookskip.label.prepare": (900, 960),
    "lookskip.label.submit": (900, 960),
    "lookskip.label.poll": (120, 180),
    "lookskip.label.collect": (1800, 1900),
    "lookskip.label.round": (900, 960),
    "lookskip.label.merge": (900, 960),
    "lookskip.label.validate": (900, 960),
    "lookskip.train.plan": (900, 960),
    "lookskip.train.features": (1800, 1900),
    "lookskip.train.fan_out": (300, 360),
    "lookskip.train.fit": (3600, 3700),
    "lookskip.train.select": (7200, 7300),  # selection + refit on all training data
    "lookskip.train.ask": (7000, 7200),  # survey, a Batch API round trip, refit
    "lookskip.export.model": (1800, 1900),
    "lookskip.export.parity": (1800, 1900),
    "lookskip.transformer.train": (7000, 7200),  # fine-tune (≤10 epochs) + export
    "lookskip.workflow.finish": (60, 90),
    "lookskip.diag.echo": (60, 90),
}

RESULT_EXPIRES_S = 7 * 24 * 3600
MAX_COUNTDOWN_S = 900  # longest countdown a poll task may ask for


def visibility_timeout_s() -> int:
    """Above the longest hard limit and the longest countdown, with an hour's margin."""
    longest = max(max(hard for _, hard in TIME_LIMITS.values()), MAX_COUNTDOWN_S)
    return longest + 3600


def rabbitmq_consumer_timeout_ms() -> int:
    """RabbitMQ closes a channel whose delivery stays unacked longer than its
    ``consumer_timeout`` (30 min by default); acks-late tasks run up to the longest hard
    limit, so the broker must allow at least as long as Redis' visibility timeout."""
    return visibility_timeout_s() * 1000


def broker_kind(url: str) -> str:
    """``redis`` or ``amqp`` (RabbitMQ), from the broker URL's scheme."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("amqp", "amqps", "pyamqp"):
        return "amqp"
    return "redis" if scheme in ("redis", "rediss", "sentinel", "unix") else scheme


def _amqp_config() -> dict[str, Any]:
    from kombu import Exchange, Queue

    quorum = {"x-queue-type": "quorum"}
    return {
        "task_queues": [
            Queue(q, Exchange(q, type="topic"), routing_key=q, queue_arguments=quorum)
            for q in QUEUES
        ],
        "task_default_queue_type": "quorum",
        "task_create_missing_queue_type": "quorum",
        "task_default_exchange_type": "topic",
        "broker_transport_options": {"confirm_publish": True},
        # a host cut off from the network is noticed by its missed AMQP heartbeats
        # (two intervals), then the broker requeues what it held
        "broker_heartbeat": 30,
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    vt = visibility_timeout_s()
    conf = _base_config(settings, vt)
    if broker_kind(conf["broker_url"]) == "amqp":
        conf.update(_amqp_config())
    return conf


def _base_config(settings: Settings, vt: int) -> dict[str, Any]:
    return {
        "broker_url": settings.broker_url.get_secret_value(),
        "result_backend": settings.result_backend.get_secret_value(),
        # serialization: JSON only
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # reliability
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_deduplicate_successful_tasks": True,  # a redelivered, finished task is skipped
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {"visibility_timeout": vt},
        "result_backend_transport_options": {"visibility_timeout": vt},
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "result_backend_always_retry": True,
        "result_backend_max_retries": 30,
        "redis_backend_health_check_interval": 10,
        "result_expires": RESULT_EXPIRES_S,
        # limits (defaults; TIME_LIMITS sets each task's own)
        "task_soft_time_limit": 3600,
        "task_time_limit": 3700,
        # routing
        "task_queues": None,  # created on demand from the routes below
        "task_default_queue": "ingest",
        "task_routes": {pattern: {"queue": q} for pattern, q in ROUTES.items()},
        "task_create_missing_queues": True,
        # (RabbitMQ changes these, see _amqp_config; named here so a re-configured app
        # goes back to the defaults)
        "task_default_queue_type": "classic",
        "task_create_missing_queue_type": "classic",
        "task_default_exchange_type": "direct",
        "broker_heartbeat": 120,
        # monitoring (Flower, `lookskip status`)
        "task_track_started": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_redirect_stdouts_level": "INFO",
    }
