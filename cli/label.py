"""``lookskip label``: label every sample line LOOK/SKIP with Claude's Batch API."""

from __future__ import annotations

from collections import Counter

import click
from rich.table import Table

from cli.common import console, datasets_option, fail, out, user_errors
from cli.progress import add_count_task, live_progress, quiet_option
from lookskip import datasets as ds
from lookskip.labeling.batches import LabelingError
from lookskip.settings import get_settings


def _choose_uncertain(
    chosen: list, settings, budget: float | None, max_requests: int | None
) -> dict[str, list[int]]:
    """Score the samples with the current model and print the windows worth labeling."""
    from lookskip.classify.scorer import load_scorer
    from lookskip.labeling.select import select_uncertain

    try:
        scorer = load_scorer()
    except (FileNotFoundError, ValueError) as exc:
        fail(f"--select uncertain needs a model to score the samples: {exc}")
    try:
        sel = select_uncertain(
            chosen, settings, scorer, max_requests=max_requests, budget_usd=budget
        )
    except ValueError as exc:
        fail(str(exc))
    _show_selection(sel, budget)
    return sel.starts()


def _show_selection(sel, budget: float | None) -> None:
    for name, why in sel.errors.items():
        console.print(f"[yellow]skipped {name}:[/] {why}")
    if not sel.requests and sel.stopped_by == "budget":
        fail(f"--budget ${budget:,.4f} is below the estimated cost of the first window")
    table = Table("dataset", "window", "value", "new keys", "most uncertain key")
    for name, wins in sel.windows.items():
        for w in sorted(wins, key=lambda w: w.start):
            top = w.new_keys[0] if w.new_keys else ""
            table.add_row(
                name,
                f"{w.start}-{w.start + w.n_lines - 1}",
                f"{w.gain:.2f}",
                str(len(w.new_keys)),
                top if len(top) <= 70 else top[:69] + "…",
            )
    out.print(table)
    out.print(
        f"chosen {sel.requests} window(s) by uncertainty (stopped: {sel.stopped_by}); "
        f"estimated cost {_money(sel.cost_estimate_usd)}"
        + (f" of a ${budget:,.4f} budget" if budget is not None else "")
    )


def _money(x: float | None) -> str:
    return "unknown (no price for this model)" if x is None else f"${x:,.4f}"


@click.command("label")
@datasets_option
@click.option("--new-only", is_flag=True, help="Only datasets that have no labels file yet.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print request count, token and cost estimates; send nothing (no key needed).",
)
@click.option(
    "--window-size",
    type=click.IntRange(1, 500),
    default=None,
    help="Lines per request (default: settings, 50).",
)
@click.option("--model", default=None, help="Model id (default: settings, claude-haiku-4-5).")
@click.option(
    "--force",
    is_flag=True,
    help="Ask again even for windows whose identical request was already answered.",
)
@click.option(
    "--select",
    "select",
    type=click.Choice(["all", "uncertain"]),
    default="all",
    show_default=True,
    help="Which windows: every one, or those whose template keys the current model "
    "(LOOKSKIP_MODEL_PATH, else the shipped one) scores nearest its threshold; each "
    "key counts once, weighted by how often it occurs. Needs --budget or --max-requests.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    default=None,
    help="With --select uncertain: stop choosing windows before the estimated Batch cost "
    "passes this many USD.",
)
@click.option(
    "--max-requests",
    type=click.IntRange(min=1),
    default=None,
    help="With --select uncertain: at most this many windows (one request each).",
)
@quiet_option
def label(
    datasets: str | None,
    new_only: bool,
    dry_run: bool,
    window_size: int | None,
    model: str | None,
    force: bool,
    select: str,
    budget: float | None,
    max_requests: int | None,
    quiet: bool = False,
) -> None:
    """Label the samples' lines LOOK or SKIP with Claude through the Message Batches API.

    Each window of --window-size lines is one request (custom_id
    "<Dataset>_<first line>"); requests are split into batches under the API
    limits, submitted, polled until they end, and parsed. Failed, expired and
    malformed answers are resubmitted (bounded); lines that still get no label
    are listed in labels/unlabeled.jsonl with the reason. Writes
    labels/<Dataset>.jsonl and labels/all_labeled.jsonl and prints the cost
    from the reported token usage (Batch pricing, 50% of list price).

    Interrupted? Run the same command again: batches already submitted are
    polled, not paid for twice; answered windows are reused.
    Uses ANTHROPIC_API_KEY, and ANTHROPIC_BASE_URL if set (e.g. `lookskip api-sim`).

    New system, small budget? `--select uncertain --budget 0.05 --dry-run` shows
    which windows the model is least sure of and what they cost; without
    --dry-run only those are labeled, and each label spreads to every sample line
    of the same template key (rows with "source": "key"). Run it again to add
    more windows: earlier answers are kept.
    """
    if select == "all" and (budget is not None or max_requests is not None):
        fail("--budget and --max-requests go with --select uncertain")
    if select == "uncertain" and budget is None and max_requests is None:
        fail("--select uncertain needs --budget USD or --max-requests N")
    _label(
        datasets, new_only, dry_run, window_size, model, force, select, budget, max_requests, quiet
    )


