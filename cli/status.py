"""``lookskip status ID`` and ``lookskip jobs``: watch workflows sent with ``enqueue``."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from cli.common import fail, out
from cli.progress import quiet_option


def _ago(ts: float | None) -> str:
    if not ts:
        return "-"
    s = max(0, int(time.time() - ts))
    if s < 120:
        return f"{s}s ago"
    if s < 7200:
        return f"{s // 60}m ago"
    return f"{s // 3600}h ago"


def _style(state: str) -> str:
    return {"SUCCESS": "green", "FAILURE": "red", "STARTED": "yellow"}.get(state, "cyan")


def _store():
    from worker.client import Unreachable, check_broker

    try:
        check_broker()
    except Unreachable as exc:
        fail(str(exc))
    from worker.app import job_store

    return job_store()


def print_view(view: Any) -> None:
    """Human rendering of a ``lookskip.jobs.JobView``."""
    from lookskip.jobs import progress_text

    out.print(
        f"workflow [bold]{view.id}[/]  stage {view.stage}  "
        f"[{_style(view.state)}]{view.state}[/]  created {_ago(view.created)}"
    )
    if progress_text(view.parts):
        out.print(f"  progress: {progress_text(view.parts)}")
    if view.label and not view.done:
        out.print(f"  now: {view.label}")
    for f in view.failures:
        out.print(f"  [red]failed[/] {f['task']} [{f['item']}]: {f['error']}")
    if view.result is not None:
        out.print(
            "  result: "
            + json.dumps(view.result.get("result"), indent=2, ensure_ascii=False).replace(
                "\n", "\n  "
            )
        )


def wait_with_progress(wf: str, quiet: bool = False) -> Any:
    """Follow a workflow until it ends: one bar per part (done of total items), and for
    classify a bar of the bytes and lines the workers have read so far (each unit
    publishes its figures every second while it reads); failures as they happen."""
    from cli.progress import add_bytes_task, add_count_task, live_progress
    from worker.client import wait

    parts = live_progress(quiet=quiet, transient=False)
    bars: dict[str, Any] = {}
    told: set[str] = set()
    read_task: list[Any] = []

    def update(view: Any) -> None:
        for p in view.parts:
            if p["name"] not in bars:
                bars[p["name"]] = add_count_task(parts, f"{p['name']:<12}")
            parts.update(bars[p["name"]], completed=p["done"], total=p["total"] or None)
        if bars and view.label:
            last = next(
                (p["name"] for p in reversed(view.parts) if p["done"] or p["total"]),
                view.parts[0]["name"] if view.parts else None,
            )
            if last in bars:
                parts.update(bars[last], status=view.label)
        if view.work is not None:
            w = view.work
            if not read_task:
                read_task.append(add_bytes_task(parts, f"{'reading':<12}", unit="units"))
            parts.update(
                read_task[0],
                completed=w["bytes"],
                total=w["bytes_total"],
                lines=w["lines"],
                files=sum(p["done"] for p in view.parts),
                files_total=sum(p["total"] for p in view.parts) or None,
            )
        for f in view.failures:
            key = f"{f['task']}/{f['item']}"
            if key not in told:
                told.add(key)
                parts.note(f"[red]failed[/] {f['task']} [{f['item']}]: {f['error']}")

    try:
        with parts:
            return wait(wf, update)
    except KeyError:
        fail(f"no workflow with id {wf} (it may have expired)")


def report_end(view: Any, as_json: bool) -> None:
    if as_json:
        out.print_json(data=view.to_dict())
    else:
        print_view(view)
    if view.state == "FAILURE":
        f = view.failures[0] if view.failures else {"task": "?", "item": "?", "error": "?"}
        if not as_json:
            fail(f"workflow {view.id} failed in {f['task']} [{f['item']}]: {f['error']}")
        raise SystemExit(1)
    # A classify run that finished with files it could not read: exit 1, as local classify
    totals = ((view.result or {}).get("result") or {}).get("totals") or {}
    if view.state == "SUCCESS" and totals.get("files_failed"):
        if not as_json:
            fail(
                f"{totals['files_failed']} of {totals['files']} file(s) could not be "
                f"classified (see {view.result['result'].get('summary', 'summary.json')})"
            )
        raise SystemExit(1)


@click.command()
@click.argument("workflow_id")
@click.option("--wait", "wait_", is_flag=True, help="Follow it live until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@quiet_option
def status(workflow_id: str, wait_: bool, as_json: bool, quiet: bool = False) -> None:
    """Show state, progress, failures and result of workflow WORKFLOW_ID.

    Exits with status 1 when the workflow failed (the failing task and its error
    are named), 0 otherwise.
    """
    store = _store()
    if wait_ and not as_json:
        view = wait_with_progress(workflow_id, quiet=quiet)
    elif wait_:
        from worker.client import wait

        try:
            view = wait(workflow_id, lambda v: None)
        except KeyError:
            fail(f"no workflow with id {workflow_id} (it may have expired)")
    else:
        view = store.get(workflow_id)
        if view is None:
            fail(f"no workflow with id {workflow_id} (it may have expired)")
    report_end(view, as_json)


@click.command()
@click.option("-n", "--limit", default=20, show_default=True, help="How many to list.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
def jobs(limit: int, as_json: bool) -> None:
    """List recent workflows (newest first) with their state and progress."""
    from lookskip.jobs import progress_text

    views = _store().recent(limit)
    if as_json:
        out.print_json(data=[v.to_dict() for v in views])
        return
    if not views:
        out.print("no workflows yet (send one with `lookskip enqueue`)")
    for v in views:  # one line each: ids stay whole for copy-paste into `lookskip status`
        err = (
            f"  [red]{v.failures[0]['item']}: {v.failures[0]['error'][:80]}[/]"
            if v.failures
            else ""
        )
        out.print(
            f"{v.id}  {v.stage:<8} [{_style(v.state)}]{v.state:<8}[/] "
            f"{_ago(v.created):>8}  {progress_text(v.parts)}{err}"
        )
