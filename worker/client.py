"""What the CLI needs on the client side: reachability checks and waiting for a workflow."""

from __future__ import annotations

import time
from collections.abc import Callable

from lookskip.jobs import JobView, host_port, mask_url, redact, url_problem
from lookskip.settings import get_settings


class Unreachable(RuntimeError):
    """The broker or result backend does not answer (message names host:port)."""


# What to do when nothing listens: the one-line next step every "cannot reach" ends with.
START_BROKER_HINT = (
    "start one: `redis-server` or `docker compose up -d redis` "
    "(LOOKSKIP_BROKER_URL names another); `lookskip classify` runs locally without one"
)


def _check_redis(url: str, what: str, timeout: float = 3.0) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        reason = redact(str(exc).split("\n")[0], [_password(url)]).rstrip(".")
        raise Unreachable(
            f"cannot reach the {what} at {host_port(url)} ({mask_url(url)}): {reason}; "
            + START_BROKER_HINT
        ) from None
    except redis.AuthenticationError as exc:
        raise Unreachable(f"the {what} at {host_port(url)} refused the password: {exc}") from None
    except redis.ResponseError as exc:
        raise Unreachable(f"the {what} at {host_port(url)} answered: {exc}") from None


def _password(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def check_url(url: str, what: str, timeout: float = 3.0) -> None:
    """Raise ``Unreachable`` unless the service at ``url`` (Redis, or any kombu transport
    such as RabbitMQ) answers."""
    problem = url_problem(url)
    if problem:
        raise Unreachable(f"the {what} URL {mask_url(url)} is not usable: {problem}")
    if url.startswith(("redis://", "rediss://")):
        _check_redis(url, what, timeout)
        return
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu raises transport-specific errors
        why = redact(str(exc), [_password(url)])
        raise Unreachable(
            f"cannot reach the {what} at {host_port(url)}: {why}; {START_BROKER_HINT}"
        ) from None


def check_broker() -> None:
    """Raise ``Unreachable`` unless the broker and the result backend both answer."""
    s = get_settings()
    check_url(s.broker_url.get_secret_value(), "broker")
    backend = s.result_backend.get_secret_value()
    if backend.startswith(("redis://", "rediss://")):
        check_url(backend, "result backend")


def wait(
    wf: str, on_update: Callable[[JobView], None], poll_s: float = 0.5, timeout: float | None = None
) -> JobView:
    """Poll the registry until workflow ``wf`` ends; ``on_update`` sees each snapshot."""
    from worker.app import job_store

    store = job_store()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        view = store.get(wf)
        if view is None:
            raise KeyError(wf)
        on_update(view)
        if view.done:
            return view
        if deadline is not None and time.monotonic() > deadline:
            return view
        time.sleep(poll_s)
