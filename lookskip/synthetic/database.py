"""DatabaseErrors: Postgres deadlocks, pool exhaustion, replication lag."""

from __future__ import annotations

import random
from datetime import datetime

from lookskip.synthetic.common import Clock, Event, _build, _hex, _ip


def _database_errors(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 12, 14, 30, 0))
    apps = ["order-api", "billing-worker", "reporting", "psql"]

    def pg(level: str, msg: str, who: str = "app@orders", pid: int | None = None) -> str:
        ts = clock.now.strftime("%Y-%m-%d %H:%M:%S.") + f"{clock.now.microsecond // 1000:03d}"
        pid = pid or rng.randint(1000, 60000)
        return f"{ts} UTC [{pid}] {who} {level}:  {msg}"

    def bouncer(level: str, msg: str) -> str:
        ts = clock.now.strftime("%Y-%m-%d %H:%M:%S.") + f"{clock.now.microsecond // 1000:03d}"
        return f"{ts} UTC [812] {level} {msg}"

    start = []
    for msg in [
        "starting PostgreSQL 16.2 (Debian 16.2-1.pgdg120+2) on x86_64-pc-linux-gnu",
        'listening on IPv4 address "0.0.0.0", port 5432',
        "database system was shut down at 2025-03-12 14:28:51 UTC",
        "database system is ready to accept connections",
    ]:
        clock.tick(10, 900)
        start.append(pg("LOG", msg, who="@"))

    def connection() -> Event:
        clock.tick(50, 4000)
        pid, host = rng.randint(1000, 60000), _ip(rng, private=True)
        port = rng.randint(30000, 65000)
        app = rng.choice(apps)
        out = [
            pg("LOG", f"connection received: host={host} port={port}", "[unknown]@[unknown]", pid)
        ]
        clock.tick(1, 20)
        out.append(
            pg(
                "LOG",
                f"connection authorized: user=app database=orders application_name={app}",
                pid=pid,
            )
        )
        if rng.random() < 0.5:
            clock.tick(500, 9000)
            out.append(
                pg(
                    "LOG",
                    f"disconnection: session time: 0:00:{rng.randint(1, 59):02d}."
                    f"{rng.randint(0, 999):03d} user=app database=orders "
                    f"host={host} port={port}",
                    pid=pid,
                )
            )
        return out

    def checkpoint() -> Event:
        clock.tick(2000, 30000)
        out = [pg("LOG", "checkpoint starting: time", who="@")]
        clock.tick(5000, 30000)
        n = rng.randint(200, 40000)
        out.append(
            pg(
                "LOG",
                f"checkpoint complete: wrote {n} buffers ({n / 1310.72:.1f}%); "
                f"0 WAL file(s) added, 0 removed, {rng.randint(0, 9)} recycled; "
                f"write={rng.uniform(1, 200):.3f} s, sync={rng.uniform(0, 2):.3f} s,"
                f" total={rng.uniform(1, 210):.3f} s",
                who="@",
            )
        )
        return out

    def vacuum() -> Event:
        clock.tick(2000, 20000)
        t = rng.choice(["orders", "order_items", "payments", "sessions"])
        return [
            pg("LOG", f'automatic vacuum of table "orders.public.{t}": index scans: 1', who="@"),
            pg(
                "LOG",
                f'automatic analyze of table "orders.public.{t}" '
                f"avg read rate: {rng.uniform(0, 80):.3f} MB/s",
                who="@",
            ),
        ]

    def fast_stmt() -> Event:
        clock.tick(10, 2000)
        return [
            pg(
                "LOG",
                f"duration: {rng.uniform(0.05, 40):.3f} ms  statement: SELECT id, "
                f"status FROM orders WHERE customer_id = {rng.randint(1, 99999)}",
            )
        ]

    def slow_query() -> Event:
        clock.tick(100, 8000)
        q = rng.choice(
            [
                "SELECT o.*, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
                "WHERE o.created_at > now() - interval '90 days' ORDER BY o.total DESC",
                "UPDATE order_items SET price = p.price FROM products p WHERE p.id = "
                "order_items.product_id",
                "SELECT count(*) FROM events WHERE payload->>'type' = 'checkout'",
            ]
        )
        return [
            pg(
                "LOG",
                f"duration: {rng.uniform(2500, 95000):.3f} ms  statement: {q}",
                who="app@orders",
            )
        ]

    def deadlock() -> Event:
        clock.tick(100, 8000)
        p1, p2 = rng.randint(1000, 60000), rng.randint(1000, 60000)
        x1, x2 = rng.randint(10**6, 9 * 10**6), rng.randint(10**6, 9 * 10**6)
        return [
            pg("ERROR", "deadlock detected", pid=p1),
            pg(
                "DETAIL",
                f"Process {p1} waits for ShareLock on transaction {x2}; blocked by process {p2}.",
                pid=p1,
            ),
            f"\tProcess {p2} waits for ShareLock on transaction {x1}; blocked by process {p1}.",
            f"\tProcess {p1}: UPDATE payments SET status = 'captured' WHERE order_id = "
            f"{rng.randint(1, 99999)}",
            f"\tProcess {p2}: UPDATE orders SET status = 'paid' WHERE id = {rng.randint(1, 99999)}",
            pg("HINT", "See server log for query details.", pid=p1),
            pg(
                "CONTEXT",
                f"while updating tuple ({rng.randint(0, 999)},{rng.randint(1, 60)}) "
                'in relation "payments"',
                pid=p1,
            ),
            pg("STATEMENT", "UPDATE payments SET status = 'captured' WHERE order_id = $1", pid=p1),
        ]

    def serialization() -> Event:
        clock.tick(100, 8000)
        pid = rng.randint(1000, 60000)
        return [
            pg("ERROR", "could not serialize access due to concurrent update", pid=pid),
            pg(
                "STATEMENT", "UPDATE inventory SET reserved = reserved + $1 WHERE sku = $2", pid=pid
            ),
        ]

    def timeout() -> Event:
        clock.tick(100, 8000)
        pid = rng.randint(1000, 60000)
        return [
            pg("ERROR", "canceling statement due to statement timeout", pid=pid),
            pg(
                "STATEMENT",
                "SELECT * FROM order_report_v WHERE month = $1",
                pid=pid,
                who="reporting@orders",
            ),
        ]

    def pool_exhaustion() -> Event:
        out = []
        for _ in range(rng.randint(2, 5)):
            clock.tick(5, 400)
            out.append(
                pg(
                    "FATAL",
                    "remaining connection slots are reserved for roles with the "
                    "SUPERUSER attribute",
                    who="app@orders",
                )
            )
        for _ in range(rng.randint(1, 4)):
            clock.tick(5, 400)
            out.append(
                bouncer(
                    "WARNING",
                    f"C-0x{_hex(rng, 12)}: orders/app@"
                    f"{_ip(rng, private=True)}:{rng.randint(30000, 65000)} "
                    "pooler error: no more connections allowed "
                    "(max_client_conn)",
                )
            )
        clock.tick(5, 400)
        out.append(
            bouncer(
                "LOG",
                f"stats: {rng.randint(100, 900)} xacts/s, "
                f"{rng.randint(100, 900)} queries/s, "
                f"wait {rng.randint(200000, 9000000)} us",
            )
        )
        return out

    def client_reset() -> Event:
        clock.tick(100, 8000)
        return [
            pg("LOG", "could not receive data from client: Connection reset by peer"),
            pg("LOG", "unexpected EOF on client connection with an open transaction"),
        ]

    def crash_recovery() -> Event:
        clock.tick(1000, 30000)
        pid = rng.randint(1000, 60000)
        out = [
            pg("LOG", f"server process (PID {pid}) was terminated by signal 9: Killed", "@"),
            pg(
                "DETAIL",
                "Failed process was running: SELECT * FROM events ORDER BY created_at",
                "@",
            ),
            pg("LOG", "terminating any other active server processes", "@"),
            pg("LOG", "all server processes terminated; reinitializing", "@"),
        ]
        clock.tick(500, 3000)
        out += [
            pg(
                "LOG",
                "database system was interrupted; last known up at "
                f"{clock.now.strftime('%Y-%m-%d %H:%M:%S')} UTC",
                "@",
            ),
            pg(
                "LOG",
                "database system was not properly shut down; automatic recovery in progress",
                "@",
            ),
            pg("LOG", f"redo starts at 0/{_hex(rng, 8).upper()}", "@"),
            pg("LOG", f"redo done at 0/{_hex(rng, 8).upper()}", "@"),
            pg("LOG", "database system is ready to accept connections", "@"),
        ]
        return out

    def disk_full() -> Event:
        clock.tick(1000, 30000)
        return [
            pg(
                "PANIC",
                f'could not write to file "pg_wal/xlogtemp.{rng.randint(100, 999)}":'
                " No space left on device",
                "@",
            ),
            pg("LOG", "WAL writer process (PID 88) was terminated by signal 6: Aborted", "@"),
        ]

    def replication() -> Event:
        clock.tick(1000, 30000)
        return [
            pg(
                rng.choice(["WARNING", "LOG"]),
                rng.choice(
                    [
                        "could not receive data from WAL stream: server closed the connection unexpectedly",
                        f"checkpoints are occurring too frequently ({rng.randint(8, 29)} seconds apart)",
                        f'replication slot "standby_1" is lagging {rng.randint(2, 40)} GB behind',
                        f'temporary file: path "base/pgsql_tmp/pgsql_tmp{rng.randint(100, 999)}.0", '
                        f"size {rng.randint(10**8, 9 * 10**9)}",
                    ]
                ),
                "@",
            )
        ]

    return _build(
        rng,
        start,
        [
            (22, connection),
            (5, checkpoint),
            (5, vacuum),
            (18, fast_stmt),
            (7, slow_query),
            (4, deadlock),
            (3, serialization),
            (3, timeout),
            (3, pool_exhaustion),
            (3, client_reset),
            (1, crash_recovery),
            (1, disk_full),
            (4, replication),
        ],
    )


# =========================================================================== WebServer
