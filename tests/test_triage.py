"""Triage (issue #16): why a row was flagged, new against a baseline, whole events,
JSON-lines logs, following a growing file. With the real Rust extension and the
committed model."""

from __future__ import annotations

import gzip
import json
import math
import os
import threading
import time
from pathlib import Path

import lookskip_rs
import pytest
from click.testing import CliRunner
from fixtures_rust import COMMITTED_MODEL

from cli.main import cli
from lookskip.bulk.baseline import build_baseline
from lookskip.classify import jsonlog
from lookskip.classify.events import EVENT_RULE
from lookskip.classify.follow import follow
from lookskip.classify.local import classify_file
from lookskip.classify.rows import json_row, text_row
from lookskip.classify.scorer import load_scorer
from lookskip.classify.triage import Triage, load_baseline

MODEL = str(COMMITTED_MODEL)

JAVA = """2024-05-01 10:00:00,100 INFO [main] c.a.Service - request 17 accepted
2024-05-01 10:00:00,123 INFO [main] c.a.Service - request 17 handled by pool
java.lang.IllegalStateException: pool exhausted after 30000 ms
\tat com.acme.Pool.get(Pool.java:42)
\tat com.acme.Service.handle(Service.java:7)
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.net.SocketInputStream.read(SocketInputStream.java:150)
\t... 12 more
2024-05-01 10:00:01,000 INFO [main] c.a.Service - request 18 accepted
"""

PYTHON = """2024-05-01T10:00:00Z INFO worker: task 3 started
2024-05-01T10:00:01Z ERROR worker: task 3 failed
Traceback (most recent call last):
  File "/app/worker.py", line 31, in run
    result = compute(x)
ZeroDivisionError: division by zero
2024-05-01T10:00:02Z INFO worker: task 4 started
"""


def _model_doc() -> dict:
    with gzip.open(MODEL) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def scorer():
    return load_scorer(MODEL, threads=1)


def test_rules_are_twins():
    """The Python data rules are the ones the Rust core applies by default."""
    assert dict(lookskip_rs.DEFAULT_EVENT_RULE) == EVENT_RULE
    assert tuple(lookskip_rs.DEFAULT_JSON_FIELDS) == jsonlog.JSON_FIELDS
    assert tuple(lookskip_rs.LEVEL_FIELDS) == jsonlog.LEVEL_FIELDS


def test_why_adds_up_to_the_decision_value(scorer):
    clf = scorer.engine
    doc = _model_doc()
    for line in [
        "connection refused by upstream 10.0.0.7:8080 after 3 retries",
        "GET /index.html 200 0.003",
        "kernel: Out of memory: Killed process 4242 (java)",
    ]:
        p = float(clf.predict_proba([line])[0])
        z = math.log(p / (1 - p))
        terms = clf.explain([line], top=100_000)[0]
        assert terms == sorted(terms, key=lambda t: -abs(t[1]))
        assert all(t.split(":")[0] in ("word", "char", "feature") for t, _ in terms)
        total = doc["intercept"] + sum(w for _, w in terms)
        assert abs(total - z) <= 5e-5 * len(terms) + 1e-9, (line, total, z)
        assert clf.explain([line])[0] == terms[:5]


def test_why_names_the_floor_when_it_decided(scorer):
    clf = scorer.engine
    line = "warn"
    p = float(clf.predict_proba([line])[0])
    why = clf.explain([line])[0]
    if p == clf.threshold:  # the floor raised it
        assert why[0][0] == "look_floor" and why[0][1] > 0
    else:
        assert all(t != "look_floor" for t, _ in why)


def test_why_rows_match_the_python_writer(scorer, tmp_path):
    log = tmp_path / "app.log"
    log.write_text(JAVA)
    out = tmp_path / "app.look.jsonl"
    res = classify_file(scorer, str(log), output=str(out), triage=Triage(why=5))
    rows = [json.loads(r) for r in out.read_text().splitlines()]
    assert len(rows) == res.look > 0
    for raw, row in zip(out.read_text().splitlines(keepends=True), rows, strict=True):
        assert len(row["why"]) == 5
        assert row["why"] == [list(w) for w in scorer.engine.explain([row["text"]])[0]]
        assert raw == json_row(row["file"], row["line"], row["prob"], row["text"], row)
    text = text_row("f", 1, 0.9, "boom", {"why": [["word:boom", 1.5]]})
    assert text == "f:1:0.9000:boom\nf-1-why: word:boom +1.50\n"


