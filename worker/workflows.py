"""Stages as Celery canvases, and the one function that enqueues them.

Every workflow is ``chain(<stage canvas>, lookskip.workflow.finish)`` where the
finish task carries the workflow's id, so the id that ``lookskip enqueue`` prints
is also the id of the final ``AsyncResult``. Stage canvases whose width is known
only at run time (label: one task per batch; train: one per combination × fold)
start with a small task that plans the work and replaces itself with the chord
(``Task.replace``), so nothing ever waits inside a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import chain, signature
from celery.canvas import Signature
from kombu.utils.uuid import uuid

from worker.app import app, job_store

# stage -> the progress parts it reports, in order (shown by `lookskip status`).
PARTS: dict[str, list[str]] = {}
# stage -> builder(wf, params) -> Signature
BUILDERS: dict[str, Callable[[str, dict[str, Any]], Signature]] = {}
# stage -> queue of its last task (the finish task follows it there)
LAST_QUEUE: dict[str, str] = {}
PIPELINE_ORDER: list[str] = []


def stage(name: str, parts: list[str], last_queue: str):
    """Register a stage builder under ``name``."""

    def wrap(f: Callable[[str, dict[str, Any]], Signature]):
        BUILDERS[name] = f
        PARTS[name] = parts
        LAST_QUEUE[name] = last_queue
        return f

    return wrap


def task_sig(name: str, label: str, **kwargs: Any) -> Signature:
    """An immutable signature whose Flower/log representation is ``label`` (short, readable)."""
    return signature(name, kwargs=kwargs, immutable=True).set(argsrepr="()", kwargsrepr=label)


def enqueue(stage_name: str, params: dict[str, Any]) -> str:
    """Build the workflow for ``stage_name``, register it, send it; returns its id."""
    app.loader.import_default_modules()
    if stage_name not in BUILDERS:
        raise ValueError(f"unknown stage {stage_name!r}; known: {', '.join(sorted(BUILDERS))}")
    wf = uuid()
    body = BUILDERS[stage_name](wf, params)
    return send(wf, stage_name, params, PARTS[stage_name], body, LAST_QUEUE[stage_name])


def send(wf: str, stage_name: str, params: dict[str, Any], parts: list[str],
         body: Signature, last_queue: str) -> str:
    """Register workflow ``wf`` and send ``body`` followed by the finish task."""
    job_store().create(wf, stage_name, params, parts)
    finish = signature("lookskip.workflow.finish", kwargs={"wf": wf, "stage": stage_name})
    finish = finish.set(task_id=wf, queue=last_queue, kwargsrepr=f"stage={stage_name}")
    chain(body, finish).apply_async()
    return wf
