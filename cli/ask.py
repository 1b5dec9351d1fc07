"""``lookskip classify --ask-claude``: the ask step before classifying (``lookskip.ask``)."""

from __future__ import annotations

import json

import click
from rich.markup import escape
from rich.table import Table

from cli.common import console, out

ASK_OPTIONS = (
    click.option(
        "--ask-claude",
        is_flag=True,
        help="Before classifying, ask Claude about the templates the model does not know "
        "(within --budget), learn from the answers (refit, saved in the data dir, used "
        "by every later run), then classify with what it learned.",
    ),
    click.option(
        "--budget",
        type=float,
        default=None,
        metavar="USD",
        help="With --ask-claude: the most to spend (estimated Batch price, as --dry-run "
        "prints it).",
    ),
    click.option(
        "--dry-run",
        is_flag=True,
        help="With --ask-claude: print the templates it would ask about, their lines, the "
        "requests and the estimated cost; send nothing, classify nothing.",
    ),
    click.option(
        "--show-requests",
        is_flag=True,
        help="With --dry-run: print exactly what would be sent (each request's JSON).",
    ),
    click.option(
        "--now",
        is_flag=True,
        help="With --ask-claude: the Messages API (answers in seconds, full price) "
        "instead of the Message Batches API (half price, minutes).",
    ),
    click.option(
        "--send",
        type=click.Choice(["raw", "masked"]),
        default="raw",
        show_default=True,
        help="With --ask-claude: what leaves the host: raw lines, or their template keys "
        "(numbers, ids, addresses masked).",
    ),
)


def ask_options(f):
    for option in reversed(ASK_OPTIONS):
        f = option(f)
    return f


def check_ask_usage(ask_claude: bool, budget, dry_run: bool, show_requests: bool, now: bool):
    if not ask_claude:
        if budget is not None or dry_run or now or show_requests:
            raise click.UsageError(
                "--budget, --dry-run, --now and --show-requests go with --ask-claude"
            )
        return
    if budget is None:
        raise click.UsageError("--ask-claude needs --budget USD (see it first with --dry-run)")
    if show_requests and not dry_run:
        raise click.UsageError("--show-requests goes with --dry-run")


def _plan_table(plan) -> Table:
    t = Table("value", "lines", "keys", "p_look", "template", "example")
    for tpl in plan.chosen:
        t.add_row(
            f"{tpl.value:.2f}",
            f"{tpl.count:,}",
            f"{len(tpl.keys):,}",
            f"{tpl.p_look:.2f}",
            escape(tpl.template[:70]),
            escape(tpl.keys[0].example[:70]),
        )
    return t


def run_ask(
    files,
    *,
    model_path: str | None,
    budget: float,
    dry_run: bool,
    show_requests: bool,
    now: bool,
    send: str,
    include,
    exclude,
    threads,
    max_line_bytes: int,
    output_dir: str | None,
) -> str | None:
    """Survey, ask, learn; the model to classify with (None after a dry run)."""
    from lookskip import storage
    from lookskip.ask.run import AskError, ask, learn, plan_ask
    from lookskip.classify.scorer import default_model_path, load_scorer
    from lookskip.labeling.batches import LabelingError
    from lookskip.settings import get_settings

    settings = get_settings()
    base_model = model_path or default_model_path()
    scorer = load_scorer(base_model, threads, max_line_bytes=max_line_bytes)
    try:
        plan = plan_ask(
            scorer, files, settings, budget, include=include, exclude=exclude, send=send
        )
    except AskError as exc:
        raise click.ClickException(str(exc)) from None
    sv = plan.survey
    for e in sv.errors:
        console.print(f"[bold red]error:[/] {escape(e)}")
    sampled = " (sampled: the first lines only)" if sv.sampled else ""
    console.print(
        f"survey: {sv.lines:,} lines{sampled}, {sv.keys:,} keys, {len(sv.templates):,} "
        f"templates ({sum(t.known is not None for t in sv.templates):,} already known), "
        f"{sv.seconds:.2f}s"
    )
    est = "unknown" if plan.cost_estimate_usd is None else f"${plan.cost_estimate_usd:.4f}"
    console.print(
        f"ask: {len(plan.chosen):,} template(s) in {len(plan.requests)} request(s), "
        f"estimated {est} of ${budget:.4f} (stopped by {plan.stopped_by}); "
        f"sends {'template keys' if send == 'masked' else 'raw lines'} "
        f"to {settings.label_model}"
    )
    if dry_run:
        if plan.chosen:
            console.print(_plan_table(plan))
        if show_requests:
            for r in plan.requests:
                out.print_json(json.dumps(r.request, ensure_ascii=False))
        return None
    if not plan.requests:
        console.print("nothing to ask: every template is known")
        return base_model
    try:
        report = ask(plan, settings, now=now, on_step=lambda s: console.print(f"  {s}"))
        fitted = learn(report, settings, base_model)
    except (AskError, LabelingError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    looks = sum(a["label"] == "LOOK" for a in report.answers)
    cost = "unknown" if report.cost_usd is None else f"${report.cost_usd:.4f}"
    console.print(
        f"answers: {len(report.answers):,} template(s), {looks:,} LOOK, "
        f"{len(report.answers) - looks:,} SKIP; cost {cost}; refit on {fitted['rows']:,} "
        f"rows in {fitted['seconds']:.1f}s → {escape(fitted['model'])}"
    )
    for p in report.problems:
        console.print(f"[yellow]warning:[/] {escape(p)}")
    if output_dir:
        storage.makedirs(output_dir)
        storage.write_json(
            storage.join(output_dir, "ask.json"),
            {
                "budget_usd": budget,
                "estimate_usd": plan.cost_estimate_usd,
                "cost_usd": report.cost_usd,
                "requests": len(plan.requests),
                "survey": {
                    "lines": sv.lines,
                    "keys": sv.keys,
                    "templates": len(sv.templates),
                    "sampled": sv.sampled,
                },
                "answers": [
                    {k: a[k] for k in ("template", "label", "reason", "system", "examples")}
                    for a in report.answers
                ],
                "problems": report.problems,
                "model": fitted["model"],
            },
        )
    return fitted["model"]