def test_baseline_marks_new_keys(scorer, tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.log").write_text(JAVA)
    failed = tmp_path / "failed.log"
    novel = "2024-05-02 11:00:00,000 ERROR [db] c.a.Repo - deadlock detected on table orders"
    failed.write_text(JAVA.replace("request 18", "request 99") + novel + "\n")
    baseline, errors = build_baseline(scorer, [str(good)])
    assert errors == [] and len(baseline) > 0 and baseline.lines == JAVA.count("\n")
    res = classify_file(scorer, str(failed), triage=Triage(baseline=baseline))
    new = {r[0]: r[3]["new"] for r in res.look_lines}
    assert new.pop(JAVA.count("\n") + 1) is True  # the deadlock line
    assert not any(new.values())  # the rest repeat keys of the good run (numbers masked)
    assert res.look_new == 1
    only = classify_file(scorer, str(failed), triage=Triage(baseline=baseline, only_new=True))
    assert [r[0] for r in only.look_lines] == [JAVA.count("\n") + 1] and only.look == res.look
    saved = tmp_path / "good.lskb"
    baseline.save(str(saved))
    again = load_baseline(scorer, str(saved))
    assert len(again) == len(baseline) and again.sources == baseline.sources
    assert saved.stat().st_size < 2_000
    other = load_scorer(MODEL, threads=1, json_fields=["text"])  # other keys: refused
    with pytest.raises(ValueError, match="rebuild"):
        load_baseline(other, str(saved))


def test_baseline_keys_ignore_calendar_words(scorer):
    """A dated line of a good run is the same pattern on another day."""
    clf = scorer.engine
    good = "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6"
    baseline = lookskip_rs.Baseline(clf)
    baseline.add_lines(clf, [good])
    later = "[Mon Jan 09 11:02:13 2006] [error] mod_jk child workerEnv in error state 7"
    other = "[Mon Jan 09 11:02:13 2006] [error] jk2_init() Can't find child 2233 in scoreboard"
    assert baseline.is_new(clf, [later, other]) == [False, True]


@pytest.mark.parametrize("trace,head,end", [(JAVA, 2, 8), (PYTHON, 2, 6)])
def test_events_join_stack_traces(scorer, tmp_path, trace, head, end):
    log = tmp_path / "t.log"
    log.write_text(trace)
    plain = classify_file(scorer, str(log))
    res = classify_file(scorer, str(log), triage=Triage(events=True, why=3))
    rows = {r[0]: r for r in res.look_lines}
    assert head in rows
    _, p, text, extra = rows[head]
    lines = trace.splitlines()
    assert extra["event_end"] == end and text == lines[head - 1]
    assert extra["event"] == "\n".join(lines[head - 1 : end])
    # the event scores as its best line; no row starts inside it
    assert p == max(pr for ln, pr, _ in plain.look_lines if head <= ln <= end)
    assert not any(head < ln <= end for ln in rows)
    assert res.look == plain.look and res.look_events == len(rows)


def test_json_lines_are_scored_on_their_message(scorer, tmp_path):
    """Generated structured logs: noise fields must not decide; the message and level do."""
    import random

    rng = random.Random(7)
    lines, expect = [], []
    for i in range(300):
        base = {"ts": f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z", "pid": rng.randint(1, 9999)}
        if i % 25 == 7:
            rec = {**base, "level": "error", "msg": f"payment {i} failed: card declined"}
        elif i % 25 == 13:
            rec = {**base, "severity": "WARN", "message": "disk usage at 91%"}
        else:
            rec = {**base, "level": "info", "msg": f"served request {i} in {rng.randint(1, 99)} ms"}
        line = json.dumps(rec)
        lines.append(line)
        expect.append(jsonlog.scored_text(line))
    clf = scorer.engine
    for line, text in zip(lines, expect, strict=True):
        assert clf.scored_text(line) == text
    direct = clf.predict_proba(expect)
    assert list(clf.predict_proba(lines)) == list(direct)
    log = tmp_path / "svc.jsonl"
    log.write_text("\n".join(lines) + "\n")
    res = classify_file(scorer, str(log))
    flagged = {n for n, _, _ in res.look_lines}
    assert {i + 1 for i in range(300) if i % 25 in (7, 13)} <= flagged
    assert len(flagged) <= 40
    reference = load_scorer(MODEL, allow_reference=True)
    os.environ["LOOKSKIP_NO_RUST"] = "1"
    try:
        ref = load_scorer(MODEL)
    finally:
        del os.environ["LOOKSKIP_NO_RUST"]
    assert ref.backend == "reference" and reference.backend == "rust"
    assert max(abs(a - b) for a, b in zip(ref.predict_proba(lines), direct, strict=True)) < 1e-9


def test_follow_survives_rotation_and_truncation(scorer, tmp_path):
    log = tmp_path / "live.log"
    log.write_text("old ERROR before following\n")
    got: list[tuple[int, str]] = []
    done = threading.Event()

    def on_rows(rows):
        got.extend((n, t) for n, _, t, _ in rows)

    t = threading.Thread(
        target=follow,
        args=(str(log), scorer, on_rows),
        kwargs={"threshold": 0.0, "stop": done.is_set, "poll_s": 0.005},
    )
    t.start()

    def wait_for(n):
        deadline = time.monotonic() + 10
        while len(got) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    try:
        time.sleep(0.05)
        with log.open("a") as f:
            f.write("first ERROR\nsecond ")
        wait_for(1)
        with log.open("a") as f:
            f.write("half\n")
        wait_for(2)
        os.rename(log, tmp_path / "live.log.1")  # rotation
        log.write_text("rotated ERROR\n")
        wait_for(3)
        log.write_text("")  # truncation
        time.sleep(0.05)
        log.write_text("after truncate\n")
        wait_for(4)
    finally:
        done.set()
        t.join(5)
    assert got == [
        (2, "first ERROR"),
        (3, "second half"),
        (1, "rotated ERROR"),
        (1, "after truncate"),
    ]


def test_cli_baseline_only_new_events_report(tmp_path):
    good = tmp_path / "good.log"
    good.write_text(JAVA)
    failed = tmp_path / "failed.log"
    failed.write_text(JAVA + PYTHON)
    runner = CliRunner()
    saved = tmp_path / "good.lskb"
    m = ["--model", MODEL]
    r = runner.invoke(cli, ["classify", *m, "--baseline", str(good), "--save-baseline", str(saved)])
    assert r.exit_code == 0, r.output
    assert saved.exists()
    out = tmp_path / "out"
    r = runner.invoke(
        cli,
        [
            "classify",
            *m,
            str(failed),
            "--baseline-file",
            str(saved),
            "--only-new",
            "--events",
            "--why",
            "--output",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(x) for x in (out / "failed.log.look.jsonl").read_text().splitlines()]
    assert rows and all(row["new"] and row["why"] for row in rows)
    assert all(row["line"] > JAVA.count("\n") for row in rows)  # the good run's part is known
    assert summary["totals"]["look_new"] == len(rows)
    python_head = [row for row in rows if row["text"].endswith("task 3 failed")]
    assert python_head and python_head[0]["event_end"] == JAVA.count("\n") + 6
    report = (out / "report.html").read_text()
    assert "new LOOK" in report and "ZeroDivisionError" in report
    assert "LOOK time: first 2024-05-01" in report
    burst = tmp_path / "burst.log"
    burst.write_text(
        "".join(f"2024-05-01 10:{m:02d}:00,000 ERROR db connection lost\n" for m in (1, 2, 30))
    )
    r = runner.invoke(cli, ["classify", *m, str(burst), "--output", str(tmp_path / "all")])
    assert r.exit_code == 0, r.output
    report = (tmp_path / "all" / "report.html").read_text()
    assert "LOOK lines over time" in report
    assert "first 2024-05-01 10:01:00 (line 1) · last 2024-05-01 10:30:00 (line 3)" in report
    r = runner.invoke(cli, ["classify", *m, str(failed), "--events", "--format", "text"])
    assert r.exit_code == 0, r.output
    assert f"failed.log-{JAVA.count(chr(10)) + 6}-ZeroDivisionError: division by zero" in r.output


def test_model_without_events_field_loads_and_a_custom_rule_is_used(tmp_path):
    doc = _model_doc()
    assert "events" not in doc or doc["events"] == EVENT_RULE
    doc["events"] = {**EVENT_RULE, "continuation": r"^\+", "timestamp": "NEVER"}
    custom = tmp_path / "m.json"
    custom.write_text(json.dumps(doc))
    s = load_scorer(str(custom), threads=1)
    log = tmp_path / "x.log"
    log.write_text("ERROR one\n+ more\n  not joined\n")
    res = classify_file(s, str(log), threshold=0.0, triage=Triage(events=True))
    assert [(r[0], r[3]["event_end"]) for r in res.look_lines] == [(1, 2), (3, 3)]


def test_triage_needs_rust(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    ref = load_scorer(MODEL)
    log = tmp_path / "a.log"
    log.write_text("ERROR x\n")
    with pytest.raises(RuntimeError, match="need the Rust extension"):
        classify_file(ref, str(log), triage=Triage(why=5))
    assert Path(log).exists()


@pytest.mark.parametrize(
    "line,stamp,seconds",
    [
        ("2024-05-01 10:00:07,123 ERROR x", "2024-05-01 10:00:07", 1714557607.0),
        ("2024-05-01T10:00:07Z x", "2024-05-01T10:00:07", 1714557607.0),
        ('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /"', "10/Oct/2000:13:55:36", 971186136.0),
        ("1714557607 svc worker started", "1714557607", 1714557607.0),
        ("081109 203615 148 INFO x", "081109 203615", 1226262975.0),
        ('time="2024-05-01T10:00:07.5Z" level=error msg="x"', "2024-05-01T10:00:07", 1714557607.0),
        ("Jun 14 15:16:01 combo sshd[1]: x", "Jun 14 15:16:01", 960995761.0),
        ("no time here", None, None),
    ],
)
def test_look_times_are_read_from_rows(line, stamp, seconds):
    from lookskip.bulk.report_triage import look_time, parse_time

    assert look_time(line) == stamp
    assert (parse_time(stamp) if stamp else None) == seconds
