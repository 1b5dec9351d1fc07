"""The Celery app: ``celery -A worker.app worker`` (or ``lookskip worker``).

Configuration comes from ``lookskip.settings`` (see ``worker.config``). Tasks use
``LookskipTask`` as their base, which adds three things every stage needs:

* a bound on redeliveries (a task that kills its worker every time fails after
  ``max_deliveries`` starts instead of looping for ever);
* progress reporting, both as Celery ``PROGRESS`` state (Flower, ``AsyncResult``)
  and in the workflow registry that ``lookskip status`` reads (``lookskip.jobs``);
* failures recorded under their workflow with a one-line, secret-free message.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any
from urllib.parse import urlsplit

from celery import Celery, Task
from celery.signals import before_task_publish, celeryd_after_setup, worker_process_init

from lookskip.jobs import JobStore, redact, short_error
from lookskip.settings import Settings, get_settings
from worker.config import RESULT_EXPIRES_S, TIME_LIMITS, celery_config
from worker.reaper import ReaperStep

TASK_MODULES = [
    "worker.tasks.diag",
    "worker.tasks.workflow",
    "worker.tasks.ingest",
    "worker.tasks.label",
    "worker.tasks.train",
    "worker.tasks.export",
    "worker.tasks.classify",
    "worker.tasks.ask",
    "worker.tasks.transformer",
]


class DeliveryLimitExceeded(RuntimeError):
    """The same task message was started too often without ever finishing."""


_store: tuple[int, JobStore] | None = None


def job_store() -> JobStore:
    """The workflow registry on the result-backend Redis (one client per process)."""
    global _store
    if _store is None or _store[0] != os.getpid():
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        url = get_settings().result_backend.get_secret_value()
        client = redis.Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 30),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            socket_connect_timeout=5,
        )
        _store = (os.getpid(), JobStore(client, expires_s=RESULT_EXPIRES_S))
    return _store[1]


def secrets() -> list[str]:
    """Values that must never reach a result, a log line or the registry."""
    s = get_settings()
    values = [s.anthropic_api_key.get_secret_value() if s.anthropic_api_key else ""]
    if s.flower_password:
        values.append(s.flower_password.get_secret_value())
    urls = [s.broker_url, s.result_backend, *([s.lock_url] if s.lock_url else [])]
    for url in urls:
        with contextlib.suppress(ValueError):
            values.append(urlsplit(url.get_secret_value()).password or "")
    # object-store credentials come from each host's environment (boto's variables)
    values += [os.environ.get(k, "") for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    return values


class LookskipTask(Task):
    """Base of every lookskip task (see the module docstring)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._count_delivery()
        return super().__call__(*args, **kwargs)

    def _count_delivery(self) -> None:
        req = self.request
        if req.called_directly or not req.id:
            return
        # One counter per message. Not per task id: Task.replace and chord callbacks
        # reuse the id of the task they replace, and a retry is a new message with the
        # same id. A redelivered message (restored by Redis) keeps its headers, so the
        # nonce that every publish gets (see _tag_message) identifies it.
        nonce = getattr(req, MESSAGE_NONCE, None)
        key = f"lookskip:deliveries:{req.id}:{nonce or f'{self.name}:{req.retries or 0}'}"
        r = job_store().r
        n = int(r.incr(key))
        r.expire(key, RESULT_EXPIRES_S)
        limit = get_settings().max_deliveries
        if n > limit:
            raise DeliveryLimitExceeded(
                f"{self.name} was started {n} times without finishing (its worker was lost "
                f"each time); giving up after {limit} deliveries"
            )

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        wf = (kwargs or {}).get("wf")
        if wf:
            item = str((kwargs or {}).get("item") or task_id)
            job_store().mark_failed(wf, self.name, item, redact(short_error(exc), secrets()))

    # --- helpers for task bodies ------------------------------------------
    def progress(self, wf: str | None, done: int, total: int, label: str) -> None:
        """Report progress of this task (Celery state) and of its workflow (registry)."""
        if self.request.id and not self.request.called_directly:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total, "label": label})
        if wf:
            job_store().mark_started(wf, label)

    def item_done(self, wf: str | None, part: str, item: str) -> None:
        if wf:
            job_store().mark_done(wf, part, item)

    def set_total(self, wf: str | None, part: str, total: int) -> None:
        if wf:
            job_store().set_total(wf, part, total)


MESSAGE_NONCE = "lookskip_message"


@before_task_publish.connect
def _tag_message(headers: dict | None = None, **_: Any) -> None:
    """Give every published message its own id (restored messages keep theirs)."""
    if headers is not None:
        headers[MESSAGE_NONCE] = uuid.uuid4().hex


@celeryd_after_setup.connect
def _remember_concurrency(instance: Any = None, **_: Any) -> None:
    os.environ["LOOKSKIP_POOL_PROCESSES"] = str(getattr(instance, "concurrency", "") or "")


@worker_process_init.connect
def _limit_native_threads(**_: Any) -> None:
    """Share the cores between the pool's processes, as joblib does for its workers:
    N processes each running BLAS/OpenMP on every core would oversubscribe the CPU."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no numeric stack on this worker (e.g. an ingest-only host)
        return
    cores = os.cpu_count() or 1
    processes = int(os.environ.get("LOOKSKIP_POOL_PROCESSES") or cores)
    threadpool_limits(max(1, cores // max(1, processes)))


def stage_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The worker's settings with a workflow's per-run overrides (e.g. window_size)."""
    s = get_settings()
    return s.model_copy(update=overrides) if overrides else s


def make_app() -> Celery:
    app = Celery("lookskip", task_cls=LookskipTask, include=TASK_MODULES)
    app.conf.update(celery_config(get_settings()))
    app.conf.task_annotations = {
        name: {"soft_time_limit": soft, "time_limit": hard}
        for name, (soft, hard) in TIME_LIMITS.items()
    }
    app.steps["worker"].add(ReaperStep)  # hands back the tasks of dead workers (worker.reaper)
    return app


app = make_app()
