"""Fault injection: a tree of awkward entries through local and distributed classify.

Whatever a directory holds, a run must end, classify every good file exactly as it
would classify that file alone, give every bad entry exactly one error that says why,
and exit 1. The tree (see :func:`make_tree`) holds dangling and looping symbolic
links, a link back to its own directory, a FIFO and a socket (reading either would
hang), a zero-byte file, a gzip cut short and one with a bad CRC, a tar.gz cut inside a
member, a zip with a damaged member, a binary file and a 10 MB line; plus good plain,
gzip, tar (with a gzip member) and zip entries. The property test at the end draws
random small trees of the same kinds.

Bounded time: every CLI run is a subprocess with a timeout, workflows are waited for
with a timeout, and pytest-timeout bounds each test (a hang fails, it never blocks).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
LOOKSKIP = Path(sys.executable).parent / "lookskip"
RUN_TIMEOUT_S = 180


def _lines(shared: Path) -> list[bytes]:
    out: list[bytes] = []
    for name in ("HDFS", "Linux", "Apache", "OpenSSH"):
        raw = (shared / "loghub" / f"{name}_2k.log").read_bytes().split(b"\n")[:150]
        out += [r.rstrip(b"\r") for r in raw if r.strip()]
    return out


@pytest.fixture(scope="module")
def pool(shared_data: Path) -> list[bytes]:
    return _lines(shared_data)


@dataclass
class Tree:
    """What a run over ``root`` must report.

    ``good``: summary name -> (suffix, bytes) of a file that, classified alone under that
    suffix, must give the same rows. ``bad``: summary name -> words its one error says.
    """

    root: Path
    good: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    bad: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _text(pool: list[bytes], start: int, n: int) -> bytes:
    return b"\n".join(pool[(start + i) % len(pool)] for i in range(n)) + b"\n"


def _tar_gz(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _bad_crc(data: bytes) -> bytes:
    gz = bytearray(gzip.compress(data))
    gz[-8] ^= 0xFF  # the CRC32 of the trailer: every byte decompresses, the check fails
    return bytes(gz)


def _binary() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40


def make_tree(base: Path, pool: list[bytes], unix_socket: bool = True) -> Tree:
    t = Tree(base / "tree")
    d = t.root
    (d / "sub" / "deeper").mkdir(parents=True)
    name = "tree"

    def good(rel: str, data: bytes, suffix: str = ".log", write: bool = True) -> None:
        if write:
            (d / rel).write_bytes(data)
        t.good[f"{name}/{rel}"] = (suffix, data)

    # --- good entries -------------------------------------------------------
    good("a.log", _text(pool, 0, 200))
    good("sub/deeper/c.log", _text(pool, 300, 120) + b"no final newline")
    good("empty.log", b"")
    app = _text(pool, 50, 150)
    (d / "app.log.gz").write_bytes(gzip.compress(app))
    t.good[f"{name}/app.log.gz"] = (".log", app)
    long_line = b"start ERROR\n" + b"x" * (10 << 20) + b"\nend: connection refused\n"
    good("long.log", long_line)
    inner = _text(pool, 400, 80)
    m1 = _text(pool, 500, 90)
    (d / "ok.tar.gz").write_bytes(_tar_gz([("m1.log", m1), ("inner.log.gz", gzip.compress(inner))]))
    t.good[f"{name}/ok.tar.gz!m1.log"] = (".log", m1)
    t.good[f"{name}/ok.tar.gz!inner.log.gz"] = (".log", inner)
    # --- bad entries ----------------------------------------------------------
    os.symlink("/nonexistent/target.log", d / "dangling.log")
    t.bad[f"{name}/dangling.log"] = ("dangling", "/nonexistent/target.log")
    os.symlink("loop_b.log", d / "loop_a.log")
    os.symlink("loop_a.log", d / "loop_b.log")
    t.bad[f"{name}/loop_a.log"] = ("loop",)
    t.bad[f"{name}/loop_b.log"] = ("loop",)
    os.symlink(".", d / "sub" / "self")
    t.bad[f"{name}/sub/self"] = ("loop",)
    os.mkfifo(d / "fifo.log")
    t.bad[f"{name}/fifo.log"] = ("FIFO", "skipped")
    if unix_socket:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(d / "sock.log"))
        s.close()  # the socket file stays
        t.bad[f"{name}/sock.log"] = ("socket", "skipped")
    full = gzip.compress(_text(pool, 0, 3000))
    (d / "truncated.log.gz").write_bytes(full[: len(full) // 2])
    t.bad[f"{name}/truncated.log.gz"] = ("truncated", "complete lines")
    (d / "badcrc.log.gz").write_bytes(_bad_crc(_text(pool, 7, 500)))
    t.bad[f"{name}/badcrc.log.gz"] = ("corrupt",)
    (d / "binary.log").write_bytes(_binary())
    t.bad[f"{name}/binary.log"] = ("binary file",)
    first = _text(pool, 10, 40)
    big = b"".join(b"%d " % i + pool[i % len(pool)] + b"\n" for i in range(20000))
    cut = _tar_gz([("first.log", first), ("big.log", big)])
    (d / "cut.tar.gz").write_bytes(cut[: int(len(cut) * 0.6)])
    t.good[f"{name}/cut.tar.gz!first.log"] = (".log", first)
    t.bad[f"{name}/cut.tar.gz!big.log"] = ("truncated or corrupt archive", "complete lines")
    ok = _text(pool, 600, 60)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # stored: a flipped byte is a CRC error
        zf.writestr("ok.log", ok, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("bad.log", b"MARKER\n" + _text(pool, 700, 60), compress_type=zipfile.ZIP_STORED)
    raw = buf.getvalue()
    (d / "z.zip").write_bytes(raw.replace(b"MARKER\n", b"MARKES\n", 1))
    t.good[f"{name}/z.zip!ok.log"] = (".log", ok)
    t.bad[f"{name}/z.zip!bad.log"] = ("CRC",)
    return t


def run_cli(*args: str, timeout: float = RUN_TIMEOUT_S, **kw) -> subprocess.CompletedProcess:
    """``lookskip ARGS`` in a subprocess that cannot outlive ``timeout``."""
    env = {**os.environ, "LOOKSKIP_MODEL_PATH": str(MODEL)}
    return subprocess.run(
        [str(LOOKSKIP), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        **kw,
    )


def rows_of(out: Path, entry: dict) -> list[tuple]:
    if not entry.get("output"):
        return []
    text = (out / entry["output"]).read_text(encoding="utf-8")
    return [(r["line"], r["prob"], r["text"]) for r in map(json.loads, text.splitlines())]


def alone_rows(t: Tree, base: Path) -> dict[str, tuple[int, list[tuple]]]:
    """Each good entry's content classified on its own: name -> (lines, rows)."""
    alone = base / "alone"
    alone.mkdir()
    names = {}
    for i, (name, (suffix, data)) in enumerate(sorted(t.good.items())):
        (alone / f"{i:03d}{suffix}").write_bytes(data)
        names[f"alone/{i:03d}{suffix}"] = name
    res = run_cli("classify", str(alone), "--output", str(base / "out-alone"), "--no-report")
    assert res.returncode == 0, res.stderr
    summary = json.loads((base / "out-alone" / "summary.json").read_text())
    return {
        names[f["file"]]: (f["lines"], rows_of(base / "out-alone", f)) for f in summary["files"]
    }


