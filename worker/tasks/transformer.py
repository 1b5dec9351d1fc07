"""The BERT stage as one task on the ``transformer`` queue: train, then export for candle.

One task rather than a chain: training and export need the same host (torch, the
local model directory the training wrote), and the export takes seconds next to the
training. Progress is reported once per epoch through the core's ``on_epoch``
callback; a redone task (worker lost) trains again from scratch and overwrites the
same files atomically, so a redo leaves no mixed model directory.
"""

from __future__ import annotations

from typing import Any

from worker.app import app, stage_settings
from worker.workflows import stage, task_sig

EPOCHS = "epochs"


def _csv(value: Any) -> list[str] | None:
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()] or None
    return [str(v) for v in value] or None


# `lookskip train-transformer` options that become TrainConfig fields
CONFIG_KEYS = (
    "base_model",
    "max_length",
    "batch_size",
    "epochs",
    "patience",
    "learning_rate",
    "seed",
    "device",
    "max_train_lines",
)


@stage("train-transformer", parts=[EPOCHS], last_queue="transformer")
def build_train_transformer(wf: str, p: dict[str, Any]):
    config = {k: p[k] for k in CONFIG_KEYS if p.get(k) is not None}
    label = f"base_model={config.get('base_model', 'minilm')} epochs≤{config.get('epochs', 10)}"
    return task_sig(
        "lookskip.transformer.train",
        label,
        wf=wf,
        config=config,
        holdout=_csv(p.get("holdout")),
        fold=int(p.get("fold") or 0),
        datasets=_csv(p.get("datasets")),
        labels_dir=p.get("labels_dir"),
        models_dir=p.get("models_dir"),
        reference_lines=int(p.get("reference_lines") or 20),
    )


@app.task(name="lookskip.transformer.train", bind=True)
def train(
    self,
    *,
    wf: str | None = None,
    config: dict[str, Any],
    holdout: list[str] | None = None,
    fold: int = 0,
    datasets: list[str] | None = None,
    labels_dir: str | None = None,
    models_dir: str | None = None,
    reference_lines: int = 20,
) -> dict[str, Any]:
    """Fine-tune (best epoch kept), then write the candle export beside the model."""
    from lookskip import storage
    from lookskip.transformer.export import EXPORT_SUBDIR, export, sample_lines_from_labels
    from lookskip.transformer.train import EVAL_FILE, TrainConfig, train_from_labels

    s = stage_settings()
    labels_dir = labels_dir or s.labels_dir
    models_dir = models_dir or s.models_dir
    cfg = TrainConfig(**config)
    self.set_total(wf, EPOCHS, cfg.epochs)
    self.progress(wf, 0, cfg.epochs, f"training {cfg.base_model} BERT")

    def on_epoch(r: dict[str, Any]) -> None:
        self.item_done(wf, EPOCHS, f"epoch{r['epoch']:02d}")
        self.progress(
            wf,
            r["epoch"],
            r["epochs"],
            f"epoch {r['epoch']}/{r['epochs']}: held-out LOOK F1 {r['held_out_look_f1']:.3f}",
        )

    report = train_from_labels(
        cfg,
        labels_dir,
        models_dir,
        holdout=holdout,
        fold=fold,
        datasets=datasets,
        on_epoch=on_epoch,
    )
    if report["epochs_run"] < cfg.epochs:  # early stop: the bar ends full
        self.set_total(wf, EPOCHS, report["epochs_run"])
    model_dir = report["model_dir"]
    out_dir = storage.join(model_dir, EXPORT_SUBDIR)
    self.progress(wf, report["epochs_run"], report["epochs_run"], f"exporting to {out_dir}")
    summary = export(model_dir, out_dir, sample_lines_from_labels(labels_dir, reference_lines))
    names = ("model.safetensors", "config.json", "tokenizer.json", "reference_outputs.json")
    o = report["overall"]
    return {
        "model_dir": model_dir,
        "export_dir": out_dir,
        "best_epoch": report["best_epoch"],
        "epochs_run": report["epochs_run"],
        "held_out_datasets": report["held_out_datasets"],
        "held_out_look_f1": o["look_f1"],
        "train_size": report["train_size"],
        "train_seconds": report["train_seconds"],
        "device": report["device"],
        "export": summary,
        "artifacts": [
            storage.join(model_dir, "model.safetensors"),
            storage.join(models_dir, EVAL_FILE),
            *(storage.join(out_dir, n) for n in names),
        ],
    }
