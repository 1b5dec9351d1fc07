"""Fault injection on the output side (issue 24): names, output folders, hostile members.

Beside ``test_fault_inputs.py``: each test builds the awkward case, checks that the
case really is there (two inputs whose old output names collide, a zip with two
members of one name, a SIGTERM that lands before the run ends …) and fails, never
skips or warns, when it is not; then checks that nothing was lost or mixed up. Runs
use ``--threshold 0`` where rows are compared with inputs: every line is then a
row, so a lost or swapped file shows as a wrong row count or text.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
from test_fault_inputs import LOOKSKIP, MODEL, RUN_TIMEOUT_S, _text, run_cli
from test_fault_inputs import _lines as pool_lines


@pytest.fixture(scope="module")
def pool(shared_data: Path) -> list[bytes]:
    return pool_lines(shared_data)


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _row_texts(out: Path, entry: dict) -> list[str]:
    rows = (out / entry["output"]).read_text(encoding="utf-8").splitlines()
    return [json.loads(r)["text"] for r in rows]


def _lines(data: bytes) -> list[str]:
    return data.decode().splitlines()


def _check_manifest(out: Path, summary: dict, contents: dict[str, bytes]) -> None:
    """Every input of ``contents`` (manifest ``input`` -> bytes) has its own output
    holding exactly its lines, and no two inputs share an output."""
    manifest = summary["manifest"]
    outputs = [m["output"] for m in manifest]
    assert None not in outputs and len(set(outputs)) == len(outputs), manifest
    assert {m["input"] for m in manifest} == set(contents), manifest
    by_file = {f["file"]: f for f in summary["files"]}
    for m in manifest:
        entry = by_file[m["file"]]
        assert entry["output"] == m["output"]
        assert _row_texts(out, entry) == _lines(contents[m["input"]]), m
    total = sum(len(_lines(c)) for c in contents.values())
    assert summary["totals"]["lines"] == summary["totals"]["look"] == total


# --- 1, 2, 3: output names that cannot collide ------------------------------------


def _same_base_names(tmp_path: Path, pool: list[bytes]) -> dict[str, bytes]:
    files = {"a/app.log": _text(pool, 0, 40), "b/app.log": _text(pool, 40, 50)}
    files["c/app~2.log"] = _text(pool, 90, 60)  # what b/app.log used to be renamed to
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    return {str(tmp_path / rel): data for rel, data in files.items()}


def test_inputs_sharing_a_base_name_keep_their_own_outputs(tmp_path, pool):
    contents = _same_base_names(tmp_path, pool)
    names = [Path(p).name for p in contents]
    assert names.count("app.log") == 2 and "app~2.log" in names  # the colliding case
    out = tmp_path / "out"
    res = run_cli("classify", *contents, "--output", str(out), "--threshold", "0", "--no-report")
    assert res.returncode == 0, res.stderr
    summary = _summary(out)
    _check_manifest(out, summary, contents)
    assert sorted(f["file"] for f in summary["files"]) == ["app.log", "app~2.log", "app~3.log"]


def test_a_bang_in_a_name_cannot_meet_an_archive_member_folder(tmp_path, pool):
    d = tmp_path / "d"
    (d / "x!").mkdir(parents=True)
    (d / "x!y").write_bytes(_text(pool, 0, 30))
    (d / "x!" / "y").write_bytes(_text(pool, 30, 45))
    old = {"/".join(filter(None, p.replace("!", "!/").split("/"))) for p in ("d/x!y", "d/x!/y")}
    assert old == {"d/x!/y"}  # both went to d/x!/y.look.jsonl before
    out = tmp_path / "out"
    res = run_cli("classify", str(d), "--output", str(out), "--threshold", "0", "--no-report")
    assert res.returncode == 0, res.stderr
    contents = {str(p): p.read_bytes() for p in (d / "x!y", d / "x!" / "y")}
    _check_manifest(out, _summary(out), contents)
    assert sorted(m["output"] for m in _summary(out)["manifest"]) == [
        "d/x%21/y.look.jsonl",
        "d/x%21y.look.jsonl",
    ]


def _zip_with_twins(path: Path, first: bytes, second: bytes) -> None:
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("logs/app.log", first)
        zf.writestr("logs/app.log", second)


def test_a_zip_with_two_members_of_one_name_scores_both(tmp_path, pool):
    z = tmp_path / "twins.zip"
    first, second = _text(pool, 0, 35), _text(pool, 200, 55)
    _zip_with_twins(z, first, second)
    assert zipfile.ZipFile(z).namelist() == ["logs/app.log", "logs/app.log"]
    out = tmp_path / "out"
    res = run_cli("classify", str(z), "--output", str(out), "--threshold", "0", "--no-report")
    assert res.returncode == 0, res.stderr
    summary = _summary(out)
    files = summary["files"]
    assert [f["file"] for f in files] == ["twins.zip!logs/app.log", "twins.zip!logs/app~2.log"]
    assert _row_texts(out, files[0]) == _lines(first)
    assert _row_texts(out, files[1]) == _lines(second)
    assert summary["totals"]["lines"] == len(_lines(first)) + len(_lines(second))


@pytest.mark.integration
def test_enqueue_classify_keeps_colliding_names_apart(celery_workers, tmp_path, pool):
    """The same three cases through the workers (``enqueue classify --wait``)."""
    contents = _same_base_names(tmp_path, pool)
    z = tmp_path / "twins.zip"
    _zip_with_twins(z, _text(pool, 0, 35), _text(pool, 200, 55))
    out = tmp_path / "dist"
    res = run_cli(
        "enqueue",
        "classify",
        *contents,
        str(z),
        "--output",
        str(out),
        "--threshold",
        "0",
        "--model",
        str(MODEL),
        "--wait",
    )
    assert res.returncode == 0, res.stdout + res.stderr
    summary = _summary(out)
    assert summary["totals"]["files"] == 5 and summary["totals"]["files_failed"] == 0
    want = sum(len(_lines(c)) for c in contents.values()) + 35 + 55
    assert summary["totals"]["lines"] == summary["totals"]["look"] == want
    outputs = [m["output"] for m in summary["manifest"]]
    assert len(set(outputs)) == 5
    for f in summary["files"]:
        assert len(_row_texts(out, f)) == f["lines"], f["file"]


# --- 4: outputs are never inputs -------------------------------------------------


def test_output_inside_the_input_is_never_classified(tmp_path, pool):
    src = tmp_path / "in"
    src.mkdir()
    (src / "app.log").write_bytes(_text(pool, 0, 80))
    for run, out in enumerate((src / "out", src / "out", src / "out2", src / "out")):
        res = run_cli("classify", str(src), "--output", str(out), "--threshold", "0.5")
        assert res.returncode == 0, res.stderr
        assert [f["file"] for f in _summary(out)["files"]] == ["in/app.log"], run
        if run == 0:  # the outputs a second run could re-read are there
            assert (out / "in" / "app.log.look.jsonl").exists()
            assert (out / "summary.json").exists() and (out / "report.html").exists()
    assert not list(src.rglob("*.look.jsonl.look.jsonl"))


# --- 5: a line cap before the first newline ------------------------------------------


def _max_rss_kib(*args: str) -> tuple[int, subprocess.CompletedProcess]:
    """Peak memory of ``lookskip ARGS`` (a fresh parent, so no other child counts)."""
    probe = (
        "import resource, subprocess, sys;"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "sys.stderr.write(r.stderr); sys.stdout.write(r.stdout);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe, str(LOOKSKIP), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env={**os.environ, "LOOKSKIP_MODEL_PATH": str(MODEL)},
    )
    rss, rc = res.stdout.split()[-2:]
    res.returncode = int(rc)
    return int(rss), res


def test_a_zip_member_without_newlines_is_read_in_bounded_memory(tmp_path):
    member = 384 << 20  # one 384 MiB line: held whole before its newline, it costs more
    z = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("bomb.log", "w") as f,
    ):
        block = b"A" * (1 << 20)
        for _ in range(member >> 20):
            f.write(block)
    info = zipfile.ZipFile(z).getinfo("bomb.log")
    assert info.file_size == member and z.stat().st_size < member // 100  # a bomb
    out = tmp_path / "out"
    rss_kib, res = _max_rss_kib("classify", str(z), "--output", str(out), "--threads", "1")
    assert res.returncode == 0, res.stderr
    (entry,) = _summary(out)["files"]
    assert (entry["lines"], entry["truncated"], entry["bytes"]) == (1, 1, member)
    assert rss_kib * 1024 < member * 0.6, (
        f"peak {rss_kib / 1024:.0f} MiB for a {member >> 20} MiB line"
    )


def test_a_binary_zip_member_is_refused_before_its_end(tmp_path):
    """NUL first, then 1 MiB without a newline and a bad CRC at the end: refused as
    binary from its first bytes (read to its end first, it failed on the CRC)."""
    z = tmp_path / "core.zip"
    data = b"\x00ELF" + b"x" * (1 << 20) + b"MARKER"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("core.log", data)
    raw = z.read_bytes()
    assert raw.count(b"MARKER") == 1
    z.write_bytes(raw.replace(b"MARKER", b"MARKES"))
    with zipfile.ZipFile(z) as zf, pytest.raises(zipfile.BadZipFile, match="CRC"):
        zf.read("core.log")  # read to its end, the member fails on its CRC
    out = tmp_path / "out"
    res = run_cli("classify", str(z), "--output", str(out))
    assert res.returncode == 1
    (entry,) = _summary(out)["files"]
    assert entry["errors"] == ["binary file (NUL bytes in the first 8 KiB)"]


# --- 6: a run stopped mid-way leaves the previous run's folder as it was ------------


def _big_tree(tmp_path: Path, pool: list[bytes]) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        (src / f"f{i}.log").write_bytes(_text(pool, i * 7, 40_000))  # ~4 MB each
    return src


def _snapshot(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != ".lookskip-output"
    }


def _stop_mid_run(src: Path, out: Path, sig: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            *(str(LOOKSKIP), "classify", str(src), "--output", str(out), "--threshold", "0"),
            *("--chunk-mib", "1", "--threads", "1", "--no-report"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "LOOKSKIP_MODEL_PATH": str(MODEL)},
    )
    staging = out / ".lookskip-staging"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not (staging.is_dir() and list(staging.rglob("*.look.jsonl*"))):
        assert proc.poll() is None, "the run ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    proc.wait(timeout=RUN_TIMEOUT_S)
    return proc


def test_sigterm_mid_run_keeps_the_previous_run_and_leaves_nothing(tmp_path, pool):
    src = _big_tree(tmp_path, pool)
    out = tmp_path / "out"
    res = run_cli("classify", str(src), "--output", str(out), "--threshold", "0.9")
    assert res.returncode == 0, res.stderr
    before = _snapshot(out)
    assert "summary.json" in before and "report.html" in before
    proc = _stop_mid_run(src, out, signal.SIGTERM)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr.read()  # stopped, not done
    assert _snapshot(out) == before, "the previous run's files changed"
    assert not list(out.rglob(".tmp-*")) and not (out / ".lookskip-staging").exists()
    assert json.loads((out / ".lookskip-output").read_text())["state"] == "complete"


def test_sigkill_mid_run_keeps_the_previous_run_and_the_next_run_cleans_up(tmp_path, pool):
    src = _big_tree(tmp_path, pool)
    out = tmp_path / "out"
    assert run_cli("classify", str(src), "--output", str(out), "--threshold", "0.9").returncode == 0
    before = _snapshot(out)
    proc = _stop_mid_run(src, out, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    left = list((out / ".lookskip-staging").iterdir())
    assert left, "a killed run leaves its staging folder (hidden)"
    visible = {k: v for k, v in _snapshot(out).items() if not k.startswith(".lookskip-staging")}
    assert visible == before, "the previous run's files changed"
    res = run_cli("classify", str(src), "--output", str(out), "--threshold", "0.95")
    assert res.returncode == 0, res.stderr
    assert not (out / ".lookskip-staging").exists() and not list(out.rglob(".tmp-*"))
    assert _summary(out)["threshold"] == 0.95


def test_a_redone_merge_takes_over_the_staging_folder_of_its_killed_attempt(tmp_path):
    """``docker/smoke-test`` killed a classifier while it merged: its staging folder
    (named for a host that never came back) stayed in the output beside the finished
    run's files. A job's merge stages under the job's id; the redone attempt clears it."""
    from lookskip.bulk.staging import staged_output

    out = tmp_path / "out"
    killed = out / ".lookskip-staging" / "job-wf1" / "in"
    killed.mkdir(parents=True)
    (killed / "app.log.look.jsonl").write_text("half of a merge\n")
    with staged_output(str(out), job="wf1") as stage:
        assert not list(Path(stage).rglob("*.jsonl"))  # starts empty
        (Path(stage) / "in").mkdir()
        (Path(stage) / "in" / "app.log.look.jsonl").write_text("the whole merge\n")
    assert (out / "in" / "app.log.look.jsonl").read_text() == "the whole merge\n"
    assert not (out / ".lookskip-staging").exists()


