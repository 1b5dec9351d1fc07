"""`lookskip enqueue train-transformer` on a real worker: a tiny BERT trained and exported.

The session's workers (tests/fixtures_services.py) consume every queue, the
``transformer`` one included, and share one data dir; this test copies two small
label files from the shared data into it and trains the config-initialised tiny BERT
for one epoch (one dataset trains, the other is held out).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli

pytestmark = pytest.mark.integration

TRAIN_SET, HELD_OUT = "Microservices", "SecurityEvents"
TFIDF = Path(__file__).resolve().parent.parent / "data" / "models" / "look_skip_model.json.gz"
EXPORT_FILES = ("model.safetensors", "config.json", "tokenizer.json", "reference_outputs.json")


def test_enqueue_train_transformer_trains_and_exports_on_a_worker(celery_workers, shared_data):
    from worker.app import app, job_store

    labels = celery_workers.data_dir / "labels"
    labels.mkdir(exist_ok=True)
    for name in (TRAIN_SET, HELD_OUT):
        shutil.copyfile(shared_data / "labels" / f"{name}.jsonl", labels / f"{name}.jsonl")

    res = CliRunner().invoke(
        cli,
        [
            "enqueue",
            "train-transformer",
            "--base-model",
            "tiny",
            "--epochs",
            "1",
            "--max-length",
            "32",
            "--batch-size",
            "64",
            "--device",
            "cpu",
            "--datasets",
            f"{TRAIN_SET},{HELD_OUT}",
            "--holdout",
            HELD_OUT,
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    wf = next(
        line.strip()
        for line in res.output.splitlines()
        if len(line.strip()) == 36 and line.count("-") == 4
    )

    final = app.AsyncResult(wf).get(timeout=120)
    assert final["stage"] == "train-transformer"
    result = final["result"]
    export_dir = celery_workers.data_dir / "models" / "transformer" / "export"
    assert result["export_dir"] == str(export_dir)
    assert result["epochs_run"] == 1 and result["best_epoch"] == 1
    assert result["held_out_datasets"] == [HELD_OUT]
    rows = (labels / f"{TRAIN_SET}.jsonl").read_text().splitlines()
    assert result["train_size"] == len([r for r in rows if r.strip()])
    for name in EXPORT_FILES:
        path = export_dir / name
        assert path.is_file() and path.stat().st_size > 0, path
        assert str(path) in result["artifacts"]
    config = json.loads((export_dir / "config.json").read_text())
    assert config["max_length"] == 32 and config["model_type"] == "bert"
    ref = json.loads((export_dir / "reference_outputs.json").read_text())
    assert len(ref["lines"]) == len(ref["probabilities"]) > 0
    assert all(0.0 <= p <= 1.0 for p in ref["probabilities"])

    # the registry saw one epoch done, and ends with the same result
    view = job_store().get(wf)
    assert view.state == "SUCCESS"
    assert {"name": "epochs", "done": 1, "total": 1} in [
        {k: p[k] for k in ("name", "done", "total")} for p in view.parts
    ]
    assert view.result["result"]["artifacts"] == result["artifacts"]

    # every mode runs on the classify queue: the workers' rows are the local run's
    log = celery_workers.data_dir / "modes-input" / "ms.log"
    log.parent.mkdir(exist_ok=True)
    raw = (shared_data / "loghub" / "Apache_2k.log").read_text("utf-8").splitlines()[:300]
    log.write_text("\n".join(raw) + "\n", "utf-8")
    for mode in ("transformer", "cascade"):
        out = celery_workers.data_dir / f"modes-{mode}"
        args = ["--model", mode, "--tfidf-model", str(TFIDF), "--bert-model", str(export_dir)]
        args.append(str(log))
        local = CliRunner().invoke(cli, ["classify", *args, "--output", str(out / "local")])
        assert local.exit_code == 0, local.output
        dist = CliRunner().invoke(
            cli, ["enqueue", "classify", *args, "--output", str(out / "dist"), "--wait"]
        )
        assert dist.exit_code == 0, dist.output
        want = (out / "local" / "ms.log.look.jsonl").read_bytes()
        assert (out / "dist" / "ms.log.look.jsonl").read_bytes() == want, mode
    # the workers keep the transformer's scores in the data dir they share
    assert list((celery_workers.data_dir / "cache" / "transformer").glob("*.sqlite"))
