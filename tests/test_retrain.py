"""``lookskip retrain``: select → label (simulator) → train → export, with before/after F1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.test_labeling_pipeline import copy_samples, label, rows

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
OTHERS = ["Apache", "DatabaseErrors", "Microservices", "SecurityEvents", "WebServer"]


def test_retrain_labels_only_uncertain_windows_and_lifts_the_new_system(
    data_dir, shared_data, api_sim, monkeypatch
):
    if not SHIPPED_MODEL.exists():
        pytest.skip("no shipped model")
    monkeypatch.setenv("LOOKSKIP_MODEL_PATH", str(SHIPPED_MODEL))
    (data_dir / "labels").mkdir()
    for name in OTHERS:  # labels of other systems: the CV groups and the "before" model
        shutil.copy(shared_data / "labels" / f"{name}.jsonl", data_dir / "labels")
    copy_samples(shared_data, data_dir, ["Android"])  # the user's new system: no labels
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"))

    dry = label(
        "--datasets", "Android", "--select", "uncertain", "--max-requests", "4", "--dry-run"
    )
    assert dry.exit_code == 0
    from click.testing import CliRunner

    from cli.main import cli
    from lookskip.settings import get_settings

    get_settings.cache_clear()
    res = CliRunner().invoke(
        cli,
        ["retrain", "--datasets", "Android", "--max-requests", "4", "--grid", "quick"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert sim.stats["replayed"] == 4
    direct = [r for r in rows(data_dir / "labels" / "Android.jsonl") if r.get("source") != "key"]
    assert len(direct) == 200
    model = data_dir / "models" / "look_skip_model.json.gz"
    assert model.exists() and json.loads((data_dir / "models" / "eval_report.json").read_text())
    import re

    m = re.search(
        r"Android: LOOK F1 ([\d.]+) before -> ([\d.]+) after, on its 200 answered", res.output
    )
    assert m, res.output
    before, after = float(m[1]), float(m[2])
    print(f"\nAndroid LOOK F1 on its answered lines: before {before:.3f}, after {after:.3f}")
    assert 0 <= before < after <= 1
    assert "labeling cost $" in res.output


def test_a_fresh_install_retrains_on_the_base_rows(data_dir, shared_data, api_sim, monkeypatch):
    """No labels at all in the data dir: the shipped base rows are the other datasets."""
    from click.testing import CliRunner

    from cli.main import cli
    from lookskip.settings import get_settings

    monkeypatch.setenv("LOOKSKIP_MODEL_PATH", str(SHIPPED_MODEL))
    copy_samples(shared_data, data_dir, ["Android"])
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"))
    args = ["retrain", "--datasets", "Android", "--max-requests", "2", "--grid", "quick"]

    monkeypatch.setenv("LOOKSKIP_BASE_ROWS", "none")  # nothing to learn beside Android
    get_settings.cache_clear()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and "nothing was sent" in res.output, res.output
    assert sim.stats["batches_created"] == 0

    monkeypatch.setenv("LOOKSKIP_BASE_ROWS", str(ROOT / "data" / "models" / "base_rows.jsonl.gz"))
    get_settings.cache_clear()
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert sim.stats["batches_created"] == 1
    report = json.loads((data_dir / "models" / "eval_report.json").read_text())
    assert "HDFS" in json.dumps(report)  # base rows' datasets were trained on
    assert "Android: LOOK F1" in res.output
