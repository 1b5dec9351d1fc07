"""report.html: patterns across files by template, header apart, examples with their
context, "N more", sortable files, empty states. (tests/test_browser.py renders it in Chromium.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lookskip.bulk.inputs import expand_inputs
from lookskip.bulk.patterns import file_patterns, pattern_rows
from lookskip.bulk.report import TOP_PATTERNS, render_report
from lookskip.bulk.run import run_local
from lookskip.classify.scorer import load_scorer
from lookskip.transformer.inputs import drop_header, split_key_header

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"


@pytest.fixture(scope="module")
def scorer():
    return load_scorer(str(MODEL), threads=1)


def _run(tmp_path: Path, scorer, files: dict[str, bytes]) -> tuple[dict, Path]:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    out = tmp_path / "out"
    exp = expand_inputs([str(tmp_path / n) for n in files])
    return run_local(exp.sources, exp.errors, str(out), scorer.engine, scorer.threshold), out


def test_header_split_is_drop_headers_cut():
    key = "<NUM>-<NUM> <NUM>:<NUM>:<NUM>.<NUM> <NUM> <NUM> W ActivityManager: caller <NUM> x"
    header, message = split_key_header(key)
    assert header == "<NUM>-<NUM> <NUM>:<NUM>:<NUM>.<NUM> <NUM> <NUM>"
    assert message == "W ActivityManager: caller <NUM> x"
    assert f"{header} {message}" == key
    # the same cut the transformer's input makes (there on the compact form)
    assert drop_header("#-# #:#:#.# # # W ActivityManager: caller # x").startswith("W ")
    assert split_key_header("plain message") == ("", "plain message")
    assert split_key_header("<NUM>") == ("", "<NUM>")  # never empties a key


def test_lines_differing_in_spaces_are_one_pattern_with_examples(tmp_path, scorer, shared_data):
    """The issue's case: Android's ActivityManager warning, pids padded with spaces."""
    lines = [
        raw
        for raw in (shared_data / "loghub" / "Android_2k.log").read_bytes().split(b"\n")
        if b"getRunningAppProcesses" in raw
    ]
    padded = [lines[0].replace(b"  1702", b" 1702"), *lines[1:]]  # another run of spaces
    summary, out = _run(tmp_path, scorer, {"android.log": b"\n".join(padded) + b"\n"})
    f = summary["files"][0]
    assert f["look"] == len(padded), "every such line is LOOK"
    (row,) = pattern_rows(file_patterns(summary))
    assert row.count == len(padded) and row.files == {"android.log": len(padded)}
    header, message = split_key_header(row.template)
    assert message.startswith("W ActivityManager: getRunningAppProcesses")
    assert header.startswith("<NUM>-<NUM> ")
    assert [e["line"] for _, e in row.examples] == [1, 3, 10][: len(row.examples)]
    assert row.examples[0][1]["text"] == padded[0].decode().rstrip("\r")
    assert row.examples[0][1]["after"] == [x.decode().rstrip("\r") for x in padded[1:4]]

    page = render_report(summary, str(out))
    table = re.search(r"<table class='patterns'>.*?</table>", page, re.S).group(0)
    assert table.count("<tr class='pattern'>") == 1
    assert "<span class='hdr'>&lt;NUM&gt;-&lt;NUM&gt;" in table  # header dimmed, apart
    assert "<span class='msg'>W ActivityManager" in table
    assert "android.log:1</div>" in table  # an example names its file and line
    assert "<span class='cl hit'><span class='ln'>1</span>" in table  # the LOOK line marked
    assert "<span class='cl'><span class='ln'>2</span>" in table  # a line of its context


def test_cross_file_table_shows_top_rows_and_the_rest_behind_n_more(tmp_path, scorer, shared_data):
    logs = {
        f"{n.lower()}.log": (shared_data / "loghub" / f"{n}_2k.log").read_bytes()
        for n in ("Android", "HDFS", "Apache")
    }
    summary, out = _run(tmp_path, scorer, logs)
    rows = pattern_rows(file_patterns(summary))
    assert len(rows) > TOP_PATTERNS
    assert sum(r.count for r in rows) == summary["totals"]["look"]  # every LOOK line counted
    scores = [round(r.score, 2) for r in rows]
    assert scores == sorted(scores, reverse=True)
    page = render_report(summary, str(out))
    section = re.search(r"<section id='patterns'>.*?</section>", page, re.S).group(0)
    top, more = section.split("<details class='more'>", 1)
    assert top.count("<tr class='pattern'>") == TOP_PATTERNS
    assert f"{len(rows) - TOP_PATTERNS:,} more patterns</summary>" in more
    assert more.count("<tr class='pattern'>") == len(rows) - TOP_PATTERNS
    # reading the rows files is not needed: the report renders with them gone
    for f in summary["files"]:
        (out / f["output"]).unlink()
    assert render_report(summary, str(out)).count("<tr class='pattern'>") > len(rows)


def test_files_table_sorts_and_empty_states(tmp_path, scorer, shared_data):
    hdfs = (shared_data / "loghub" / "HDFS_2k.log").read_bytes()
    summary, out = _run(
        tmp_path,
        scorer,
        {"quiet.log": b"hello\nnothing to see\n", "hdfs.log": hdfs, "bad.log.gz": b"corrupt"},
    )
    page = render_report(summary, str(out))
    table = re.search(r"<table class='sortable' id='files'>.*?</table>", page, re.S).group(0)
    for col in ("file", "lines", "LOOK", "share"):
        assert f"<button type='button'>{col}</button>" in table
    look = {f["file"]: f["look"] for f in summary["files"]}
    for name, n in look.items():
        assert f"data-v='{n}'" in table, name  # the numbers the script sorts by
    assert "<script>" in page and "<script src" not in page and "https://" not in page
    assert "No LOOK lines in this file." in page  # quiet.log
    assert "not classified:" in page  # bad.log.gz

    (tmp_path / "e").mkdir()
    summary, out = _run(tmp_path / "e", scorer, {"ok.log": b"hello\nnothing to see\n"})
    assert summary["totals"]["look"] == 0
    assert "No LOOK lines: the classifier found nothing" in render_report(summary, str(out))
    empty = {
        "totals": {
            "files": 0,
            "files_ok": 0,
            "lines": 0,
            "look": 0,
            "look_share": 0.0,
            "seconds": 0.0,
            "lines_per_s": 0.0,
        },
        "files": [],
    }
    page = render_report(empty, str(out))
    assert "No input files were found" in page and "id='files'" not in page
