"""Parameters are checked before the first task is sent (enqueue) or the first step runs.

The probe: ``enqueue pipeline --datasets Apache,HDFS,OpenSSH,Zookeeper --grid quick``
(default --folds 5, four datasets) used to fail in ``lookskip.train.plan``, after the
labeling had been paid for. No Redis runs here: a refusal must come before any
connection is made, which is the point.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip.preflight import ParamError, check

FOUR = "Apache,HDFS,OpenSSH,Zookeeper"


@pytest.fixture
def no_broker(monkeypatch, data_dir):
    """A broker that does not exist: anything sent would fail with a connection error."""
    monkeypatch.setenv("LOOKSKIP_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("LOOKSKIP_RESULT_BACKEND", "redis://127.0.0.1:1/0")
    from lookskip.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_probe_is_refused_before_anything_is_sent(no_broker):
    from worker.workflows import enqueue

    with pytest.raises(ParamError, match=r"--folds 5 needs at least 5 training datasets.*4"):
        enqueue("pipeline", {"datasets": FOUR, "grid": "quick"})


def test_enqueue_pipeline_cli_refuses_it_with_the_reason(no_broker):
    r = CliRunner().invoke(
        cli, ["enqueue", "pipeline", "--datasets", FOUR, "--grid", "quick", "--wait"]
    )
    assert r.exit_code == 1
    assert "--folds 5 needs at least 5" in r.output and "unreachable" not in r.output.lower()


@pytest.mark.parametrize(
    ("stage", "params", "match"),
    [
        ("pipeline", {"datasets": FOUR, "folds": 4, "holdout": "HDFS"}, "--folds 4 needs"),
        ("pipeline", {"datasets": "HDFS,Nope"}, "unknown dataset"),
        (
            "pipeline",
            {"datasets": FOUR, "holdout": "BGL", "folds": 2},
            "--holdout: no labels for BGL",
        ),
        ("pipeline", {"datasets": "HDFS,BGL", "holdout": "BGL", "folds": 2}, "at least 2"),
        ("pipeline", {"grid": "huge"}, "unknown grid"),
        ("pipeline", {"folds": 1}, "at least 2"),
        ("pipeline", {"folds": "x"}, "whole number"),
        ("pipeline", {"from": "nope"}, "--from nope"),
        ("ingest", {"source": "/no/such/dir"}, "no such directory"),
        ("label", {"datasets": "Nope"}, "unknown dataset"),
    ],
)
def test_each_stage_parameter_is_checked(data_dir, stage, params, match):
    with pytest.raises(ParamError, match=match):
        check(stage, params)


@pytest.mark.parametrize(
    ("stage", "good", "bad", "match"),
    [
        ("pipeline", {"datasets": FOUR, "grid": "quick", "folds": 4}, {"folds": 5}, "--folds 5"),
        ("pipeline", {"grid": "quick"}, {"grid": "huge"}, "unknown grid"),
        ("ingest", {"datasets": "HDFS"}, {"datasets": "HDFSx"}, "unknown dataset"),
        ("classify", {"inputs": ["x"], "output": "y"}, {"threshold": 1.0001}, "--threshold"),
        ("classify", {"threshold": 0, "bert_threshold": 1}, {"threshold": "nan"}, "from 0 to 1"),
        ("classify", {"tfidf_threshold": 0.2}, {"tfidf_threshold": float("inf")}, "--tfidf"),
        ("classify", {"bert_threshold": 0.5}, {"bert_threshold": -1}, "--bert-threshold"),
    ],
)
def test_good_parameters_pass_and_one_change_is_refused(data_dir, stage, good, bad, match):
    """Each good set sits next to a refused one, so passing means the check looked."""
    assert check(stage, good) is None
    with pytest.raises(ParamError, match=match):
        check(stage, {**good, **bad})


@pytest.mark.parametrize("value", ["nan", "inf", "2", "-1", "-0.0001", "x"])
@pytest.mark.parametrize(
    "command",
    [
        ["classify", "--threshold"],
        ["enqueue", "classify", "--output", "out", "--threshold"],
        ["classify", "--bert", "--tfidf-threshold"],
        ["classify", "--bert", "--bert-threshold"],
    ],
)
def test_a_threshold_outside_0_1_is_refused_everywhere(no_broker, tmp_path, command, value):
    """Defect 10: nan, inf, 2 and -1 were accepted (no line LOOK, or every one)."""
    log = tmp_path / "a.log"
    log.write_text("ERROR disk failed\n")
    r = CliRunner().invoke(cli, [*command, value, str(log)])
    assert r.exit_code == 2, r.output
    assert f"{value} must be a number from 0 to 1" in r.output
    assert not (tmp_path / "out").exists()


def test_the_workers_and_the_core_refuse_a_bad_threshold_too(no_broker, tmp_path):
    from lookskip.bulk.run import classify_inputs
    from worker.workflows import enqueue

    with pytest.raises(ParamError, match="--threshold nan"):
        enqueue("classify", {"inputs": ["/x"], "output": "/y", "threshold": float("nan")})
    log = tmp_path / "a.log"
    log.write_text("ERROR disk failed\n")
    model = str(Path(__file__).resolve().parent.parent / "data/models/look_skip_model.json.gz")
    with pytest.raises(ValueError, match="--threshold 2"):
        classify_inputs([str(log)], str(tmp_path / "out"), model_path=model, threshold=2)
    summary = classify_inputs([str(log)], str(tmp_path / "out"), model_path=model, threshold=0)
    assert summary["totals"]["look"] == 1  # 0 is a threshold: every line LOOK


def test_train_counts_the_labels_on_disk(data_dir):
    labels = data_dir / "labels"
    labels.mkdir()
    for name in ("HDFS", "BGL", "Linux"):
        (labels / f"{name}.jsonl").write_text(json.dumps({"raw_line": "x", "label": "SKIP"}) + "\n")
    (labels / "all_labeled.jsonl").write_text("")
    check("train", {"folds": 3})
    with pytest.raises(ParamError, match=r"--folds 5 needs.*give 3 \(BGL, HDFS, Linux\)"):
        check("train", {})
    with pytest.raises(ParamError, match="--folds 3 needs"):
        check("pipeline", {"from": "train", "folds": 3, "holdout": "BGL"})


def test_local_train_refuses_before_loading_anything(data_dir):
    labels = data_dir / "labels"
    labels.mkdir()
    for name in ("HDFS", "BGL"):
        (labels / f"{name}.jsonl").write_text(json.dumps({"raw_line": "x", "label": "SKIP"}) + "\n")
    r = CliRunner().invoke(cli, ["train", "--folds", "5"])
    assert r.exit_code == 1 and "--folds 5 needs at least 5 training datasets" in r.output
