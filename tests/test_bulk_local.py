"""Bulk classification in one process: inputs, outputs, bad files, chunked == one pass."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lookskip.bulk.chunks import plan_units
from lookskip.bulk.inputs import expand_inputs, output_relpath
from lookskip.bulk.merge import merge_units
from lookskip.bulk.parts import run_unit
from lookskip.bulk.report import print_text, render_report
from lookskip.bulk.run import run_local
from lookskip.classify.scorer import load_scorer

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"


@pytest.fixture(scope="module")
def scorer():
    if not MODEL.exists():
        pytest.fail(f"shipped model missing: {MODEL}")
    return load_scorer(str(MODEL), threads=1)


def load_sample_lines(shared_data: Path) -> dict[str, list[bytes]]:
    """A few real lines from three systems (kept small: the reference scorer is slow)."""
    out = {}
    for name, n in (("HDFS", 120), ("BGL", 90), ("Linux", 60)):
        raw = (shared_data / "loghub" / f"{name}_2k.log").read_bytes().split(b"\n")[:n]
        out[name] = [r.rstrip(b"\r") for r in raw]  # some samples are CRLF
    return out


@pytest.fixture(scope="module")
def sample_lines(shared_data: Path) -> dict[str, list[bytes]]:
    return load_sample_lines(shared_data)


def write_tree(root: Path, lines: dict[str, list[bytes]]) -> Path:
    """plain, CRLF, no final newline, empty, .gz, tar.gz (nested member), zip, and bad files."""
    d = root / "logs"
    (d / "sub").mkdir(parents=True)
    (d / "hdfs.log").write_bytes(b"\n".join(lines["HDFS"]) + b"\n")
    (d / "bgl_crlf.log").write_bytes(b"\r\n".join(lines["BGL"]) + b"\r\n")
    (d / "sub" / "linux_nonl.log").write_bytes(b"\n".join(lines["Linux"]))
    (d / "sub" / "empty.log").write_bytes(b"")
    (d / "sub" / "bgl.log.gz").write_bytes(gzip.compress(b"\n".join(lines["BGL"]) + b"\n"))
    (d / "notes.txt").write_bytes(b"not a log\n")
    with tarfile.open(d / "bundle.tar.gz", "w:gz") as tf:
        for name, data in (
            ("var/log/hdfs.log", b"\n".join(lines["HDFS"][:50]) + b"\n"),
            ("var/log/linux.log", b"\n".join(lines["Linux"]) + b"\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(d / "z.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app/one.log", b"\n".join(lines["Linux"][:30]) + b"\n")
    bad = root / "bad"
    bad.mkdir()
    (bad / "corrupt.log.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate" * 10)
    (bad / "binary.log").write_bytes(b"\x7fELF\x00\x01\x02" + bytes(range(256)) * 8)
    full = gzip.compress(b"".join(b"line %d ERROR failed\n" % i for i in range(5000)))
    (bad / "truncated.log.gz").write_bytes(full[: len(full) // 2])
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz") as tf:
        for i in range(3):
            data = b"".join(b"member %d line %d\n" % (i, j) for j in range(3000))
            info = tarfile.TarInfo(f"m{i}.log")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    raw = tar_bytes.getvalue()
    (bad / "cut.tar.gz").write_bytes(raw[: int(len(raw) * 0.6)])
    return d


def test_inputs_directories_globs_and_archive_members(tmp_path, sample_lines):
    d = write_tree(tmp_path, sample_lines)
    exp = expand_inputs([str(d)], include=["*.log", "*.gz"], exclude=["notes.*"])
    names = [s.name for s in exp.sources]
    assert "logs/notes.txt" not in names
    assert "logs/hdfs.log" in names and "logs/sub/bgl.log.gz" in names
    # archives are opened whatever --include says; their members are filtered by it
    assert "logs/bundle.tar.gz!var/log/hdfs.log" in names
    assert "logs/bundle.tar.gz!var/log/linux.log" in names
    assert "logs/z.zip!app/one.log" in names
    assert exp.errors == []
    only = expand_inputs([str(d)], include=["var/log/linux.log"]).sources
    assert [s.name for s in only] == ["logs/bundle.tar.gz!var/log/linux.log"]
    assert output_relpath(only[0]) == "logs/bundle.tar.gz!/var/log/linux.log.look.jsonl"


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_local_run_outputs_every_look_line_in_order(tmp_path, sample_lines, scorer):
    d = write_tree(tmp_path, sample_lines)
    out = tmp_path / "out"
    exp = expand_inputs([str(d), str(tmp_path / "missing.log")], exclude=["notes.*"])
    summary = run_local(exp.sources, exp.errors, str(out), scorer.engine, scorer.threshold)
    files = {f["file"]: f for f in summary["files"]}
    missing = str(tmp_path / "missing.log")
    assert files[missing]["errors"] == [f"{missing}: no such file or directory"]
    assert files[missing]["error"] == files[missing]["errors"][0]
    # a plain file: every LOOK line is there, numbered as in the file, with its probability
    hdfs = files["logs/hdfs.log"]
    assert hdfs["lines"] == 120 and not hdfs["errors"]
    probs = np.asarray(scorer.engine.predict_proba(sample_lines["HDFS"]))
    want = [i + 1 for i, p in enumerate(probs) if p >= scorer.threshold]
    rows = _rows(out / hdfs["output"])
    assert [r["line"] for r in rows] == want and hdfs["look"] == len(want)
    for r in rows:
        assert r["file"] == f"{d}/hdfs.log"  # the path as given, for editors
        assert r["text"] == sample_lines["HDFS"][r["line"] - 1].decode()
        assert r["prob"] == float(probs[r["line"] - 1])
    # CRLF: same lines and numbers as the LF file with the same content; gz too
    crlf = _rows(out / files["logs/bgl_crlf.log"]["output"])
    gz = _rows(out / files["logs/sub/bgl.log.gz"]["output"])
    assert [(r["line"], r["prob"], r["text"]) for r in crlf] == [
        (r["line"], r["prob"], r["text"]) for r in gz
    ]
    assert files["logs/bgl_crlf.log"]["lines"] == 90
    assert not any(r["text"].endswith("\r") for r in crlf)
    # no final newline: the last line counts
    assert files["logs/sub/linux_nonl.log"]["lines"] == 60
    # empty file: done, zero lines, an empty output
    empty = files["logs/sub/empty.log"]
    assert empty["lines"] == 0 and not empty["errors"]
    assert (out / empty["output"]).read_bytes() == b""
    # archive members: listed with their paths, classified like files
    member = files["logs/bundle.tar.gz!var/log/linux.log"]
    assert member["lines"] == 60
    assert member["output"] == "logs/bundle.tar.gz!/var/log/linux.log.look.jsonl"
    assert [r["line"] for r in _rows(out / member["output"])] == [
        r["line"] for r in _rows(out / files["logs/sub/linux_nonl.log"]["output"])
    ]
    assert files["logs/z.zip!app/one.log"]["lines"] == 30
    t = summary["totals"]
    assert t["files_failed"] == 1 and t["lines"] == sum(f["lines"] for f in files.values())
    assert (out / "summary.json").exists() and (out / "report.html").exists()


def test_bad_files_are_reported_and_the_rest_is_done(tmp_path, sample_lines, scorer):
    write_tree(tmp_path, sample_lines)
    out = tmp_path / "out"
    (tmp_path / "good.log").write_bytes(b"\n".join(sample_lines["Linux"]) + b"\n")
    exp = expand_inputs([str(tmp_path / "bad"), str(tmp_path / "good.log")])
    summary = run_local(exp.sources, exp.errors, str(out), scorer.engine, scorer.threshold)
    errors = {f["file"]: " ".join(f["errors"]) for f in summary["files"]}
    assert "corrupt" in errors["bad/corrupt.log.gz"] or "gzip" in errors["bad/corrupt.log.gz"]
    assert errors["bad/binary.log"].startswith("binary file")
    assert "truncated" in errors["bad/truncated.log.gz"]
    # the cut lies inside m1: m1 carries the error, with the lines it gave; one error
    # for one cut (none on the archive as well), and m0 before the damage is done
    assert "truncated or corrupt archive" in errors["bad/cut.tar.gz!m1.log"]
    cut = next(f for f in summary["files"] if f["file"] == "bad/cut.tar.gz!m1.log")
    assert 0 < cut["lines"] < 3000 and f"after {cut['lines']} complete lines" in cut["error"]
    assert "bad/cut.tar.gz" not in errors
    assert errors["bad/cut.tar.gz!m0.log"] == ""  # members before the damage are done
    assert errors["good.log"] == ""
    good = next(f for f in summary["files"] if f["file"] == "good.log")
    assert good["lines"] == 60 and (out / good["output"]).exists()
    by_name = {s.name: s for s in exp.sources}
    for f in summary["files"]:
        if f["errors"] and f["file"] in by_name:
            assert f["output"] is None
            assert not (out / output_relpath(by_name[f["file"]])).exists()


def test_chunked_units_merge_to_the_one_pass_output(tmp_path, sample_lines, scorer):
    """What the workers do (small chunks, parts, merge) == the local single pass, byte for byte."""
    data = b"\n".join(sample_lines["HDFS"] + sample_lines["BGL"]) + b"\r\nno newline at end"
    (tmp_path / "big.log").write_bytes(data)
    exp = expand_inputs([str(tmp_path / "big.log")])
    local = run_local(exp.sources, [], str(tmp_path / "local"), scorer.engine, scorer.threshold)
    for chunk in (997, 4096, len(data) - 1):
        units = plan_units(exp.sources[0], chunk)
        assert len(units) > 1
        for u in reversed(units):  # any order: each unit stands alone
            run_unit(u, str(tmp_path / "parts"), scorer.engine, scorer.threshold)
        fr = merge_units(units, str(tmp_path / "parts"), str(tmp_path / "dist"))
        assert fr.lines == local["files"][0]["lines"] == 211
        assert (tmp_path / "dist" / "big.log.look.jsonl").read_bytes() == (
            tmp_path / "local" / "big.log.look.jsonl"
        ).read_bytes()
        # density: LOOK share per 1/100 of the file (16-line resolution): the mass is exact
        width = fr.lines / len(fr.density)
        assert sum(fr.density) * width == pytest.approx(fr.look)
        assert sum(local["files"][0]["density"]) * width == pytest.approx(fr.look)


def test_rerun_overwrites_and_max_look(tmp_path, sample_lines, scorer):
    (tmp_path / "a.log").write_bytes(b"\n".join(sample_lines["BGL"]) + b"\n")
    out = tmp_path / "out"
    exp = expand_inputs([str(tmp_path / "a.log")])
    first = run_local(exp.sources, [], str(out), scorer.engine, scorer.threshold)
    before = (out / "a.log.look.jsonl").read_bytes()
    second = run_local(exp.sources, [], str(out), scorer.engine, scorer.threshold)
    assert (out / "a.log.look.jsonl").read_bytes() == before
    assert first["files"][0]["look"] == second["files"][0]["look"] > 3
    assert not [p for p in out.rglob(".tmp-*")]
    capped = run_local(exp.sources, [], str(out), scorer.engine, scorer.threshold, max_look=3)
    rows = before.splitlines()
    assert (out / "a.log.look.jsonl").read_bytes().splitlines() == rows[:3]
    assert capped["files"][0]["look"] == first["files"][0]["look"]
    assert capped["files"][0]["written"] == 3
    # the file turns bad: its old output is removed, the summary says why
    (tmp_path / "a.log").write_bytes(b"\x00\x01binary")
    third = run_local(
        expand_inputs([str(tmp_path / "a.log")]).sources,
        [],
        str(out),
        scorer.engine,
        scorer.threshold,
    )
    assert third["files"][0]["errors"] and not (out / "a.log.look.jsonl").exists()


def test_report_and_text_format(tmp_path, sample_lines, scorer):
    (tmp_path / "a.log").write_bytes(b"\n".join(sample_lines["HDFS"]) + b"\n")
    (tmp_path / "b.log.gz").write_bytes(b"corrupt")
    out = tmp_path / "out"
    exp = expand_inputs([str(tmp_path / "a.log"), str(tmp_path / "b.log.gz")])
    summary = run_local(exp.sources, exp.errors, str(out), scorer.engine, scorer.threshold)
    page = render_report(summary, str(out))
    assert "<svg" in page and "<script src" not in page  # its one script is inline
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "b.log.gz" in page and "corrupt gzip" in page
    assert "&lt;NUM&gt;" in page or "&lt;IP&gt;" in page  # normalized patterns are shown
    buf = io.StringIO()
    n = print_text(summary, str(out), buf)
    lines = buf.getvalue().splitlines()
    assert n == len(lines) == summary["files"][0]["written"]
    file, line, prob, text = lines[0].split(":", 3)
    assert file == str(tmp_path / "a.log")  # as given
    assert text == sample_lines["HDFS"][int(line) - 1].decode()
    assert float(prob) >= scorer.threshold


def test_object_store_urls_in_and_out(sample_lines):
    """fsspec URLs (here the in-memory file system) work for inputs and outputs alike."""
    import fsspec

    from lookskip.bulk.run import classify_inputs

    fs = fsspec.filesystem("memory")
    fs.pipe("/bulk-in/a.log", b"\n".join(sample_lines["HDFS"]) + b"\n")
    fs.pipe("/bulk-in/sub/b.log.gz", gzip.compress(b"\n".join(sample_lines["BGL"]) + b"\n"))
    try:
        s = classify_inputs(
            ["memory://bulk-in"], "memory://bulk-out", model_path=str(MODEL), threads=1
        )
        files = {f["file"]: f for f in s["files"]}
        assert files["bulk-in/a.log"]["lines"] == 120 and not files["bulk-in/a.log"]["errors"]
        assert files["bulk-in/sub/b.log.gz"]["lines"] == 90
        rows = fs.cat("/bulk-out/bulk-in/a.log.look.jsonl").splitlines()
        assert len(rows) == files["bulk-in/a.log"]["written"] > 0
        assert json.loads(rows[0])["file"] == "memory://bulk-in/a.log"  # as given
        assert fs.exists("/bulk-out/summary.json") and fs.exists("/bulk-out/report.html")
    finally:
        for d in ("/bulk-in", "/bulk-out"):
            if fs.exists(d):
                fs.rm(d, recursive=True)
