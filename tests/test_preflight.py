"""Parameters are checked before the first task is sent (enqueue) or the first step runs.

The probe: ``enqueue pipeline --datasets Apache,HDFS,OpenSSH,Zookeeper --grid quick``
(default --folds 5, four datasets) used to fail in ``lookskip.train.plan``, after the
labeling had been paid for. No Redis runs here: a refusal must come before any
connection is made, which is the point.
"""

from __future__ import annotations

import json

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


def test_good_parameters_pass(data_dir):
    check("pipeline", {"datasets": FOUR, "grid": "quick", "folds": 4})
    check("pipeline", {"grid": "quick"})  # every registry dataset
    check("ingest", {"datasets": "HDFS"})
    check("classify", {"inputs": ["x"], "output": "y"})


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
