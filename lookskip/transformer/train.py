"""Fine-tune BertForSequenceClassification on the labels (torch + transformers).

Why these choices:
* weighted cross-entropy ("balanced" class weights): LOOK is a few percent of
  the lines in most systems, and an unweighted loss learns to say SKIP;
* early stopping on held-out LOOK F1 (not loss): F1 on LOOK is the figure the
  project reports, and it stops improving well before the loss does;
* batches padded to their longest line, not to ``max_length``: log lines are short,
  so fixed padding would spend most of the compute on [PAD] tokens;
* everything seeded (Python, numpy, torch, the batch order), so a rerun on the same
  labels and device gives the same model;
* examples may stand for several lines (``Example.count``, from ``data.dedup``): the
  loss weighs each by ``data.sample_weights`` (times its class weight) and held-out
  metrics count each example ``count`` times, so they are line-level figures.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lookskip import storage
from lookskip.transformer import data
from lookskip.transformer.model import (
    collate,
    encode,
    load_for_training,
    pick_device,
    predict_proba_torch,
    prepare_tokenizer,
)

MAX_EPOCHS = 10
MODEL_SUBDIR = "transformer"
EVAL_FILE = "eval_transformer.json"


@dataclass
class TrainConfig:
    base_model: str = "minilm"
    max_length: int = 64
    batch_size: int = 32
    epochs: int = MAX_EPOCHS
    patience: int = 3
    learning_rate: float | None = None  # None: 5e-5 for pretrained bases, 1e-3 for tiny
    weight_decay: float = 0.01
    seed: int = 13
    device: str = "auto"
    max_train_lines: int | None = None  # a seeded subsample, for slow CPUs
    tiny_hidden: int = 64
    tiny_layers: int = 2
    threshold: float = 0.5
    # Wall-clock budget of the training loop (a leased GPU, say); None: no limit. No
    # epoch starts that would end past it, and one that overruns stops mid-way and is
    # evaluated as a partial epoch, so a run always ends with a scored model.
    time_budget_s: float | None = None
    # Batches of similar token length (seeded shuffle, sorted within windows of 16
    # batches, batch order shuffled): less padding when a few lines are long.
    length_buckets: bool = False
    # "lines": one example per labeled line, the raw text. "keys": the model reads
    # ``inputs.model_input(line)`` and trains on ``data.dedup`` examples (one per
    # distinct input, weighted by its line count). A scorer of a "keys" model must
    # apply ``model_input`` to each line too (recorded in training.json's config).
    inputs: str = "lines"

    def validate(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be in 1..{MAX_EPOCHS}")
        if not 8 <= self.max_length <= 512:
            raise ValueError("max_length must be in 8..512")
        if self.batch_size < 1 or self.patience < 1:
            raise ValueError("batch_size and patience must be at least 1")
        if self.inputs not in ("lines", "keys"):
            raise ValueError("inputs must be 'lines' or 'keys'")


@dataclass
class EarlyStopping:
    """Stop after ``patience`` epochs without a better held-out score; remember the best."""

    patience: int = 3
    best: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list[float] = field(default_factory=list)

    def step(self, epoch: int, score: float) -> bool:
        """Record ``score``; True if it is the best so far (the caller keeps that model)."""
        self.history.append(score)
        if score > self.best:
            self.best, self.best_epoch, self.bad_epochs = score, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience


def look_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], counts: Sequence[int] | None = None
) -> dict[str, Any]:
    """The TF-IDF report's per-dataset fields: n, accuracy, LOOK precision/recall/F1.

    ``counts``: lines each entry stands for (a deduplicated example), default 1.
    """
    y, p = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    c = np.ones(len(y), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    tp = int(c[(p == 1) & (y == 1)].sum())
    fp = int(c[(p == 1) & (y == 0)].sum())
    fn = int(c[(p == 0) & (y == 1)].sum())
    n = int(c.sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {
        "n": n,
        "accuracy": float(c[y == p].sum() / n) if n else 0.0,
        "look_precision": prec,
        "look_recall": rec,
        "look_f1": f1,
        "n_look": int(c[y == 1].sum()),
    }


def evaluate(
    examples: Sequence[data.Example], probs: np.ndarray, threshold: float
) -> dict[str, Any]:
    """``overall`` and ``per_dataset`` metrics of probabilities against labels."""
    y = [e.label for e in examples]
    c = [e.count for e in examples]
    pred = (np.asarray(probs) >= threshold).astype(int)
    per: dict[str, Any] = {}
    for system in sorted({e.system for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.system == system]
        per[system] = look_metrics([y[i] for i in idx], pred[idx], [c[i] for i in idx])
    return {"overall": look_metrics(y, pred, c), "per_dataset": per}


def best_threshold(
    y: Sequence[int], probs: np.ndarray, counts: Sequence[int] | None = None
) -> tuple[float, float]:
    """(threshold, LOOK F1) maximising F1 over a grid, reported beside the 0.5 default."""
    best = (0.5, -1.0)
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2):
        f1 = look_metrics(y, (probs >= t).astype(int), counts)["look_f1"]
        if f1 > best[1]:
            best = (float(t), f1)
    return best


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


EpochCallback = Callable[[dict[str, Any]], None]
BatchCallback = Callable[[int, int], None]
# (held-out examples, their P(LOOK)) -> the score early stopping maximises
HeldScore = Callable[[Sequence[data.Example], np.ndarray], float]


def batch_order(
    lengths: Sequence[int], batch_size: int, gen, length_buckets: bool = False
) -> list[list[int]]:
    """One epoch's batches (example indices) from a seeded permutation.

    With ``length_buckets`` the permutation is cut into windows of 16 batches, each
    window sorted by length and cut into batches, and the batches shuffled: each
    batch pads to a similar length, the epoch still sees examples in random company.
    """
    import torch

    order = torch.randperm(len(lengths), generator=gen).tolist()
    if not length_buckets:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    window = 16 * batch_size
    batches: list[list[int]] = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    perm = torch.randperm(len(batches), generator=gen).tolist()
    return [batches[i] for i in perm]


def train(
    train_ex: Sequence[data.Example],
    held_ex: Sequence[data.Example],
    cfg: TrainConfig,
    out_dir: str,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> dict[str, Any]:
    """Fine-tune, keep the epoch with the best held-out LOOK F1, save it to ``out_dir``.

    ``out_dir`` (a local directory or a data-dir URL) receives ``model.safetensors``,
    ``config.json``, ``tokenizer.json`` and ``training.json``. Returns the report (also in
    ``training.json``): per-epoch history, best epoch, held-out metrics.
    """
    cfg.validate()
    model, tokenizer, _, report = fine_tune(train_ex, held_ex, cfg, on_epoch, on_batch)
    save(model, tokenizer, report, out_dir)
    return report


def fine_tune(
    train_ex: Sequence[data.Example],
    held_ex: Sequence[data.Example],
    cfg: TrainConfig,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
    held_score: HeldScore | None = None,
) -> tuple[Any, Any, np.ndarray, dict[str, Any]]:
    """``train`` without the saving: (model on the CPU, tokenizer, the best epoch's
    held-out probabilities, report), for callers that score the model themselves.

    ``held_score`` replaces the early-stopping score (default: held-out LOOK F1 at
    ``cfg.threshold``, line-weighted), e.g. a macro F1 over held-out systems."""
    import torch

    cfg.validate()
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    train_ex = list(train_ex)
    if cfg.max_train_lines and len(train_ex) > cfg.max_train_lines:
        train_ex = random.Random(cfg.seed).sample(train_ex, cfg.max_train_lines)
    started = time.time()

    model, tokenizer = load_for_training(
        cfg.base_model, [e.text for e in train_ex], cfg.tiny_hidden, cfg.tiny_layers
    )
    model.float()  # a checkpoint stored in half precision still trains in float32
    prepare_tokenizer(tokenizer, cfg.max_length)
    model.to(device)
    load_seconds = time.time() - started
    train_ids = encode(tokenizer, [e.text for e in train_ex])
    labels = torch.tensor([e.label for e in train_ex], dtype=torch.long)
    sample_w = data.sample_weights(train_ex)
    cls_w = data.class_weights(train_ex, sample_w)
    # per-example weight = class weight x sample weight; the loss is their weighted mean
    # (with every count 1 this is exactly CrossEntropyLoss(weight=class weights))
    ex_w = torch.tensor(
        [cls_w[e.label] * w for e, w in zip(train_ex, sample_w, strict=True)], dtype=torch.float
    )
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    train_lengths = [len(ids) for ids in train_ids]
    lr = cfg.learning_rate or (1e-3 if cfg.base_model == "tiny" else 5e-5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    n_batches = math.ceil(len(train_ex) / cfg.batch_size)  # same count with length_buckets
    total_steps = n_batches * cfg.epochs
    warmup = max(1, total_steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup))),
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    stopper = EarlyStopping(cfg.patience)
    best_state: dict[str, Any] | None = None
    best_probs: np.ndarray | None = None
    history: list[dict[str, Any]] = []
    held_texts = [e.text for e in held_ex]
    held_y = [e.label for e in held_ex]
    held_c = [e.count for e in held_ex]
    budget = cfg.time_budget_s if cfg.time_budget_s is not None else math.inf
    stop_reason = "max epochs"
    loop_started = time.time()
    last_epoch_s = 0.0

    for epoch in range(1, cfg.epochs + 1):
        t0 = time.time()
        if epoch > 1 and t0 - loop_started + last_epoch_s > budget:
            stop_reason = f"time budget ({budget:.0f}s): the next epoch would end past it"
            break
        model.train()
        batches = batch_order(train_lengths, cfg.batch_size, gen, cfg.length_buckets)
        total_loss, seen, partial = 0.0, 0, False
        for b, idx in enumerate(batches):
            input_ids, mask = collate([train_ids[i] for i in idx])
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            w = ex_w[idx].to(device)
            loss = (ce(logits, labels[idx].to(device)) * w).sum() / w.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(idx)
            seen += len(idx)
            if on_batch:
                on_batch(b + 1, n_batches)
            if time.time() - loop_started > budget and b + 1 < n_batches:
                partial = True
                break
        train_s = time.time() - t0
        probs = predict_proba_torch(
            model, tokenizer, held_texts, batch_size=128, device=device, sort_by_length=True
        )
        m = look_metrics(held_y, (probs >= cfg.threshold).astype(int), held_c)
        score = held_score(held_ex, probs) if held_score else m["look_f1"]
        improved = stopper.step(epoch, score)
        if improved:
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
            best_probs = probs
        last_epoch_s = time.time() - t0
        record = {
            "epoch": epoch,
            "epochs": cfg.epochs,
            "loss": total_loss / max(seen, 1),
            "lines": seen,
            "partial": partial,
            "held_out_look_f1": m["look_f1"],
            "held_out_precision": m["look_precision"],
            "held_out_recall": m["look_recall"],
            "held_out_score": score,
            "improved": improved,
            "train_s": round(train_s, 2),
            "eval_s": round(last_epoch_s - train_s, 2),
        }
        history.append(record)
        if on_epoch:
            on_epoch(record)
        if partial:
            stop_reason = f"time budget ({budget:.0f}s) reached mid-epoch"
            break
        if stopper.should_stop:
            stop_reason = f"early stopping (patience {cfg.patience})"
            break

    assert best_state is not None and best_probs is not None
    model.load_state_dict(best_state)
    model.to("cpu")
    thr, thr_f1 = best_threshold(held_y, best_probs, held_c)
    report = {
        "base_model": cfg.base_model,
        "config": asdict(cfg),
        "device": device,
        "learning_rate": lr,
        "max_length": cfg.max_length,
        "train_size": len(train_ex),
        "held_out_size": len(held_ex),
        "held_out_datasets": sorted({e.system for e in held_ex}),
        "class_weights": cls_w,
        "train_lines": sum(e.count for e in train_ex),
        "epochs_run": len(history),
        "best_epoch": stopper.best_epoch,
        "stopped_early": stopper.should_stop,
        "stop_reason": stop_reason,
        "history": history,
        "threshold": cfg.threshold,
        "tuned_threshold": thr,
        "tuned_threshold_look_f1": thr_f1,
        "train_seconds": round(time.time() - started, 1),
        "load_seconds": round(load_seconds, 2),
        "train_loop_seconds": round(time.time() - loop_started, 2),
        "parameters": sum(p.numel() for p in model.parameters()),
        **evaluate(held_ex, best_probs, cfg.threshold),
    }
    return model, tokenizer, best_probs, report


def save(model, tokenizer, report: dict[str, Any], out_dir: str) -> None:
    """Write the model directory; each file lands atomically, so a crash leaves no half file."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save(os.path.join(tmp, "tokenizer.json"))
        storage.makedirs(out_dir)
        for name in ("model.safetensors", "config.json", "tokenizer.json"):
            with open(os.path.join(tmp, name), "rb") as f:
                storage.write_bytes(storage.join(out_dir, name), f.read())
    training = {k: v for k, v in report.items() if k not in ("per_dataset",)}
    storage.write_text(
        storage.join(out_dir, "training.json"), json.dumps(training, indent=2) + "\n"
    )


def train_from_labels(
    cfg: TrainConfig,
    labels_dir: str,
    models_dir: str,
    holdout: Sequence[str] | None = None,
    fold: int = 0,
    datasets: Sequence[str] | None = None,
    on_epoch: EpochCallback | None = None,
    on_batch: BatchCallback | None = None,
) -> dict[str, Any]:
    """The whole stage: labels → split by dataset → fine-tune → ``models/transformer/`` and
    ``models/eval_transformer.json`` (the TF-IDF report's fields, for the held-out datasets).
    """
    examples = data.load_examples(labels_dir, datasets)
    held = list(holdout) if holdout else data.holdout_fold(examples, fold=fold)
    train_ex, held_ex = data.split(examples, held)
    if cfg.inputs == "keys":
        from lookskip.transformer.inputs import model_input

        train_ex, held_ex = data.dedup(train_ex, model_input), data.dedup(held_ex, model_input)
    out_dir = storage.join(models_dir, MODEL_SUBDIR)
    report = train(train_ex, held_ex, cfg, out_dir, on_epoch=on_epoch, on_batch=on_batch)
    report["model_dir"] = out_dir
    storage.write_json(storage.join(models_dir, EVAL_FILE), report)
    return report