def check_run(t: Tree, summary: dict, out: Path, alone: dict[str, tuple[int, list[tuple]]]):
    """The four promises (see the module docstring), but the exit status."""
    entries: dict[str, list[dict]] = {}
    for f in summary["files"]:
        entries.setdefault(f["file"], []).append(f)
    for name in t.good:
        assert name in entries, f"good entry {name} missing from the summary"
        (e,) = entries[name]
        assert e["errors"] == [], f"{name}: {e['errors']}"
        lines, rows = alone[name]
        assert e["lines"] == lines, name
        assert rows_of(out, e) == rows, f"{name}: rows differ from classifying it alone"
    for name, words in t.bad.items():
        assert name in entries, f"bad entry {name} missing from the summary (silently lost)"
        (e,) = entries[name]
        assert len(e["errors"]) == 1, f"{name}: {e['errors']}"
        for w in words:
            assert w in e["errors"][0], f"{name}: {e['errors'][0]!r} does not say {w!r}"
        assert e["output"] is None and not list(out.rglob(Path(name).name + ".look.jsonl"))
    unexpected = set(entries) - set(t.good) - set(t.bad)
    assert not unexpected, f"entries nobody asked for: {unexpected}"
    assert summary["totals"]["files_failed"] == len(t.bad)
    assert not list(out.rglob(".tmp-*")), "temp files left behind"


