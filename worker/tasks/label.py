"""Labeling as tasks, the same steps as ``lookskip.labeling.pipeline.run_label``:

    prepare → chord( per batch: submit → poll (re-scheduled with backoff) → collect )
            → round (resubmit what needs it: another chord, bounded) → merge → validate

The manifest (``batches/manifest.json``) holds every batch's API id, so a worker that
dies between submit and collect costs nothing: the redone task finds the id and
polls instead of creating the batch again. Polling never sleeps in a worker: a
batch still running re-schedules its poll task with a growing countdown.
"""

from __future__ import annotations

import math
from typing import Any

from celery import chain, chord, group

from lookskip.locking import LockLost, StateConflict
from worker.app import app, stage_settings
from worker.config import MAX_COUNTDOWN_S, broker_kind
from worker.workflows import task_sig

PART = "batches"
POLL_MAX_RETRIES = 5000  # with the default 300 s cap: far beyond the API's 24 h expiry
#: A step that lost the manifest lock (it stalled past the lock's expiry) or whose
#: conditional write the store refused has written nothing (``lookskip.locking``): it
#: runs again after a short backoff instead of failing the workflow.
LOCK_RETRY: dict[str, Any] = {
    "autoretry_for": (LockLost, StateConflict),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 5,
}


class LabelFailed(RuntimeError):
    """Some datasets could not be labeled (the message lists them and why)."""


def _batch_chains(wf: str | None, keys: list[str], overrides: dict[str, Any]) -> group:
    return group(
        chain(
            task_sig(
                "lookskip.label.submit",
                f"batch={k}",
                wf=wf,
                item=f"submit:{k}",
                key=k,
                overrides=overrides,
            ),
            task_sig(
                "lookskip.label.poll",
                f"batch={k}",
                wf=wf,
                item=f"poll:{k}",
                key=k,
                overrides=overrides,
            ),
            task_sig(
                "lookskip.label.collect",
                f"batch={k}",
                wf=wf,
                item=f"collect:{k}",
                key=k,
                overrides=overrides,
            ),
        )
        for k in keys
    )


@app.task(name="lookskip.label.prepare", bind=True, **LOCK_RETRY)
def prepare(
    self,
    *,
    wf: str | None = None,
    datasets: str | None = None,
    new_only: bool = False,
    force: bool = False,
    overrides: dict[str, Any] | None = None,
) -> Any:
    """Plan the requests, write them as batches, and fan out one chain per batch."""
    from lookskip.labeling import batches as B
    from lookskip.labeling import pipeline

    overrides = overrides or {}
    settings = stage_settings(overrides)
    chosen = pipeline.choose_datasets(datasets, settings, new_only=new_only).datasets
    prepared = B.prepare(chosen, settings, force=force)
    keys = B.unfinished_batches(settings)  # includes batches an interrupted run left
    touched = sorted(set(prepared.datasets) | pipeline.datasets_of_batches(settings, keys))
    if keys and settings.anthropic_api_key is None:
        B.make_client(settings)  # raises the clear "ANTHROPIC_API_KEY is not set" error
    self.set_total(wf, PART, len(keys))
    self.progress(
        wf, 0, len(keys), f"label: {prepared.requests} request(s) in {len(keys)} batch(es)"
    )
    state = {
        "touched": touched,
        "errors": prepared.errors,
        "round": 0,
        "requests": prepared.requests,
        "reused": prepared.reused,
    }
    body = task_sig(
        "lookskip.label.round",
        "round 0",
        takes_result=True,
        wf=wf,
        state=state,
        overrides=overrides,
    )
    if not keys:
        return self.replace(body.clone(args=([],)))
    return self.replace(chord(_batch_chains(wf, keys, overrides), body))


