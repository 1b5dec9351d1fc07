"""Rows on stdout, written by the rows' own writer (``lookskip.bulk.sink``, issue 24).

``lookskip classify`` without ``--output`` runs the same unit loop as with it; the
Rust writer (or the numpy fallback) writes JSON or text rows itself, to a spool per
file copied to stdout once the file is read, or, for stdin, straight to stdout's
descriptor. These tests hold the rows to what ``--output`` writes (text rows: to
Python's ``text_row`` of those rows, triage lines and escaped names included), check
that stdin's rows arrive before stdin ends, that a descriptor is written and left
open, and that a reader going away (``| head``) ends the run quietly.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import lookskip_rs
import pytest

from lookskip import compression
from lookskip.classify.rows import text_row
from lookskip.classify.scorer import DEFAULT_MAX_LINE_BYTES, load_scorer

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
RUN_TIMEOUT_S = 300


def _cli(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "classify", "--model", str(MODEL), *args],
        cwd=ROOT,
        env={**os.environ, "LOOKSKIP_THREADS": "1", **(env or {})},
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        **kw,
    )


@pytest.fixture(scope="module")
def logs(shared_data: Path, tmp_path_factory) -> Path:
    """Two real logs (one with Java stack traces, for --events) and a hostile name."""
    d = tmp_path_factory.mktemp("logs")
    (d / "hdfs.log").write_bytes((shared_data / "loghub" / "HDFS_2k.log").read_bytes())
    java = (
        b"2024-05-01 10:00:01 INFO request served in 12 ms\n"
        b"2024-05-01 10:00:02 ERROR failed to open /var/lib/app/db: Permission denied\n"
        b"java.io.IOException: Permission denied\n"
        b"\tat com.example.Db.open(Db.java:42)\n"
        b"\tat com.example.Main.main(Main.java:7)\n"
        b"2024-05-01 10:00:03 WARN retrying in 5 s\n"
    )
    (d / "evil\nname\x1b[2J.log").write_bytes(java * 50)
    return d


def _inputs(logs: Path) -> list[str]:
    return sorted(str(p) for p in logs.iterdir())


def _output_rows(tmp_path: Path, logs: Path, *args: str) -> list[dict]:
    """Every row ``--output`` writes for ``logs`` with ``args``, in input order."""
    out = tmp_path / "out"
    res = _cli(*_inputs(logs), "--output", str(out), "--no-report", *args)
    assert res.returncode == 0, res.stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    rows = []
    for f in summary["files"]:
        text = (out / f["output"]).read_text(encoding="utf-8")
        rows += [json.loads(r) for r in text.splitlines()]
    assert rows
    return rows


# (triage needs the extension: without it, it is refused, which test_triage checks)
@pytest.mark.parametrize(("no_rust", "triage"), [("", ()), ("1", ()), ("", ("--why", "--events"))])
def test_stdout_rows_are_the_output_rows(tmp_path, logs, triage, no_rust):
    """JSON rows on stdout are --output's rows byte for byte; text rows are Python's
    ``text_row`` of them (probabilities to 4 decimals, ``why`` and event lines, the
    name's control characters escaped), written by the Rust writer or the fallback."""
    env = {"LOOKSKIP_NO_RUST": no_rust}
    args = ("--threshold", "0.05", *triage)
    out = tmp_path / "out"
    res = _cli(*_inputs(logs), "--output", str(out), "--no-report", *args, env=env)
    assert res.returncode == 0, res.stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    written = b"".join((out / f["output"]).read_bytes() for f in summary["files"])
    rows = [json.loads(r) for r in written.decode().splitlines()]
    assert len(rows) > 100 and any("\n" in r["file"] for r in rows)
    if triage:
        assert all(r["why"] for r in rows) and any("event" in r for r in rows)

    jsonl = _cli(*_inputs(logs), *args, env=env)
    assert jsonl.returncode == 0, jsonl.stderr.decode()
    assert jsonl.stdout == written

    text = _cli(*_inputs(logs), "--format", "text", *args, env=env)
    assert text.returncode == 0, text.stderr.decode()
    want = "".join(text_row(r["file"], r["line"], r["prob"], r["text"], r) for r in rows)
    assert text.stdout.decode() == want
    assert b"\x1b" not in text.stdout and b"evil\\nname\\x1b[2J.log:" in text.stdout


def test_a_file_that_fails_midway_prints_no_rows(tmp_path, shared_data):
    """A truncated gzip: its first lines are read (and counted) but none is printed,
    as when it fails at once; the good file beside it prints all of its rows."""
    import gzip

    data = (shared_data / "loghub" / "HDFS_2k.log").read_bytes()
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(data * 40)[:-5000])
    good = tmp_path / "good.log"
    good.write_bytes(data)
    res = _cli(str(cut), str(good), "--threshold", "0")
    assert res.returncode == 1 and b"complete lines" in res.stderr, res.stderr[-400:]
    files = {json.loads(r)["file"] for r in res.stdout.splitlines()}
    assert files == {str(good)}
    assert len(res.stdout.splitlines()) == data.count(b"\n")