def test_local_classify_of_an_awkward_tree(tmp_path, pool):
    t = make_tree(tmp_path, pool)
    res = run_cli("classify", str(t.root), "--output", str(tmp_path / "out"))
    assert res.returncode == 1, res.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    check_run(t, summary, tmp_path / "out", alone_rows(t, tmp_path))
    # every bad entry is named on the console too
    for name in t.bad:
        assert name in res.stderr.replace("\n", "") or name in res.stdout


def test_stdout_mode_of_an_awkward_tree_ends_and_exits_1(tmp_path, pool):
    t = make_tree(tmp_path, pool)
    res = run_cli("classify", str(t.root), "--format", "text")
    assert res.returncode == 1
    # rows name files by the path as given (the tree's path joined with theirs)
    given = t.root.parent
    printed = {ln.split(":", 1)[0] for ln in res.stdout.splitlines()}
    # good files on both sides of the bad entries in walk order, archive members too
    for name in (
        "tree/a.log",
        "tree/sub/deeper/c.log",
        "tree/ok.tar.gz!m1.log",
        "tree/long.log",
    ):
        assert f"{given}/{name}" in printed, f"{name} printed nothing"
    assert not printed & {f"{given}/{name}" for name in t.bad}


def _nobody() -> int | None:
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return None


def test_an_unreadable_file_is_one_error_and_the_rest_goes_on(pool, scorer):
    """As a user who may not read it. Tests run as root, whom no mode stops: a forked
    child drops to ``nobody`` (it keeps the loaded modules and model, so it needs no
    access to the environment) and classifies the tree with the real extension."""
    from lookskip.bulk.inputs import expand_inputs
    from lookskip.bulk.run import run_local

    uid = None if os.getuid() != 0 else _nobody()
    if os.getuid() == 0 and uid is None:
        pytest.skip("running as root and there is no 'nobody' user to drop to")
    base = Path(tempfile.mkdtemp(prefix="lookskip-unreadable-"))
    try:
        os.chmod(base, 0o777)
        d = base / "tree"
        d.mkdir(mode=0o755)
        for name, start in (("a.log", 0), ("secret.log", 60), ("z.log", 120)):
            (d / name).write_bytes(_text(pool, start, 50))
            os.chmod(d / name, 0o644)
        os.chmod(d / "secret.log", 0)
        result = base / "result.json"
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                if uid is not None:
                    os.setgroups([])
                    os.setgid(pwd.getpwuid(uid).pw_gid)
                    os.setuid(uid)
                exp = expand_inputs([str(d)])
                summary = run_local(
                    exp.sources, exp.errors, str(base / "out"), scorer.engine, scorer.threshold,
                    report=False,
                )  # fmt: skip
                result.write_text(json.dumps(summary))
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the run as another user did not end within 60 s")
            time.sleep(0.05)
        assert os.waitstatus_to_exitcode(done[1]) == 0, "the child failed"
        by = {f["file"]: f for f in json.loads(result.read_text())["files"]}
        assert by["tree/a.log"]["errors"] == [] and by["tree/z.log"]["errors"] == []
        assert by["tree/a.log"]["lines"] == 50 == by["tree/z.log"]["lines"]
        assert len(by["tree/secret.log"]["errors"]) == 1
        assert "Permission denied" in by["tree/secret.log"]["errors"][0]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_named_fifo_and_stdin_are_still_read(tmp_path, pool):
    data = _text(pool, 0, 100)
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat > '{fifo}'"], stdin=subprocess.PIPE)
    writer.stdin.write(data)
    writer.stdin.close()
    res = run_cli("classify", str(fifo), "--output", str(tmp_path / "out"))
    writer.wait(10)
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["files"][0]["lines"] == 100
    res = run_cli("classify", "-", "--output", str(tmp_path / "out2"), input=data.decode())
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "out2" / "summary.json").read_text())["totals"]["lines"] == 100


