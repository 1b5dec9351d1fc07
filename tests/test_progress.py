"""Progress within a file: the counter the Rust reader bumps, the run tally, the CLI display.

The inputs are named pipes fed in two halves, so "the first half has been read, the
second not yet" is a state the test holds for as long as it likes: no timing guess.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lookskip.bulk.run import classify_inputs
from lookskip.bulk.sink import StdoutRows
from lookskip.classify.scorer import load_scorer
from lookskip.progress import RunProgress, exact_bytes_total, heartbeat

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"


@pytest.fixture(scope="module")
def scorer():
    return load_scorer(str(MODEL), threads=1)


@pytest.fixture(scope="module")
def halves(shared_data: Path) -> tuple[bytes, bytes]:
    """Two halves of real log text, cut at a line end; the second has no final newline."""
    data = (shared_data / "loghub" / "Android_2k.log").read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    return data[:cut], data[cut:].rstrip(b"\n")


def _wait_for(pred, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def _fifo(tmp_path: Path, name: str = "in.log") -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def test_rust_counter_moves_within_one_file(tmp_path, halves, scorer):
    """classify_file: the counter shows the first half read while the second is unwritten."""
    if scorer.backend != "rust":
        pytest.skip("the Rust extension lookskip_rs is not built")
    import lookskip_rs

    first, second = halves
    fifo = _fifo(tmp_path)
    counter = lookskip_rs.ReadProgress()
    result: dict = {}
    t = threading.Thread(
        target=lambda: result.update(scorer.engine.classify_file(str(fifo), progress=counter))
    )
    t.start()
    with open(fifo, "wb") as w:
        w.write(first)
        w.flush()
        _wait_for(lambda: counter.bytes == len(first), what="the first half to be counted")
        assert counter.lines == first.count(b"\n")
        assert t.is_alive(), "the call is still reading (the second half is not written)"
        w.write(second)
    t.join(60)
    assert result["bytes"] == counter.bytes == len(first) + len(second)
    # the last line has no newline: the counter counts "\n"s, the result every line
    assert result["lines"] == counter.lines + 1
    counter.reset()
    assert counter.snapshot() == (0, 0)


def test_rust_unit_counter_and_run_tally(tmp_path, halves, scorer):
    """classify_unit (the bulk path) bumps the same counter; RunProgress adds it to the
    finished units and replaces it with the exact totals when the unit ends."""
    if scorer.backend != "rust":
        pytest.skip("the Rust extension lookskip_rs is not built")
    import lookskip_rs

    first, second = halves
    fifo = _fifo(tmp_path)
    run = RunProgress(files_total=2)
    run.unit_done(1000, 10)  # an earlier unit
    run.file_done()
    out: dict = {}

    def go() -> None:
        out.update(
            lookskip_rs.classify_unit(
                scorer.engine,
                "whole",
                str(fifo),
                str(tmp_path / "rows"),
                progress=run.counter,
            )
        )
        run.unit_done(out["bytes"], out["lines"])
        run.file_done()

    t = threading.Thread(target=go)
    t.start()
    with open(fifo, "wb") as w:
        w.write(first)
        w.flush()
        _wait_for(lambda: run.snapshot().bytes == 1000 + len(first), what="the live count")
        s = run.snapshot()
        assert (s.lines, s.files_done, s.files_total) == (10 + first.count(b"\n"), 1, 2)
        w.write(second)
    t.join(60)
    s = run.snapshot()
    assert s.bytes == 1000 + len(first) + len(second)
    assert s.lines == 10 + out["lines"] and s.files_done == 2
    assert run.counter.snapshot() == (0, 0)


def _to_stdout(scorer, paths, run):
    """``lookskip classify PATHS`` (rows to a stdout stand-in): the summary and the rows."""
    out = io.StringIO()
    summary = classify_inputs(paths, None, loaded=scorer, progress=run, rows=StdoutRows(out))
    return summary, out.getvalue()


def test_local_paths_report_progress_exactly(tmp_path, halves, scorer, monkeypatch):
    """A run to stdout keeps a RunProgress current: totals from the file sizes first,
    exact bytes/lines at the end, failures counted; the same with the numpy scorer."""
    a = tmp_path / "a.log"
    a.write_bytes(halves[0])
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(halves[0])[:-100])
    run = RunProgress()
    summary, rows = _to_stdout(scorer, [str(a), str(cut)], run)
    s = run.snapshot()
    (ok, bad) = summary["files"]
    assert (s.files_done, s.files_total, s.errors) == (2, 2, 1) and bad["errors"]
    assert s.bytes == ok["bytes"] + bad["bytes"] and s.bytes_total is None  # (gzip: unknown)
    assert s.lines == ok["lines"] + bad["lines"] and ok["lines"] == halves[0].count(b"\n")
    assert rows.count("\n") == ok["written"] > 0  # the failed file printed no rows

    monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    ref = load_scorer(str(MODEL), threads=1)
    assert ref.backend == "reference"
    small = tmp_path / "small.log"
    small.write_bytes(b"\n".join(halves[0].split(b"\n")[:300]))
    run = RunProgress(counter=False)  # no Rust counter on this path
    summary, _ = _to_stdout(ref, [str(small)], run)
    assert run.snapshot().lines == summary["totals"]["lines"] == 300
    assert run.snapshot().bytes == run.snapshot().bytes_total == small.stat().st_size


def test_a_fifo_is_not_peeked_and_has_no_total(tmp_path, halves, scorer):
    """Sizing the inputs must not read a FIFO's first bytes (they would be lost)."""
    fifo = _fifo(tmp_path)
    run = RunProgress()
    res: list = []
    t = threading.Thread(target=lambda: res.append(_to_stdout(scorer, [str(fifo)], run)))
    t.start()
    with open(fifo, "wb") as w:
        w.write(halves[0])
    t.join(60)
    (entry,) = res[0][0]["files"]
    assert entry["errors"] == [] and entry["bytes"] == len(halves[0])
    assert run.snapshot().bytes_total is None and run.snapshot().bytes == len(halves[0])
    from lookskip.bulk.inputs import expand_inputs

    assert exact_bytes_total(expand_inputs([str(fifo)]).sources) is None


