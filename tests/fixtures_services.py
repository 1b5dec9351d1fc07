"""Real services for the integration tests: a Redis server and Celery worker processes.

Redis comes from one of two places, chosen explicitly by ``redis_backend_choice``:

* ``docker``: a throw-away container (testcontainers) when a Docker engine answers
  AND a Redis image is already present locally (tests never pull images);
* ``local``: ``redis-server`` (installed by ``scripts/setup``) on a free port.

``LOOKSKIP_TEST_REDIS=local|docker`` forces one. Either way AOF is on with
``appendfsync always``, so a restart (``RedisService.restart``) loses nothing that
was acknowledged: the restart test relies on it.

Workers are real ``celery worker`` processes (prefork pool, one child each) that
consume every queue, with ``LOOKSKIP_DATA_DIR`` pointing at a data dir made for the
session and a recognisable fake API key, so tests can grep logs and Redis for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
FAKE_API_KEY = "sk-ant-FAKE-KEY-lookskip-3f9c2a71-do-not-leak"
ALL_QUEUES = "ingest,label,train,classify,transformer"
REDIS_IMAGE_CANDIDATES = ("redis:7.2-bookworm", "redis:7-alpine", "redis:7", "redis:latest")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_redis_image() -> str | None:
    """A Redis image already present in a reachable Docker engine, else None."""
    if not shutil.which("docker"):
        return None
    try:
        out = subprocess.run(
            ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    present = set(out.stdout.split())
    for image in REDIS_IMAGE_CANDIDATES:
        if image in present:
            return image
    return next((i for i in present if i.split(":")[0].endswith("redis")), None)


def redis_backend_choice(
    env: dict[str, str] | None = None,
    find_image: Callable[[], str | None] = local_redis_image,
) -> tuple[str, str | None]:
    """("docker", image) or ("local", None), as described in the module docstring.

    ``find_image``: how a present Redis image is found (a test passes its own answer,
    so it checks this function's choices without copying them).
    """
    env = os.environ if env is None else env
    forced = env.get("LOOKSKIP_TEST_REDIS", "").strip().lower()
    if forced == "local":
        return "local", None
    image = find_image()
    if forced == "docker":
        if image is None:
            pytest.fail("LOOKSKIP_TEST_REDIS=docker but no Docker engine with a redis image")
        return "docker", image
    if image is not None:
        return "docker", image
    return "local", None


def wait_for_redis(url: str, timeout: float = 20.0) -> None:
    import redis

    deadline = time.monotonic() + timeout
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            return
        except redis.exceptions.BusyLoadingError:
            pass
        except redis.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis at {url} did not answer within {timeout}s")
        time.sleep(0.05)


@dataclass
class RedisService:
    """A running Redis that a test may restart; ``url`` stays the same across restarts."""

    kind: str
    port: int
    workdir: Path
    image: str | None = None
    proc: subprocess.Popen | None = None
    container: object | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.kind == "local":
            self.proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.workdir),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--protected-mode",
                    "no",
                    "--logfile",
                    str(self.workdir / "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        else:
            # No Ryuk reaper: it is an image to pull, and the fixture stops the container.
            os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
            from testcontainers.core.container import DockerContainer

            c = DockerContainer(self.image)
            c.ports = {"6379/tcp": ("127.0.0.1", self.port)}  # with_bind_ports has no host IP
            # (protected mode off: the port is published on 127.0.0.1 only, and docker's
            # forwarding makes every client look non-local to the server)
            c = c.with_command(
                "redis-server --appendonly yes --appendfsync always --save '' --protected-mode no"
            )
            self.container = c.start()
        try:
            wait_for_redis(self.url)
        except BaseException:
            self.stop()  # never leave a server (or container) behind
            raise

    def kill(self) -> None:
        """Stop abruptly (SIGKILL): only what AOF already holds survives."""
        if self.kind == "local" and self.proc:
            self.proc.kill()
            self.proc.wait(10)
        elif self.container is not None:
            self.container.get_wrapped_container().kill()

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        if self.kind == "local":
            self.start()
        else:
            self.container.get_wrapped_container().start()
            wait_for_redis(self.url)
        drop_client_connections()

    def stop(self) -> None:
        if self.kind == "local" and self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        elif self.container is not None:
            self.container.stop()


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisService]:
    kind, image = redis_backend_choice()
    if kind == "local" and not shutil.which("redis-server"):
        pytest.fail("redis-server not found: run scripts/setup (it installs it)")
    svc = RedisService(
        kind=kind, port=free_port(), image=image, workdir=tmp_path_factory.mktemp("redis")
    )
    svc.start()
    yield svc
    svc.stop()


@dataclass
class Workers:
    """Celery worker subprocesses sharing one Redis and one data dir."""

    redis: RedisService
    data_dir: Path
    log_dir: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, queues: str = ALL_QUEUES, **env: str) -> None:
        from worker.launch import spawn_worker

        self.procs[name] = spawn_worker(
            name,
            queues,
            env={**self.env, **env},
            logfile=self.log_dir / f"{name}.log",
            imports=["worker_test_tasks"],
        )

    def wait_ready(self, names: list[str] | None = None, timeout: float = 60.0) -> None:
        from worker.app import app
        from worker.launch import answering

        want = set(names or self.procs)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                up = answering()
            except app.connection_for_write().connection_errors:
                up = set()  # a stale connection after a Redis restart: kombu reconnects
            if want <= up:
                return
            for n, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"worker {n} exited: {self.log(n)[-2000:]}")
        raise RuntimeError(f"workers {want} not ready after {timeout}s")

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_dir.glob("*.log"))

    def stop(self, name: str) -> None:
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


# Settings the workers and the local twin runs share (the simulator's URL is added).
SIM_ENV = {
    "LOOKSKIP_POLL_INITIAL_S": "0.05",
    "LOOKSKIP_POLL_MAX_S": "0.3",
    "LOOKSKIP_API_MAX_RETRIES": "10",
}


def service_env(redis_url: str, data_dir: Path, sim_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LOOKSKIP_BROKER_URL": redis_url,
            "LOOKSKIP_RESULT_BACKEND": redis_url,
            "LOOKSKIP_DATA_DIR": str(data_dir),
            # Workers use only allowed folders (lookskip.roots): the tests' temp root,
            # where every test's inputs and outputs live, and the shared reference data.
            "LOOKSKIP_ALLOWED_ROOTS": f"{data_dir.resolve().parent},{SHARED_DATA}",
            "ANTHROPIC_API_KEY": FAKE_API_KEY,
            "ANTHROPIC_BASE_URL": sim_url,
            **SIM_ENV,
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep),
        }
    )
    return env


@pytest.fixture(scope="session")
def batch_sim():
    """A Batch-API simulator (deterministic responder) for the whole session.

    A ``RunningSim``: ``.url``, and ``.simulator.options`` a test may change (delay).
    """
    from lookskip.apisim import SimOptions, serve_in_thread

    sim = serve_in_thread(SimOptions(delay=0.3))
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def celery_workers(
    redis_service: RedisService, batch_sim, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    """Two real workers on every queue; this process's settings point at the same Redis."""
    data_dir = tmp_path_factory.mktemp("workers-data")
    log_dir = tmp_path_factory.mktemp("worker-logs")
    env = service_env(redis_service.url, data_dir, batch_sim.url)
    # The client side (this process) must talk to the same Redis before worker.app loads.
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(
        {
            k: env[k]
            for k in (
                "LOOKSKIP_BROKER_URL",
                "LOOKSKIP_RESULT_BACKEND",
                "LOOKSKIP_DATA_DIR",
                "ANTHROPIC_API_KEY",
            )
        }
    )
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    from lookskip.settings import get_settings

    get_settings.cache_clear()
    _point_app_at(redis_service.url)
    import worker_test_tasks  # noqa: F401  (registers the test tasks client-side)

    workers = Workers(redis=redis_service, data_dir=data_dir, log_dir=log_dir, env=env)
    workers.start("w1")
    workers.start("w2")
    try:
        workers.wait_ready()
        yield workers
    finally:
        for n in list(workers.procs):
            workers.stop(n)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def _point_app_at(url: str) -> None:
    """Re-point an already imported ``worker.app`` (another test may have imported it)."""
    import worker.app as wapp
    from lookskip.settings import get_settings

    app = wapp.app
    if app.conf.broker_url != url:
        from worker.config import celery_config

        app.conf.update(celery_config(get_settings()))
        drop_client_connections()
        app._local.__dict__.pop("backend", None)
        app.__dict__.pop("amqp", None)  # queues and routes are built once from the config
    wapp._store = None


def drop_client_connections() -> None:
    """Close this process's pooled broker connections (after a Redis restart or a new URL).

    Why: a pooled kombu connection keeps its channel's BRPOP socket open to the server it
    was made for. After that server restarts, the next ``app.control.inspect``/``ping``
    from this (long-lived) test process reads the dead socket and fails with "Connection
    closed by server"; Celery retries publishing but not collecting replies. Workers
    reconnect by themselves; only the client side in this process needs this.
    """
    wapp = sys.modules.get("worker.app")
    if wapp is None:
        return
    from kombu import pools

    # app.pool and the producer pool are entries of kombu's process-wide pool registries
    # (keyed by broker URL, which a restart does not change): closing app.pool alone
    # leaves the registry handing out the closed pool. pools.reset() closes every pool
    # and empties the registries, so the next use connects afresh.
    pools.reset()
    app = wapp.app
    app._pool = None
    app.amqp._producer_pool = None


def redis_blobs(url: str) -> list[bytes]:
    """Every value Redis holds (strings, lists, hashes, sets, sorted sets), to grep for secrets."""
    import redis

    r = redis.Redis.from_url(url)
    blobs: list[bytes] = []
    for key in r.scan_iter(count=1000):
        t = r.type(key).decode()
        if t == "string":
            blobs.append(r.get(key) or b"")
        elif t == "list":
            blobs.extend(r.lrange(key, 0, -1))
        elif t == "hash":
            blobs.extend(r.hvals(key))
        elif t == "set":
            blobs.extend(r.smembers(key))
        elif t == "zset":
            blobs.extend(m for m, _ in r.zrange(key, 0, -1, withscores=True))
    return blobs


def wait_workflow(wf: str, timeout: float = 90.0):
    """The registry view of workflow ``wf`` once it is done (AssertionError after timeout)."""
    from worker.app import job_store

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = job_store().get(wf)
        if view is not None and view.done:
            return view
        time.sleep(0.1)
    raise AssertionError(f"workflow {wf} not finished after {timeout}s: {job_store().get(wf)}")


def wait_for(pred, timeout: float = 30.0, what: str = "condition"):
    """Poll ``pred`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --------------------------------------------------------------------------- S3 server

FAKE_S3_KEY_ID = "lookskip-test-key"
FAKE_S3_SECRET = "s3-FAKE-SECRET-lookskip-9d41c7e2-do-not-leak"


@dataclass
class S3Service:
    """A real S3-compatible server (moto's server mode) on a loopback port.

    ``env`` is what a client process needs to reach it (the standard AWS variables,
    which boto, s3fs and every worker read): credentials never travel in a task.
    """

    port: int
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": FAKE_S3_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_S3_SECRET,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto did not start: {self.log.read_text()}") from None
                time.sleep(0.1)

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=FAKE_S3_KEY_ID,
            aws_secret_access_key=FAKE_S3_SECRET,
            region_name="us-east-1",
        )

    def bucket(self, name: str) -> str:
        """Create bucket ``name`` (if new); returns ``s3://name``."""
        c = self.client()
        if name not in {b["Name"] for b in c.list_buckets().get("Buckets", [])}:
            c.create_bucket(Bucket=name)
        return f"s3://{name}"

    def upload(self, local: Path, url: str, pattern: str = "**/*") -> None:
        """Copy a file, or the files under a folder matching ``pattern``, to ``url``."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        c = self.client()
        files = (
            [(local, "")]
            if local.is_file()
            else [
                (p, str(p.relative_to(local))) for p in sorted(local.glob(pattern)) if p.is_file()
            ]
        )
        for p, rel in files:
            key = "/".join(x for x in (prefix.strip("/"), rel) if x)
            c.upload_file(str(p), bucket, key)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def s3_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Service]:
    """moto's S3 server for the session; this process's AWS settings point at it."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        pytest.fail("moto's S3 server not installed (extra s3-server): run scripts/setup")
    svc = S3Service(port=free_port(), log=tmp_path_factory.mktemp("s3") / "moto.log")
    svc.start()
    saved = {k: os.environ.get(k) for k in svc.env}
    os.environ.update(svc.env)
    try:
        yield svc
    finally:
        svc.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _clear_fsspec_instances()


def _clear_fsspec_instances() -> None:
    """s3fs caches one file system per set of arguments: forget those made for a server."""
    try:
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()
    except ImportError:
        pass


# --------------------------------------------------------------------------- RabbitMQ

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's, without the su wrapper


@dataclass
class RabbitService:
    """A throw-away RabbitMQ node (Debian's ``rabbitmq-server``, installed by scripts/setup)
    on free loopback ports, its own data dir, no plugins; ``restart`` kills it (SIGKILL)
    and starts it again on the same data, as a crash would."""

    port: int
    dist_port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        from worker.config import rabbitmq_consumer_timeout_ms

        conf = self.workdir / "rabbitmq.conf"
        conf.write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"consumer_timeout = {rabbitmq_consumer_timeout_ms()}\n"
        )
        (self.workdir / "enabled_plugins").write_text("[].\n")
        return dict(
            os.environ,
            HOME=str(self.workdir),  # the Erlang cookie
            RABBITMQ_NODENAME=f"lookskip-test-{self.port}@localhost",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.workdir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.workdir / "log"),
            RABBITMQ_CONFIG_FILE=str(conf),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.workdir / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(self.workdir / "pid"),
        )

    def start(self, timeout: float = 90.0) -> None:
        self.proc = subprocess.Popen(
            [RABBITMQ_SERVER],
            env=self._env(),
            stdout=(self.workdir / "server.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the Erlang VM and its helpers: one group to kill
        )
        deadline = time.monotonic() + timeout
        from kombu import Connection

        while True:
            try:
                with Connection(self.url, connect_timeout=1) as c:
                    c.ensure_connection(max_retries=1)
                return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = (self.workdir / "server.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"rabbitmq-server did not start: {log}") from None
                time.sleep(0.3)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()
        drop_client_connections()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def rabbitmq_available() -> bool:
    return os.access(RABBITMQ_SERVER, os.X_OK)
