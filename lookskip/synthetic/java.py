"""JavaApp: Spring/Java services, stack traces with ``Caused by:``."""

from __future__ import annotations

import random
from datetime import datetime

from lookskip.synthetic.common import Clock, Event, _build, _hex

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