def test_bytes_total_only_when_sizes_are_exact():
    from lookskip.bulk.inputs import Source

    plain = Source("a.log", "/a.log", "plain", size=10)
    member = Source("t.tar!b.log", "/t.tar", "tar", size=5)
    gz = Source("c.log.gz", "/c.log.gz", "gz", size=7)
    assert exact_bytes_total([plain, member]) == 15
    assert exact_bytes_total([plain, gz]) is None  # its uncompressed size is unknown
    assert exact_bytes_total([Source("t.tar!x.gz", "/t.tar", "tar", size=5)]) is None


def test_heartbeat_reports_while_running_and_at_the_end():
    run = RunProgress(counter=False)
    seen: list[int] = []
    with heartbeat(lambda s: seen.append(s.bytes), run, every_s=0.02):
        run.add(5, 1)
        _wait_for(lambda: 5 in seen, timeout=5, what="a beat")
        run.unit_done(7, 1)
    assert seen[-1] == 7


# --- the CLI display, in a real pseudo-terminal ------------------------------------------


def _run_in_pty(args: list[str], feed, env: dict[str, str]) -> tuple[int, str]:
    """Run `lookskip ARGS` with stdout and stderr on a pty and stdin a pipe fed by
    ``feed(stdin, read_so_far)``; returns (exit status, everything the terminal got)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    got = bytearray()

    def read_some(timeout: float = 0.1) -> None:
        r, _, _ = select.select([master], [], [], timeout)
        if r:
            with contextlib.suppress(OSError):  # the child closed the terminal
                got.extend(os.read(master, 65536))

    feed(proc.stdin, lambda: (read_some(), got.decode("utf-8", "replace"))[1])
    proc.stdin.close()
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        read_some()
    for _ in range(20):
        read_some(0.05)
    os.close(master)
    return proc.wait(10), got.decode("utf-8", "replace")


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, COLUMNS="160", TERM="xterm", LOOKSKIP_DATA_DIR=str(tmp_path / "d"))


def test_cli_bar_moves_on_a_terminal_before_the_input_ends(tmp_path, halves):
    """`lookskip classify - --output DIR` on a terminal: the bar shows the first half's
    lines while the second is not yet written; then the summary; the bar is gone."""
    first, second = halves
    n_first = first.count(b"\n")
    shown: dict[str, str] = {}

    def feed(stdin, screen) -> None:
        stdin.write(first)
        stdin.flush()
        deadline = time.monotonic() + 60
        while f"{n_first:,} lines" not in screen():
            if time.monotonic() > deadline:
                pytest.fail(f"no progress showing {n_first:,} lines; terminal got:\n{screen()}")
        shown["mid"] = screen()
        stdin.write(second)

    code, text = _run_in_pty(
        ["classify", "-", "--output", str(tmp_path / "out"), "--model", str(MODEL)],
        feed,
        _env(tmp_path),
    )
    assert code == 0, text
    mid = shown["mid"]
    assert "classifying" in mid and "lines/s" in mid and "0/1 files" in mid
    assert "wrote" in text and "summary.json" in text  # the run finished and said so
    assert (tmp_path / "out" / "summary.json").exists()


def test_cli_no_bar_when_quiet_or_not_a_terminal(tmp_path, halves):
    """--quiet on a terminal, or output to pipes: no progress text, no cursor codes."""
    first, second = halves

    def feed(stdin, screen) -> None:
        stdin.write(first)
        stdin.flush()
        time.sleep(1.6)  # past the display's one-second delay
        screen()
        stdin.write(second)

    out = tmp_path / "q"
    code, text = _run_in_pty(
        ["classify", "-", "--output", str(out), "--model", str(MODEL), "--quiet"],
        feed,
        _env(tmp_path),
    )
    assert code == 0, text
    assert "classifying" not in text and "lines/s ·" not in text
    assert "summary.json" in text

    p = subprocess.run(
        [sys.executable, "-m", "cli.main", "classify", "-", "--model", str(MODEL)],
        cwd=ROOT,
        env=_env(tmp_path),
        input=first + second,
        capture_output=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert b"classifying" not in p.stderr and b"\x1b[" not in p.stderr
    assert p.stdout.count(b'"line":') >= 1  # the rows, and only rows, on stdout
    assert all(line.startswith(b'{"file":') for line in p.stdout.splitlines())
