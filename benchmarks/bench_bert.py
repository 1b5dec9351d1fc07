"""BERT stage figures: candle (Rust) vs torch on CPU, the cascade on 1M lines, held-out F1.

Printed, in one run:
* candle CPU lines/s vs torch CPU lines/s — same export, same lines, same batch size,
  same thread count — and the ratio (target >= 1.0). torch is measured twice: lines in
  input order (each batch padded to its longest line, the usual way) and sorted by
  length like candle does, so the part of the gain that comes from bucketing is visible.
  Wall-clock lines/s and lines per CPU-second are both printed: on a shared machine
  the second is the steadier figure.
* ``classify --model cascade`` lines/s on a 1M-line file (TF-IDF at --tfidf-threshold,
  the transformer on its candidates' distinct inputs; benchmarks/bench_modes.py has
  every mode's lines per CPU second).
* held-out LOOK F1 of TF-IDF alone vs the cascade (and BERT alone) on the datasets that
  ``train-transformer`` held out (from models/eval_transformer.json).

    python benchmarks/bench_bert.py [--export DIR] [--lines 1024] [--batch-size 32]
                                    [--cascade-lines 1000000] [--threads 1,2]

Without --export it uses <data_dir>/models/transformer/export, else builds an untrained
all-MiniLM-L6-v2 classifier export in a temp dir (speed is the same as a trained one).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import corpus  # the same perturbed corpus as the TF-IDF benchmark

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

SHIPPED_TFIDF = str(ROOT / "data/models/look_skip_model.json.gz")


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - w, time.process_time() - c


def minilm_export(tmp: str, max_length: int) -> str:
    from lookskip.transformer.export import export
    from lookskip.transformer.model import load_for_training, prepare_tokenizer
    from lookskip.transformer.train import save

    model, tok = load_for_training("minilm", [])
    prepare_tokenizer(tok, max_length)
    save(model, tok, {"max_length": max_length, "threshold": 0.5}, f"{tmp}/model")
    export(f"{tmp}/model", f"{tmp}/export", corpus(64))
    return f"{tmp}/export"


def speed(export_dir: str, n: int, batch_size: int, threads: list[int], repeats: int) -> None:
    import lookskip_rs
    import torch
    from transformers import BertForSequenceClassification

    from lookskip.transformer.model import load_tokenizer, predict_proba_torch, prepare_tokenizer

    config = json.loads(Path(export_dir, "config.json").read_text())
    lines = random.Random(3).sample(corpus(20_000), n)
    model = BertForSequenceClassification.from_pretrained(export_dir).eval()
    tok = prepare_tokenizer(load_tokenizer(export_dir), int(config["max_length"]))
    ntok = [len(e.ids) for e in tok.encode_batch(lines)]
    print(
        f"model: {config['num_hidden_layers']} layers, hidden {config['hidden_size']}, "
        f"max_length {config['max_length']}; {n} lines (mean {np.mean(ntok):.1f} tokens), "
        f"batch size {batch_size}"
    )
    for t in threads:
        torch.set_num_threads(t)
        clf = lookskip_rs.BertClassifier(export_dir, device="cpu", threads=t)
        runs = {
            "candle": lambda clf=clf: clf.predict_proba(lines, batch_size=batch_size),
            "torch": lambda: predict_proba_torch(model, tok, lines, batch_size),
            "torch sorted": lambda: predict_proba_torch(
                model, tok, lines, batch_size, sort_by_length=True
            ),
        }
        best: dict[str, tuple[float, float]] = {k: (1e9, 1e9) for k in runs}
        probs = {}
        for _ in range(repeats):  # interleaved, best of `repeats` (shared machine)
            for name, fn in runs.items():
                probs[name], wall, cpu = timed(fn)
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
        diff = float(np.abs(np.asarray(probs["candle"]) - probs["torch"]).max())
        for name, (wall, cpu) in best.items():
            print(
                f"threads={t} {name:>12}: {n / wall:8.1f} lines/s wall, {n / cpu:8.1f} lines/CPU-s"
            )
        cw, cc = best["candle"]
        for ref in ("torch", "torch sorted"):
            rw, rc = best[ref]
            print(
                f"threads={t} ratio candle/{ref}: {rw / cw:.2f}x wall, {rc / cc:.2f}x CPU "
                f"(max |Δp| {diff:.1e})"
            )


def cascade(export_dir: str, n: int, tfidf_threshold: float, tfidf_model: str) -> None:
    """``classify --model cascade`` on an n-line file, in process (Rust engine, candle)."""
    import lookskip_rs  # noqa: F401  (the cascade runs in the Rust engine)

    from lookskip.classify.scorer import load_scorer

    scorer = load_scorer(
        tfidf_model,
        mode="cascade",
        bert_model=export_dir,
        candidate_threshold=tfidf_threshold,
        score_cache=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "big.log.gz")
        with gzip.open(path, "wt", compresslevel=1) as f:
            for ln in corpus(n):
                f.write(ln + "\n")
        res, wall, _ = timed(lambda: scorer.classify_file(str(path), max_look=0))
    stats = scorer.transformer_stats()
    print(
        f"cascade: {res.lines:,} lines in {wall:.1f}s = {res.lines / wall:,.0f} lines/s; "
        f"the transformer scored {stats['scored']:,} distinct inputs, LOOK {res.look:,}"
    )


def held_out_f1(
    export_dir: str, eval_path: Path, labels_dir: Path, tfidf_threshold: float, tfidf_model: str
) -> None:
    import lookskip_rs

    from lookskip.classify.scorer import load_scorer
    from lookskip.transformer.data import load_examples
    from lookskip.transformer.train import look_metrics

    report = json.loads(eval_path.read_text())
    held = report["held_out_datasets"]
    ex = load_examples(str(labels_dir), held)
    texts, y = [e.text for e in ex], [e.label for e in ex]
    tfidf = load_scorer(tfidf_model)
    bert = lookskip_rs.BertClassifier(export_dir, device="cpu")
    p_t = np.asarray(tfidf.predict_proba(texts))
    p_b = np.asarray(bert.predict_proba(texts))
    f1 = {
        f"TF-IDF alone (threshold {tfidf.threshold:.2f})": look_metrics(y, p_t >= tfidf.threshold)[
            "look_f1"
        ],
        "BERT alone": look_metrics(y, p_b >= bert.threshold)["look_f1"],
        f"cascade (TF-IDF >= {tfidf_threshold}, then BERT)": look_metrics(
            y, (p_t >= tfidf_threshold) & (p_b >= bert.threshold)
        )["look_f1"],
    }
    print(
        f"held-out LOOK F1 on {', '.join(held)} ({len(ex)} lines; BERT base "
        f"{report['base_model']}, trained on {report['train_size']} lines, "
        f"{report['epochs_run']} epochs):"
    )
    for name, v in f1.items():
        print(f"  {name}: {v:.3f}")
    if tfidf_model == SHIPPED_TFIDF:
        print(
            "  note: the shipped TF-IDF model was fit on all labels, these datasets included;"
            " pass --tfidf-model trained with `lookskip train --holdout` for a fair figure"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", default=None)
    ap.add_argument("--lines", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--cascade-lines", type=int, default=1_000_000)
    ap.add_argument(
        "--cascade-export", default=None, help="BERT export for the cascade run [default: --export]"
    )
    ap.add_argument("--tfidf-threshold", type=float, default=0.2)
    ap.add_argument(
        "--tfidf-model",
        default=SHIPPED_TFIDF,
        help="exported TF-IDF model [default: the shipped one]",
    )
    ap.add_argument("--skip", default="", help="comma list of: speed,cascade,f1")
    args = ap.parse_args()
    from lookskip.settings import get_settings

    models = Path(get_settings().models_dir)
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        export_dir = args.export
        if export_dir is None:
            trained = models / "transformer" / "export"
            export_dir = str(trained) if trained.exists() else minilm_export(tmp, args.max_length)
        print(f"export: {export_dir}")
        if "speed" not in skip:
            speed(
                export_dir,
                args.lines,
                args.batch_size,
                [int(t) for t in args.threads.split(",")],
                args.repeats,
            )
        if "cascade" not in skip and args.cascade_lines:
            cascade(
                args.cascade_export or export_dir,
                args.cascade_lines,
                args.tfidf_threshold,
                args.tfidf_model,
            )
        eval_path = models / "eval_transformer.json"
        if "f1" not in skip and eval_path.exists() and args.export is None:
            held_out_f1(
                export_dir,
                eval_path,
                Path(get_settings().labels_dir),
                args.tfidf_threshold,
                args.tfidf_model,
            )


if __name__ == "__main__":
    main()