def test_outputs_get_the_umask_mode_like_the_summary(tmp_path, pool):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.log").write_bytes(_text(pool, 0, 30))
    res = run_cli(
        "classify",
        str(tmp_path / "in"),
        "--output",
        str(tmp_path / "out"),
        preexec_fn=lambda: os.umask(0o022),
    )
    assert res.returncode == 0, res.stderr
    mode = stat.S_IMODE((tmp_path / "out" / "in" / "a.log.look.jsonl").stat().st_mode)
    assert mode == 0o644 == stat.S_IMODE((tmp_path / "out" / "summary.json").stat().st_mode)


@pytest.mark.integration
def test_distributed_classify_of_an_awkward_tree(celery_workers, tmp_path, pool):
    from fixtures_services import wait_workflow

    from worker.workflows import enqueue

    t = make_tree(tmp_path, pool)
    wf = enqueue(
        "classify",
        {"inputs": [str(t.root)], "output": str(tmp_path / "dist"), "model_path": str(MODEL)},
    )
    view = wait_workflow(wf, timeout=RUN_TIMEOUT_S)
    assert view.state == "SUCCESS", view
    summary = json.loads((tmp_path / "dist" / "summary.json").read_text())
    check_run(t, summary, tmp_path / "dist", alone_rows(t, tmp_path))
    # `lookskip status` says the files failed, with exit status 1
    from click.testing import CliRunner

    from cli.main import cli

    res = CliRunner().invoke(cli, ["status", wf])
    assert res.exit_code == 1, res.output
    assert f"{len(t.bad)} of" in res.output and "could not be classified" in res.output


# --- property: random small trees, local path --------------------------------------

KINDS = ("plain", "empty", "gz", "dangling", "loop", "fifo", "binary", "cut_gz", "tar", "dir")


@st.composite
def trees(draw):
    """A list of (relative path, kind, seed) with unique paths; ``dir`` nests one level."""
    n = draw(st.integers(1, 7))
    entries = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        sub = draw(st.sampled_from(["", "s/", "s/t/"]))
        entries.append((f"{sub}e{i}", kind, draw(st.integers(0, 500))))
    return entries


