"""``classify --ask-claude``: answers in the model (Rust and Python agree), the survey's
templates, the whole loop against the Batch-API simulator's oracle (real HTTP, the
official SDK), resuming without paying twice, and the shipped base rows."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
SHIPPED_BASE = ROOT / "data" / "models" / "base_rows.jsonl.gz"

PACKAGES = [
    "libc6",
    "liberror-perl",
    "libgpg-error0",
    "zlib1g",
    "openssl",
    "curl",
    "vim-tiny",
    "python3-apt",
    "gcc-12",
    "make",
    "tzdata",
    "bash",
]


def dpkg_like(n: int = 600, seed: int = 3) -> tuple[list[str], list[str]]:
    """A dpkg-style log whose variable parts are words (package names), with labels:
    upgrades and removals LOOK (state changes), status lines SKIP."""
    rnd = random.Random(seed)
    lines, labels = [], []
    for i in range(n):
        pkg = f"{rnd.choice(PACKAGES)}:{rnd.choice(['amd64', 'all'])}"
        ver = f"{rnd.randint(1, 9)}.{rnd.randint(0, 40)}-{rnd.randint(1, 9)}"
        ts = f"2026-05-{10 + i // 100:02d} 1{i % 10}:{i % 60:02d}:{(7 * i) % 60:02d}"
        kind = rnd.random()
        if kind < 0.6:
            state = rnd.choice(["installed", "unpacked", "half-configured", "half-installed"])
            lines.append(f"{ts} status {state} {pkg} {ver}")
            labels.append("SKIP")
        elif kind < 0.8:
            lines.append(f"{ts} configure {pkg} {ver} <none>")
            labels.append("SKIP")
        elif kind < 0.92:
            lines.append(f"{ts} upgrade {pkg} {ver} {ver}+deb12u1")
            labels.append("LOOK")
        else:
            lines.append(f"{ts} remove {pkg} {ver} <none>")
            labels.append("LOOK")
    return lines, labels


def write_log(tmp_path: Path, name: str, lines, labels) -> tuple[Path, Path]:
    log = tmp_path / f"{name}.log"
    log.write_text("".join(x + "\n" for x in lines), "utf-8")
    oracle = tmp_path / f"{name}.labels.jsonl"
    oracle.write_text(
        "".join(
            json.dumps(
                {"system": name, "line_number": i, "raw_line": x, "label": y, "reason": "test"}
            )
            + "\n"
            for i, (x, y) in enumerate(zip(lines, labels, strict=True), 1)
        ),
        "utf-8",
    )
    return log, oracle


def with_answers(tmp_path: Path, answers: list[dict]) -> Path:
    doc = json.loads(gzip.decompress(SHIPPED_MODEL.read_bytes()))
    doc["answers"] = answers
    p = tmp_path / "answered.json"
    p.write_text(json.dumps(doc), "utf-8")
    return p


def test_answers_apply_before_score_and_floor_in_rust_and_python(tmp_path):
    import lookskip_rs

    from lookskip.model.reference import ReferenceModel

    answers = [
        {"template": "status <*> <*> <*>", "label": "LOOK", "reason": "general"},
        {"template": "status installed <*> <*>", "label": "SKIP", "reason": "routine"},
        {"template": "kernel panic", "label": "SKIP", "reason": "exact key"},
    ]
    path = with_answers(tmp_path, answers)
    lines = [
        "status installed liberror-perl:all 0.17029-2",  # the more specific SKIP wins
        "status unpacked liberror-perl:all 0.17029-2",  # the general LOOK
        "kernel   panic",  # exact key (spaces squeezed), over the keyword floor? no word
        "ERROR status installed",  # three tokens: no answer, the model scores it
        "status installed x",  # too few tokens for any template
    ]
    rust = np.asarray(lookskip_rs.Classifier(str(path)).predict_proba(lines))
    ref = ReferenceModel.load(str(path)).predict_proba_look(lines)
    assert rust[:3].tolist() == [0.0, 1.0, 0.0]
    assert 0.0 < rust[3] < 1.0 and 0.0 < rust[4] < 1.0
    np.testing.assert_allclose(rust, ref, atol=1e-9)


def test_bad_answers_are_a_clear_model_error(tmp_path):
    import lookskip_rs

    path = with_answers(tmp_path, [{"template": "x <*>", "label": "MAYBE"}])
    with pytest.raises(ValueError, match="MAYBE"):
        lookskip_rs.Classifier(str(path))


def test_survey_groups_word_variables_into_templates(tmp_path):
    from lookskip.ask.survey import survey
    from lookskip.classify.scorer import load_scorer
    from lookskip.model.answers import Answers

    lines, labels = dpkg_like()
    log, _ = write_log(tmp_path, "dpkg", lines, labels)
    sv = survey(load_scorer(str(SHIPPED_MODEL)), [str(log)], stored=Answers())
    assert sv.lines == len(lines)
    assert len(sv.templates) < sv.keys / 5  # words collapse: far fewer templates than keys
    templates = {t.template for t in sv.templates}
    assert any("status installed <*>" in t for t in templates), templates
    # every key a template was made from matches it
    for t in sv.templates:
        compiled = Answers([{"template": t.template, "label": "LOOK"}])
        assert all(compiled.find(k.key) is not None for k in t.keys)


@pytest.fixture
def ask_env(data_dir, api_sim, tmp_path, monkeypatch):
    """A fresh data dir with the shipped base rows, a dpkg-like log and an oracle sim."""
    lines, labels = dpkg_like()
    log, oracle = write_log(tmp_path, "dpkg", lines, labels)
    monkeypatch.setenv("LOOKSKIP_BASE_ROWS", str(SHIPPED_BASE))
    sim = api_sim(oracle=(str(oracle),))
    get_settings.cache_clear()
    return {"log": log, "lines": lines, "labels": labels, "sim": sim, "data_dir": data_dir}


def test_dry_run_sends_nothing_and_a_tiny_budget_is_refused(ask_env):
    runner = CliRunner()
    args = ["classify", str(ask_env["log"]), "--model", str(SHIPPED_MODEL), "--ask-claude"]
    res = runner.invoke(cli, [*args, "--budget", "0.05", "--dry-run", "--show-requests"])
    assert res.exit_code == 0, res.output
    assert "estimated $" in res.output and '"custom_id": "tpl_' in res.output
    assert ask_env["sim"].stats["batches_created"] == 0
    assert not (ask_env["data_dir"] / "answers").exists()
    res = runner.invoke(cli, [*args, "--budget", "0.00001"])
    assert res.exit_code != 0 and "below one request" in res.output
    res = runner.invoke(cli, ["classify", str(ask_env["log"]), "--budget", "1"])
    assert res.exit_code == 2 and "--ask-claude" in res.output


def test_ask_learns_and_every_later_run_applies_the_answers(ask_env):
    runner = CliRunner()
    out = ask_env["data_dir"] / "out"
    res = runner.invoke(
        cli,
        [
            "classify",
            str(ask_env["log"]),
            "--model",
            str(SHIPPED_MODEL),
            "--ask-claude",
            "--budget",
            "0.05",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    sim = ask_env["sim"]
    assert sim.stats["batches_created"] == 1 and sim.stats["oracle"] >= 1
    store = json.loads((ask_env["data_dir"] / "answers" / "answers.json").read_text())
    assert store["answers"] and not store["pending"]
    assert {a["label"] for a in store["answers"]} == {"LOOK", "SKIP"}
    assert (ask_env["data_dir"] / "models" / "learned_model.json.gz").exists()
    ask_doc = json.loads((out / "ask.json").read_text())
    # one answer per item asked: templates, keys, and votes on keys' other lines
    assert ask_doc["cost_usd"] > 0 and len(ask_doc["answers"]) >= len(store["answers"])
    assert any(a.get("votes") for a in store["answers"])

    rows = [json.loads(x) for x in (out / "dpkg.log.look.jsonl").read_text().splitlines()]
    flagged = {r["line"] for r in rows}
    truth = {i for i, y in enumerate(ask_env["labels"], 1) if y == "LOOK"}
    assert flagged == truth  # every template answered: the answers decide every line
    assert all(r["source"] == "claude" and r["reason"] for r in rows)

    # a later run without --ask-claude uses the learned model: same rows
    res = runner.invoke(cli, ["classify", str(ask_env["log"]), "--output", str(out / "again")])
    assert res.exit_code == 0, res.output
    again = (out / "again" / "dpkg.log.look.jsonl").read_text()
    assert again == (out / "dpkg.log.look.jsonl").read_text()

    # asking again: every template is known, nothing is sent or paid
    res = runner.invoke(
        cli, ["classify", str(ask_env["log"]), "--ask-claude", "--budget", "0.05", "--dry-run"]
    )
    assert res.exit_code == 0, res.output
    assert "0 template(s) in 0 request(s)" in res.output
    assert sim.stats["batches_created"] == 1


def test_a_killed_run_collects_its_batch_instead_of_paying_again(ask_env):
    from lookskip.ask.run import ask, plan_ask
    from lookskip.ask.store import load_store
    from lookskip.classify.scorer import load_scorer

    settings = get_settings()
    scorer = load_scorer(str(SHIPPED_MODEL))

    class Killed(Exception):
        pass

    def kill_while_waiting(step: str) -> None:
        if step.startswith("waiting"):
            raise Killed

    ask_env["sim"].simulator.options.delay = 1.0
    plan = plan_ask(scorer, [str(ask_env["log"])], settings, 0.05)
    with pytest.raises(Killed):
        ask(plan, settings, on_step=kill_while_waiting)
    doc = load_store(settings)
    assert doc["pending"] and not doc["answers"]
    report = ask(plan_ask(scorer, [str(ask_env["log"])], settings, 0.05), settings)
    assert ask_env["sim"].stats["batches_created"] == 1  # the same batch, collected
    doc = load_store(settings)
    templates = {t.template for t in plan.chosen}
    assert not doc["pending"] and {a["template"] for a in doc["answers"]} == templates
    assert len(report.answers) == len(plan.chosen)


def test_now_uses_the_messages_api_and_masked_sends_keys(ask_env):
    from lookskip.ask.run import ask, plan_ask
    from lookskip.classify.scorer import load_scorer

    settings = get_settings()
    plan = plan_ask(
        load_scorer(str(SHIPPED_MODEL)), [str(ask_env["log"])], settings, 0.05, send="masked"
    )
    shown = plan.requests[0].params["messages"][0]["content"]
    assert "<NUM>" in shown and "2026-05" not in shown  # keys, not raw lines
    report = ask(plan, settings, now=True)
    assert ask_env["sim"].stats["batches_created"] == 0
    assert len(report.answers) == len(plan.chosen)  # the oracle answers keys too


def test_base_rows_train_a_fresh_install_and_own_labels_replace_them(tmp_path, data_dir):
    from lookskip.training.base import read_base_rows
    from lookskip.training.labels import LabelError, load_files, training_files

    head, _ = read_base_rows(str(SHIPPED_BASE))
    assert len(head["datasets"]) == 20
    assert not {"BGL", "Thunderbird"} & set(head["datasets"])
    settings = get_settings().model_copy(update={"base_rows": str(SHIPPED_BASE)})
    files = training_files(settings.labels_dir, None, settings)
    assert files == [str(SHIPPED_BASE)]  # no labels yet: the base rows alone
    data = load_files(files)
    assert len(data.lines) == head["lines"] and len(data.datasets) == 20
    labels = data_dir / "labels"
    labels.mkdir()
    (labels / "HDFS.jsonl").write_text(
        json.dumps(
            {"system": "HDFS", "line_number": 1, "raw_line": "x", "label": "LOOK", "reason": "r"}
        )
        + "\n"
    )
    data = load_files(training_files(str(labels), None, settings))
    assert data.systems.count("HDFS") == 1  # the user's file, not the base rows
    bad = tmp_path / "base_rows.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"format": "lookskip-base-rows", "key_rules_hash": "x"}\n'))
    with pytest.raises(LabelError, match="other template-key rules"):
        read_base_rows(str(bad))


def test_oracle_answers_window_requests_by_line(tmp_path):
    from lookskip.apisim.responder import Oracle
    from lookskip.labeling.prompt import Window, build_request

    lines, labels = dpkg_like(60)
    _, oracle_path = write_log(tmp_path, "dpkg", lines, labels)
    oracle = Oracle.load([str(oracle_path)])
    req = build_request(Window("dpkg", 1, tuple(lines[:50]), 60), "claude-haiku-4-5", 1000)
    items, misses = oracle.items(req["params"])
    assert misses == 0
    assert [i["label"] for i in items] == labels[:50]


@pytest.mark.integration
def test_workers_ask_refit_then_classify_with_the_learned_model(
    celery_workers, batch_sim, tmp_path
):
    """`enqueue classify --ask-claude`: the ask task (train queue) asks through the
    Batch API, files the answers in the shared data dir, refits, and the classify
    units score with the learned model."""
    import subprocess
    import sys

    from lookskip.apisim.responder import Oracle

    lines, labels = dpkg_like(seed=11)
    log, oracle = write_log(tmp_path, "dpkg", lines, labels)
    batch_sim.simulator.oracle = Oracle.load([str(oracle)])
    created = batch_sim.stats["batches_created"]
    out = tmp_path / "out"
    try:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "enqueue",
                "classify",
                str(log),
                "--output",
                str(out),
                "--model",
                str(SHIPPED_MODEL),
                "--ask-claude",
                "--budget",
                "0.05",
                "--wait",
            ],
            cwd=ROOT,
            env=celery_workers.env,
            capture_output=True,
            timeout=400,
        )
        assert r.returncode == 0, r.stderr.decode()[-3000:] + celery_workers.all_logs()[-3000:]
        assert batch_sim.stats["batches_created"] == created + 1
        ask_doc = json.loads((out / "ask.json").read_text())
        assert ask_doc["answers"] and ask_doc["model"].endswith("learned_model.json.gz")
        store_text = (celery_workers.data_dir / "answers" / "answers.json").read_text()
    finally:
        # the workers' data dir is shared by the session: the answers and the learned
        # model would change every later test's training data and default model
        batch_sim.simulator.oracle = None
        shutil.rmtree(celery_workers.data_dir / "answers", ignore_errors=True)
        for name in ("learned_model.json.gz", "learned_model.prev.json.gz"):
            (celery_workers.data_dir / "models" / name).unlink(missing_ok=True)
    store = json.loads(store_text)
    assert not store["pending"]
    rows = [json.loads(x) for x in (out / "dpkg.log.look.jsonl").read_text().splitlines()]
    assert {r["line"] for r in rows} == {i for i, y in enumerate(labels, 1) if y == "LOOK"}
    assert all(r.get("source") == "claude" for r in rows)
    from fixtures_services import FAKE_API_KEY

    for written in ((out / "ask.json").read_text(), store_text):
        assert FAKE_API_KEY not in written  # the key stays in the environment


def test_rows_name_claude_on_every_classify_path(tmp_path, monkeypatch):
    """The Rust writer, the bulk Python path and the numpy reference write the same
    rows for a model with answers, ``source`` and ``reason`` included."""
    from lookskip.settings import get_settings

    lines, _ = dpkg_like(120)
    log, _ = write_log(tmp_path, "dpkg", lines, ["SKIP"] * len(lines))
    model = with_answers(
        tmp_path,
        [
            {
                "template": "<NUM>-<NUM>-<NUM> <NUM>:<NUM>:<NUM> upgrade <*> <*> <*>",
                "label": "LOOK",
                "reason": "upgraded",
            }
        ],
    )
    outputs = {}
    for name, env in {"rust": None, "reference": "1"}.items():
        for fmt in ("jsonl", "text"):  # the plain-file path prints through Python
            res = CliRunner().invoke(
                cli, ["classify", str(log), "--model", str(model), "--format", fmt]
            )
            assert res.exit_code == 0, res.output
            outputs[f"{name} stdout {fmt}"] = res.stdout
        if env:
            monkeypatch.setenv("LOOKSKIP_NO_RUST", env)
        get_settings.cache_clear()
        res = CliRunner().invoke(
            cli, ["classify", str(log), "--model", str(model), "--output", str(tmp_path / name)]
        )
        assert res.exit_code == 0, res.output
        outputs[name] = (tmp_path / name / "dpkg.log.look.jsonl").read_text()
        monkeypatch.delenv("LOOKSKIP_NO_RUST", raising=False)
    rows = [json.loads(x) for x in outputs["rust"].splitlines()]
    upgrades = [r for r in rows if " upgrade " in r["text"]]
    assert upgrades and all(r["source"] == "claude" and r["reason"] == "upgraded" for r in upgrades)

    def same(a: str, b: str) -> bool:  # numpy and Rust agree to 1e-9, not to the bit
        ra, rb = ([json.loads(x) for x in t.splitlines()] for t in (a, b))
        return len(ra) == len(rb) and all(
            {**x, "prob": 0} == {**y, "prob": 0} and abs(x["prob"] - y["prob"]) < 1e-9
            for x, y in zip(ra, rb, strict=True)
        )

    assert same(outputs["reference"], outputs["rust"])
    assert same(outputs["reference stdout jsonl"], outputs["rust"])
    assert outputs["rust stdout jsonl"] == outputs["rust"]
    assert outputs["rust stdout text"].count("\n") == len(rows)


def test_votes_on_a_key_take_the_majority_and_count_its_template():
    from lookskip.ask.store import add_answers, training_rows
    from lookskip.model.answers import Answers

    doc = {"answers": [], "pending": {}}
    general = {"template": "a <*> c", "label": "SKIP", "reason": "routine", "examples": ["x"]}
    general["keys"] = [["a b c", 5], ["a d c", 2]]
    vote = {"template": "a b c", "keys": [["a b c", 5]], "examples": ["y"], "vote": True}
    add_answers(doc, [{**vote, "label": "LOOK", "reason": "odd"}, general])
    key = next(a for a in doc["answers"] if a["template"] == "a b c")
    assert key["votes"] == {"LOOK": 1, "SKIP": 1} and key["label"] == "LOOK"  # tie: LOOK
    add_answers(doc, [{**vote, "label": "SKIP", "reason": "fine"}])
    key = next(a for a in doc["answers"] if a["template"] == "a b c")
    assert key["votes"] == {"LOOK": 1, "SKIP": 2} and key["label"] == "SKIP"
    answers = Answers(doc["answers"])
    assert answers.find("a b c").label == "SKIP" and answers.find("a d c").label == "SKIP"
    assert sorted(training_rows(doc)) == [
        ("answers", "a b c", "SKIP", 5),
        ("answers", "a d c", "SKIP", 2),
    ]
