"""``lookskip label --select uncertain``: windows chosen by key uncertainty, a cap, a budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookskip import storage
from lookskip.labeling.select import propagate_labels, rank_windows, uncertainty
from lookskip.model.key import template_keys
from tests.test_labeling_pipeline import copy_samples, label, reference, rows

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"


def test_uncertainty_peaks_at_the_threshold():
    assert uncertainty(0.5, 0.5) == 1.0
    assert uncertainty(0.0, 0.5) == uncertainty(1.0, 0.5) == 0.0
    assert uncertainty(0.25, 0.5) == pytest.approx(0.5)
    assert uncertainty(0.9, 0.8) == pytest.approx(0.5)  # the span above a 0.8 threshold is 0.2


def test_windows_ranked_by_uncertain_keys_each_key_counted_once():
    # 4 windows of 3 lines; window 2 holds the uncertain key "u", window 3 repeats it
    keys = ["a", "a", "b", "u", "v", "a", "u", "v", "u", "c", "c", "c"]
    p = {"a": 0.01, "b": 0.99, "u": 0.5, "v": 0.4, "c": 0.45}
    probs = [p[k] for k in keys]
    ranked = rank_windows(keys, probs, 0.5, 3)
    assert [w.start for w in ranked][:2] == [4, 10]
    assert ranked[0].new_keys[:2] == ("u", "v")  # most uncertain first
    # window 7 has only keys window 4 already covered: worth nothing, not listed
    assert 7 not in [w.start for w in ranked]
    # covered keys and skipped windows are honoured; limit stops the list
    again = rank_windows(keys, probs, 0.5, 3, covered={"u", "v"}, skip_starts={10}, limit=1)
    assert [w.start for w in again] == [1]


def test_frequent_keys_weigh_more_but_not_linearly():
    keys = ["x"] * 3 + ["y"] * 3  # two windows of 3
    probs = [0.5] * 3 + [0.5] * 3
    ranked = rank_windows(keys, probs, 0.5, 3, counts={"x": 1000, "y": 1})
    assert [w.start for w in ranked] == [1, 4]
    assert ranked[0].gain == pytest.approx(1 + 6.907755, rel=1e-5)
    assert ranked[1].gain == pytest.approx(1.0)


def test_labels_spread_to_lines_of_the_same_key_and_mixed_keys_spread_nothing():
    keys = ["k1", "k2", "k1", "k2", "k3", "k1"]
    spread, covers = propagate_labels(keys, {0: "LOOK", 1: "SKIP", 3: "LOOK"})
    assert spread == {0: "LOOK", 1: "SKIP", 2: "LOOK", 3: "LOOK", 5: "LOOK"}
    assert covers == {"k1": 3}


@pytest.fixture
def shipped_model(monkeypatch):
    if not SHIPPED_MODEL.exists():
        pytest.skip("no shipped model")
    monkeypatch.setenv("LOOKSKIP_MODEL_PATH", str(SHIPPED_MODEL))


def test_dry_run_shows_the_chosen_windows_and_sends_nothing(
    data_dir, shared_data, api_sim, shipped_model
):
    copy_samples(shared_data, data_dir, ["Android"])
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"))
    result = label(
        "--datasets", "Android", "--select", "uncertain", "--max-requests", "3", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "chosen 3 window(s) by uncertainty (stopped: max_requests)" in result.output
    assert "requests: 3 in 1 batch(es) covering 150 lines" in result.output
    assert sim.stats.get("batches_created", 0) == 0
    assert not (data_dir / "labels" / "Android.jsonl").exists()


def test_selected_windows_are_labeled_spread_by_key_and_a_second_round_adds_more(
    data_dir, shared_data, api_sim, shipped_model
):
    copy_samples(shared_data, data_dir, ["Android"])
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"))
    ref = reference(shared_data, ["Android"])

    result = label("--datasets", "Android", "--select", "uncertain", "--max-requests", "3")
    assert result.exit_code == 0, result.output
    assert sim.stats["replayed"] == 3
    got = rows(data_dir / "labels" / "Android.jsonl")
    direct = [r for r in got if r.get("source") != "key"]
    spread = [r for r in got if r.get("source") == "key"]
    assert len(direct) == 150  # three 50-line windows, every line answered
    assert {(r["line_number"] - 1) // 50 * 50 + 1 for r in direct}.__len__() == 3
    assert all(r == ref[("Android", r["line_number"])] for r in direct)
    assert spread, "labels reach the sample lines of the same keys"
    lines = (data_dir / "loghub" / "Android_2k.log").read_text("utf-8").splitlines()
    keys = template_keys(lines)
    label_of_key = {keys[r["line_number"] - 1]: r["label"] for r in direct}
    for r in spread:  # each spread row carries its key's (single) label and names its source
        assert r["label"] == label_of_key[keys[r["line_number"] - 1]]
        assert r["reason"].startswith("same template as labeled line ")
    assert f"Android: 150 line(s) answered, {len(spread)} more labeled" in result.output

    again = label("--datasets", "Android", "--select", "uncertain", "--max-requests", "2")
    assert again.exit_code == 0, again.output
    assert sim.stats["replayed"] == 5  # only the two new windows were asked
    got2 = [r for r in rows(data_dir / "labels" / "Android.jsonl") if r.get("source") != "key"]
    assert len(got2) == 250 and {r["line_number"] for r in direct} <= {
        r["line_number"] for r in got2
    }
    manifest = json.loads((data_dir / "batches" / "manifest.json").read_text())
    assert manifest["datasets"]["Android"]["selected"] is True
    assert len(manifest["datasets"]["Android"]["custom_ids"]) == 5
    combined = {
        (r["system"], r["line_number"]) for r in rows(data_dir / "labels" / "all_labeled.jsonl")
    }
    assert len(combined) == len(
        list(storage.read_jsonl(str(data_dir / "labels" / "Android.jsonl")))
    )


def test_budget_below_one_window_is_refused_and_options_need_select(
    data_dir, shared_data, shipped_model
):
    copy_samples(shared_data, data_dir, ["Android"])
    result = label("--datasets", "Android", "--select", "uncertain", "--budget", "0.0000001")
    assert result.exit_code != 0
    assert "is below the estimated cost of the first window" in result.output
    assert label("--budget", "1").exit_code != 0
    assert label("--select", "uncertain").exit_code != 0


def test_enqueue_does_not_offer_a_budget_it_could_not_keep():
    """The workers' label stage labels every window: --select/--budget are local only."""
    from click.testing import CliRunner

    from cli.main import cli

    for cmd in (["enqueue", "label"], ["enqueue", "pipeline"]):
        res = CliRunner().invoke(cli, [*cmd, "--select", "uncertain", "--budget", "1"])
        assert res.exit_code == 2 and "No such option" in res.output, res.output


def test_select_uncertain_defaults_to_the_shipped_model_and_names_no_wrong_option(
    data_dir, shared_data, monkeypatch
):
    """A data dir without a model of its own scores with the shipped one; a missing
    LOOKSKIP_MODEL_PATH says so, never `--model` (on `label` that is the Claude model)."""
    copy_samples(shared_data, data_dir, ["Android"])
    monkeypatch.delenv("LOOKSKIP_MODEL_PATH", raising=False)
    ok = label("--datasets", "Android", "--select", "uncertain", "--max-requests", "1", "--dry-run")
    assert ok.exit_code == 0, ok.output
    assert "chosen 1 window(s) by uncertainty" in ok.output

    monkeypatch.setenv("LOOKSKIP_MODEL_PATH", str(data_dir / "nope.json.gz"))
    from lookskip.settings import get_settings

    get_settings.cache_clear()
    bad = label("--datasets", "Android", "--select", "uncertain", "--max-requests", "1")
    assert bad.exit_code == 1
    assert "nope.json.gz (from LOOKSKIP_MODEL_PATH; fix or unset it)" in bad.output
    assert "--model" not in bad.output
