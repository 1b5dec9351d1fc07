"""MiniLM fine-tuned on template-key inputs, scored on systems it never saw.

GroupKFold(5) by dataset over the labeled datasets, with line-level groups (the
folds TF-IDF cross-validation and ``data.holdout_fold`` compute). For each fold:

* the other folds' datasets are split again by dataset (GroupKFold(4), fold 0): the
  model fine-tunes on the inner-train datasets' deduplicated inputs
  (``data.dedup`` with ``inputs.model_input``, loss weighted 1 + ln(count)); the
  epoch kept (early stopping) and the threshold are the ones with the best macro
  LOOK F1 over the inner-validation datasets. The scored fold is never looked at
  for either choice;
* every line of the held-out fold is scored: each distinct input once, the
  metrics counting it as many times as it has lines.

Printed: per-system LOOK precision/recall/F1 and accuracy at the nested threshold
and at 0.3/0.4/0.5, macro over the systems and pooled over lines; the token length
and truncated share per system; training wall time per fold; inference inputs/s;
and, for the same folds, a baseline that flags lines whose key matches
``(?i)error|warn|fail|exception|fatal|critical``.

    nice -n 19 python benchmarks/bench_transformer_unseen.py [--budget-s 420]
        [--max-length 128] [--epochs 2] [--threads 2] [--folds 0,1,2,3,4]
        [--json out.json]

BGL and Thunderbird (validation systems) are refused if present in the labels.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

from lookskip.model.key import template_key  # noqa: E402
from lookskip.transformer import data  # noqa: E402
from lookskip.transformer.inputs import model_input  # noqa: E402
from lookskip.transformer.train import TrainConfig, fine_tune, look_metrics  # noqa: E402

VALIDATION_SYSTEMS = {"BGL", "Thunderbird"}  # never trained on, never looked at
BASELINE = re.compile(r"(?i)error|warn|fail|exception|fatal|critical")
FIXED = (0.3, 0.4, 0.5)
GRID = tuple(float(t) for t in np.round(np.arange(0.05, 0.96, 0.05), 2))


def per_system(examples, pred) -> dict[str, dict]:
    by: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        by[e.system].append(i)
    return {
        s: look_metrics(
            [examples[i].label for i in idx],
            [int(pred[i]) for i in idx],
            [examples[i].count for i in idx],
        )
        for s, idx in sorted(by.items())
    }


def macro_f1(examples, probs, threshold: float) -> float:
    m = per_system(examples, np.asarray(probs) >= threshold)
    return float(np.mean([v["look_f1"] for v in m.values()]))


def best_macro_threshold(examples, probs) -> tuple[float, float]:
    """(threshold, macro F1 over systems) best on the grid; ties go to the one nearest 0.5."""
    scored = [(macro_f1(examples, probs, t), -abs(t - 0.5), t) for t in GRID]
    f1, _, t = max(scored)
    return t, f1


def fmt(m: dict) -> str:
    return (
        f"P {m['look_precision']:.3f} R {m['look_recall']:.3f} F1 {m['look_f1']:.3f} "
        f"acc {m['accuracy']:.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", default=str(SHARED / "labels"))
    ap.add_argument("--base-model", default="minilm")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=420.0, help="training-loop seconds per fold")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--folds", default="0,1,2,3,4", help="which of the 5 folds to run")
    ap.add_argument("--n-folds", type=int, default=5)
    ap.add_argument("--max-train", type=int, default=None, help="subsample (smoke runs only)")
    ap.add_argument("--json", default=None, help="write all figures here")
    args = ap.parse_args()

    import torch

    from lookskip.transformer.model import predict_proba_torch

    torch.set_num_threads(args.threads)
    started = time.time()
    lines = data.load_examples(args.labels)
    bad = VALIDATION_SYSTEMS & {e.system for e in lines}
    if bad:
        raise SystemExit(f"refusing: validation system(s) {sorted(bad)} in {args.labels}")
    systems = sorted({e.system for e in lines})
    print(
        f"{len(lines)} labeled lines, {len(systems)} systems; base {args.base_model}, "
        f"max_length {args.max_length}, epochs <= {args.epochs}, budget {args.budget_s:.0f}s/fold, "
        f"lr {args.lr}, batch {args.batch_size}, seed {args.seed}, threads {args.threads}"
    )

    # token lengths of every line's input (no truncation), per system
    from lookskip.transformer.model import load_tokenizer, resolve_base_model

    tok = load_tokenizer(resolve_base_model(args.base_model))
    tok.no_truncation()
    tok.no_padding()
    all_ex = data.dedup(lines, model_input)
    n_tok = {
        (e.system, e.text): len(enc.ids)
        for e, enc in zip(all_ex, tok.encode_batch([e.text for e in all_ex]), strict=True)
    }
    print(f"distinct (system, input, label): {len(all_ex)}")
    print(
        f"\n{'system':<15} {'lines':>6} {'inputs':>6} {'med tok':>7} {'p99':>5} {'max':>5} "
        f"{'trunc':>7}"
    )
    trunc: dict[str, float] = {}
    for s in systems:
        ex = [e for e in all_ex if e.system == s]
        lens = np.repeat([n_tok[(e.system, e.text)] for e in ex], [e.count for e in ex])
        trunc[s] = float(np.mean(lens > args.max_length))
        print(
            f"{s:<15} {len(lens):>6} {len({e.text for e in ex}):>6} {np.median(lens):>7.0f} "
            f"{np.percentile(lens, 99):>5.0f} {lens.max():>5} {trunc[s]:>7.2%}"
        )

    folds = [int(f) for f in args.folds.split(",")]
    results: dict[str, dict] = {}  # system -> figures
    fold_info = []
    for k in folds:
        held = data.holdout_fold(lines, n_folds=args.n_folds, fold=k)
        train_lines, test_lines = data.split(lines, held)
        inner_val = data.holdout_fold(train_lines, n_folds=4, fold=0)
        inner_train_lines, val_lines = data.split(train_lines, inner_val)
        train_ex = data.dedup(inner_train_lines, model_input)
        val_ex = data.dedup(val_lines, model_input)
        test_ex = data.dedup(test_lines, model_input)
        if args.max_train and len(train_ex) > args.max_train:
            import random

            train_ex = random.Random(args.seed).sample(train_ex, args.max_train)
        print(
            f"\n== fold {k}: held out {held}\n   inner train {len(train_ex)} inputs "
            f"({sum(e.count for e in train_ex)} lines), inner validation {inner_val} "
            f"{len(val_ex)} inputs; scored {len(test_ex)} inputs ({len(test_lines)} lines)",
            flush=True,
        )
        cfg = TrainConfig(
            base_model=args.base_model,
            max_length=args.max_length,
            batch_size=args.batch_size,
            epochs=args.epochs,
            patience=args.patience,
            learning_rate=args.lr,
            seed=args.seed,
            device="cpu",
            time_budget_s=args.budget_s,
            length_buckets=True,
            inputs="keys",
        )

        def on_epoch(r):
            print(
                f"   epoch {r['epoch']}: loss {r['loss']:.4f} inner-val macro F1 (best thr) "
                f"{r['held_out_score']:.3f} pooled F1@0.5 {r['held_out_look_f1']:.3f} "
                f"train {r['train_s']:.0f}s eval {r['eval_s']:.0f}s"
                + (" (partial)" if r["partial"] else ""),
                flush=True,
            )

        t0 = time.time()
        model, tokenizer, val_probs, report = fine_tune(
            train_ex,
            val_ex,
            cfg,
            on_epoch=on_epoch,
            held_score=lambda ex, p: best_macro_threshold(ex, p)[1],
        )
        train_wall = time.time() - t0
        thr, val_macro = best_macro_threshold(val_ex, val_probs)
        t1 = time.time()
        probs = predict_proba_torch(
            model, tokenizer, [e.text for e in test_ex], batch_size=64, sort_by_length=True
        )
        infer_s = time.time() - t1
        print(
            f"   best epoch {report['best_epoch']} of {report['epochs_run']} "
            f"({report['stop_reason']});"
            f" nested threshold {thr:.2f} (inner-val macro F1 {val_macro:.3f}); "
            f"train wall {train_wall:.0f}s; inference {len(test_ex) / infer_s:.0f} inputs/s "
            f"({len(test_lines) / infer_s:.0f} lines/s after expansion)",
            flush=True,
        )
        fold_info.append(
            {
                "fold": k,
                "held_out": held,
                "inner_val": inner_val,
                "threshold": thr,
                "inner_val_macro_f1": val_macro,
                "best_epoch": report["best_epoch"],
                "epochs_run": report["epochs_run"],
                "history": report["history"],
                "train_wall_s": round(train_wall, 1),
                "inference_inputs_per_s": len(test_ex) / infer_s,
                # per scored input, no text: for offline analysis (ensembles, calibration)
                "scored": [
                    [
                        e.system,
                        e.label,
                        e.count,
                        round(float(p), 5),
                        int(bool(BASELINE.search(e.text))),
                    ]
                    for e, p in zip(test_ex, probs, strict=True)
                ],
            }
        )
        thresholds = {"nested": thr, **{f"{t:.1f}": t for t in FIXED}}
        for name, t in thresholds.items():
            for s, m in per_system(test_ex, probs >= t).items():
                results.setdefault(s, {"fold": k, "truncated": trunc[s]})[name] = m
        # pooled lines of this fold per threshold: kept as (y, pred, count) triples
        for name, t in thresholds.items():
            for e, p in zip(test_ex, probs, strict=True):
                results.setdefault("_pooled", {}).setdefault(name, []).append(
                    (e.label, int(p >= t), e.count)
                )
        # references on the same lines: the grep baseline, and flagging every line LOOK
        # (many systems are mostly LOOK, so a model that says LOOK everywhere scores well)
        refs = {
            "baseline": [int(bool(BASELINE.search(template_key(e.text)))) for e in test_lines],
            "all_look": [1] * len(test_lines),
        }
        for name, pred in refs.items():
            for s, m in per_system(test_lines, pred).items():
                results[s][name] = m
            for e, p in zip(test_lines, pred, strict=True):
                results["_pooled"].setdefault(name, []).append((e.label, p, 1))
        del model

    pooled = results.pop("_pooled")
    done = sorted(results)
    fold_thr = {f["fold"]: f["threshold"] for f in fold_info}
    for name in ["nested", *[f"{t:.1f}" for t in FIXED], "baseline", "all_look"]:
        title = {
            "nested": "MiniLM, threshold chosen on inner-validation systems",
            "baseline": "baseline: key matches (?i)error|warn|fail|exception|fatal|critical",
            "all_look": "reference: every line flagged LOOK",
        }.get(name, f"MiniLM, threshold {name}")
        print(f"\n-- {title}")
        for s in done:
            r = results[s]
            extra = f" thr {fold_thr[r['fold']]:.2f}" if name == "nested" else ""
            m = r[name]
            print(f"{s:<15} fold {r['fold']} n {m['n']:>5} LOOK {m['n_look']:>5}  {fmt(m)}{extra}")
        f1s = [results[s][name]["look_f1"] for s in done]
        y, p, c = zip(*pooled[name], strict=True)
        pm = look_metrics(y, p, c)
        print(
            f"MACRO over {len(done)} systems: LOOK F1 {np.mean(f1s):.3f} "
            f"P {np.mean([results[s][name]['look_precision'] for s in done]):.3f} "
            f"R {np.mean([results[s][name]['look_recall'] for s in done]):.3f} "
            f"acc {np.mean([results[s][name]['accuracy'] for s in done]):.3f}; "
            f"min F1 {min(f1s):.3f} ({done[int(np.argmin(f1s))]}); systems < 0.6: "
            f"{sum(f < 0.6 for f in f1s)}; POOLED F1 {pm['look_f1']:.3f} "
            f"(P {pm['look_precision']:.3f} R {pm['look_recall']:.3f})"
        )
    print(
        "\ntrain wall per fold: "
        + ", ".join(f"fold {f['fold']} {f['train_wall_s']:.0f}s" for f in fold_info)
        + "; inference inputs/s: "
        + ", ".join(f"{f['inference_inputs_per_s']:.0f}" for f in fold_info)
        + f"; total {time.time() - started:.0f}s"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "folds": fold_info, "systems": results}, indent=1)
        )


if __name__ == "__main__":
    main()