def test_stdin_rows_arrive_before_stdin_ends(shared_data):
    """``tail -f app.log | lookskip classify -``: stdin's rows are written as its lines
    are scored, batch by batch (64K lines or 8 MB), while the writer keeps stdin open;
    never held back to an end that may not come."""
    lines = (shared_data / "loghub" / "HDFS_2k.log").read_bytes() * 40  # 80K lines
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "classify", "--model", str(MODEL), "-",
         "--threshold", "0"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "LOOKSKIP_THREADS": "1"},
    )  # fmt: skip
    try:
        proc.stdin.write(lines)
        proc.stdin.flush()
        got = b""
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while got.count(b"\n") < 1000:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no rows while stdin stayed open"
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                got += os.read(proc.stdout.fileno(), 1 << 16)
        assert proc.poll() is None  # stdin is still open: the rows came before its end
    finally:
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(RUN_TIMEOUT_S)
    rows = [json.loads(r) for r in (got + rest).splitlines()]
    assert proc.returncode == 0 and all(r["file"] == "stdin" for r in rows)
    assert [r["line"] for r in rows] == list(range(1, lines.count(b"\n") + 1))


def test_rows_to_a_descriptor_leave_it_open(tmp_path):
    """``classify_unit(rows_path=fd)`` writes its rows to the descriptor and leaves it
    open: the caller's (stdout's) to write more to and to close."""
    log = tmp_path / "a.log"
    log.write_bytes(b"2024-05-01 ERROR disk failure on /dev/sda1\nplain line\n" * 3)
    clf = lookskip_rs.Classifier(str(MODEL), threads=1)
    target = tmp_path / "rows.txt"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        d = lookskip_rs.classify_unit(
            clf, kind="whole", path=str(log), rows_path=fd, threshold=0.0,
            prefix=b"a.log", fmt="text",
        )  # fmt: skip
        os.write(fd, b"after\n")  # still open
    finally:
        os.close(fd)
    lines = target.read_text().splitlines()
    assert d["written"] == 6 and len(lines) == 7 and lines[-1] == "after"
    assert [ln.split(":")[:2] for ln in lines[:6]] == [["a.log", str(i)] for i in range(1, 7)]
    with pytest.raises(ValueError, match="unknown row format"):
        lookskip_rs.classify_unit(clf, kind="whole", path=str(log), rows_path=1, fmt="csv")


def test_a_reader_that_goes_away_ends_the_run_quietly(tmp_path, shared_data):
    """``lookskip classify big.log | head -1``: the run stops as grep's would (status
    141, 128 + SIGPIPE), with no traceback and no error on stderr."""
    big = tmp_path / "big.log"
    big.write_bytes((shared_data / "loghub" / "HDFS_2k.log").read_bytes() * 200)  # ~57 MB
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "classify", "--model", str(MODEL), str(big),
         "--threshold", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away
    err = proc.stderr.read()
    code = proc.wait(RUN_TIMEOUT_S)
    assert json.loads(first)["line"] == 1
    assert code == 141 and b"Traceback" not in err and b"Broken pipe" not in err, err


def test_one_constant_a_rule_on_both_sides():
    """The binary-input rule and the line cap: Python's constants are the extension's
    (the numpy fallback, which has no extension to ask, keeps its own copy)."""
    assert lookskip_rs.BINARY_PROBE == compression.BINARY_PROBE
    assert lookskip_rs.BINARY_ERROR == compression.BINARY_ERROR
    assert lookskip_rs.DEFAULT_MAX_LINE_BYTES == DEFAULT_MAX_LINE_BYTES
    assert load_scorer(str(MODEL), threads=1).max_line_bytes == DEFAULT_MAX_LINE_BYTES


@pytest.mark.parametrize("fmt", ["jsonl", "text"])
def test_one_large_file_split_across_threads_keeps_its_rows(tmp_path, shared_data, fmt):
    """A plain file of several units, scored two units at a time (each unit numbered
    from its counted first line): the same rows, in the same order, as one thread
    reading unit after unit, into --output and to stdout."""
    data = b"".join(
        (shared_data / "loghub" / name).read_bytes()
        for name in ("HDFS_2k.log", "Apache_2k.log", "OpenSSH_2k.log", "Zookeeper_2k.log")
    )
    big = tmp_path / "big.log"
    big.write_bytes(data * 6 + b"last line without a newline: ERROR disk failure")
    assert big.stat().st_size > 3 << 20  # four units of 1 MiB at least
    args = (str(big), "--chunk-mib", "1", "--threshold", "0.2", "--format", fmt)
    one = _cli(*args, "--threads", "1")
    two = _cli(*args, "--threads", "2")
    assert one.returncode == two.returncode == 0, two.stderr.decode()
    assert two.stdout == one.stdout and one.stdout.count(b"\n") > 1000
    out1, out2 = tmp_path / "o1", tmp_path / "o2"
    _cli(*args, "--threads", "1", "--output", str(out1), "--no-report")
    res = _cli(*args, "--threads", "2", "--output", str(out2), "--no-report")
    assert res.returncode == 0, res.stderr.decode()
    (entry,) = json.loads((out2 / "summary.json").read_text())["files"]
    assert entry["chunks"] >= 4 and entry["lines"] == data.count(b"\n") * 6 + 1
    assert (out2 / entry["output"]).read_bytes() == (out1 / entry["output"]).read_bytes()
    if fmt == "jsonl":
        assert (out2 / entry["output"]).read_bytes() == two.stdout
