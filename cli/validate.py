"""``lookskip validate``: compare labels with loghub's anomaly ground truth."""

from __future__ import annotations

import json

import click
from rich.table import Table

from cli.common import datasets_option, fail, out, user_errors
from lookskip import datasets as ds
from lookskip.settings import get_settings


@click.command("validate")
@datasets_option
@click.option(
    "--labels-dir",
    default=None,
    metavar="DIR",
    help="Where <Dataset>.jsonl labels are (default: <data_dir>/labels).",
)
@click.option(
    "--truth",
    "truth_dir",
    default=None,
    metavar="DIR",
    help="Where <Name>_2k.log_structured.csv is (searched first; then "
    "<data_dir>/loghub and the directory the sample was ingested from).",
)
@click.option(
    "--model",
    "model_path",
    default=None,
    metavar="PATH",
    help="Check this model's LOOK/SKIP on the sample lines instead of labels "
    "(an exported .json.gz; default model: data/models/look_skip_model.json.gz).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def validate(
    datasets: str | None,
    labels_dir: str | None,
    truth_dir: str | None,
    model_path: str | None,
    as_json: bool,
) -> None:
    """Check LOOK/SKIP labels against ground truth (default: BGL and Thunderbird).

    The Label column of <Name>_2k.log_structured.csv marks alert lines ("-" is
    normal); every alert line should be LOOK. Prints the recall of LOOK on alert
    lines, the share of normal lines labeled LOOK, and a confusion matrix
    (alert/normal × LOOK/SKIP/unlabeled; lines without a label count as
    unlabeled). With --model, the model's own LOOK/SKIP of the sample lines is
    checked instead: BGL and Thunderbird are in no training set, so that is its
    recall of real alerts on systems it never saw. The exit status is non-zero
    only when an input is missing or unreadable, never because of the figures.
    """
    _validate(datasets, labels_dir, truth_dir, model_path, as_json)


def _pct(part: int, whole: int) -> str:
    return "n/a" if not whole else f"{100 * part / whole:.1f}% ({part:,}/{whole:,})"


@user_errors(ds.DatasetError)
def _validate(
    datasets: str | None,
    labels_dir: str | None,
    truth_dir: str | None,
    model_path: str | None,
    as_json: bool,
) -> None:
    from lookskip import validate as v

    report = v.validate(
        datasets,
        get_settings(),
        labels_dir=labels_dir,
        truth_dir=truth_dir,
        model_path=model_path,
    )
    if as_json:
        out.print_json(json.dumps(report))
    else:
        summary = Table("dataset", "lines", "LOOK on alerts", "LOOK on normal", "unlabeled")
        for r in report["datasets"]:
            if r["error"]:
                summary.add_row(r["dataset"], "[red]error[/]", "", "", "")
                continue
            summary.add_row(
                r["dataset"],
                f"{r['lines']:,}",
                _pct(r["matrix"]["alert"]["LOOK"], r["alerts"]),
                _pct(r["matrix"]["normal"]["LOOK"], r["normals"]),
                f"{r['unlabeled']:,}",
            )
        out.print(summary)
        for r in report["datasets"]:
            if not r["error"]:
                out.print(_matrix(r))
        for r in report["datasets"]:
            notes = [
                f"{r[k]} {k.replace('_', ' ')}"
                for k in ("extra_labels", "duplicate_labels", "raw_line_mismatches")
                if r.get(k)
            ]
            if notes:
                out.print(f"[yellow]{r['dataset']}:[/] " + ", ".join(notes))
            if r["error"]:
                out.print(f"[red]{r['dataset']}:[/] {r['error']}")
    if report["errors"]:
        fail(f"{report['errors']} dataset(s) could not be validated")


def _matrix(r: dict) -> Table:
    from lookskip.validate import KINDS

    table = Table("truth \\ label", *KINDS, "total", title=f"{r['dataset']} confusion matrix")
    rows = [("alert", r["matrix"]["alert"], None)]
    rows += [(f"  {cat}", row, "dim") for cat, row in r["by_category"].items()]
    rows.append(("normal", r["matrix"]["normal"], None))
    for name, row, style in rows:
        table.add_row(name, *(f"{row[k]:,}" for k in KINDS), f"{sum(row.values()):,}", style=style)
    return table
