"""An installed lookskip works from any directory, with the model it ships.

The project is installed non-editable (a built wheel, as ``pip install .`` or ``uv tool
install .`` would) into a fresh virtualenv, then run from ``/`` and from an empty
directory: no checkout, no ``./data``. The Rust extension is built as a wheel too
(``maturin build``, reusing the Cargo target dir ``make setup`` filled); the numpy
fallback of the same install is checked as well.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

LOG = (
    "2024-05-01 10:00:00 INFO worker started, pid 4242\n"
    "2024-05-01 10:00:01 INFO request served in 12 ms\n"
    "2024-05-01 10:00:02 ERROR failed to open /var/lib/app/db.sqlite: Permission denied\n"
    "2024-05-01 10:00:03 INFO request served in 9 ms\n"
)


def _run(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (scripts/setup installs it)")
    tmp = tmp_path_factory.mktemp("install")
    env = dict(os.environ)  # UV_CACHE_DIR too: the install reuses what setup fetched
    venv = tmp / "venv"
    r = _run([uv, "venv", "--python", sys.executable, str(venv)], env=env)
    assert r.returncode == 0, r.stderr
    targets = [str(ROOT)]  # a directory: uv builds and installs a wheel (not editable)
    cargo = shutil.which("cargo")
    if cargo is not None and (ROOT / "rust" / "Cargo.toml").is_file():
        env.setdefault(
            "CARGO_TARGET_DIR", str(Path.home() / ".cache" / "lookskip" / "cargo-target")
        )
        wheels = tmp / "wheels"
        manifest = str(ROOT / "rust" / "Cargo.toml")
        build = ["build", "--release", "--out", str(wheels), "--manifest-path", manifest]
        r = _run([sys.executable, "-m", "maturin", *build], env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        targets += [str(p) for p in wheels.glob("lookskip_rs-*.whl")]
    r = _run([uv, "pip", "install", "--python", str(venv / "bin" / "python"), *targets], env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    return venv


def _env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no LOOKSKIP_* settings, a HOME of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKSKIP_")}
    env.pop("VIRTUAL_ENV", None)
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"), **extra}


def _classify_from_root(venv: Path, tmp_path: Path, **extra: str) -> tuple[list[dict], str]:
    log = tmp_path / "app.log"
    log.write_text(LOG)
    r = _run(
        [str(venv / "bin" / "lookskip"), "classify", str(log)],
        cwd="/",
        env=_env(tmp_path / "home", **extra),
    )
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()], r.stderr


def test_installed_classify_runs_from_root_with_the_shipped_model(venv: Path, tmp_path: Path):
    rows, stderr = _classify_from_root(venv, tmp_path)
    assert [row["line"] for row in rows] == [3], rows
    assert "Permission denied" in rows[0]["text"]
    rust = any(venv.glob("lib/python*/site-packages/lookskip_rs"))
    assert ("numpy reference scorer" in stderr) is not rust, stderr


def test_installed_classify_without_rust_gives_the_same_rows(venv: Path, tmp_path: Path):
    rows, stderr = _classify_from_root(venv, tmp_path, LOOKSKIP_NO_RUST="1")
    assert [row["line"] for row in rows] == [3]
    assert "numpy reference scorer" in stderr


def test_installed_doctor_names_the_shipped_model_and_creates_no_data_dir(
    venv: Path, tmp_path: Path
):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    home = tmp_path / "home"
    r = _run(
        [str(venv / "bin" / "lookskip"), "doctor"],
        cwd=cwd,
        env=_env(home, COLUMNS="400"),
    )
    rows = {line.split("│")[1].strip(): line for line in r.stdout.splitlines() if "│" in line}
    site = next(venv.glob("lib/python*/site-packages"))
    shipped = site / "lookskip" / "_data" / "models" / "look_skip_model.json.gz"
    assert shipped.is_file()
    assert str(shipped) in rows["model"] and "the shipped model" in rows["model"], r.stdout
    assert "ok" in rows["model"]
    assert str(home / ".local/share/lookskip") in rows["data dir"], r.stdout
    assert "does not exist yet" in rows["data dir"]
    assert list(cwd.iterdir()) == [] and not (home / ".local/share/lookskip").exists()
    # No celery/redis in a plain install: said so, not a crash.
    assert "lookskip[worker]" in rows["job system"], r.stdout
    assert r.returncode == 0, r.stdout + r.stderr


def test_installed_wheel_ships_every_committed_file_of_data_models(venv: Path):
    committed = _run(["git", "ls-files", "data/models"], cwd=ROOT).stdout.split()
    if not committed:
        pytest.skip("not a git checkout")
    site = next(venv.glob("lib/python*/site-packages"))
    for rel in committed:
        assert (site / "lookskip" / "_data" / Path(rel).relative_to("data")).is_file(), rel
