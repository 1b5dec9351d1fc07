"""``lookskip train``: grid search over independent fold jobs, select, refit, report."""

from __future__ import annotations

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, fail, out, user_errors
from lookskip.settings import get_settings
from lookskip.training.labels import LabelError
from lookskip.training.plan import GRIDS


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@click.command()
@click.option(
    "--labels-dir",
    default=None,
    metavar="DIR",
    help="Labels to train on (<DIR>/<Dataset>.jsonl). Default: <data_dir>/labels.",
)
@click.option(
    "--grid",
    type=click.Choice(sorted(GRIDS)),
    default="default",
    show_default=True,
    help="Hyper-parameter grid: 'default' (32 combinations) or 'quick' (a small one).",
)
@click.option(
    "--folds",
    default=5,
    show_default=True,
    type=click.IntRange(2, None),
    help="GroupKFold folds; each dataset is one group.",
)
@click.option(
    "--holdout",
    default=None,
    metavar="A,B",
    help="Datasets kept out of training entirely and scored separately.",
)
@click.option(
    "--datasets",
    default=None,
    metavar="A,B",
    help="Only these datasets' labels (default: every labels file).",
)
@click.option(
    "--n-jobs",
    default=-1,
    show_default=True,
    type=int,
    help="Local worker processes for the fit jobs (-1 = all cores).",
)
@click.option(
    "--models-dir",
    default=None,
    metavar="DIR",
    help="Where the model and eval_report.json go. Default: <data_dir>/models.",
)
@user_errors(LabelError)
def train(labels_dir, grid, folds, holdout, datasets, n_jobs, models_dir) -> None:
    """Train the LOOK/SKIP model: TF-IDF + LogisticRegression, grid-searched by dataset.

    \b
    Cross-validation is GroupKFold by dataset, so every score is on logs of a
    system the model never saw. Lines are collapsed to distinct template keys
    (weighted by their line counts), and the grid runs as independent
    (combination, fold) jobs over cached per-fold features. The combination
    with the best macro LOOK F1 over unseen datasets (pooled F1 breaks ties) is
    refit on all training data; its threshold is tuned for macro F1, and the
    figures printed are nested (no dataset scored at a threshold tuned on it).
    Writes <models>/look_skip_model.joblib and eval_report.json (per-dataset
    metrics, tuned threshold, timings). Then run `lookskip export`.
    """
    from lookskip.preflight import ParamError, check
    from lookskip.training.run import train_local

    settings = get_settings()
    try:
        check(
            "train",
            {"labels_dir": labels_dir, "grid": grid, "folds": folds, "holdout": holdout,
             "datasets": datasets},
            settings,
        )  # fmt: skip
    except ParamError as exc:
        fail(str(exc))
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        report = train_local(
            labels_dir or settings.labels_dir,
            grid,
            folds,
            _split(holdout),
            n_jobs,
            settings,
            models_dir,
            progress,
            datasets=_split(datasets) or None,
        )
    _print_summary(report)


def _print_summary(report: dict) -> None:
    unseen = report["unseen"]
    table = Table(
        "dataset",
        "n",
        "LOOK share",
        "accuracy",
        "precision",
        "recall",
        "F1",
        title="unseen systems (each scored by a model that never saw it)",
    )
    balance = report["class_balance"]["per_dataset"]
    for name, m in unseen["per_dataset"].items():
        table.add_row(
            name,
            str(m["n"]),
            f"{balance[name]['look_share']:.2f}",
            f"{m['accuracy']:.3f}",
            f"{m['look_precision']:.3f}",
            f"{m['look_recall']:.3f}",
            f"{m['look_f1']:.3f}",
        )
    mac = unseen["macro"]
    table.add_row(
        "macro",
        "",
        "",
        f"{mac['accuracy']:.3f}",
        f"{mac['look_precision']:.3f}",
        f"{mac['look_recall']:.3f}",
        f"{mac['look_f1']:.3f}",
        style="bold",
    )
    out.print(table)
    t = report["threshold"]
    out.print(f"best params: {report['best_params']} (selected by {report['selected_by']})")
    out.print(
        f"unseen-system macro LOOK F1 {mac['look_f1']:.4f}, pooled "
        f"{unseen['overall']['look_f1']:.4f}, at threshold {t['value']:.2f} ({t['choice']}); "
        f"a tuned threshold ({t['tuned_value']:.2f}) scored macro "
        f"{t['nested_macro_look_f1']:.4f} nested"
    )
    if report.get("holdout"):
        h = report["holdout"]["tuned_threshold"]["overall"]
        out.print(f"holdout LOOK F1: {h['look_f1']:.4f} on {h['n']} lines")
    tm = report["timings"]
    out.print(
        f"grid search {tm['grid_search_seconds']:.1f}s, refit {tm['refit_seconds']:.1f}s, "
        f"total {tm['total_seconds']:.1f}s"
    )
    out.print(f"model: {report['model_path']}")