@app.task(name="lookskip.label.submit", bind=True, **LOCK_RETRY)
def submit(
    self,
    *,
    wf: str | None = None,
    item: str = "",
    key: str,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """Create the batch at the API unless the manifest already has its id."""
    from lookskip.labeling import batches as B

    b = B.submit_batch(key, stage_settings(overrides))
    return {"key": key, "api_id": b["api_id"], "status": b["status"]}


@app.task(name="lookskip.label.poll", bind=True, **{**LOCK_RETRY, "max_retries": POLL_MAX_RETRIES})
def poll(
    self,
    *,
    wf: str | None = None,
    item: str = "",
    key: str,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """One status check; a batch still running re-schedules this task with backoff."""
    from lookskip.labeling import batches as B
    from lookskip.labeling.pipeline import poll_delay

    settings = stage_settings(overrides)
    status = B.poll_batch(key, settings)
    if status not in ("ended", "collected"):
        countdown = min(poll_delay(settings, self.request.retries or 0), MAX_COUNTDOWN_S)
        if broker_kind(app.conf.broker_url) == "amqp":
            # RabbitMQ's native delayed delivery counts whole seconds (and refuses 0)
            countdown = float(max(1, math.ceil(countdown)))
        self.progress(wf, 0, 1, f"batch {key} {status}, next check in {countdown:.0f}s")
        raise self.retry(countdown=countdown)
    self.item_done(wf, PART, key)
    self.progress(wf, 1, 1, f"batch {key} ended")
    return {"key": key, "status": status}


@app.task(name="lookskip.label.collect", bind=True, **LOCK_RETRY)
def collect(
    self,
    *,
    wf: str | None = None,
    item: str = "",
    key: str,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """Download and parse an ended batch's results; decide retries; record cost."""
    from lookskip.labeling import batches as B

    got = B.collect_batch(key, stage_settings(overrides))
    return {
        "key": key,
        "succeeded": got.succeeded,
        "retry": list(got.retry),
        "gave_up": list(got.gave_up),
        "problems": dict(list(got.problems.items())[:50]),
        "usage": got.usage,
        "cost_usd": got.cost_usd,
    }


@app.task(name="lookskip.label.round", bind=True, **LOCK_RETRY)
def round_(
    self,
    collected: list[dict],
    *,
    wf: str | None = None,
    state: dict[str, Any],
    overrides: dict[str, Any] | None = None,
) -> Any:
    """After a round of batches: resubmit what asked for it (another chord) or merge."""
    from lookskip.labeling import batches as B
    from lookskip.labeling.pipeline import add_cost

    overrides = overrides or {}
    settings = stage_settings(overrides)
    state = dict(state)
    for c in collected or []:
        state["resubmitted"] = state.get("resubmitted", 0) + len(c.get("retry", []))
        state["gave_up"] = state.get("gave_up", 0) + len(c.get("gave_up", []))
        state["cost_usd"] = add_cost(state.get("cost_usd", 0.0), c.get("cost_usd"))
    specs = B.prepare_resubmits(settings)
    merge_sig = task_sig("lookskip.label.merge", "merge", wf=wf, state=state, overrides=overrides)
    if not specs:
        return self.replace(merge_sig)
    keys = [s.key for s in specs]
    state["round"] = state.get("round", 0) + 1
    self.set_total(wf, PART, _total(wf) + len(keys))
    body = task_sig(
        "lookskip.label.round",
        f"round {state['round']}",
        takes_result=True,
        wf=wf,
        state=state,
        overrides=overrides,
    )
    return self.replace(chord(_batch_chains(wf, keys, overrides), body))


def _total(wf: str | None) -> int:
    from worker.app import job_store

    if not wf:
        return 0
    view = job_store().get(wf)
    return next((p["total"] for p in view.parts if p["name"] == PART), 0) if view else 0


@app.task(name="lookskip.label.merge", bind=True, **LOCK_RETRY)
def merge(
    self, *, wf: str | None = None, state: dict[str, Any], overrides: dict[str, Any] | None = None
) -> dict:
    """Write labels/<Dataset>.jsonl for every fully answered dataset and the combined file."""
    from lookskip.labeling import batches as B
    from lookskip.labeling.merge import merge_labels

    settings = stage_settings(overrides)
    self.progress(wf, 0, 1, f"merging labels of {len(state['touched'])} dataset(s)")
    merged = merge_labels(state["touched"], settings)
    state = dict(state)
    state["merged"] = [m.__dict__ for m in merged]
    state["total_cost_usd"] = B.load_manifest(settings)["totals"]["cost_usd"]
    return state


@app.task(name="lookskip.label.validate", bind=True)
def validate(
    self, state: dict[str, Any], *, wf: str | None = None, overrides: dict[str, Any] | None = None
) -> dict:
    """Check the new labels against ground truth where there is some; then the verdict."""
    from lookskip import storage
    from lookskip import validate as v

    settings = stage_settings(overrides)
    with_truth = [n for n in v.default_datasets(settings) if n in state["touched"]]
    report = v.validate(with_truth, settings) if with_truth else {"datasets": [], "errors": 0}
    labels = [
        storage.join(settings.labels_dir, f"{m['dataset']}.jsonl")
        for m in state["merged"]
        if not m["pending"] and not m["error"]
    ]
    result = {
        "datasets": {
            m["dataset"]: {k: m[k] for k in ("labeled", "look", "unlabeled", "pending", "error")}
            for m in state["merged"]
        },
        "requests": state.get("requests", 0),
        "reused_windows": state.get("reused", 0),
        "resubmitted": state.get("resubmitted", 0),
        "gave_up": state.get("gave_up", 0),
        "cost_usd": state.get("cost_usd", 0.0),
        "total_cost_usd": state.get("total_cost_usd"),
        "validate": {
            r["dataset"]: {
                k: r.get(k) for k in ("recall", "normal_look_share", "unlabeled", "error")
            }
            for r in report["datasets"]
        },
        "artifacts": [*labels, storage.join(settings.labels_dir, "all_labeled.jsonl")],
    }
    errors = dict(state.get("errors") or {})
    errors.update({m["dataset"]: m["error"] for m in state["merged"] if m["error"]})
    if errors:
        raise LabelFailed("; ".join(f"{k}: {why}" for k, why in sorted(errors.items())))
    return result