def test_a_rerun_removes_outputs_the_new_run_did_not_write(tmp_path, pool):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.log").write_bytes(_text(pool, 0, 50))
    (src / "b.log").write_bytes(_text(pool, 50, 50))
    out = tmp_path / "out"
    assert run_cli("classify", str(src), "--output", str(out)).returncode == 0
    assert (out / "in" / "b.log.look.jsonl").exists() and (out / "report.html").exists()
    (src / "b.log").write_bytes(b"\x00binary now\n")
    res = run_cli("classify", str(src), "--output", str(out), "--no-report")
    assert res.returncode == 1
    assert not (out / "in" / "b.log.look.jsonl").exists(), "a stale output beside the new run"
    assert not (out / "report.html").exists()
    assert (out / "in" / "a.log.look.jsonl").exists()


# --- 7: a file cut while it is read ---------------------------------------------------


@pytest.mark.parametrize("backend", ["rust", "reference"])
def test_a_file_truncated_after_listing_is_an_error(tmp_path, pool, monkeypatch, backend):
    from lookskip.bulk.run import classify_inputs

    if backend == "reference":
        monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    log = tmp_path / "app.log"
    log.write_bytes(_text(pool, 0, 3000))
    cut = {}

    def copytruncate(loaded, exp) -> None:
        assert loaded.backend == backend
        (src,) = exp.sources
        keep = log.read_bytes()[: src.size // 3]
        log.write_bytes(keep)  # truncate in place, as logrotate's copytruncate does
        cut["listed"], cut["now"] = src.size, log.stat().st_size

    summary = classify_inputs(
        [str(log)], str(tmp_path / "out"), model_path=str(MODEL), threads=1, on_start=copytruncate
    )
    assert cut["now"] < cut["listed"]  # the fault happened between listing and reading
    (entry,) = summary["files"]
    assert len(entry["errors"]) == 1 and "shrank while being read" in entry["errors"][0], entry


@pytest.mark.parametrize("backend", ["rust", "reference"])
@pytest.mark.parametrize("how", ["bulk", "stdout", "library"])
def test_a_file_truncated_while_it_is_read_is_an_error(tmp_path, pool, monkeypatch, backend, how):
    """Cut to zero bytes (copytruncate) once reading has begun: into ``--output``, to
    stdout (which then gets none of its rows), and through the library call
    (``lookskip.classify.local.classify_file``), with either scorer."""
    from lookskip.bulk.run import classify_inputs
    from lookskip.bulk.sink import StdoutRows
    from lookskip.classify.local import classify_file
    from lookskip.classify.scorer import load_scorer
    from lookskip.progress import RunProgress

    if backend == "reference":
        monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    log = tmp_path / "big.log"
    log.write_bytes(_text(pool, 0, 400_000))  # ~40 MB, one unit
    size = log.stat().st_size
    run = RunProgress()
    seen: dict[str, int] = {}

    def rotate() -> None:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            read = run.snapshot().bytes
            if read > 0:
                seen["read"] = read
                with open(log, "r+b") as f:
                    f.truncate(0)
                return
            time.sleep(0.0005)

    scorer = load_scorer(str(MODEL), threads=1)
    assert scorer.backend == backend
    t = threading.Thread(target=rotate)
    t.start()
    if how == "bulk":
        summary = classify_inputs(
            [str(log)], str(tmp_path / "out"), loaded=scorer, chunk_bytes=1 << 30, progress=run
        )
        (entry,) = summary["files"]
        lines, errors = entry["lines"], entry["errors"]
    elif how == "stdout":
        printed = io.StringIO()
        summary = classify_inputs(
            [str(log)], None, loaded=scorer, progress=run, rows=StdoutRows(printed, "text")
        )
        (entry,) = summary["files"]
        lines, errors = entry["lines"], entry["errors"]
        assert printed.getvalue() == "", "rows of a file that failed were printed"
    else:
        try:
            lines, errors = classify_file(scorer, str(log), threshold=0.0, progress=run).lines, []
        except OSError as exc:
            lines, errors = 0, [str(exc)]
    t.join()
    assert 0 < seen.get("read", 0) < size, "the file was not cut while being read"
    assert lines < 400_000
    assert len(errors) == 1 and "shrank while being read" in errors[0], errors


def test_the_reference_path_cuts_a_long_line_before_its_newline(tmp_path, monkeypatch):
    """The numpy fallback's library call reads through the bulk loop (``owned_blocks``
    with a cap): a long line is scored cut and counted, every byte counted once."""
    from lookskip.classify.local import classify_file
    from lookskip.classify.scorer import load_scorer

    monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    data = b"a" * 10_000 + b" error\r\nshort\n" + b"b" * 500
    (tmp_path / "long.log").write_bytes(data)
    scorer = load_scorer(str(MODEL), threads=1, max_line_bytes=100)
    assert scorer.backend == "reference"
    res = classify_file(scorer, str(tmp_path / "long.log"), threshold=0.0)
    assert (res.lines, res.truncated, res.bytes) == (3, 2, len(data))
    assert [(n, len(t)) for n, _, t in res.look_lines] == [(1, 100), (2, 5), (3, 100)]


# --- 11: link members of a tar ---------------------------------------------------------


def test_tar_link_members_are_followed_or_listed_with_a_reason(tmp_path, pool):
    data = _text(pool, 0, 60)
    t = tmp_path / "links.tar"
    with tarfile.open(t, "w") as tf:

        def add(name: str, kind: bytes, link: str = "", body: bytes = b"") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(body)
            tf.addfile(info, io.BytesIO(body) if body else None)

        add("logs/early.log", tarfile.SYMTYPE, "app.log")  # names a later member
        add("logs/app.log", tarfile.REGTYPE, body=data)
        add("logs/hard.log", tarfile.LNKTYPE, "logs/app.log")
        add("logs/sub", tarfile.DIRTYPE)
        add("logs/sub/up.log", tarfile.SYMTYPE, "../app.log")
        add("logs/escape.log", tarfile.SYMTYPE, "../../etc/passwd")
        add("logs/abs.log", tarfile.SYMTYPE, "/etc/passwd")
        add("logs/dangling.log", tarfile.SYMTYPE, "missing.log")
        add("logs/loop1.log", tarfile.SYMTYPE, "loop2.log")
        add("logs/loop2.log", tarfile.SYMTYPE, "loop1.log")
        add("logs/dir.log", tarfile.SYMTYPE, "sub")
    with tarfile.open(t) as tf:
        types = {m.name: m.type for m in tf.getmembers()}
    assert types["logs/hard.log"] == tarfile.LNKTYPE and types["logs/early.log"] == tarfile.SYMTYPE
    out = tmp_path / "out"
    res = run_cli("classify", str(t), "--output", str(out), "--threshold", "0", "--no-report")
    assert res.returncode == 1, res.stderr  # the skipped links are listed as errors
    by_file = {f["file"]: f for f in _summary(out)["files"]}
    for name in ("early.log", "app.log", "hard.log", "sub/up.log"):
        entry = by_file[f"links.tar!logs/{name}"]
        assert entry["errors"] == [] and _row_texts(out, entry) == _lines(data), name
    reasons = {
        "escape.log": "outside the archive",
        "abs.log": "outside the archive",
        "dangling.log": "not a file in the archive",
        "loop1.log": "symbolic link loop",
        "loop2.log": "symbolic link loop",
        "dir.log": "a folder",
    }
    for name, why in reasons.items():
        entry = by_file[f"links.tar!logs/{name}"]
        assert len(entry["errors"]) == 1 and why in entry["errors"][0], (name, entry["errors"])
        assert "skipped" in entry["errors"][0]


# --- 12: names in text rows ------------------------------------------------------------


def test_a_newline_in_a_name_cannot_forge_text_rows(tmp_path, pool):
    forged = "x\nforged.log:1:0.9999:FORGED ROW"
    t = tmp_path / "t.tar"
    data = _text(pool, 0, 5)
    with tarfile.open(t, "w") as tf:
        info = tarfile.TarInfo(forged)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with tarfile.open(t) as tf:
        assert "\n" in tf.getnames()[0]
    plain = tmp_path / f"a{forged}"
    plain.write_bytes(data)
    # rows name a file by the path as given (the member after its archive's path)
    for target, name in ((t, f"{t}!{forged}"), (plain, str(plain))):
        res = run_cli("classify", str(target), "--format", "text", "--threshold", "0")
        assert res.returncode == 0, res.stderr
        rows = res.stdout.splitlines()
        assert len(rows) == 5, rows
        shown = name.replace("\n", "\\n")
        assert all(r.startswith(f"{shown}:") for r in rows), rows
        assert not any(r.startswith("forged.log:") for r in rows)


# --- 14: workers read and write only under the allowed roots ---------------------------


def test_allowed_roots_are_checked_after_resolving_links(tmp_path):
    from lookskip.roots import allowed_roots, confine, problem

    root = tmp_path / "data"
    (root / "in").mkdir(parents=True)
    (root / "in" / "ok.log").write_text("fine\n")
    secret = tmp_path / "secret.log"
    secret.write_text("password\n")
    (root / "in" / "link.log").symlink_to(secret)
    roots = [str(root)]
    assert problem(str(root / "in" / "ok.log"), roots) is None
    assert problem(str(root / "out" / "new"), roots) is None  # an output not made yet
    assert "outside the folders workers may use" in problem(str(secret), roots)
    assert str(secret) in problem(str(root / "in" / "link.log"), roots)  # the link's target
    assert problem(f"{root}-other/x.log", roots)  # a name prefix is not a parent
    assert problem(str(root / ".." / "secret.log"), roots)
    assert allowed_roots(None, "/srv/lookskip") == ["/srv/lookskip", "/data"]
    assert allowed_roots(" /a , s3://b/in ", "x") == ["/a", "s3://b/in"]
    assert problem("s3://any/x.log", ["/a"]) is None  # no URL prefix listed: the store decides
    assert problem("s3://other/x.log", ["/a", "s3://b/in"])
    exp = confine([str(root / "in"), str(secret)], roots)
    assert [s.name for s in exp.sources] == ["in/ok.log"]
    refused = {e.name: e.error for e in exp.errors}
    assert set(refused) == {str(secret), "in/link.log"}
    assert all(r.startswith("input refused: ") for r in refused.values())


@pytest.mark.integration
def test_workers_refuse_paths_outside_the_allowed_roots(celery_workers, tmp_path, pool):
    from fixtures_services import wait_workflow

    from worker.workflows import enqueue

    secret = Path("/etc/passwd")
    assert os.access(secret, os.R_OK)  # a worker could read it
    assert not str(secret).startswith(str(tmp_path.parent.parent))  # outside the test roots
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.log").write_bytes(_text(pool, 0, 20))
    (tmp_path / "in" / "passwd.log").symlink_to(secret)  # a link out of an allowed folder
    out = tmp_path / "dist"
    params = {"inputs": [str(tmp_path / "in"), str(secret)], "output": str(out)}
    view = wait_workflow(
        enqueue("classify", {**params, "model_path": str(MODEL), "threshold": 0.0}), timeout=120
    )
    assert view.state == "SUCCESS", view
    summary = _summary(out)
    by_file = {f["file"]: f for f in summary["files"]}
    assert by_file["in/good.log"]["errors"] == [] and by_file["in/good.log"]["lines"] == 20
    for name in ("in/passwd.log", str(secret)):
        (err,) = by_file[name]["errors"]
        assert err.startswith("input refused: ") and "outside the folders" in err, err
    rows = "".join(p.read_text() for p in out.rglob("*.look.jsonl"))
    assert "root:" not in rows and summary["totals"]["lines"] == 20

    elsewhere = Path("/tmp") / f"lookskip-refused-{os.getpid()}-{time.time_ns()}"
    assert not str(elsewhere).startswith(str(tmp_path.parent.parent))
    wf = enqueue("classify", {**params, "output": str(elsewhere), "model_path": str(MODEL)})
    view = wait_workflow(wf, timeout=120)
    assert view.state == "FAILURE", view
    assert "output refused" in json.dumps(view.to_dict()), view
    assert not elsewhere.exists()
