"""Microservices: request logs, circuit breakers, retries with trace ids."""

from __future__ import annotations

import random
from datetime import datetime

from lookskip.synthetic.common import Clock, Event, _build, _hex


def _microservices(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 14, 9, 0, 0))
    services = {
        "gateway": "7d9f8c6b5",
        "checkout": "5c8b9d7f4",
        "payments": "6f7d8c9b2",
        "inventory": "84c9f6d7b",
        "notifier": "59b7c8d6f",
    }
    pods = {s: [f"{s}-{h}-{_hex(rng, 5)}" for _ in range(3)] for s, h in services.items()}

    def ts() -> str:
        return clock.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{clock.now.microsecond // 1000:03d}Z"

    def lf(level: str, svc: str, msg: str, trace: str | None = None, **kv: object) -> str:
        parts = [ts(), f"level={level}", f"service={svc}", f"pod={rng.choice(pods[svc])}"]
        if trace:
            parts += [f"trace_id={trace}", f"span_id={_hex(rng, 16)}"]
        parts.append(f'msg="{msg}"')
        parts += [
            f'{k}="{v}"' if isinstance(v, str) and " " in v else f"{k}={v}" for k, v in kv.items()
        ]
        return " ".join(parts)

    def pylog(level: str, msg: str) -> str:
        return (
            f"{clock.now.strftime('%Y-%m-%d %H:%M:%S')},{clock.now.microsecond // 1000:03d} "
            f"{level} [notifier.worker] {msg}"
        )

    start = []
    for svc in services:
        clock.tick(100, 3000)
        start.append(
            lf(
                "info",
                svc,
                "service started",
                version=f"v{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                port=8080,
            )
        )

    def ok() -> Event:
        clock.tick(10, 1500)
        trace = _hex(rng, 32)
        svc, path = rng.choice(
            [
                ("gateway", "/v1/products"),
                ("checkout", "/v1/checkout"),
                ("inventory", "/v1/stock"),
                ("payments", "/v1/authorize"),
            ]
        )
        return [
            lf(
                "info",
                svc,
                "request completed",
                trace,
                method=rng.choice(["GET", "POST"]),
                path=path,
                status=200,
                duration_ms=rng.randint(2, 250),
            )
        ]

    def debug() -> Event:
        clock.tick(100, 5000)
        svc = rng.choice(list(services))
        return [
            lf(
                "debug",
                svc,
                rng.choice(
                    [
                        "health check ok",
                        "config reloaded",
                        "cache refreshed",
                        "leader lease renewed",
                    ]
                ),
            )
        ]

    def kafka() -> Event:
        clock.tick(100, 5000)
        return [
            lf(
                "info",
                "notifier",
                "consumed batch",
                topic="order-events",
                partition=rng.randint(0, 11),
                offset=rng.randint(10**5, 10**7),
                count=rng.randint(1, 200),
            )
        ]

    def timeout_retry() -> Event:
        trace = _hex(rng, 32)
        out = []
        attempts = rng.randint(2, 3)
        for a in range(1, attempts + 1):
            clock.tick(200, 2500)
            out.append(
                lf(
                    "warn",
                    "checkout",
                    "retrying upstream call",
                    trace,
                    upstream="payments",
                    attempt=f"{a}/{attempts}",
                    backoff_ms=100 * 2**a,
                    err="rpc error: code = DeadlineExceeded desc = context deadline exceeded",
                )
            )
        clock.tick(10, 300)
        if rng.random() < 0.6:
            out.append(
                lf(
                    "error",
                    "checkout",
                    "checkout failed",
                    trace,
                    order_id=_hex(rng, 12),
                    err="payments: retry budget exhausted",
                )
            )
            out.append(
                lf(
                    "info",
                    "gateway",
                    "request completed",
                    trace,
                    method="POST",
                    path="/v1/checkout",
                    status=503,
                    duration_ms=rng.randint(3000, 9000),
                )
            )
        else:
            out.append(
                lf(
                    "info",
                    "checkout",
                    "upstream call succeeded after retry",
                    trace,
                    upstream="payments",
                    attempts=attempts + 1,
                )
            )
        return out

    def breaker() -> Event:
        clock.tick(500, 5000)
        up = rng.choice(["payments", "inventory"])
        out = [
            lf(
                "warn",
                "checkout",
                "circuit breaker state changed",
                name=up,
                **{"from": "closed"},
                to="open",
                failures=rng.randint(5, 20),
                window="10s",
            )
        ]
        for _ in range(rng.randint(1, 4)):
            clock.tick(20, 800)
            out.append(
                lf(
                    "warn",
                    "checkout",
                    "request short-circuited",
                    _hex(rng, 32),
                    upstream=up,
                    reason="breaker open",
                )
            )
        clock.tick(15000, 30000)
        out.append(
            lf(
                "info",
                "checkout",
                "circuit breaker state changed",
                name=up,
                **{"from": "open"},
                to="half-open",
            )
        )
        return out

    def rate_limited() -> Event:
        clock.tick(100, 3000)
        return [
            lf(
                "warn",
                "gateway",
                "rate limit exceeded",
                _hex(rng, 32),
                client=f"partner-{rng.randint(1, 9)}",
                limit="100/s",
                status=429,
            )
        ]

    def python_traceback() -> Event:
        clock.tick(500, 8000)
        tid = _hex(rng, 8)
        out = [
            pylog(
                "ERROR",
                f"task send_receipt[{tid}] raised unexpected: "
                "ConnectionError('Error 111 connecting to redis:6379. Connection "
                "refused.')",
            ),
            "Traceback (most recent call last):",
            '  File "/usr/local/lib/python3.12/site-packages/redis/connection.py", line 357, '
            "in connect",
            "    sock = self.retry.call_with_retry(",
            '  File "/usr/local/lib/python3.12/site-packages/redis/connection.py", line 724, '
            "in _connect",
            "    raise err",
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "During handling of the above exception, another exception occurred:",
            "Traceback (most recent call last):",
            f'  File "/app/notifier/tasks.py", line {rng.randint(40, 200)}, in send_receipt',
            '    template = cache.get(f"receipt:{order.locale}")',
            f'  File "/app/notifier/cache.py", line {rng.randint(10, 90)}, in get',
            "    return self.client.get(key)",
            "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. "
            "Connection refused.",
        ]
        clock.tick(1000, 9000)
        out.append(pylog("WARNING", f"Retry in {rng.choice([2, 4, 8])}s: task send_receipt[{tid}]"))
        return out

    def python_keyerror() -> Event:
        clock.tick(500, 8000)
        return [
            pylog("ERROR", f"failed to render template for order {_hex(rng, 12)}"),
            "Traceback (most recent call last):",
            f'  File "/app/notifier/render.py", line {rng.randint(20, 120)}, in render',
            "    return TEMPLATES[locale].format(**context)",
            f"KeyError: '{rng.choice(['pt_BR', 'tr_TR', 'uk_UA'])}'",
        ]

    def k8s() -> Event:
        clock.tick(1000, 20000)
        svc = rng.choice(list(services))
        pod = rng.choice(pods[svc])
        reason, msg = rng.choice(
            [
                ("BackOff", f"Back-off restarting failed container {svc} in pod {pod}"),
                (
                    "OOMKilling",
                    f"Memory cgroup out of memory: Killed process {rng.randint(10, 99)} "
                    f"({svc}) in pod {pod}",
                ),
                ("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"),
                (
                    "Pulled",
                    f'Successfully pulled image "registry.internal/{svc}:'
                    f'v{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"',
                ),
                (
                    "ScalingReplicaSet",
                    f"Scaled up replica set {svc}-{services[svc]} to {rng.randint(3, 8)}",
                ),
            ]
        )
        kind = "Warning" if reason in ("BackOff", "OOMKilling", "Unhealthy") else "Normal"
        return [f'{ts()} k8s-event type={kind} reason={reason} object=pod/{pod} message="{msg}"']

    return _build(
        rng,
        start,
        [
            (40, ok),
            (10, debug),
            (8, kafka),
            (5, timeout_retry),
            (2, breaker),
            (3, rate_limited),
            (2, python_traceback),
            (2, python_keyerror),
            (6, k8s),
        ],
    )


# =========================================================================== SecurityEvents
