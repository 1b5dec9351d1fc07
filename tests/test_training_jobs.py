"""Plan, fold jobs and the end-to-end flow on a small part of the shared labels.

The six synthetic datasets (~2.8K lines) keep this file fast; the full 30K-line
run with the default grid is what ``benchmarks/bench_train.py`` measures.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip.settings import Settings
from lookskip.training.cache import fold_rows
from lookskip.training.jobs import fit_and_score
from lookskip.training.plan import GRIDS, expand_grid, load_plan, plan_training

SMALL = [
    "DatabaseErrors",
    "JavaApp",
    "KernelErrors",
    "Microservices",
    "SecurityEvents",
    "WebServer",
]


def _plan(shared_data, tmp_path, name, **kw):
    settings = Settings(data_dir=str(tmp_path / name))
    return plan_training(
        str(shared_data / "labels"), "quick", 3, settings=settings, datasets=SMALL, **kw
    )


def test_default_grid_has_32_combinations_and_quick_is_small():
    assert len(expand_grid(GRIDS["default"])) == 32
    assert len(expand_grid(GRIDS["quick"])) == 4


def test_folds_never_share_a_dataset_and_cover_all(shared_data, tmp_path):
    plan = _plan(shared_data, tmp_path, "a", holdout=["WebServer"])
    tested = []
    for f in plan["folds"]:
        assert not set(f["train"]) & set(f["test"])
        assert "WebServer" not in f["train"] + f["test"]
        train_rows, test_rows = fold_rows(plan, f["fold"])
        assert not set(train_rows) & set(test_rows)
        tested += f["test"]
    assert sorted(tested) == sorted(set(SMALL) - {"WebServer"})
    assert len(plan["jobs"]) == 4 * 3
    assert json.loads(json.dumps(plan)) == load_plan(plan["plan_path"])


def test_jobs_are_independent_of_order_and_worker(shared_data, tmp_path):
    """Two fresh runs (separate caches) running the jobs in opposite orders agree."""
    a = _plan(shared_data, tmp_path, "a")
    b = _plan(shared_data, tmp_path, "b")
    ids = [j["job_id"] for j in a["jobs"]][:4]
    ra = {r["job_id"]: r for r in (fit_and_score(a["plan_path"], i) for i in ids)}
    rb = {r["job_id"]: r for r in (fit_and_score(b["plan_path"], i) for i in reversed(ids))}
    # a job run again on a warm cache gives the same answer too
    again = fit_and_score(a["plan_path"], ids[0])
    drop = ("load_seconds", "fit_seconds")
    for i in ids:
        assert {k: v for k, v in ra[i].items() if k not in drop} == {
            k: v for k, v in rb[i].items() if k not in drop
        }
        assert json.loads(json.dumps(ra[i])) == ra[i]  # JSON-serialisable
    assert again["tp"] == ra[ids[0]]["tp"] and again["fp"] == ra[ids[0]]["fp"]
    pa = np.load(f"{a['run_dir']}/preds/{ids[0]}.npy")
    pb = np.load(f"{b['run_dir']}/preds/{ids[0]}.npy")
    np.testing.assert_array_equal(pa, pb)


def test_train_evaluate_export_end_to_end(shared_data, data_dir):
    labels = str(shared_data / "labels")
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "train",
            "--labels-dir",
            labels,
            "--grid",
            "quick",
            "--folds",
            "3",
            "--datasets",
            ",".join(SMALL),
            "--holdout",
            "WebServer",
            "--n-jobs",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "unseen-system macro LOOK F1" in res.output
    report = json.loads((data_dir / "models" / "eval_report.json").read_text())
    for key in (
        "best_params",
        "best_cv_look_f1",
        "train_size",
        "overall",
        "per_dataset",
        "threshold",
        "class_balance",
        "timings",
        "git_revision",
        "data_hashes",
    ):
        assert key in report
    assert set(report["per_dataset"]) == set(SMALL) - {"WebServer"}
    for m in [report["overall"], *report["per_dataset"].values()]:
        assert set(m) >= {"n", "accuracy", "look_precision", "look_recall", "look_f1"}
    assert report["train_size"] == sum(m["n"] for m in report["per_dataset"].values())
    assert report["best_cv_look_f1"] == pytest.approx(report["overall"]["look_f1"])
    assert report["best_cv_look_f1"] > 0.6
    assert report["holdout"]["tuned_threshold"]["per_dataset"].keys() == {"WebServer"}
    assert 0.0 < report["threshold"]["value"] < 1.0
    assert len(report["cv"]["combinations"]) == 4
    # the headline: each dataset scored by a model that never saw it, and the macro mean
    unseen = report["unseen"]
    assert "GroupKFold(3) by dataset" in unseen["protocol"]
    assert set(unseen["per_dataset"]) == set(SMALL) - {"WebServer"}
    f1s = [m["look_f1"] for m in unseen["per_dataset"].values()]
    assert unseen["macro"]["look_f1"] == pytest.approx(sum(f1s) / len(f1s))
    assert set(unseen["macro"]) >= {"accuracy", "look_precision", "look_recall", "look_f1"}
    # lines were collapsed to distinct keys for the fits, but metrics count lines
    assert report["train_rows"] < report["train_size"]

    res = runner.invoke(cli, ["export", "--labels-dir", labels, "--no-reference"])
    assert res.exit_code == 0, res.output
    assert "numpy reference matches sklearn" in res.output
    exported = data_dir / "models" / "look_skip_model.json.gz"

    web = str(shared_data / "labels" / "WebServer.jsonl")
    outs = []
    for model in (data_dir / "models" / "look_skip_model.joblib", exported):
        res = runner.invoke(cli, ["evaluate", "--model", str(model), "--labels", web, "--json"])
        assert res.exit_code == 0, res.output
        outs.append(json.loads(res.output))
    assert outs[0]["overall"] == outs[1]["overall"]
    assert outs[0]["overall"]["look_f1"] == pytest.approx(
        report["holdout"]["tuned_threshold"]["overall"]["look_f1"]
    )
    assert list(outs[0]["per_dataset"]) == ["WebServer"]
    web_f1 = outs[0]["per_dataset"]["WebServer"]["look_f1"]
    assert outs[0]["macro"]["look_f1"] == pytest.approx(web_f1)


def test_evaluate_reports_a_missing_model(shared_data, data_dir):
    res = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "--model",
            str(data_dir / "nope.joblib"),
            "--labels",
            str(shared_data / "labels" / "JavaApp.jsonl"),
        ],
    )
    assert res.exit_code == 1
    assert "model not found" in res.output