@user_errors(ds.DatasetError, LabelingError)
def _label(
    datasets: str | None,
    new_only: bool,
    dry_run: bool,
    window_size: int | None,
    model: str | None,
    force: bool,
    select: str = "all",
    budget: float | None = None,
    max_requests: int | None = None,
    quiet: bool = False,
) -> None:
    from lookskip.labeling import batches, pipeline

    settings = get_settings()
    update = {k: v for k, v in (("window_size", window_size), ("label_model", model)) if v}
    if update:
        settings = settings.model_copy(update=update)
    picked = pipeline.choose_datasets(datasets, settings, new_only=new_only)
    if picked.not_ingested:
        console.print(f"not ingested, skipped: {', '.join(picked.not_ingested)}")
    chosen = picked.datasets
    if new_only and not chosen:
        out.print("every selected dataset already has labels (--new-only): nothing to do")
        return
    starts = None
    if select == "uncertain":
        starts = _choose_uncertain(chosen, settings, budget, max_requests)
        chosen = [d for d in chosen if d.name in starts]
        if not chosen:
            out.print("no window adds anything the model is unsure of: nothing to label")
            return
    if dry_run:
        p = batches.prepare(chosen, settings, force=force, dry_run=True, starts=starts)
        for name, why in p.errors.items():
            console.print(f"[yellow]skipped {name}:[/] {why}")
        out.print(f"model {settings.label_model}, window {settings.window_size} lines")
        out.print(
            f"requests: {p.requests} in {len(p.batches)} batch(es) covering {p.lines} lines"
            f" ({p.reused} window(s) already answered or in flight, not sent again)"
        )
        out.print(f"input tokens (estimate): {p.input_tokens_estimate:,}")
        out.print(f"output tokens (estimate): {p.output_tokens_estimate:,}")
        out.print(f"cost estimate (Batch pricing): {_money(p.cost_estimate_usd)}")
        if p.errors:
            raise SystemExit(1)
        return
    if settings.anthropic_api_key is None and (
        batches.prepare(chosen, settings, force=force, dry_run=True, starts=starts).requests
        or batches.unfinished_batches(settings)
    ):
        fail(
            "ANTHROPIC_API_KEY is not set: export it (or point ANTHROPIC_BASE_URL at "
            "`lookskip api-sim` with any key), or use --dry-run"
        )

    with live_progress(quiet=quiet) as bar:
        task = add_count_task(bar, "batches")
        bar.update(task, status="preparing")

        def show(pr: pipeline.Progress) -> None:
            bar.update(
                task,
                total=pr.batches_total,
                completed=pr.batches_done,
                status=f"· {pr.requests_done}/{pr.requests_total} requests · {pr.status}",
            )

        try:
            run = pipeline.run_label(chosen, settings, force=force, on_progress=show, starts=starts)
        except KeyboardInterrupt:
            fail(
                "interrupted: submitted batches are kept in batches/manifest.json; run the "
                "same command again to resume (nothing is submitted twice)",
                code=130,
            )

    table = Table("dataset", "labeled", "LOOK", "unlabeled", "note")
    for m in run.merged:
        note = m.error or (f"{m.pending} window(s) pending" if m.pending else "")
        if m.unlabeled_why:
            note = "; ".join(f"{n}× {why}" for why, n in m.unlabeled_why.items())
        share = f"{m.look / m.labeled:.1%}" if m.labeled else "-"
        table.add_row(m.dataset, str(m.labeled), share, str(m.unlabeled), note)
    out.print(table)
    for m in run.merged:
        if m.spread:
            out.print(
                f"{m.dataset}: {m.labeled - m.spread} line(s) answered, {m.spread} more labeled "
                'through their template key (rows with source "key")'
            )
    for name, why in run.prepared.errors.items():
        console.print(f"[red]{name}:[/] {why}")
    if run.resubmitted:
        kinds = Counter(why.split(":")[0] for why in run.resubmitted.values())
        out.print(
            f"resubmitted {len(run.resubmitted)} request(s) "
            f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())}): "
            + ", ".join(sorted(run.resubmitted)[:8])
            + (" …" if len(run.resubmitted) > 8 else "")
        )
    if run.gave_up:
        out.print(
            f"[yellow]gave up on {len(run.gave_up)} request(s)[/]; their lines are in "
            "labels/unlabeled.jsonl with the reason"
        )
    u = run.usage
    out.print(
        f"tokens this run: {u.get('input_tokens', 0):,} in, "
        f"{u.get('output_tokens', 0):,} out;"
        f" cost {_money(run.cost_usd)} (Batch pricing); all runs so far "
        f"{_money(run.total_cost_usd)} (batches/manifest.json)"
    )
    if run.errors:
        raise SystemExit(1)


