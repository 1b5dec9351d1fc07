"""``lookskip enqueue <stage>``: send a stage to the Celery workers instead of running it here.

Each subcommand is built from the local command's own click parameters (so the
options are the same and stay the same), minus the ones that only make sense
locally (``--json`` output, ``--dry-run``), plus ``--wait``.
"""

from __future__ import annotations

import importlib
import inspect
import os
from typing import Any

import click

from cli.common import console, fail, out

# stage -> (local command "module:attr", local-only parameter names not offered here)
STAGES: dict[str, tuple[str, set[str]]] = {
    "ingest": ("cli.ingest:ingest", {"as_json"}),
    # --select uncertain needs the model and the samples where the command runs; the
    # workers' label stage labels every window (offering the options there would
    # silently ignore a budget)
    "label": ("cli.label:label", {"dry_run", "select", "budget", "max_requests"}),
    "train": ("cli.train:train", {"n_jobs"}),
    "export": ("cli.export:export", set()),
    # --ask-claude on the workers asks through the Batch API (resumable); a dry run and
    # the request listing are local (`lookskip classify --ask-claude --dry-run`), and so
    # are --follow (tails a file here) and --save-baseline (writes a file here)
    "classify": (
        "cli.classify:classify",
        {"fmt", "threads", "dry_run", "show_requests", "now", "follow", "save_baseline"},
    ),
    "train-transformer": ("cli.transformer:train_transformer", set()),
}
# Stages the pipeline chains (classify is not a pipeline stage).
PIPELINE = ("ingest", "label", "train", "export")


def _classify_params(p: dict[str, Any]) -> dict[str, Any]:
    """The local command's parameters as the classify workflow wants them: the workers
    write their outputs into a directory (required) and read inputs by absolute path."""
    out_dir = p.pop("output_dir", None)
    if not out_dir:
        fail("enqueue classify needs --output DIR (a directory the workers can write)")
    files = [f for f in p.pop("files", ()) if f != "-"]
    if not files:
        fail("enqueue classify cannot read stdin: give files the workers can read")

    def absolute(x: str) -> str:
        return x if "://" in x else os.path.abspath(x)

    baseline_file = p.pop("baseline_file", None)
    for key in ("bert_model", "tfidf_model"):  # model files the workers read
        if p.get(key):
            p[key] = absolute(p[key])
    return {
        **p,
        "inputs": [absolute(f) for f in files],
        "output": absolute(out_dir),
        "baseline_inputs": [absolute(b) for b in p.get("baseline_inputs") or ()],
        "baseline_file": absolute(baseline_file) if baseline_file else None,
    }


# stage -> turns the local command's parameters into the workflow's
ADAPT: dict[str, Any] = {"classify": _classify_params}
# Parameters the pipeline does not take from its stages: --force means different
# things per stage (re-download vs. pay the API again), so it stays per stage; the
# pipeline exports the model it has just trained (export's --model).
PIPELINE_EXCLUDED = {"force", "model_path"}

WAIT = click.Option(
    ["--wait"],
    is_flag=True,
    help="Follow it with a live progress bar until it ends; exit status 1 "
    "on failure, naming the failing task and its error.",
)


def _quiet(params: list[click.Parameter]) -> list[click.Parameter]:
    """--quiet (no progress display with --wait), unless the stage's own options have it."""
    if any(p.name == "quiet" for p in params):
        return []
    from cli.progress import quiet_option

    return [p for p in quiet_option(click.Command("x")).params]


def _local(stage: str) -> click.Command:
    module, attr = STAGES[stage][0].split(":")
    return getattr(importlib.import_module(module), attr)


def _params(stage: str) -> list[click.Parameter]:
    excluded = STAGES[stage][1]
    return [p for p in _local(stage).params if p.name not in excluded]


def send(stage: str, params: dict[str, Any], wait: bool, quiet: bool = False) -> None:
    """Register and send the workflow; print its id (stdout); optionally follow it."""
    from lookskip.preflight import ParamError, check
    from worker.client import Unreachable, check_broker

    try:  # before the broker: a run that cannot succeed is refused here, for free
        check(stage, params, workers=True)
    except ParamError as exc:
        fail(str(exc))
    try:
        check_broker()
    except Unreachable as exc:
        fail(str(exc))
    from worker.workflows import enqueue as enqueue_workflow

    wf = enqueue_workflow(stage, params, checked=True)
    out.print(wf)
    if not wait:
        console.print(f"sent {stage}; follow it with: lookskip status {wf} --wait")
        return
    from cli.status import report_end, wait_with_progress

    report_end(wait_with_progress(wf, quiet=quiet), as_json=False)


def _stage_command(stage: str) -> click.Command:
    local = _local(stage)

    def callback(wait: bool, quiet: bool = False, **params: Any) -> None:
        send(stage, ADAPT.get(stage, dict)(params), wait, quiet)

    return click.Command(
        stage,
        params=[*_params(stage), WAIT, *_quiet(_params(stage))],
        callback=callback,
        short_help=f"Send `lookskip {stage}` to the workers.",
        help=f"Send `lookskip {stage}` to the workers (same options; see below).\n\n"
        + inspect.cleandoc(local.help or ""),
    )


def _pipeline_command() -> click.Command:
    params: dict[str, click.Parameter] = {}
    flags: set[str] = set()
    for stage in PIPELINE:
        for p in _params(stage):
            if p.name in PIPELINE_EXCLUDED or p.name in params or flags & set(p.opts):
                continue
            params[p.name] = p
            flags.update(p.opts)
    from_opt = click.Option(
        ["--from", "from_stage"],
        type=click.Choice(list(PIPELINE)),
        default=PIPELINE[0],
        show_default=True,
        help="Start at this stage (the earlier ones' outputs are reused).",
    )

    def callback(wait: bool, from_stage: str, quiet: bool = False, **p: Any) -> None:
        send("pipeline", {"from": from_stage, **p}, wait, quiet)

    return click.Command(
        "pipeline",
        params=[from_opt, *params.values(), WAIT, *_quiet(list(params.values()))],
        callback=callback,
        short_help="Send the whole pipeline (" + " → ".join(PIPELINE) + ") to the workers.",
        help="Send the whole pipeline (" + " → ".join(PIPELINE) + ") to the workers as one "
        "chain; each stage starts when the previous one has finished. --from STAGE "
        "resumes from a stage. Options are those of the stage commands (see their "
        "--help), except --force.",
    )


class EnqueueGroup(click.Group):
    """Builds the stage subcommands on demand (imports only the one that is used)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*STAGES, "pipeline"]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in STAGES:
            return _stage_command(name)
        if name == "pipeline":
            return _pipeline_command()
        return None


@click.group(cls=EnqueueGroup)
def enqueue() -> None:
    """Send a stage (or the whole pipeline) to the workers; prints the workflow id.

    Each subcommand takes the same options as the local command of the same name,
    plus --wait to follow it with a live progress bar (exit status 1 on failure,
    naming the failing task). Follow it later with `lookskip status ID`; list
    recent ones with `lookskip jobs`.
    """
