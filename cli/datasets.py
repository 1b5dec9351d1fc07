"""``lookskip datasets``: list and add entries of the dataset registry."""

from __future__ import annotations

import click
from rich.table import Table

from cli.common import out, user_errors
from lookskip import datasets as ds
from lookskip import storage
from lookskip.settings import get_settings


@click.group()
def datasets() -> None:
    """List the known datasets or register your own log as one."""


@datasets.command("list")
@user_errors(ds.DatasetError)
def list_() -> None:
    """Show every registered dataset, its source, and whether its sample and labels exist."""
    settings = get_settings()
    table = Table("name", "source", "ground truth", "sample", "labels")
    for d in ds.load_registry(settings).values():
        sample = storage.exists(storage.join(settings.loghub_dir, d.sample_name))
        labels = storage.exists(storage.join(settings.labels_dir, f"{d.name}.jsonl"))
        table.add_row(
            d.name,
            d.source,
            "yes" if d.ground_truth else "",
            "yes" if sample else "-",
            "yes" if labels else "-",
        )
    out.print(table)


@datasets.command("add")
@click.argument("name")
@click.argument("path")
@click.option(
    "--lines",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Take the first N lines of PATH as the sample.",
)
@click.option("--force", is_flag=True, help="Replace a dataset already registered as NAME.")
@user_errors(ds.DatasetError)
def add(name: str, path: str, lines: int, force: bool) -> None:
    """Register the log at PATH (plain or .gz) as dataset NAME.

    Its first --lines lines are copied to <data_dir>/loghub/NAME_2k.log, so every
    stage (label, train, validate) can use it like a loghub sample. The sample must
    be text (UTF-8, no NUL byte, lines of at most 1 MiB), as ingest requires. NAME
    is ASCII letters, digits and _ (at most 64); a registered name (a built-in
    dataset too) is replaced only with --force.
    """
    d, n = ds.add_dataset(name, path, lines, force=force)
    out.print(f"added {d.name}: {n} lines from {path}")
