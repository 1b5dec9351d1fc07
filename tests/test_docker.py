"""Cheap checks of the container setup: no image is built here.

The compose file is resolved by the real Compose tool (``docker compose`` or
docker-compose 1.29, whichever is installed; no engine needed), the Dockerfiles are
linted by hadolint and the scripts by shellcheck (both from the dev group), and the
rules the images rely on that no linter knows (build context allow-list, stage
order for the classic builder, deps before source, non-root runtime) are checked
on the Dockerfile itself. The full run is ``docker/smoke-test``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
DOCKERFILES = [DOCKER / "Dockerfile", DOCKER / "redis.Dockerfile"]
SCRIPTS = [
    DOCKER / "make-base-image",
    DOCKER / "smoke-test",
    DOCKER / "several-hosts",
    DOCKER / "healthcheck",
]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.docker


# --- helpers --------------------------------------------------------------------
def compose_cmd() -> list[str]:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *compose_cmd(),
            "--env-file",
            str(env_file),
            "-f",
            str(ROOT / "compose.yaml"),
            "--profile",
            "dev",
            "--profile",
            "transformer",
            "--profile",
            "cli",
            "config",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},  # no LOOKSKIP_*/REDIS_* from the caller
    )


@pytest.fixture(scope="module")
def config() -> dict:
    proc = compose_config(ROOT / ".env.example")
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
        buf = ""
    return out


def stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Stage name -> its instructions (the FROM line first), in file order."""
    result: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for word, args in instructions(path):
        if word == "FROM":
            m = re.fullmatch(r"(\S+)(?: AS (\S+))?", args, re.IGNORECASE)
            assert m, f"unparsable FROM {args!r}"
            current = result.setdefault(m.group(2) or f"stage{len(result)}", [])
        if current is not None:
            current.append((word, args))
    return result


def parent(stage: list[tuple[str, str]]) -> str:
    return stage[0][1].split()[0]


def published(ports: list) -> list[tuple[str, int]]:
    """(host ip, container port) of each published port, long or short syntax."""
    out = []
    for p in ports:
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), int(p["target"])))
        else:  # "127.0.0.1:5555:5555/tcp"
            parts = str(p).split("/")[0].split(":")
            out.append((parts[0] if len(parts) == 3 else "", int(parts[-1])))
    return out