@click.command("retrain")
@datasets_option
@click.option("--budget", type=click.FloatRange(min=0), default=None, help="USD cap for labeling.")
@click.option(
    "--max-requests", type=click.IntRange(min=1), default=None, help="At most this many windows."
)
@click.option(
    "--grid",
    type=click.Choice(["default", "quick"]),
    default="default",
    show_default=True,
    help="Training grid (quick: 4 combinations, for a first look).",
)
@click.option("--dry-run", is_flag=True, help="Show the windows and their cost; do nothing.")
def retrain(
    datasets: str | None, budget: float | None, max_requests: int | None, grid: str, dry_run: bool
) -> None:
    """Select → label → train → export for your own system, in one command.

    \b
    The current model picks the windows of --datasets' samples it is least sure
    of (as `label --select uncertain`), Claude labels only those, the model is
    retrained on every labels file and exported to <models>/look_skip_model.json.gz.
    Printed: LOOK F1 on each of your systems before and after, on the lines Claude
    answered (after: its answered windows split in two, each half scored by a model
    trained on the other half and the other datasets), and the labeling cost.
    It learns with the shipped base rows (the 20 reference datasets' labels as
    weighted template keys), so a fresh install can retrain; a setup that could not
    train (no base rows, no other labels) is refused before anything is sent.
    """
    if budget is None and max_requests is None:
        fail("retrain needs --budget USD or --max-requests N")
    _retrain(datasets, budget, max_requests, grid, dry_run)


@user_errors(ds.DatasetError, LabelingError, ValueError, FileNotFoundError)
def _retrain(
    datasets: str | None, budget: float | None, max_requests: int | None, grid: str, dry_run: bool
) -> None:
    from lookskip.classify.scorer import load_scorer
    from lookskip.labeling import pipeline
    from lookskip.retrain import retrain as run

    settings = get_settings()
    chosen = pipeline.choose_datasets(datasets, settings).datasets
    if not dry_run and settings.anthropic_api_key is None:
        fail("ANTHROPIC_API_KEY is not set (or point ANTHROPIC_BASE_URL at `lookskip api-sim`)")
    report = run(
        chosen,
        settings,
        load_scorer(),
        budget_usd=budget,
        max_requests=max_requests,
        grid=grid,
        on_step=lambda text: console.print(f"[bold]==>[/] {text}"),
        dry_run=dry_run,
    )
    _show_selection(report.selection, budget)
    if dry_run or report.label is None:
        return
    for s in report.scores:
        out.print(
            f"{s.system}: LOOK F1 {s.before_f1:.3f} before -> {s.after_f1:.3f} after, on its "
            f"{s.lines:,} answered lines ({s.look:,} LOOK)"
        )
    unseen = report.trained.get("unseen", {})
    out.print(
        f"model: {report.exported['output']}; unseen-system macro LOOK F1 over all "
        f"datasets {unseen.get('macro', {}).get('look_f1', float('nan')):.3f}; "
        f"labeling cost {_money(report.cost_usd)}"
    )
    if report.label.errors:
        raise SystemExit(1)
