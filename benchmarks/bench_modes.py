"""Transformer-mode speed: ``classify --model transformer --threads 1`` lines per CPU second.

Printed, in one run:
* for logs with 0.1%, 1%, 5% and 100% distinct transformer inputs per line (each log
  holds ``--inputs`` distinct inputs, so each case scores the same number of them):
  lines per CPU second of the whole command (a subprocess: start-up and model load
  included) and of its scoring alone (``summary.json`` seconds), cold (a fresh data
  dir) and warm (the same data dir again: the persistent score cache answers);
* with ``--validation``, the same on the logs of ``../shared/data/validation/``
  (82-98% distinct inputs per line);
* µs per distinct input, candle (``lookskip_rs.BertClassifier``, 1 thread) vs torch
  (``BertForSequenceClassification`` on the same export, 1 thread, sorted by length),
  same inputs, same run, and their largest probability difference.

    nice -n 10 python benchmarks/bench_modes.py [--bert-model DIR] [--inputs 500]
                                                [--validation] [--skip torch]

Distinct inputs are made from the labeled lines' model inputs plus a distinct made-up
word (letters: the key keeps words, numbers would be masked), so every input is new
to the transformer while its token length stays that of a real line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

FRACTIONS = (0.001, 0.01, 0.05, 1.0)


def word(i: int) -> str:
    """A distinct lowercase made-up word per i (base 26, 'q' first so it reads as a word)."""
    s = ""
    i += 26 * 26
    while i:
        i, r = divmod(i, 26)
        s = chr(97 + r) + s
    return "q" + s


def base_lines() -> list[str]:
    """Labeled lines of the 20 training datasets (never BGL/Thunderbird: this is speed only)."""
    rows = []
    for path in sorted((SHARED / "labels").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line)["raw_line"])
    return rows


def make_log(path: Path, base: list[str], n_inputs: int, fraction: float, seed: int) -> int:
    """A log of ``n_inputs / fraction`` lines drawing on ``n_inputs`` distinct lines
    (each a labeled line plus a distinct word); returns its line count."""
    rng = random.Random(seed)
    distinct = [f"{rng.choice(base)} {word(seed * 1_000_000 + i)}" for i in range(n_inputs)]
    n = round(n_inputs / fraction)
    order = distinct + [rng.choice(distinct) for _ in range(n - n_inputs)]
    rng.shuffle(order)
    path.write_text("\n".join(order) + "\n", "utf-8")
    return n


def run_cli(log: Path, data_dir: Path, out: Path, bert_model: str | None) -> tuple[float, float]:
    """(CPU seconds of the whole command, seconds of its scoring from summary.json)."""
    env = {**os.environ, "LOOKSKIP_DATA_DIR": str(data_dir), "LOOKSKIP_DEVICE": "cpu"}
    args = [sys.executable, "-m", "cli.main", "classify", "--model", "transformer"]
    args += ["--threads", "1", "--quiet", "--no-report", str(log), "--output", str(out)]
    if bert_model:
        args += ["--bert-model", bert_model]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads((out / "summary.json").read_text())
    return cpu, float(summary["totals"]["seconds"])


def modes_speed(args, base: list[str], tmp: Path) -> None:
    print(
        f"lookskip classify --model transformer --threads 1; {args.inputs} distinct inputs per log"
    )
    cols = ("cold CLI", "cold scoring", "warm CLI", "warm scoring")
    print(
        f"{'distinct':>9} {'lines':>10}  "
        + "  ".join(f"{c:>13}" for c in cols)
        + "  (CLI: lines per CPU s; scoring: lines/s)"
    )
    for k, fraction in enumerate(FRACTIONS):
        log = tmp / f"d{k}.log"
        n = make_log(log, base, args.inputs, fraction, seed=k + 1)
        data = tmp / f"data{k}"
        data.mkdir()
        cold = run_cli(log, data, tmp / f"out{k}a", args.bert_model)
        warm = run_cli(log, data, tmp / f"out{k}b", args.bert_model)
        rates = (n / cold[0], n / cold[1], n / warm[0], n / warm[1])
        print(f"{fraction:>9.1%} {n:>10,}  " + "  ".join(f"{r:>13,.0f}" for r in rates))
    if args.validation:
        from lookskip.transformer.inputs import model_input

        for path in sorted((SHARED / "validation" / "logs").glob("*.log")):
            text = path.read_text("utf-8", "replace").splitlines()
            n = len(text)
            share = len(set(map(model_input, text))) / max(n, 1)
            data = tmp / f"val-{path.name}"
            data.mkdir()
            cold = run_cli(path, data, tmp / f"v{path.name}a", args.bert_model)
            warm = run_cli(path, data, tmp / f"v{path.name}b", args.bert_model)
            print(
                f"{path.name}: {n:,} lines, {share:.0%} distinct inputs: cold {n / cold[0]:,.0f} "
                f"lines/CPU s ({n / cold[1]:,.0f}/s scoring), warm {n / warm[0]:,.0f} "
                f"({n / warm[1]:,.0f}/s scoring)"
            )


def per_input(args, base: list[str]) -> None:
    import lookskip_rs

    from lookskip.classify.modes import transformer_choice
    from lookskip.transformer.inputs import model_input

    export_dir, _ = transformer_choice(args.bert_model)
    rng = random.Random(7)
    inputs = list(
        dict.fromkeys(
            model_input(f"{ln} {word(i)}") for i, ln in enumerate(rng.sample(base, args.inputs))
        )
    )
    clf = lookskip_rs.BertClassifier(export_dir, device="cpu", threads=1)
    c0 = time.process_time()
    p_candle = clf.predict_proba(inputs, batch_size=32)
    candle_us = (time.process_time() - c0) / len(inputs) * 1e6
    line = f"µs per input ({len(inputs)} distinct, 1 thread): candle {candle_us:,.0f}"
    if "torch" not in args.skip:
        import torch
        from transformers import BertForSequenceClassification

        from lookskip.transformer.model import (
            load_tokenizer,
            predict_proba_torch,
            prepare_tokenizer,
        )

        torch.set_num_threads(1)
        config = json.loads(Path(export_dir, "config.json").read_text())
        model = BertForSequenceClassification.from_pretrained(export_dir).eval()
        tok = prepare_tokenizer(load_tokenizer(export_dir), int(config["max_length"]))
        c0 = time.process_time()
        p_torch = predict_proba_torch(model, tok, inputs, 32, sort_by_length=True)
        torch_us = (time.process_time() - c0) / len(inputs) * 1e6
        diff = float(np.abs(np.asarray(p_candle) - np.asarray(p_torch)).max())
        line += f", torch {torch_us:,.0f} (sorted by length); max |Δp| {diff:.1e}"
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bert-model", default=None, help="export dir [default: as classify picks]")
    ap.add_argument("--inputs", type=int, default=500, help="distinct inputs per log")
    ap.add_argument("--validation", action="store_true", help="also the validation logs")
    ap.add_argument("--skip", default="", help="comma list of: modes,torch")
    args = ap.parse_args()
    args.skip = set(args.skip.split(","))
    base = base_lines()
    if "modes" not in args.skip:
        with tempfile.TemporaryDirectory(prefix="bench-modes-") as tmp:
            modes_speed(args, base, Path(tmp))
    per_input(args, base)


if __name__ == "__main__":
    main()
