"""WebServer: nginx access and error logs, 5xx bursts."""

from __future__ import annotations

import random
from datetime import datetime

from lookskip.synthetic.common import Clock, Event, _build, _hex, _ip, _mon

_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "okhttp/4.12.0",
    "curl/8.5.0",
    "kube-probe/1.29",
]


def _web_server(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 13, 19, 0, 0))
    host = "shop.example.com"
    upstreams = [f"10.0.5.{i}:8080" for i in (11, 12, 13)]

    def access(
        method: str, path: str, status: int, size: int, rt: float, ua: str | None = None
    ) -> str:
        ts = f"{clock.now.day:02d}/{_mon(clock.now)}/{clock.now:%Y:%H:%M:%S} +0000"
        return (
            f'{_ip(rng)} - - [{ts}] "{method} {path} HTTP/1.1" {status} {size} "-" '
            f'"{ua or rng.choice(_UAS)}" rt={rt:.3f} req_id={_hex(rng, 32)}'
        )

    def err(level: str, msg: str) -> str:
        return (
            f"{clock.now.strftime('%Y/%m/%d %H:%M:%S')} [{level}] "
            f"{rng.randint(20, 40)}#{rng.randint(20, 40)}: *{rng.randint(1000, 999999)} {msg}"
        )

    start = []
    for msg in [
        'using the "epoll" event method',
        "nginx/1.24.0",
        "OS: Linux 6.1.0-18-amd64",
        "start worker processes",
    ]:
        clock.tick(1, 10)
        start.append(f"{clock.now.strftime('%Y/%m/%d %H:%M:%S')} [notice] 1#1: {msg}")

    def ok() -> Event:
        clock.tick(10, 2500)
        method, path, status = rng.choice(
            [
                ("GET", "/", 200),
                ("GET", "/products/sku-{n}", 200),
                ("GET", "/static/app.{h}.js", 200),
                ("GET", "/api/v2/cart", 200),
                ("POST", "/api/v2/cart/items", 201),
                ("GET", "/healthz", 200),
                ("GET", "/static/logo.svg", 304),
                ("GET", "/old-catalog", 301),
            ]
        )
        path = path.replace("{n}", str(rng.randint(1000, 9999))).replace("{h}", _hex(rng, 8))
        ua = "kube-probe/1.29" if path == "/healthz" else None
        return [
            access(
                method,
                path,
                status,
                rng.randint(0 if status == 304 else 200, 90000),
                rng.uniform(0.001, 0.3),
                ua,
            )
        ]

    def not_found() -> Event:
        clock.tick(10, 4000)
        path = rng.choice(["/favicon.ico", "/products/sku-0000", "/apple-touch-icon.png"])
        return [access("GET", path, 404, rng.randint(150, 600), rng.uniform(0.001, 0.01))]

    def burst_5xx() -> Event:
        up = rng.choice(upstreams)
        out = []
        kind = rng.choice(["timeout", "refused", "nolive"])
        for _ in range(rng.randint(3, 9)):
            clock.tick(5, 900)
            path = rng.choice(["/api/v2/cart", "/api/v2/checkout", "/api/v2/products?page=2"])
            if kind == "timeout":
                out.append(
                    err(
                        "error",
                        "upstream timed out (110: Connection timed out) while "
                        "reading response header from upstream, client: "
                        f'{_ip(rng)}, server: {host}, request: "GET {path} '
                        f'HTTP/1.1", upstream: "http://{up}{path}", '
                        f'host: "{host}"',
                    )
                )
                out.append(access("GET", path, 504, 167, 60.0 + rng.uniform(0, 0.01)))
            elif kind == "refused":
                out.append(
                    err(
                        "error",
                        "connect() failed (111: Connection refused) while "
                        f"connecting to upstream, client: {_ip(rng)}, server: "
                        f'{host}, request: "POST {path} HTTP/1.1", upstream: '
                        f'"http://{up}{path}", host: "{host}"',
                    )
                )
                out.append(access("POST", path, 502, 157, rng.uniform(0.001, 0.01)))
            else:
                out.append(
                    err(
                        "error",
                        f"no live upstreams while connecting to upstream, "
                        f"client: {_ip(rng)}, server: {host}, request: "
                        f'"GET {path} HTTP/1.1", upstream: '
                        f'"http://shop_backend{path}"',
                    )
                )
                out.append(access("GET", path, 503, 197, 0.0))
        return out

    def slow() -> Event:
        clock.tick(10, 3000)
        return [
            access(
                "GET",
                "/api/v2/search?q=" + rng.choice(["shoes", "tv", "lamp"]),
                200,
                rng.randint(2000, 90000),
                rng.uniform(8, 45),
            )
        ]

    def buffered() -> Event:
        clock.tick(10, 6000)
        return [
            err(
                "warn",
                "an upstream response is buffered to a temporary file "
                f"/var/cache/nginx/proxy_temp/{rng.randint(1, 9)}/"
                f"{rng.randint(10, 99)}/"
                f"{rng.randint(10**9, 9 * 10**9)} while reading upstream, client: "
                f'{_ip(rng)}, server: {host}, request: "GET /export/orders.csv '
                'HTTP/1.1"',
            )
        ]

    def scanner() -> Event:
        ip = _ip(rng)
        out = []
        for path in rng.sample(
            [
                "/wp-login.php",
                "/.env",
                "/.git/config",
                "/phpmyadmin/",
                "/cgi-bin/luci/;stok=/locale",
                "/actuator/env",
                "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
            ],
            k=rng.randint(3, 6),
        ):
            clock.tick(5, 300)
            ts = f"{clock.now.day:02d}/{_mon(clock.now)}/{clock.now:%Y:%H:%M:%S} +0000"
            out.append(
                f'{ip} - - [{ts}] "GET {path} HTTP/1.1" 404 153 "-" '
                f'"Mozilla/5.0 zgrab/0.x" rt=0.000 req_id={_hex(rng, 32)}'
            )
        return out

    def ssl_and_limits() -> Event:
        clock.tick(10, 6000)
        return [
            err(
                *rng.choice(
                    [
                        (
                            "crit",
                            f"SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key "
                            f"share) while SSL handshaking, client: {_ip(rng)}, server: 0.0.0.0:443",
                        ),
                        (
                            "error",
                            f'limiting requests, excess: {rng.uniform(10, 50):.3f} by zone "api", '
                            f'client: {_ip(rng)}, server: {host}, request: "POST /api/v2/login '
                            'HTTP/1.1"',
                        ),
                        (
                            "error",
                            f"client intended to send too large body: {rng.randint(10**7, 10**8)} "
                            f'bytes, client: {_ip(rng)}, server: {host}, request: "POST '
                            '/api/v2/uploads HTTP/1.1"',
                        ),
                        (
                            "alert",
                            f"worker process {rng.randint(20, 40)} exited on signal 11 (core dumped)",
                        ),
                        (
                            "warn",
                            "upstream server temporarily disabled while reading response header from "
                            f"upstream, client: {_ip(rng)}, server: {host}",
                        ),
                    ]
                )
            )
        ]

    def reload_() -> Event:
        clock.tick(1000, 30000)
        return [
            f"{clock.now.strftime('%Y/%m/%d %H:%M:%S')} [notice] 1#1: signal 1 (SIGHUP) "
            "received from 4412, reconfiguring",
            f"{clock.now.strftime('%Y/%m/%d %H:%M:%S')} [notice] 1#1: reconfiguring",
            f"{clock.now.strftime('%Y/%m/%d %H:%M:%S')} [notice] 1#1: start worker processes",
            f"{clock.now.strftime('%Y/%m/%d %H:%M:%S')} [notice] 21#21: gracefully shutting down",
        ]

    return _build(
        rng,
        start,
        [
            (60, ok),
            (7, not_found),
            (3, burst_5xx),
            (4, slow),
            (2, buffered),
            (2, scanner),
            (7, ssl_and_limits),
            (1, reload_),
        ],
    )


# =========================================================================== Microservices
