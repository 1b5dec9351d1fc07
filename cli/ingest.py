"""``lookskip ingest``: put the datasets' samples under ``<data_dir>/loghub/``."""

from __future__ import annotations

import json

import click
from rich.table import Table

from cli.common import datasets_option, fail, out, user_errors
from cli.progress import add_count_task, live_progress, quiet_option
from lookskip import datasets as ds
from lookskip.settings import get_settings

_STYLE = {"failed": "bold red", "missing": "yellow", "unchanged": "dim"}


@click.command("ingest")
@click.option(
    "--source",
    default=None,
    metavar="SOURCE",
    help="loghub | synthetic | a directory | a file:// or http(s):// base URL. "
    "Default: each dataset's registry source.",
)
@datasets_option
@click.option("--force", is_flag=True, help="Fetch and rewrite even samples that are intact.")
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed of the synthetic generator (default: lookskip's fixed seed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@quiet_option
def ingest(
    source: str | None,
    datasets: str | None,
    force: bool,
    seed: int | None,
    as_json: bool,
    quiet: bool = False,
) -> None:
    """Fetch, copy or generate the 2K-line samples into <data_dir>/loghub/.

    \b
    --source loghub      the 16 loghub samples from LOOKSKIP_LOGHUB_URL
    --source synthetic   the 6 synthetic samples from lookskip's seeded generator
    --source DIR|URL     a mirror: flat <Name>_2k.log files or loghub's own
                         <Name>/<Name>_2k.log layout; every registry dataset it
                         has is taken (missing ones are listed, not errors)
    (no --source)        keep each intact sample; fetch the others from their
                         registry source

    Ground-truth files (<Name>_2k.log_structured.csv, BGL and Thunderbird) come
    along when the source has them, for `lookskip validate`.

    Idempotent: a sample whose sha256 already matches is left untouched
    (status "unchanged"); downloads are recorded with their URL and sha256 and
    the local copy is re-hashed, so a corrupted copy is fetched again.
    Transient HTTP failures (timeouts, 429, 5xx) are retried with backoff.

    A sample must be UTF-8 text with no NUL byte, lines of at most 1 MiB, and
    not empty; anything else fails that dataset with the reason, the others go
    on. The exit status is non-zero only if some dataset failed.
    """
    _ingest(source, datasets, force, seed, as_json, quiet)


@user_errors(ds.DatasetError)
def _ingest(
    source: str | None,
    datasets: str | None,
    force: bool,
    seed: int | None,
    as_json: bool,
    quiet: bool = False,
) -> None:
    from lookskip import ingest as ing
    from lookskip import synthetic

    settings = get_settings()
    try:
        _, todo = ing.plan(datasets, source, settings)
    except ing.SourceError as exc:
        fail(str(exc))
    kwargs = {"force": force, "seed": synthetic.DEFAULT_SEED if seed is None else seed}
    with live_progress(quiet=quiet or as_json) as bar:
        task = add_count_task(bar, "ingest", total=len(todo))

        def progress(name: str, result: ing.IngestResult | None) -> None:
            if result is None:
                bar.update(task, status=name)
            else:
                bar.advance(task)

        try:
            results = ing.ingest(datasets, source, settings, progress=progress, **kwargs)
        except ing.SourceError as exc:
            fail(str(exc))

    if as_json:
        out.print_json(
            json.dumps({"results": [r.to_dict() for r in results], "summary": ing.summary(results)})
        )
    else:
        out.print(_table(results))
        for r in results:
            if r.error:
                out.print(f"[{_STYLE[r.status]}]{r.dataset} {r.status}:[/] {r.error}")
        counts = ing.summary(results)["by_status"]
        out.print(
            ", ".join(f"{n} {status}" for status, n in counts.items()) + f" → {settings.loghub_dir}"
        )
    failed = [r.dataset for r in results if r.status == "failed"]
    if failed:
        fail(f"{len(failed)} dataset(s) failed: {', '.join(failed)}")


def _table(results: list) -> Table:
    table = Table("dataset", "status", "lines", "bytes", "sha256", "truth")
    for r in results:
        style = _STYLE.get(r.status, "green")
        table.add_row(
            r.dataset,
            f"[{style}]{r.status}[/]",
            f"{r.lines:,}" if r.lines else "",
            f"{r.bytes:,}" if r.bytes else "",
            (r.sha256 or "")[:12],
            r.truth or "",
        )
    return table
