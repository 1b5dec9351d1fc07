"""Speed and memory of the Rust classifier (issue 4), measured side by side in one run.

Prints: Rust single-thread and all-threads lines/s on a >= 1M-line corpus built from
the 22 shared samples (numbers and timestamps perturbed per repetition, so lines are
not exact duplicates); scikit-learn ``predict_proba`` lines/s on a uniform sample of
the same lines (single-thread; the full corpus would take hours); the ratios; model
load time; peak memory while classifying a ~2 GB file; and the floor on that file
(``wc -l`` and the Rust line counter).

On a shared machine wall-clock figures depend on the load, so CPU-time figures
(process CPU seconds) are printed beside them; the ratio uses CPU time of both.

    uv run --no-sync python benchmarks/bench_classify.py [--lines 1000000] [--big-gb 2]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

_DIGITS = re.compile(r"[0-9]+")


def sample_lines() -> list[str]:
    lines: list[str] = []
    for f in sorted((SHARED / "loghub").glob("*_2k.log")):
        text = f.read_bytes().decode("utf-8", "replace")
        lines += [ln.rstrip("\r") for ln in text.split("\n") if ln]
    return lines


def perturb(line: str, rng: random.Random) -> str:
    """Same shape, different numbers: each digit run gets new digits of the same length."""
    return _DIGITS.sub(
        lambda m: str(rng.randrange(10 ** len(m.group()))).zfill(len(m.group())), line
    )


def corpus(n: int, seed: int = 7) -> list[str]:
    base = sample_lines()
    rng = random.Random(seed)
    out = list(base)
    while len(out) < n:
        out += [perturb(ln, rng) for ln in base]
    return out[:n]


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - w, time.process_time() - c


def sklearn_model(model_json: str, joblib_path: str | None):
    """The sklearn model and its exported file: ``joblib_path`` (or the joblib beside the
    exported file) with ``model_json``, else a model fit now on the labels and exported."""
    import joblib

    path = (
        Path(joblib_path) if joblib_path else Path(model_json).with_name("look_skip_model.joblib")
    )
    if path.exists():
        return joblib.load(path), model_json
    import json

    from lookskip.model.export import model_document, write_document
    from lookskip.model.pipeline import TrainedModel, build_pipeline, encode_labels

    rows = [
        json.loads(x)
        for f in sorted((SHARED / "labels").glob("*.jsonl"))
        for x in f.read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    pipe = build_pipeline()
    pipe.fit([r["raw_line"] for r in rows], encode_labels([r["label"] for r in rows]))
    model = TrainedModel(pipeline=pipe, threshold=0.5)
    out = os.path.join(tempfile.mkdtemp(prefix="bench-classify-"), "look_skip_model.json.gz")
    write_document(model_document(model), out)
    return model, out


def big_file(path: str, lines: list[str], gb: float) -> int:
    chunk = ("\n".join(lines[:200_000]) + "\n").encode("utf-8")
    target = int(gb * (1 << 30))
    written = 0
    with open(path, "wb") as f:
        while written < target:
            f.write(chunk)
            written += len(chunk)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "data/models/look_skip_model.json.gz"))
    ap.add_argument(
        "--sklearn-model",
        default=None,
        metavar="JOBLIB",
        help="The fitted TrainedModel that --model was exported from "
        "(default: look_skip_model.joblib beside it, else fit one now).",
    )
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--sklearn-lines", type=int, default=20_000)
    ap.add_argument("--big-gb", type=float, default=2.0)
    args = ap.parse_args()

    import lookskip_rs
    import numpy as np
    from threadpoolctl import threadpool_limits

    model, model_json = sklearn_model(args.model, args.sklearn_model)
    print(f"model: {model_json}")
    print(f"cores visible: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    lines, dt, _ = timed(lambda: corpus(args.lines))
    print(f"corpus: {len(lines):,} lines ({len(set(lines)):,} distinct), built in {dt:.1f}s")

    loads, rust_side = [], []
    for _ in range(5):
        clf1, dt, _ = timed(lambda: lookskip_rs.Classifier(model_json, threads=1))
        loads.append(dt)
        rust_side.append(clf1.load_seconds)
    print(
        f"model load: {min(loads) * 1000:.0f} ms from Python "
        f"(best of 5; Rust-side {min(rust_side) * 1000:.0f} ms, median "
        f"{sorted(loads)[2] * 1000:.0f} ms)"
    )
    clf_all = lookskip_rs.Classifier(model_json, threads=0)

    clf1.predict_proba(lines[:20_000])  # warm up
    p1, w1, c1 = timed(lambda: clf1.predict_proba(lines))
    print(
        f"rust 1 thread:  {len(lines) / w1:,.0f} lines/s wall, {len(lines) / c1:,.0f} lines/s CPU"
    )
    pa, wa, ca = timed(lambda: clf_all.predict_proba(lines))
    print(
        f"rust {clf_all.threads} threads: {len(lines) / wa:,.0f} lines/s wall "
        f"({len(lines) / ca:,.0f} lines per CPU-second)"
    )
    assert np.array_equal(p1, pa)

    step = max(1, len(lines) // args.sklearn_lines)
    sample = lines[::step][: args.sklearn_lines]
    with threadpool_limits(1):
        ps, ws, cs = timed(lambda: model.predict_proba_look(sample))
    print(
        f"sklearn 1 thread: {len(sample) / ws:,.0f} lines/s wall, {len(sample) / cs:,.0f} "
        f"lines/s CPU (on {len(sample):,} of the same lines)"
    )
    diff = float(np.max(np.abs(ps - p1[::step][: len(sample)])))
    print(f"max |p_rust - p_sklearn| on those lines: {diff:.2e}")
    print(
        f"ratio rust 1 thread / sklearn: {(len(lines) / c1) / (len(sample) / cs):,.0f}x (CPU), "
        f"{(len(lines) / w1) / (len(sample) / ws):,.0f}x (wall)"
    )
    ratio_all = (len(lines) / wa) / (len(sample) / ws)
    print(f"ratio rust all threads / sklearn: {ratio_all:,.0f}x (wall)")

    with tempfile.TemporaryDirectory(prefix="bench-classify-", dir="/tmp") as tmp:
        path = os.path.join(tmp, "big.log")
        size = big_file(path, lines, args.big_gb)
        print(f"big file: {size / (1 << 30):.2f} GiB")
        _, dt, _ = timed(
            lambda: (None, subprocess.run(["wc", "-l", path], check=True, capture_output=True))
        )
        print(f"floor wc -l: {size / dt / 1e6:,.0f} MB/s, {dt:.1f}s")
        (n, _), dt, _ = timed(lambda: lookskip_rs.count_lines(path))
        print(f"floor rust count_lines: {n:,} lines in {dt:.1f}s = {n / dt:,.0f} lines/s")
        # VmHWM (peak RSS, KiB) of the fresh process: ru_maxrss would carry over the
        # parent's peak across fork+exec.
        probe = (
            "import lookskip_rs\n"
            "def hwm():\n"
            "    for ln in open('/proc/self/status'):\n"
            "        if ln.startswith('VmHWM:'):\n"
            "            return int(ln.split()[1])\n"
            f"c = lookskip_rs.Classifier({model_json!r}, threads=0)\n"
            "base = hwm()\n"
            f"r = c.classify_file({path!r}, output={os.path.join(tmp, 'big.look.jsonl')!r})\n"
            "print(r['lines'], r['look'], r['seconds'], base, hwm())\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, text=True
        ).stdout.split()
        n, look, base, peak = int(out[0]), int(out[1]), int(out[3]), int(out[4])
        secs = float(out[2])
        print(
            f"classify_file {size / (1 << 30):.2f} GiB, {clf_all.threads} threads: {n:,} lines, "
            f"{look:,} LOOK, {secs:.1f}s = {n / secs:,.0f} lines/s"
        )
        print(
            f"peak RSS classifying it: {peak / 1024:.0f} MB (after model load {base / 1024:.0f} MB)"
        )


if __name__ == "__main__":
    main()
