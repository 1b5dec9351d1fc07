"""``lookskip evaluate``: score a model on labeled files, per dataset and overall."""

from __future__ import annotations

import json

import click
from rich.table import Table

from cli.common import out, user_errors
from lookskip.training.labels import LabelError


@click.command()
@click.option(
    "--model",
    "model_path",
    required=True,
    metavar="PATH",
    help="A joblib model from `lookskip train` or an exported .json(.gz) file.",
)
@click.option(
    "--labels",
    "labels",
    required=True,
    multiple=True,
    metavar="FILE.jsonl",
    help="Labeled lines ({system, line_number, raw_line, label, reason}); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@user_errors(LabelError)
def evaluate(model_path: str, labels: tuple[str, ...], as_json: bool) -> None:
    """Score MODEL on your own labeled logs: LOOK precision/recall/F1 per dataset.

    Uses the model's tuned threshold. Each dataset (the rows' "system") is
    scored on its own, and "macro" is their unweighted mean: what one new
    system can expect, where "overall" pools every line. --json prints
    {"overall", "macro", "per_dataset": {name: …}} with n, accuracy,
    look_precision, look_recall, look_f1.
    """
    from lookskip.evaluate import evaluate_model

    result = evaluate_model(model_path, list(labels))
    if as_json:
        out.print(json.dumps(result, indent=2), markup=False)
        return
    table = Table(
        "dataset",
        "n",
        "accuracy",
        "precision",
        "recall",
        "F1",
        title=f"{model_path} (threshold {result['threshold']:.4f})",
    )
    rows = [
        *result["per_dataset"].items(),
        ("macro (mean of datasets)", result["macro"]),
        ("overall (pooled lines)", result["overall"]),
    ]
    for name, m in rows:
        table.add_row(
            name,
            str(m.get("n", "")),
            f"{m['accuracy']:.3f}",
            f"{m['look_precision']:.3f}",
            f"{m['look_recall']:.3f}",
            f"{m['look_f1']:.3f}",
        )
    out.print(table)
