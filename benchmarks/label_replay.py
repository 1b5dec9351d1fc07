"""Replay the 620 recorded Batch-API results through the whole ``label`` pipeline.

Official SDK → local simulator over HTTP → parse → label files, in a temporary data
dir; prints the agreement with the real labels, the token/cost estimate against the
real usage, and the wall time of each step. Run:

    .venv/bin/python benchmarks/label_replay.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shared",
        default=os.environ.get("LOOKSKIP_SHARED_DATA", str(ROOT.parent / "shared" / "data")),
    )
    args = ap.parse_args()
    shared = Path(args.shared)
    recorded = shared / "batches" / "batch_results.jsonl"
    names = sorted(p.stem for p in (shared / "labels").glob("*.jsonl"))

    from lookskip import datasets as ds
    from lookskip.apisim import SimOptions, serve_in_thread
    from lookskip.labeling import batches as B
    from lookskip.labeling import pricing
    from lookskip.labeling.pipeline import run_label
    from lookskip.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "loghub").mkdir()
        for n in names:
            shutil.copy(shared / "loghub" / f"{n}_2k.log", Path(tmp) / "loghub")
        sim = serve_in_thread(SimOptions(delay=0.1, replay=str(recorded)))
        settings = Settings(
            data_dir=tmp,
            anthropic_api_key="bench",
            anthropic_base_url=sim.url,
            poll_initial_s=0.02,
            poll_max_s=0.2,
        )
        chosen = ds.select(names, settings)

        t = time.perf_counter()
        dry = B.prepare(chosen, settings, dry_run=True)
        t_dry = time.perf_counter() - t
        t = time.perf_counter()
        run = run_label(chosen, settings)
        t_run = time.perf_counter() - t
        sim.stop()

        ref = {
            (r["system"], r["line_number"]): r
            for n in names
            for r in _rows(shared / "labels" / f"{n}.jsonl")
        }
        got = {
            (r["system"], r["line_number"]): r
            for r in _rows(Path(tmp) / "labels" / "all_labeled.jsonl")
        }
    agree = sum(1 for k, r in ref.items() if k in got and got[k]["label"] == r["label"])
    real = pricing.Usage(**{k: v for k, v in run.usage.items()})
    print(f"datasets: {len(names)}, windows: {dry.requests}, lines: {dry.lines}")
    print(f"replay agreement: {agree}/{len(ref)} = {agree / len(ref):.4%} of lines")
    print(
        f"input tokens: estimate {dry.input_tokens_estimate:,} vs reported "
        f"{real.input_tokens:,} ({dry.input_tokens_estimate / real.input_tokens:.3f}x)"
    )
    print(
        f"output tokens: estimate {dry.output_tokens_estimate:,} vs reported "
        f"{real.output_tokens:,} ({dry.output_tokens_estimate / real.output_tokens:.3f}x)"
    )
    print(
        f"cost (Batch pricing): estimate ${dry.cost_estimate_usd:.4f} vs from usage "
        f"${run.cost_usd:.4f}"
    )
    print(
        f"wall: dry run {t_dry:.2f} s; label run (prepare+submit+poll+collect+parse+merge) "
        f"{t_run:.2f} s"
    )


if __name__ == "__main__":
    main()