def build_random(base: Path, entries, pool: list[bytes]) -> Tree:
    t = Tree(base / "r")
    t.root.mkdir()
    for rel, kind, seed in entries:
        p = t.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        name = f"r/{rel}"
        data = _text(pool, seed, 5 + seed % 40)
        if kind == "plain":
            p = p.with_suffix(".log")
            p.write_bytes(data)
            t.good[f"{name}.log"] = (".log", data)
        elif kind == "empty":
            p.write_bytes(b"")
            t.good[name] = (".log", b"")
        elif kind == "gz":
            p.with_suffix(".gz").write_bytes(gzip.compress(data))
            t.good[f"{name}.gz"] = (".log", data)
        elif kind == "dangling":
            os.symlink(f"/nonexistent/{seed}", p)
            t.bad[name] = ("dangling",)
        elif kind == "loop":
            os.symlink(p.name, p)  # a link to itself
            t.bad[name] = ("loop",)
        elif kind == "fifo":
            os.mkfifo(p)
            t.bad[name] = ("FIFO",)
        elif kind == "binary":
            p.write_bytes(_binary())
            t.bad[name] = ("binary file",)
        elif kind == "cut_gz":
            full = gzip.compress(_text(pool, seed, 2000))
            p.with_suffix(".gz").write_bytes(full[: len(full) // 3])
            t.bad[f"{name}.gz"] = ("truncated",)
        elif kind == "tar":
            m = _text(pool, seed + 1, 20)
            p.with_suffix(".tgz").write_bytes(_tar_gz([("m.log", m), ("g.gz", gzip.compress(m))]))
            t.good[f"{name}.tgz!m.log"] = (".log", m)
            t.good[f"{name}.tgz!g.gz"] = (".log", m)
        elif kind == "dir":
            p.mkdir(exist_ok=True)
            (p / "inner.log").write_bytes(data)
            t.good[f"{name}/inner.log"] = (".log", data)
            os.symlink("..", p / "up")  # back to a directory being walked
            t.bad[f"{name}/up"] = ("loop",)
    return t


@pytest.fixture(scope="module")
def scorer():
    from lookskip.classify.scorer import load_scorer

    return load_scorer(str(MODEL), threads=1)


@pytest.mark.timeout(120)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(entries=trees())
def test_property_random_trees_lose_nothing_and_end(entries, pool, scorer):
    from lookskip.bulk.inputs import expand_inputs
    from lookskip.bulk.run import run_local

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        t = build_random(base, entries, pool)
        exp = expand_inputs([str(t.root)])
        out = base / "out"
        summary = run_local(
            exp.sources, exp.errors, str(out), scorer.engine, scorer.threshold, report=False
        )
        alone: dict[str, tuple[int, list[tuple]]] = {}
        for i, (name, (suffix, data)) in enumerate(sorted(t.good.items())):
            f = base / f"alone{i}{suffix}"
            f.write_bytes(data)
            e = expand_inputs([str(f)])
            s = run_local(
                e.sources, [], str(base / f"o{i}"), scorer.engine, scorer.threshold, report=False
            )
            alone[name] = (s["files"][0]["lines"], rows_of(base / f"o{i}", s["files"][0]))
        check_run(t, summary, out, alone)
        failed = summary["totals"]["files_failed"]
        assert failed == len(t.bad)  # the CLI's exit status 1 is `failed > 0`


# --- single-file paths: the same rules without --output ------------------------------


def _cut_gz(base: Path, pool: list[bytes]) -> tuple[Path, int]:
    """A .gz of 200,000 lines cut in half: the cut lies past the scorer's first batch
    (65,536 lines), where the engine used to drop the read error and report success."""
    data = b"".join(b"%d " % i + pool[i % len(pool)][:60] + b"\n" for i in range(200_000))
    gz = gzip.compress(data)
    path = base / "cut.log.gz"
    path.write_bytes(gz[: len(gz) // 2])
    return path, 200_000


def test_a_gzip_cut_after_the_first_batch_fails_in_every_mode(tmp_path, pool):
    import lookskip_rs

    path, total = _cut_gz(tmp_path, pool)
    clf = lookskip_rs.Classifier(str(MODEL), threads=1)
    d = lookskip_rs.classify_unit(clf, kind="gz", path=str(path), rows_path=str(tmp_path / "r"))
    assert d["error"] and "truncated" in d["error"], d
    assert 65_536 < d["lines"] < total and f"after {d['lines']} complete lines" in d["error"]
    with pytest.raises(OSError, match="truncated"):
        clf.classify_file(str(path))
    with pytest.raises(OSError, match="truncated"):
        clf.classify_file(str(path), output=str(tmp_path / "rows.jsonl"))
    assert not (tmp_path / "rows.jsonl").exists()  # never a partial output in place
    res = run_cli("classify", str(path))  # stdout mode
    assert res.returncode == 1 and "truncated" in res.stderr, res.stderr[-500:]
    res = run_cli("classify", str(path), "--output", str(tmp_path / "out"))
    assert res.returncode == 1
    (entry,) = json.loads((tmp_path / "out" / "summary.json").read_text())["files"]
    assert entry["output"] is None and 65_536 < entry["lines"] < total
    assert f"after {entry['lines']} complete lines" in entry["error"]


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_binary_input_is_refused_in_stdout_mode_too(tmp_path, how):
    binary = tmp_path / "prog"
    binary.write_bytes(Path(sys.executable).resolve().read_bytes()[:200_000])
    if how == "file":
        res = subprocess.run(
            [str(LOOKSKIP), "classify", str(binary)],
            capture_output=True,
            timeout=RUN_TIMEOUT_S,
            env={**os.environ, "LOOKSKIP_MODEL_PATH": str(MODEL)},
        )
    else:
        with open(binary, "rb") as f:
            res = subprocess.run(
                [str(LOOKSKIP), "classify", "-"],
                stdin=f,
                capture_output=True,
                timeout=RUN_TIMEOUT_S,
                env={**os.environ, "LOOKSKIP_MODEL_PATH": str(MODEL)},
            )
    assert res.returncode == 1
    assert res.stdout == b"", "no rows of binary bytes"
    assert b"binary file (NUL bytes in the first 8 KiB)" in res.stderr


def test_binary_input_is_refused_by_the_reference_scorer_too(tmp_path):
    binary = tmp_path / "prog.log"
    binary.write_bytes(b"\x7fELF\x00" + b"x\n" * 100)
    res = subprocess.run(
        [str(LOOKSKIP), "classify", str(binary)],
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        env={**os.environ, "LOOKSKIP_MODEL_PATH": str(MODEL), "LOOKSKIP_NO_RUST": "1"},
    )
    assert res.returncode == 1 and res.stdout == b""
    assert b"binary file" in res.stderr