def dockerignore_included(rel: str) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or a parent wins."""
    included = True
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        rx = re.escape(pattern).replace(r"\*\*", ".*")
        rx = rx.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        parts = rel.split("/")
        if any(re.fullmatch(rx, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            included = negate
    return included


# --- linters ----------------------------------------------------------------------
def test_dockerfiles_pass_hadolint():
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint not installed (uv sync --group dev)")
    proc = subprocess.run(
        [str(hadolint), "--config", str(DOCKER / "hadolint.yaml"), *map(str, DOCKERFILES)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scripts_pass_shellcheck():
    shellcheck = BIN / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck not installed (uv sync --group dev)")
    proc = subprocess.run([str(shellcheck), *map(str, SCRIPTS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for script in SCRIPTS:
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"


# --- compose.yaml -----------------------------------------------------------------------
def test_compose_requires_the_secrets_from_env(tmp_path: Path):
    """No default password: without REDIS_PASSWORD in .env the config is refused."""
    env = tmp_path / "env"
    env.write_text("LOOKSKIP_FLOWER_PASSWORD=x\n")
    proc = compose_config(env)
    assert proc.returncode != 0
    assert "REDIS_PASSWORD" in proc.stderr


def test_compose_services_and_profiles(config: dict):
    s = config["services"]
    assert set(s) == {"redis", "worker", "classifier", "transformer", "flower", "api-sim", "cli"}
    assert s["transformer"]["profiles"] == ["transformer"]
    assert s["api-sim"]["profiles"] == ["dev"]
    assert s["cli"]["profiles"] == ["cli"]
    for name in ("redis", "worker", "classifier", "flower"):
        assert not s[name].get("profiles"), f"{name} must start with a plain `up`"
    for name, queues in (
        ("worker", "ingest,label,train"),
        ("classifier", "classify"),
        ("transformer", "transformer"),
    ):
        cmd = s[name]["command"]
        assert cmd[:2] == ["lookskip", "worker"]
        assert cmd[cmd.index("--queues") + 1] == queues


def test_worker_healthcheck_pings_the_node_the_worker_is_named(config: dict):
    """The healthcheck asks LOOKSKIP_WORKER_NODE; the worker must be started as that node."""
    for name in ("worker", "classifier", "transformer"):
        svc = config["services"][name]
        cmd = svc["command"]
        assert cmd[cmd.index("-n") + 1] == svc["environment"]["LOOKSKIP_WORKER_NODE"]
        assert svc["environment"]["LOOKSKIP_WORKER_NODE"].endswith("@%h")  # unique per replica
    st = stages(DOCKER / "Dockerfile")
    for target in ("worker", "classifier", "transformer"):
        own = dict(st[target])
        node = own["ENV"].split("=", 1)[1]
        assert own["CMD"].endswith(f'"-n", "{node}"]'), (target, own["CMD"])


def test_classifier_scales(config: dict):
    """`--scale classifier=4` needs no fixed container name and no host port."""
    c = config["services"]["classifier"]
    assert "container_name" not in c and "hostname" not in c
    assert not c.get("ports")


def test_redis_persistent_private_and_password_protected(config: dict):
    r = config["services"]["redis"]
    cmd = r["command"]
    assert cmd[cmd.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in cmd
    assert published(r["ports"]) == [("127.0.0.1", 6379)]
    assert "healthcheck" in r


def test_workers_share_one_data_volume_and_reach_redis_with_password(config: dict):
    password = re.search(r"^REDIS_PASSWORD=(.*)$", (ROOT / ".env.example").read_text(), re.M)[1]
    for name in ("worker", "classifier", "transformer", "flower", "cli"):
        svc = config["services"][name]
        vols = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in svc["volumes"]]
        assert any(v.startswith("data:/data") for v in vols), (name, vols)
        env = svc["environment"]
        assert env["LOOKSKIP_DATA_DIR"] == "/data"
        assert env["LOOKSKIP_BROKER_URL"] == f"redis://:{password}@redis:6379/0"
        assert env["LOOKSKIP_RESULT_BACKEND"].startswith(f"redis://:{password}@redis:6379/")
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "data" in config["volumes"]


def test_worker_and_flower_healthchecks(config: dict):
    s = config["services"]
    for name in ("worker", "classifier", "transformer"):
        assert s[name]["healthcheck"]["test"] == ["CMD", "lookskip-healthcheck", "worker"]
    assert s["flower"]["healthcheck"]["test"] == ["CMD", "lookskip-healthcheck", "flower"]
    # api-sim runs from the worker image: it must not inherit the worker's node ping.
    sim = s["api-sim"]
    port = sim["command"][sim["command"].index("--port") + 1]
    assert sim["healthcheck"]["test"] == ["CMD", "lookskip-healthcheck", "tcp", port]
    script = (DOCKER / "healthcheck").read_text()
    assert "control.ping(destination=[node]" in script
    assert "/healthcheck" in script


def test_flower_basic_auth_and_port(config: dict):
    f = config["services"]["flower"]
    assert f["command"][:2] == ["lookskip", "flower"]
    assert f["command"][f["command"].index("--address") + 1] == "0.0.0.0"
    assert f["environment"]["LOOKSKIP_FLOWER_PASSWORD"]
    assert [port for _, port in published(f["ports"])] == [5555]


def test_env_example_defines_every_required_variable():
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "compose.yaml").read_text()))
    defined = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.M))
    assert required and required <= defined, required - defined
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


# --- Dockerfile rules ----------------------------------------------------------------------
def test_base_image_is_an_argument_defaulting_to_the_official_slim_image():
    for path in DOCKERFILES:
        ins = instructions(path)
        assert ins[0][0] == "ARG" and ins[0][1].startswith("BASE_IMAGE="), path.name
        names = set(stages(path))
        for stage in stages(path).values():
            assert parent(stage) in names | {"${BASE_IMAGE}"}, (path.name, stage[0])
    first = instructions(DOCKER / "Dockerfile")[0][1]
    assert first == "BASE_IMAGE=python:3.11-slim-bookworm"


def test_runtime_targets_are_non_root_with_healthcheck_and_exec_cmd():
    st = stages(DOCKER / "Dockerfile")
    for target in ("worker", "classifier", "transformer"):
        chain, name = [], target
        while name in st:
            chain.append(st[name])
            name = parent(st[name])
        users = [args for stage in chain for word, args in stage if word == "USER"]
        assert users, f"{target} runs as root"
        uid = users[0].split(":")[0]  # the nearest USER wins
        assert uid.isdigit() and int(uid) >= 1000, users[0]
        own = dict((w, a) for w, a in st[target])
        assert own["HEALTHCHECK"].endswith('CMD ["lookskip-healthcheck", "worker"]')
        assert own["CMD"].startswith('["lookskip", "worker", "--queues"')
        assert own["ENV"].startswith("LOOKSKIP_WORKER_NODE=")


def test_dependencies_installed_from_the_lock_before_the_source():
    """Editing code must not invalidate the dependency layers; nothing resolves anew."""
    st = stages(DOCKER / "Dockerfile")
    venvs = [name for name in st if name.endswith("-venv") and name != "s3-server-venv"]
    assert set(venvs) == {"worker-venv", "classifier-venv", "transformer-venv"}
    # the S3 server's venv holds moto only, from the lock, and none of the project
    s3 = st["s3-server-venv"]
    assert all("--frozen" in a and "--no-install-project" in a for w, a in s3 if w == "RUN")
    assert not [a for w, a in s3 if w == "COPY"]
    for name in venvs:
        ins = st[name]
        syncs = [i for i, (w, a) in enumerate(ins) if w == "RUN" and "uv sync" in a]
        assert syncs and all("--frozen" in ins[i][1] for i in syncs), name
        assert "--no-install-project" in ins[syncs[0]][1]
        first_source = next(i for i, (w, a) in enumerate(ins) if w == "COPY" and "lookskip/" in a)
        assert syncs[0] < first_source < syncs[-1], name
    lock_copy = [a for w, a in st["python-build"] if w == "COPY"]
    assert lock_copy == ["pyproject.toml uv.lock ./"]


def test_classifier_image_has_no_training_or_torch_and_torch_stage_is_last():
    st = stages(DOCKER / "Dockerfile")
    classifier_sync = " ".join(a for w, a in st["classifier-venv"] if w == "RUN")
    assert "--extra transformer" not in classifier_sync
    assert "--extra training" not in classifier_sync
    # The classic builder builds every stage above the target: torch goes last.
    names = list(st)
    assert names[-2:] == ["transformer-venv", "transformer"], names
    for target in ("worker", "classifier", "transformer"):
        copies = [a for w, a in st[f"{target}-venv"] if w == "COPY" and "--from=rust-wheel" in a]
        assert copies, f"{target} lacks the Rust extension wheel"


def test_build_context_allow_list_covers_every_copied_path():
    for path in DOCKERFILES:
        for word, args in instructions(path):
            if word != "COPY" or args.startswith("--from"):
                continue
            for src in args.split()[:-1]:
                src = src.rstrip("/")
                assert (ROOT / src).exists() or src == "rust", src
                if not (ROOT / src).is_dir():
                    assert dockerignore_included(src), (
                        f"{path.name} copies {src}, not in the context"
                    )
                    continue
                # a folder: every committed file under it is in the context (a folder
                # such as data/ may be only partly in it: its run-time data stays out)
                tracked = subprocess.run(
                    ["git", "ls-files", src], cwd=ROOT, capture_output=True, text=True, check=True
                ).stdout.split()
                assert tracked, src
                for rel in tracked:
                    assert dockerignore_included(rel), (
                        f"{path.name} copies {rel}, not in the context"
                    )
    for excluded in (
        ".git",
        ".venv/bin/python",
        "rust/target/release/x.so",
        ".env",
        "data/loghub/HDFS_2k.log",
        "tests/test_docker.py",
        "worker/__pycache__/app.cpython-311.pyc",
    ):
        assert not dockerignore_included(excluded), excluded
