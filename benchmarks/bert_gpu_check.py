"""Held-out LOOK F1 of TF-IDF, BERT and the cascade, with BERT fine-tuned on a GPU.

bench_bert.py reports held-out F1 from whatever ``train-transformer`` last wrote,
which on a CPU means MiniLM on a subsample for one epoch. This script trains the
real thing where a GPU makes it cheap: all-MiniLM-L6-v2 fine-tuned on *every*
labeled line except the held-out datasets, epochs with early stopping as
``lookskip/transformer/train.py`` does (same loss, optimiser, schedule, seed and
selection rule), but bounded by a wall-clock budget so it fits a short GPU lease.
Then it prints, on the held-out datasets:

* LOOK F1 of TF-IDF alone (the exported model at its own threshold), BERT alone
  (at 0.5) and the cascade (TF-IDF >= --tfidf-threshold, then BERT >= 0.5), the
  same three rules as bench_bert.py;
* training time (per epoch and in all) and torch inference lines/s on the device
  (tokenising included, batches sorted by length, as ``predict_proba_torch`` does).

Caveats printed with the figures: like train.py, the epoch is chosen on held-out
F1, so "BERT alone" is slightly optimistic (the per-epoch history shows by how
much); the shipped TF-IDF model was fit on all labels, held-out datasets included.

    python benchmarks/bert_gpu_check.py [--holdout Apache,WebServer] [--labels DIR]
        [--base-model minilm|DIR] [--budget-s 240] [--out DIR] [--save-model DIR]

``--out`` receives ``metrics.json`` and ``held_out_probs.json`` (per held-out line:
dataset, label, TF-IDF and BERT P(LOOK)), enough to recompute any figure without
the model. ``--max-train-lines``/``--max-held-lines``/``--epochs 1`` make a quick
CPU smoke run. Needs torch, transformers, tokenizers, fsspec and numpy only (the
TF-IDF side uses the pure-numpy reference scorer, which the parity tests tie to
the Rust classifier), so it runs on a bare GPU machine with the repo checked out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

from lookskip.model.reference import ReferenceModel  # noqa: E402
from lookskip.transformer import data  # noqa: E402
from lookskip.transformer.model import pick_device, predict_proba_torch  # noqa: E402
from lookskip.transformer.train import (  # noqa: E402
    TrainConfig,
    best_threshold,
    evaluate,
    fine_tune,
    look_metrics,
    save,
)

# The held-out datasets of the figure bench_bert.py printed last
# ("held-out Apache+WebServer"): train-transformer was run with --holdout Apache,WebServer.
DEFAULT_HOLDOUT = "Apache,WebServer"
SHIPPED_TFIDF = str(ROOT / "data/models/look_skip_model.json.gz")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def log_epoch(rec: dict) -> None:
    train_s = max(rec["train_s"], 1e-9)
    log(
        f"epoch {rec['epoch']}{' (partial)' if rec['partial'] else ''}: loss {rec['loss']:.4f}  "
        f"held-out LOOK F1 {rec['held_out_look_f1']:.3f} (P {rec['held_out_precision']:.3f} "
        f"R {rec['held_out_recall']:.3f})  train {rec['train_s']:.1f}s "
        f"({rec['lines'] / train_s:.0f} lines/s)  eval {rec['eval_s']:.1f}s"
        f"{'  *' if rec['improved'] else ''}"
    )


def inference_speed(
    model, tokenizer, lines: list[str], device: str, batch_sizes: list[int], repeats: int
) -> dict[str, float]:
    """Lines/s of ``predict_proba_torch`` (tokenising included), best of ``repeats``."""
    import torch

    predict_proba_torch(
        model, tokenizer, lines[:512], batch_size=128, device=device, sort_by_length=True
    )  # warm-up: kernels, allocator
    out = {}
    for bs in batch_sizes:
        best = math.inf
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            predict_proba_torch(
                model, tokenizer, lines, batch_size=bs, device=device, sort_by_length=True
            )
            if device == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        out[f"batch_{bs}"] = round(len(lines) / best, 1)
        log(
            f"inference: {len(lines):,} lines, batch {bs}: {len(lines) / best:,.0f} lines/s "
            f"(best of {repeats}, {best:.2f}s)"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", default=str(SHARED / "labels"), help="labels directory")
    ap.add_argument("--holdout", default=DEFAULT_HOLDOUT, metavar="A,B")
    ap.add_argument("--base-model", default="minilm", help="minilm, or a BERT directory")
    ap.add_argument("--tfidf-model", default=SHIPPED_TFIDF)
    ap.add_argument(
        "--tfidf-threshold",
        type=float,
        default=0.2,
        help="the cascade's TF-IDF threshold (bench_bert.py's default)",
    )
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument(
        "--budget-s",
        type=float,
        default=240.0,
        help="wall-clock budget of the training loop (evaluations included)",
    )
    ap.add_argument("--max-train-lines", type=int, default=None, help="seeded subsample")
    ap.add_argument("--max-held-lines", type=int, default=None, help="seeded subsample")
    ap.add_argument(
        "--bench-lines",
        type=int,
        default=20_000,
        help="lines (from all labels) for the inference speed figure; 0 skips it",
    )
    ap.add_argument("--bench-batch-sizes", default="128,512")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=None, help="directory for metrics.json, held_out_probs.json")
    ap.add_argument("--save-model", default=None, help="also save the model directory here")
    args = ap.parse_args()

    import torch
    import transformers

    t_start = time.perf_counter()
    cfg = TrainConfig(
        base_model=args.base_model,
        max_length=args.max_length,
        batch_size=args.batch_size,
        epochs=args.epochs,
        patience=args.patience,
        device=args.device,
        time_budget_s=args.budget_s,
    )
    cfg.validate()
    device = pick_device(cfg.device)
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else None
    log(
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"device {device}{f' ({gpu})' if gpu else ''}"
    )

    examples = data.load_examples(args.labels)
    holdout = [h for h in args.holdout.split(",") if h]
    train_ex, held_ex = data.split(examples, holdout)
    rng = random.Random(cfg.seed)
    if args.max_train_lines and len(train_ex) > args.max_train_lines:
        train_ex = rng.sample(train_ex, args.max_train_lines)
    if args.max_held_lines and len(held_ex) > args.max_held_lines:
        held_ex = rng.sample(held_ex, args.max_held_lines)
    n_train_look = sum(e.label for e in train_ex)
    n_held_look = sum(e.label for e in held_ex)
    log(
        f"train: {len(train_ex):,} lines ({n_train_look:,} LOOK) from "
        f"{len({e.system for e in train_ex})} datasets; held out {', '.join(holdout)}: "
        f"{len(held_ex):,} lines ({n_held_look:,} LOOK)"
    )

    held_texts, y = [e.text for e in held_ex], [e.label for e in held_ex]
    tfidf = ReferenceModel.load(args.tfidf_model)
    p_t = np.asarray(tfidf.predict_proba_look(held_texts))

    # train.py's own loop (loss, optimiser, schedule, selection), bounded by the budget
    model, tokenizer, p_b, report = fine_tune(train_ex, held_ex, cfg, on_epoch=log_epoch)
    model.to(device)  # fine_tune hands the model back on the CPU
    p_b = np.asarray(p_b)
    history = report["history"]
    info = {
        "device": report["device"],
        "learning_rate": report["learning_rate"],
        "load_s": report["load_seconds"],
        "train_loop_s": report["train_loop_seconds"],
        "train_s_sum": round(sum(h["train_s"] for h in history), 2),
        "epochs_run": report["epochs_run"],
        "best_epoch": report["best_epoch"],
        "stop_reason": report["stop_reason"],
        "history": history,
    }
    thr, thr_f1 = best_threshold(y, p_b)
    rules = {
        f"TF-IDF alone (threshold {tfidf.threshold:.2f})": p_t >= tfidf.threshold,
        f"BERT alone (threshold {cfg.threshold})": p_b >= cfg.threshold,
        f"cascade (TF-IDF >= {args.tfidf_threshold}, then BERT)": (p_t >= args.tfidf_threshold)
        & (p_b >= cfg.threshold),
    }
    f1 = {name: look_metrics(y, pred.astype(int)) for name, pred in rules.items()}

    speed = {}
    if args.bench_lines:
        pool = [e.text for e in examples]
        lines = random.Random(3).sample(pool, min(args.bench_lines, len(pool)))
        speed = inference_speed(
            model, tokenizer, lines, device, [int(b) for b in args.bench_batch_sizes.split(",")], 3
        )

    print(
        f"\nheld-out LOOK F1 on {', '.join(holdout)} ({len(held_ex):,} lines, "
        f"{n_held_look:,} LOOK); BERT {args.base_model} trained on {len(train_ex):,} lines, "
        f"{info['epochs_run']} epochs (best {info['best_epoch']}; stop: "
        f"{info['stop_reason']}) on {device}{f' ({gpu})' if gpu else ''}:"
    )
    for name, m in f1.items():
        print(
            f"  {name}: {m['look_f1']:.3f}  (P {m['look_precision']:.3f} R {m['look_recall']:.3f})"
        )
    print(f"  BERT at its F1-best threshold {thr:.2f} (chosen on these lines): {thr_f1:.3f}")
    per = evaluate(held_ex, p_b, cfg.threshold)["per_dataset"]
    print(
        "  BERT alone per dataset: "
        + ", ".join(
            f"{k} {v['look_f1']:.3f} (n {v['n']}, LOOK {v['n_look']})" for k, v in per.items()
        )
    )
    print(
        f"training: {info['train_s_sum']:.1f}s in the training steps, "
        f"{info['train_loop_s']:.1f}s with per-epoch evaluation; model load "
        f"{info['load_s']:.1f}s; per epoch: "
        + ", ".join(f"{h['train_s']:.1f}s" for h in info["history"])
    )
    if speed:
        print(
            "inference: "
            + ", ".join(f"{k.replace('_', ' ')} {v:,.0f} lines/s" for k, v in speed.items())
        )
    print(
        "notes: the epoch was picked on held-out F1 (as train.py does), so BERT alone is "
        "slightly optimistic"
    )
    if args.tfidf_model == SHIPPED_TFIDF:
        print("       the shipped TF-IDF model was fit on all labels, these datasets included")
    print(f"total {time.perf_counter() - t_start:.1f}s")

    report = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": device,
        "gpu": gpu,
        "holdout": holdout,
        "base_model": args.base_model,
        "train_size": len(train_ex),
        "train_look": n_train_look,
        "held_out_size": len(held_ex),
        "held_out_look": n_held_look,
        "config": vars(args),
        "tfidf_threshold_own": tfidf.threshold,
        "look_f1": {k: v["look_f1"] for k, v in f1.items()},
        "metrics": f1,
        "bert_tuned_threshold": thr,
        "bert_tuned_threshold_look_f1": thr_f1,
        "bert_per_dataset": per,
        "training": info,
        "inference_lines_per_s": speed,
        "total_s": round(time.perf_counter() - t_start, 1),
    }
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
        rows = [
            {
                "system": e.system,
                "label": e.label,
                "p_tfidf": round(float(a), 6),
                "p_bert": round(float(b), 6),
            }
            for e, a, b in zip(held_ex, p_t, p_b, strict=True)
        ]
        (out / "held_out_probs.json").write_text(json.dumps(rows) + "\n")
    if args.save_model:
        model.to("cpu")
        save(
            model,
            tokenizer,
            {**report, "max_length": cfg.max_length, "threshold": cfg.threshold},
            args.save_model,
        )


if __name__ == "__main__":
    main()
