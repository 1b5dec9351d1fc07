"""``classify_file`` streaming (plain, gzip, stdin, bad bytes, long lines) and
``lookskip classify``, with the Rust extension and with its numpy fallback."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import lookskip_rs
import numpy as np
import pytest
from fixtures_rust import ROOT, parity_lines, reference, trained
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookskip.classify.local import classify_file
from lookskip.classify.scorer import load_scorer
from lookskip.compression import SNIFF_BYTES, sniff, unsupported


@pytest.fixture(scope="module")
def clf():
    return lookskip_rs.Classifier(trained()[0], threads=2, max_line_bytes=64)


RAW = (
    b"2024-01-01 INFO started worker 17\r\n"
    b"\n"
    b"ERROR disk \xff\xfe failed at 0x1f: permission denied\n"
    b"\ttab\tseparated\tline\n" + b"W" * 100 + b" very long line\r\n"
    b"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac timeout!!\n"
    b"no newline at end"
)


def expected_lines(raw: bytes, cap: int) -> tuple[list[str], int]:
    """The lines the contract says a reader yields (decoded, cut at ``cap``)."""
    out, cut = [], 0
    parts = raw.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for i, p in enumerate(parts):
        terminated = i < len(parts) - 1 or raw.endswith(b"\n")
        if len(p) > cap:
            p, cut = p[:cap], cut + 1
        elif terminated and p.endswith(b"\r"):
            p = p[:-1]
        out.append(p.decode("utf-8", "replace"))
    return out, cut


def check_file(c, path, raw, cap=64):
    res = c.classify_file(str(path), threshold=0.0)
    lines, cut = expected_lines(raw, cap)
    assert (res["lines"], res["look"], res["bytes"], res["truncated"]) == (
        len(lines),
        len(lines),
        len(raw),
        cut,
    )
    got = res["look_lines"]
    assert [n for n, _, _ in got] == list(range(1, len(lines) + 1))
    assert [t for _, _, t in got] == lines
    want = reference().predict_proba_look(lines)
    assert np.max(np.abs(np.array([p for _, p, _ in got]) - want)) <= 1e-6
    return res


def test_plain_and_gzip_stream_the_same(clf, tmp_path):
    plain = tmp_path / "app.log"
    plain.write_bytes(RAW)
    gz = tmp_path / "app.log.gz"
    # two gzip members, as `cat a.gz b.gz` produces
    gz.write_bytes(gzip.compress(RAW[:50]) + gzip.compress(RAW[50:]))
    a = check_file(clf, plain, RAW)
    b = check_file(clf, gz, RAW)
    assert a["look_lines"] == b["look_lines"] and a["truncated"] == 1


def test_threshold_max_look_and_output(tmp_path):
    clf = lookskip_rs.Classifier(trained()[0], threads=2)  # default line cap (64 KiB)
    path = tmp_path / "big.log"
    lines = list(parity_lines()[:3000])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    full = clf.classify_file(str(path))
    p = clf.predict_proba(lines)
    assert full["threshold"] == clf.threshold
    assert full["look"] == int((p >= clf.threshold).sum()) > 0
    look_at = [int(i) + 1 for i in np.flatnonzero(p >= clf.threshold)]
    assert [n for n, _, _ in full["look_lines"]] == look_at
    capped = clf.classify_file(str(path), max_look=5)
    assert capped["look"] == full["look"] and capped["look_lines"] == full["look_lines"][:5]
    out = tmp_path / "big.log.look.jsonl"
    res = clf.classify_file(str(path), max_look=7, output=str(out))
    rows = [json.loads(r) for r in out.read_text(encoding="utf-8").splitlines()]
    assert res["look_lines"] == [] and res["look_kept"] == 7
    assert [(r["line"], r["prob"], r["text"]) for r in rows] == full["look_lines"][:7]
    assert all(list(r) == ["file", "line", "prob", "text"] and r["file"] == str(path) for r in rows)
    assert sorted(os.listdir(tmp_path)) == ["big.log", "big.log.look.jsonl"]  # no temp left


def test_bad_inputs_give_clear_errors(clf, tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert clf.classify_file(str(empty))["lines"] == 0
    with pytest.raises(OSError, match=r"nope\.log"):
        clf.classify_file(str(tmp_path / "nope.log"))
    corrupt = tmp_path / "corrupt.log.gz"
    whole = gzip.compress("\n".join(parity_lines()[:2000]).encode("utf-8"))
    corrupt.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(OSError, match=r"corrupt\.log\.gz"):
        clf.classify_file(str(corrupt))
    out = tmp_path / "out.jsonl"
    with pytest.raises(OSError):
        clf.classify_file(str(corrupt), output=str(out))
    assert not out.exists()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(
        st.binary(max_size=120).map(lambda b: b.replace(b"\n", b" ")), min_size=1, max_size=10
    )
)
def test_property_invalid_utf8_files_match_reference(clf, tmp_path, lines):
    raw = b"\n".join(lines) + b"\n"
    path = tmp_path / "bytes.log"
    path.write_bytes(raw)
    if sniff(raw[:SNIFF_BYTES]):  # a compressed format's magic: read as such, a clear error
        with pytest.raises(OSError, match="corrupt"):
            clf.classify_file(str(path))
        return
    if unsupported(raw):  # a compressed format not read here: named
        with pytest.raises(OSError, match="-compressed input: a format lookskip does not read"):
            clf.classify_file(str(path))
        return
    if b"\0" in raw[:8192]:  # binary: refused, as by the bulk path (and the numpy one)
        with pytest.raises(OSError, match=r"binary file \(NUL bytes in the first 8 KiB\)"):
            clf.classify_file(str(path))
        return
    check_file(clf, path, raw)


def test_numpy_fallback_gives_the_same_results(tmp_path, monkeypatch):
    path = tmp_path / "app.log"
    path.write_bytes(RAW * 3)
    rust = load_scorer(trained()[0], max_line_bytes=64)
    monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    slow = load_scorer(trained()[0], max_line_bytes=64)
    assert (rust.backend, slow.backend) == ("rust", "reference")
    assert "LOOKSKIP_NO_RUST" in slow.fallback_reason
    a = classify_file(rust, str(path), threshold=0.0)
    b = classify_file(slow, str(path), threshold=0.0)
    assert (a.lines, a.look, a.bytes, a.truncated) == (b.lines, b.look, b.bytes, b.truncated)
    assert [(n, t) for n, _, t in a.look_lines] == [(n, t) for n, _, t in b.look_lines]
    assert np.allclose(
        [p for _, p, _ in a.look_lines], [p for _, p, _ in b.look_lines], rtol=0, atol=1e-6
    )
    out_a, out_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    classify_file(rust, str(path), max_look=4, output=str(out_a))
    classify_file(slow, str(path), max_look=4, output=str(out_b))
    rows_a = [json.loads(r) for r in out_a.read_text().splitlines()]
    rows_b = [json.loads(r) for r in out_b.read_text().splitlines()]
    assert [{**r, "prob": round(r["prob"], 6)} for r in rows_a] == [
        {**r, "prob": round(r["prob"], 6)} for r in rows_b
    ]
    assert rows_a and all(list(r) == ["file", "line", "prob", "text"] for r in rows_b)


def run_cli(*args, env=None, stdin=None):
    e = {**os.environ, "LOOKSKIP_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "classify", *args],
        cwd=ROOT,
        env=e,
        input=stdin,
        capture_output=True,
        timeout=300,
    )


@pytest.mark.parametrize("no_rust", ["", "1"])
def test_cli_prints_look_lines(tmp_path, no_rust):
    path = tmp_path / "app.log"
    path.write_bytes(RAW)
    r = run_cli(
        "--model", trained()[0], "--threshold", "0", str(path), env={"LOOKSKIP_NO_RUST": no_rust}
    )
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["line"] for x in rows] == list(range(1, 8))
    assert all(list(x) == ["file", "line", "prob", "text"] and x["file"] == str(path) for x in rows)
    assert rows[2]["text"].startswith("ERROR disk \ufffd\ufffd failed")
    warned = b"numpy reference" in r.stderr
    assert warned == bool(no_rust)


def test_cli_output_dir_stdin_and_a_bad_file(tmp_path):
    a = tmp_path / "a.log"
    a.write_text("\n".join(parity_lines()[:500]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli(
        "--model",
        trained()[0],
        "--output",
        str(out),
        "--max-look",
        "3",
        str(a),
        str(tmp_path / "missing.log"),
        "-",
        stdin=gzip.compress(RAW),
    )
    assert r.returncode == 1
    assert b"missing.log" in r.stderr and b"1 of 3 file(s)" in r.stderr
    summary = json.loads((out / "summary.json").read_text())
    files = {f["path"]: f for f in summary["files"]}
    assert files[str(a)]["lines"] == 500 and files[str(a)]["error"] is None
    assert files["-"]["lines"] == 7 and files["-"]["truncated"] == 0
    assert "missing.log" in files[str(tmp_path / "missing.log")]["error"]
    assert summary["totals"]["failed"] == 1 and summary["backend"] == "rust"
    assert len((out / "a.log.look.jsonl").read_text().splitlines()) == min(3, files[str(a)]["look"])
    assert (out / "stdin.look.jsonl").exists()


def test_cli_text_format(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("ERROR: disk failure on /dev/sda1\n", encoding="utf-8")
    r = run_cli("--model", trained()[0], "--threshold", "0", "--format", "text", str(path))
    assert r.returncode == 0, r.stderr.decode()
    file, line, p, text = r.stdout.decode().rstrip("\n").split(":", 3)
    assert (file, line, text) == (str(path), "1", "ERROR: disk failure on /dev/sda1")
    assert 0 <= float(p) <= 1 and len(p.split(".")[1]) == 4


@pytest.mark.parametrize("fmt", ["jsonl", "text"])
def test_cli_stdout_matches_output_dir(tmp_path, fmt):
    """One format: a plain file printed directly equals what --output writes (and, in
    text form, what a directory input prints through the bulk layer)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / "app.log"
    path.write_text("\n".join(parity_lines()[:300]) + "\n", encoding="utf-8")
    model = trained()[0]
    direct = run_cli("--model", model, "--format", fmt, str(path))
    assert direct.returncode == 0, direct.stderr.decode()
    assert direct.stdout
    out = tmp_path / "out"
    written = run_cli("--model", model, "--output", str(out), str(path))
    assert written.returncode == 0, written.stderr.decode()
    look = next(out.rglob("app.log.look.jsonl")).read_text(encoding="utf-8")
    rows = [json.loads(x) for x in look.splitlines()]
    if fmt == "jsonl":
        assert direct.stdout.decode() == look
    else:
        assert direct.stdout.decode() == "".join(
            f"{r['file']}:{r['line']}:{r['prob']:.4f}:{r['text']}\n" for r in rows
        )
        bulk = run_cli("--model", model, "--format", "text", str(logs))
        assert bulk.returncode == 0, bulk.stderr.decode()
        assert [x.split(":", 1)[1] for x in bulk.stdout.decode().splitlines()] == [
            x.split(":", 1)[1] for x in direct.stdout.decode().splitlines()
        ]
