"""Per-key aggregates collected during the run (issue #25 item 6, #24 item 4): context
lines, the key cap, grouping into templates, Rust/Python parity, and the terminal
summary (`lookskip classify --summary N`). With the real Rust extension and the
committed model."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fixtures_rust import COMMITTED_MODEL

from cli.main import cli
from lookskip.bulk import patterns as pat
from lookskip.bulk.chunks import Unit
from lookskip.bulk.inputs import expand_inputs
from lookskip.bulk.patterns import PatternAggregator, merge_units, pattern_rows, scorer_keyer
from lookskip.bulk.scan import classify_unit_to, scan_unit
from lookskip.classify.scorer import load_scorer

MODEL = str(COMMITTED_MODEL)
SCORE = re.compile(r"(?<![\d.])[01]\.\d{3}(?![\d%])")  # a score cell of the summary table


def _first_word(texts: list[str]) -> list[str]:
    return [t.split(" ")[0] for t in texts]


def _observe(blocks: list[list[str]], look: set[int]) -> dict:
    """Aggregate ``blocks`` of lines (1-based line numbers in ``look`` are LOOK)."""
    agg = PatternAggregator(_first_word)
    n = 1
    for block in blocks:
        probs = np.array([1.0 if n + i in look else 0.0 for i in range(len(block))])
        agg.observe([t.encode() for t in block], probs, 0.5, n)
        n += len(block)
    return agg.to_dict()


def test_examples_carry_three_lines_of_context_across_blocks():
    lines = [f"l{i} text {i}" for i in range(1, 41)]
    lines[1] = "ERR a"  # line 2: only one line before it
    lines[20] = "ERR b"  # line 21: its context spans the cut between the blocks
    lines[38] = "ERR c"  # line 39: only one line after it
    blocks = [lines[:19], lines[19:]]  # the cut: after line 19
    agg = _observe(blocks, {2, 21, 39})
    (k,) = agg["keys"]
    assert (k["key"], k["count"], k["first"], k["last"]) == ("ERR", 3, 2, 39)
    first, third = k["examples"]  # the 1st and 3rd occurrence (and the 10th, if any)
    assert first == {"line": 2, "text": "ERR a", "before": ["l1 text 1"],
                     "after": ["l3 text 3", "l4 text 4", "l5 text 5"]}  # fmt: skip
    assert third["line"] == 39 and third["after"] == ["l40 text 40"]
    assert third["before"] == ["l36 text 36", "l37 text 37", "l38 text 38"]
    # the same lines in one block give the same aggregates
    assert _observe([lines], {2, 21, 39}) == agg
    # ... and so does any other cut, line by line included
    assert _observe([[x] for x in lines], {2, 21, 39}) == agg
    merged = merge_units([(100, agg)])
    assert merged["keys"][0]["first"] == 102
    assert [e["line"] for e in merged["keys"][0]["examples"]] == [102, 139]


def test_keys_past_the_cap_are_counted_as_other(monkeypatch):
    monkeypatch.setattr(pat, "MAX_KEYS", 3)
    lines = [f"k{i % 5} x" for i in range(20)]
    agg = _observe([lines], set(range(1, 21)))
    assert [k["key"] for k in agg["keys"]] == ["k0", "k1", "k2"]
    assert sum(k["count"] for k in agg["keys"]) + agg["other"] == 20
    assert agg["other"] == 8  # k3 and k4, 4 lines each


def test_time_sample_halves_and_stays_even(monkeypatch):
    monkeypatch.setattr(pat, "TIME_SAMPLES", 4)
    lines = [f"2024-05-01 10:00:{i:02d} ERROR x" for i in range(30)]
    agg = _observe([lines], set(range(1, 31)))
    # halved at 8 samples, three times: every 8th LOOK line is kept
    assert agg["time_step"] == 8 and [t[0] for t in agg["times"]] == [1, 9, 17, 25]
    hist = merge_units([(0, agg)])["times"]
    assert sum(hist["bins"]) == 4 * 8 and hist["hi"] - hist["lo"] == 24


def _keys(*keys: tuple[str, int, float]) -> dict:
    return {
        "keys": [
            {"key": k, "count": c, "p": p, "first": 1, "last": 1, "first_head": k,
             "examples": [{"line": 1, "text": k, "before": [], "after": []}]}
            for k, c, p in keys
        ],
        "other": 0,
    }  # fmt: skip


def test_dpkg_packages_are_one_template_row_with_per_file_counts():
    ts = "<NUM>-<NUM>-<NUM> <NUM>:<NUM>:<NUM>"
    a = _keys(
        (f"{ts} status unpacked liberror-perl:all <NUM>-<NUM>", 3, 0.6),
        (f"{ts} ERROR disk /dev/sda failed", 1, 0.9),
    )
    b = _keys((f"{ts} status unpacked libgpg-error-dev:amd64 <NUM>-<NUM>", 5, 0.6))
    rows = pattern_rows([("a.log", a), ("b.log", b)])
    assert len(rows) == 2
    disk, dpkg = rows  # the higher score first
    assert disk.level == "error" and disk.score == pytest.approx(0.9)
    assert dpkg.count == 8 and dpkg.files == {"b.log": 5, "a.log": 3}
    assert "status unpacked" in dpkg.template and len(dpkg.keys) == 2
    assert dpkg.level is None  # liberror-perl is a package name, not a level word
    assert {name for name, _ in dpkg.examples} == {"a.log", "b.log"}
    # equal scores: the rarer template first (likelier news)
    c = _keys(("job queue stalled", 50, 0.7), ("kernel oops in module", 2, 0.7))
    assert [r.count for r in pattern_rows([("c.log", c)])] == [2, 50]


@pytest.fixture(scope="module")
def scorer():
    return load_scorer(MODEL, threads=2)


def _log(path: Path, n: int) -> Path:
    """A log crossing the Rust reader's 64K-line batches and Python's blocks."""
    rows = []
    for i in range(n):
        t = f"2024-06-14T{10 + i // 36000 % 10:02d}:{i // 600 % 60:02d}:{i // 10 % 60:02d}.000Z"
        if i % 997 == 5:
            rows.append(f'time="{t}" level=error msg="container {i:x} exited with code 137"')
        elif i % 1499 == 7:
            rows.append(f"{t} kernel: Out of memory: Killed process {i} (java)")
        else:
            rows.append(f"{t} INFO request {i} served in {i % 97} ms")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_rust_and_python_aggregates_are_equal(tmp_path, scorer):
    log = _log(tmp_path / "big.log", 70_000)
    (source,) = expand_inputs([str(log)]).sources
    unit = Unit(source, 0)
    thr = scorer.threshold
    rust = classify_unit_to(unit, scorer.engine, thr, str(tmp_path / "rows-rust"))
    out = []
    py = scan_unit(unit, scorer.engine, thr, out.append)
    assert rust.look == py.look > 100
    r, p = rust.patterns, py.patterns
    assert r["other"] == p["other"] and r["time_step"] == p["time_step"]
    assert r["times"] == p["times"]
    assert len(r["keys"]) == len(p["keys"]) >= 2
    for a, b in zip(r["keys"], p["keys"], strict=True):
        assert math.isclose(a.pop("p"), b.pop("p"), rel_tol=1e-9)
        assert a == b
    assert scorer_keyer(scorer.engine)(["x 12 y"]) == ["x <NUM> y"]


def test_summary_prints_the_top_patterns_with_and_without_output(tmp_path):
    log = _log(tmp_path / "app.log", 3_000)
    runner = CliRunner()
    r = runner.invoke(cli, ["classify", "--model", MODEL, str(log), "--summary", "2"])
    assert r.exit_code == 0, r.output
    assert "top LOOK patterns" in r.stderr and "exited" in r.stderr
    assert len(SCORE.findall(r.stderr)) == 2
    assert "top LOOK patterns" not in r.stdout  # stdout holds the rows only
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows and all(row["file"] == str(log) for row in rows)
    out = tmp_path / "out"
    r = runner.invoke(
        cli, ["classify", "--model", MODEL, str(log), "--output", str(out), "--summary", "1"]
    )
    assert r.exit_code == 0, r.output
    assert "top LOOK patterns" in r.stderr and len(SCORE.findall(r.stderr)) == 1
    summary = json.loads((out / "summary.json").read_text())
    agg = summary["files"][0]["patterns"]
    assert sum(k["count"] for k in agg["keys"]) + agg["other"] == summary["totals"]["look"]
    assert agg["times"] and agg["first_time"][1].startswith("2024-06-14T10:00")
    r = runner.invoke(cli, ["classify", "--model", MODEL, str(log), "--summary", "0"])
    assert r.exit_code == 0 and "top LOOK patterns" not in r.stderr


def test_the_numpy_reference_path_aggregates_as_rust_does(tmp_path, monkeypatch):
    """`lookskip classify FILE --output` without the extension (the Python unit loop):
    the same aggregates in summary.json."""
    log = _log(tmp_path / "ref.log", 5_000)
    got = {}
    for name in ("rust", "reference"):
        if name == "reference":
            monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
        out = tmp_path / name
        r = CliRunner().invoke(
            cli, ["classify", "--model", MODEL, "--threads", "1", str(log), "--output", str(out)]
        )
        assert r.exit_code == 0, r.output
        if name == "reference":
            assert "numpy reference scorer" in r.output  # the fallback really ran
        summary = json.loads((out / "summary.json").read_text())
        got[name] = summary["files"][0]["patterns"]
    a, b = got["rust"], got["reference"]
    assert a["keys"] and a["times"] == b["times"] and a["first_time"] == b["first_time"]
    assert [(k["key"], k["count"], k["examples"]) for k in a["keys"]] == [
        (k["key"], k["count"], k["examples"]) for k in b["keys"]
    ]
