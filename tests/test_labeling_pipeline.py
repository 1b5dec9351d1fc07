"""``lookskip label`` end to end: official SDK → simulator over HTTP → parse → label files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip import datasets as ds
from lookskip import storage
from lookskip.labeling import batches as B
from lookskip.labeling import pricing
from lookskip.labeling.pipeline import run_label
from lookskip.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def copy_samples(shared: Path, data_dir: Path, names: list[str]) -> None:
    (data_dir / "loghub").mkdir(exist_ok=True)
    for n in names:
        shutil.copy(shared / "loghub" / f"{n}_2k.log", data_dir / "loghub")


def reference(shared: Path, names: list[str]) -> dict[tuple[str, int], dict]:
    out = {}
    for n in names:
        for row in storage.read_jsonl(str(shared / "labels" / f"{n}.jsonl")):
            out[(row["system"], row["line_number"])] = row
    return out


def rows(path: Path) -> list[dict]:
    return list(storage.read_jsonl(str(path))) if path.exists() else []


def label(*args: str):
    get_settings.cache_clear()
    return CliRunner().invoke(cli, ["label", *args], catch_exceptions=False)


def sample_lines(data_dir: Path, name: str) -> int:
    return len((data_dir / "loghub" / f"{name}_2k.log").read_text("utf-8").rstrip("\n").split("\n"))


def test_replay_of_recorded_results_reproduces_the_real_labels(data_dir, shared_data, api_sim):
    recorded = shared_data / "batches" / "batch_results.jsonl"
    names = sorted(p.stem for p in (shared_data / "labels").glob("*.jsonl"))
    copy_samples(shared_data, data_dir, names)
    sim = api_sim(replay=str(recorded))

    result = label()
    assert result.exit_code == 0, result.output

    ref = reference(shared_data, names)
    combined = rows(data_dir / "labels" / "all_labeled.jsonl")
    got = {(r["system"], r["line_number"]): r for r in combined}
    agree = sum(1 for k, r in ref.items() if k in got and got[k]["label"] == r["label"])
    identical = sum(1 for k, r in ref.items() if got.get(k) == r)
    print(
        f"\nreplay agreement: {agree}/{len(ref)} lines = {agree / len(ref):.4%} "
        f"(rows identical incl. reason and raw_line: {identical})"
    )
    assert agree / len(ref) >= 0.999
    assert len(got) == len(ref)
    assert sim.stats["replayed"] == 620 and sim.stats["batches_created"] == 1
    for n in names:  # per-dataset files too
        assert len(rows(data_dir / "labels" / f"{n}.jsonl")) == sum(1 for k in ref if k[0] == n)

    # cost printed and stored = recorded token usage at Batch pricing
    usage = pricing.Usage()
    for r in storage.read_jsonl(str(recorded)):
        usage.add(r["result"]["message"]["usage"])
    expected = pricing.cost_usd("claude-haiku-4-5", usage)
    manifest = json.loads((data_dir / "batches" / "manifest.json").read_text())
    assert manifest["totals"]["cost_usd"] == pytest.approx(expected)
    assert manifest["totals"]["usage"]["input_tokens"] == usage.input_tokens
    assert f"${expected:,.4f}" in result.output
    for path in data_dir.rglob("*"):  # the API key is never written anywhere
        assert not path.is_file() or b"sim-test-key" not in path.read_bytes()
    print(
        f"replay cost at Batch pricing: ${expected:.4f} for {usage.input_tokens:,} in / "
        f"{usage.output_tokens:,} out tokens"
    )


def test_faults_recoverable_lines_labeled_and_the_rest_reported(
    data_dir, shared_data, api_sim, monkeypatch
):
    names = ["Apache", "JavaApp", "KernelErrors", "Microservices"]
    copy_samples(shared_data, data_dir, names)
    sim = api_sim(
        replay=str(shared_data / "batches" / "batch_results.jsonl"),
        fail_rate=0.15,
        error_rate=0.15,
        expire_rate=0.1,
        malformed_rate=0.35,
        seed=7,
    )
    monkeypatch.setenv("LOOKSKIP_MAX_RESUBMITS", "3")
    get_settings.cache_clear()
    settings = get_settings()

    run = run_label(ds.select(names, settings), settings)

    ref = reference(shared_data, names)
    labeled = rows(data_dir / "labels" / "all_labeled.jsonl")
    unlabeled = rows(data_dir / "labels" / "unlabeled.jsonl")
    keys = [(r["system"], r["line_number"]) for r in labeled + unlabeled]
    assert len(keys) == len(set(keys)) == len(ref)  # every line exactly once, no guesses
    assert set(keys) == set(ref)
    # every label given is the recorded one: damaged answers were never "fixed up" by guessing
    assert all(r["label"] == ref[(r["system"], r["line_number"])]["label"] for r in labeled)
    assert all(r["why"] for r in unlabeled)
    print("\nunlabeled, why:", dict(Counter(r["why"] for r in unlabeled)))
    faults = {k: v for k, v in sim.stats.items() if k.startswith(("fault:", "malformed:"))}
    print(
        f"\nfaults injected: {faults}; resubmitted {len(run.resubmitted)} requests, "
        f"gave up on {len(run.gave_up)}; labeled {len(labeled)}, unlabeled {len(unlabeled)}"
    )
    assert any(k.startswith("fault:") for k in faults) and any(
        k.startswith("malformed:") for k in faults
    )
    assert run.resubmitted, "errored/expired/malformed requests were resubmitted"
    assert len(labeled) >= 0.95 * len(ref)
    # each unlabeled line belongs to a window the run gave up on, and says why
    gave_up_windows = {cid: why for cid, why in run.gave_up.items()}
    for r in unlabeled:
        start = (r["line_number"] - 1) // settings.window_size * settings.window_size + 1
        assert f"{r['system']}_{start}" in gave_up_windows
    m = B.load_manifest(settings)
    assert all(len(w["attempts"]) <= 1 + settings.max_resubmits for w in m["windows"].values())
    assert all(b["status"] == "collected" for b in m["batches"].values())


def test_interrupted_run_resumes_without_submitting_twice(data_dir, shared_data, api_sim):
    copy_samples(shared_data, data_dir, ["JavaApp", "KernelErrors"])
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"), delay=5.0)
    env = {
        **os.environ,
        "LOOKSKIP_DATA_DIR": str(data_dir),
        "ANTHROPIC_BASE_URL": sim.url,
        "ANTHROPIC_API_KEY": "sim-test-key",
        "LOOKSKIP_BATCH_MAX_REQUESTS": "10",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "label"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    manifest = data_dir / "batches" / "manifest.json"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # wait until every batch is submitted …
            if manifest.exists():
                bs = json.loads(manifest.read_text())["batches"].values()
                if bs and all(b["api_id"] for b in bs):
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the label run did not submit its batches")
    finally:
        proc.send_signal(signal.SIGKILL)  # … and kill it before it can collect anything
        proc.wait(10)
    before = json.loads(manifest.read_text())
    assert len(before["batches"]) == 3  # 24 requests, at most 10 per batch
    assert all(b["status"] == "in_progress" for b in before["batches"].values())
    assert not (data_dir / "labels").exists()
    assert sim.stats["batches_created"] == 3

    result = label()  # the same command again
    assert result.exit_code == 0, result.output
    assert sim.stats["batches_created"] == 3  # polled, not created again
    after = json.loads(manifest.read_text())
    assert {k: b["api_id"] for k, b in after["batches"].items()} == {
        k: b["api_id"] for k, b in before["batches"].items()
    }
    ref = reference(shared_data, ["JavaApp", "KernelErrors"])
    got = rows(data_dir / "labels" / "all_labeled.jsonl")
    assert len(got) == len(ref)
    assert all(r["label"] == ref[(r["system"], r["line_number"])]["label"] for r in got)


def test_rerun_is_idempotent_and_force_asks_again(data_dir, shared_data, api_sim, monkeypatch):
    copy_samples(shared_data, data_dir, ["JavaApp", "WebServer"])
    sim = api_sim()  # heuristic answers
    assert label().exit_code == 0
    combined = data_dir / "labels" / "all_labeled.jsonl"
    first = combined.read_bytes()
    n = sample_lines(data_dir, "JavaApp") + sample_lines(data_dir, "WebServer")
    assert len(rows(combined)) == n

    again = label()
    assert again.exit_code == 0, again.output
    assert sim.stats["batches_created"] == 1  # nothing new to ask
    assert combined.read_bytes() == first
    with monkeypatch.context() as mp:  # nothing to send: no key needed, same files
        mp.delenv("ANTHROPIC_API_KEY")
        no_key = label()
        assert no_key.exit_code == 0, no_key.output
        assert "cost $0.0000" in no_key.output
    assert combined.read_bytes() == first

    forced = label("--force", "--datasets", "JavaApp")
    assert forced.exit_code == 0, forced.output
    assert sim.stats["batches_created"] == 2
    keys = [(r["system"], r["line_number"]) for r in rows(combined)]
    assert len(keys) == len(set(keys)) == n


def test_dry_run_prints_figures_and_sends_nothing(data_dir, shared_data):
    names = ["Apache", "HDFS", "JavaApp"]
    copy_samples(shared_data, data_dir, names)
    result = label("--dry-run")  # no API key, no simulator: nothing may be sent
    # registry datasets without a sample are reported; the three present are planned
    windows = sum(-(-sample_lines(data_dir, n) // 50) for n in names)
    assert f"requests: {windows} in 1 batch(es)" in result.output
    settings = get_settings()
    p = B.prepare(ds.select(names, settings), settings, dry_run=True)
    assert p.requests == windows == 92 and p.lines == 4570
    # estimates within 15% of the real usage recorded for exactly these windows
    real_in = real_out = 0
    for r in storage.read_jsonl(str(shared_data / "batches" / "batch_results.jsonl")):
        if r["custom_id"].rsplit("_", 1)[0] in names:
            real_in += r["result"]["message"]["usage"]["input_tokens"]
            real_out += r["result"]["message"]["usage"]["output_tokens"]
    print(
        f"\ndry run: input estimate {p.input_tokens_estimate:,} vs real {real_in:,}; "
        f"output estimate {p.output_tokens_estimate:,} vs real {real_out:,}; "
        f"cost estimate ${p.cost_estimate_usd:.4f}"
    )
    assert abs(p.input_tokens_estimate / real_in - 1) < 0.15
    assert abs(p.output_tokens_estimate / real_out - 1) < 0.15
    assert f"input tokens (estimate): {p.input_tokens_estimate:,}" in result.output
    assert f"cost estimate (Batch pricing): ${p.cost_estimate_usd:,.4f}" in result.output
    assert not (data_dir / "batches").exists()


def test_missing_sample_is_reported_and_the_others_are_labeled(data_dir, shared_data, api_sim):
    copy_samples(shared_data, data_dir, ["JavaApp"])
    api_sim()
    result = label("--datasets", "JavaApp,KernelErrors")
    assert result.exit_code == 1
    assert "KernelErrors" in result.output and "sample file not found" in result.output
    assert len(rows(data_dir / "labels" / "JavaApp.jsonl")) == sample_lines(data_dir, "JavaApp")
    assert not (data_dir / "labels" / "KernelErrors.jsonl").exists()


def test_missing_api_key_is_one_clear_line(data_dir, shared_data):
    copy_samples(shared_data, data_dir, ["JavaApp"])
    result = label("--datasets", "JavaApp")
    assert result.exit_code == 1
    assert "ANTHROPIC_API_KEY is not set" in result.output
    assert "Traceback" not in result.output


def test_new_only_window_size_model_and_batch_limits(data_dir, shared_data, api_sim, monkeypatch):
    copy_samples(shared_data, data_dir, ["JavaApp", "KernelErrors"])
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"))
    assert label("--datasets", "JavaApp").exit_code == 0

    monkeypatch.setenv("LOOKSKIP_BATCH_MAX_BYTES", "30000")  # 2-3 requests of 100 lines
    result = label(
        "--new-only",
        "--datasets",
        "JavaApp,KernelErrors",
        "--window-size",
        "100",
        "--model",
        "claude-sonnet-4-5",
    )
    assert result.exit_code == 0, result.output
    m = json.loads((data_dir / "batches" / "manifest.json").read_text())
    new = [b for b in m["batches"].values() if b["key"] != "b0001"]
    ids = [c for b in new for c in b["custom_ids"]]
    assert ids == [f"KernelErrors_{s}" for s in range(1, 563, 100)]  # JavaApp left alone
    assert len(new) >= 2 and all(b["bytes"] <= 30000 for b in new)
    assert {b["model"] for b in new} == {"claude-sonnet-4-5"}
    req = next(storage.read_jsonl(str(data_dir / "batches" / new[0]["requests_path"])))
    assert req["params"]["model"] == "claude-sonnet-4-5"
    assert "Lines 1-100 (of 562)" in req["params"]["messages"][0]["content"]
    assert sim.stats["replay_mismatch"] == len(ids)  # 100-line windows: heuristic answers
    assert len(rows(data_dir / "labels" / "KernelErrors.jsonl")) == 562
    # sonnet is priced at 3x haiku: the stored cost follows the batch's model
    sonnet = new[0]
    assert sonnet["cost_usd"] == pricing.cost_usd(
        "claude-sonnet-4-5", pricing.Usage(**sonnet["usage"])
    )


def test_steps_run_separately_like_celery_tasks(data_dir, shared_data, api_sim):
    copy_samples(shared_data, data_dir, ["Microservices"])
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"), delay=0.2)
    settings = get_settings()
    specs = B.prepare(ds.select("Microservices", settings), settings).batches
    assert [len(s.custom_ids) for s in specs] == [8]
    key = specs[0].key
    first = B.submit_batch(key, settings)
    assert B.submit_batch(key, settings)["api_id"] == first["api_id"]  # second call: no-op
    assert sim.stats["batches_created"] == 1
    statuses = []
    while (status := B.poll_batch(key, settings)) != "ended":
        statuses.append(status)
        time.sleep(0.05)
    assert statuses and set(statuses) == {"in_progress"}
    got = B.collect_batch(key, settings)
    assert got.succeeded == 8 and not got.retry and got.cost_usd > 0
    assert B.collect_batch(key, settings).cost_usd == got.cost_usd  # idempotent
    assert B.prepare_resubmits(settings) == []
    from lookskip.labeling.merge import merge_labels

    [merged] = merge_labels(["Microservices"], settings)
    assert merged.labeled == 386 and merged.unlabeled == 0
    m = B.load_manifest(settings)
    b = m["batches"][key]
    assert b["request_counts"]["succeeded"] == 8 and b["ended_at"] and b["submitted_at"]
    assert Counter(w["state"] for w in m["windows"].values()) == {"done": 8}


class Killed(BaseException):
    """Stands for the process dying (SIGKILL) at an exact point."""


def test_death_between_create_and_saving_the_id_adopts_the_batch(
    data_dir, shared_data, api_sim, monkeypatch
):
    copy_samples(shared_data, data_dir, ["Microservices"])
    sim = api_sim(replay=str(shared_data / "batches" / "batch_results.jsonl"))
    settings = get_settings()
    real_update = B._update_from_api

    def die(*_args):  # the API has created the batch; the id is never written
        raise Killed

    monkeypatch.setattr(B, "_update_from_api", die)
    with pytest.raises(Killed):
        run_label(ds.select("Microservices", settings), settings)
    monkeypatch.setattr(B, "_update_from_api", real_update)
    b = B.load_manifest(settings)["batches"]["b0001"]
    assert b["api_id"] is None and b["submit_started_at"]
    assert sim.stats["batches_created"] == 1

    run = run_label(ds.select("Microservices", settings), settings)
    assert sim.stats["batches_created"] == 1  # found at the API and adopted, not paid twice
    assert B.load_manifest(settings)["batches"]["b0001"]["adopted"] is True
    assert [(m.labeled, m.unlabeled) for m in run.merged] == [(386, 0)]


def test_api_down_is_one_clear_line_and_the_next_run_finishes(
    data_dir, shared_data, api_sim, monkeypatch
):
    copy_samples(shared_data, data_dir, ["WebServer"])
    down = api_sim(fail_rate=1.0, fail_codes=(529,))
    monkeypatch.setenv("LOOKSKIP_API_MAX_RETRIES", "1")
    result = label("--datasets", "WebServer")
    assert result.exit_code == 1
    assert "submitting batch b0001: API answered HTTP 529" in result.output
    assert "Traceback" not in result.output
    assert down.stats["fault:529"] == 2 and down.stats["batches_created"] == 0

    up = api_sim()  # the API is back
    result = label("--datasets", "WebServer")
    assert result.exit_code == 0, result.output
    assert up.stats["batches_created"] == 1
    assert len(rows(data_dir / "labels" / "WebServer.jsonl")) == sample_lines(data_dir, "WebServer")


def test_hostile_answers_cost_their_lines_never_the_run(data_dir, shared_data, api_sim):
    """Defect 8: ``{"line": "²"}`` once failed every later run; an example array quoted
    before the answer was taken for it. Every answer here is one of the two."""
    names = ["JavaApp", "KernelErrors"]
    copy_samples(shared_data, data_dir, names)
    sim = api_sim(
        replay=str(shared_data / "batches" / "batch_results.jsonl"),
        malformed_rate=1.0,
        malformations=("odd_line_number", "example_first"),
        seed=3,
    )
    first = label("--datasets", ",".join(names))
    assert first.exit_code == 0, first.output
    assert sim.stats["malformed:odd_line_number"] and sim.stats["malformed:example_first"]
    again = label("--datasets", ",".join(names))  # a later run is not failed by the answers
    assert again.exit_code == 0, again.output

    ref = reference(shared_data, names)
    labeled = rows(data_dir / "labels" / "all_labeled.jsonl")
    unlabeled = rows(data_dir / "labels" / "unlabeled.jsonl")
    assert labeled, "the well-formed items were used"
    # every label is the recorded answer's, never the example's
    assert all(r["label"] == ref[(r["system"], r["line_number"])]["label"] for r in labeled)
    # only a window's line 1 (the "²" item) can go without a label
    size = get_settings().window_size
    assert all((r["line_number"] - 1) % size == 0 for r in unlabeled)
    assert len(labeled) + len(unlabeled) == len(ref)
