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


def stage(name: str, parts: list[str], last_queue: str):
    """Register a stage builder under ``name``."""

    def wrap(f: Callable[[str, dict[str, Any]], Signature]):
        BUILDERS[name] = f
        PARTS[name] = parts
        LAST_QUEUE[name] = last_queue
        return f

    return wrap


def task_sig(name: str, label: str, *, takes_result: bool = False, **kwargs: Any) -> Signature:
    """A signature whose Flower/log representation is ``label`` (short, readable).

    Immutable (it ignores the previous task's result) unless ``takes_result``, which
    chord bodies use to receive their header's results.
    """
    sig = signature(name, kwargs=kwargs, immutable=not takes_result)
    return sig.set(argsrepr="(…)" if takes_result else "()", kwargsrepr=label)


def enqueue(stage_name: str, params: dict[str, Any], *, checked: bool = False) -> str:
    """Build the workflow for ``stage_name``, register it, send it; returns its id.

    Its parameters are checked first (``lookskip.preflight``): a run that cannot
    succeed raises ``ParamError`` before anything is registered or sent. ``checked``:
    the caller has just run that check itself (``lookskip enqueue`` does, before it
    tries the broker), so it is not run twice.
    """
    from lookskip import preflight

    if not checked:
        preflight.check(stage_name, params, workers=True)
    app.loader.import_default_modules()
    _register_pipeline()
    if stage_name not in BUILDERS:
        raise ValueError(f"unknown stage {stage_name!r}; known: {', '.join(sorted(BUILDERS))}")
    wf = uuid()
    body = BUILDERS[stage_name](wf, params)
    return send(wf, stage_name, params, PARTS[stage_name], body, LAST_QUEUE[stage_name])


def send(
    wf: str,
    stage_name: str,
    params: dict[str, Any],
    parts: list[str],
    body: Signature,
    last_queue: str,
) -> str:
    """Register workflow ``wf`` and send ``body`` followed by the finish task."""
    job_store().create(wf, stage_name, params, parts)
    finish = signature("lookskip.workflow.finish", kwargs={"wf": wf, "stage": stage_name})
    finish = finish.set(task_id=wf, queue=last_queue, kwargsrepr=f"stage={stage_name}")
    chain(body, finish).apply_async()
    return wf


# --------------------------------------------------------------------------- stages


@stage("ingest", parts=["datasets"], last_queue="ingest")
def build_ingest(wf: str, p: dict[str, Any]) -> Signature:
    kw = {k: p.get(k) for k in ("source", "datasets", "seed")}
    label = ", ".join(f"{k}={v}" for k, v in kw.items() if v is not None) or "all datasets"
    return task_sig("lookskip.ingest.plan", label, wf=wf, force=bool(p.get("force")), **kw)


def _label_overrides(p: dict[str, Any]) -> dict[str, Any]:
    pairs = (("window_size", p.get("window_size")), ("label_model", p.get("model")))
    return {k: v for k, v in pairs if v}


@stage("label", parts=["batches"], last_queue="label")
def build_label(wf: str, p: dict[str, Any]) -> Signature:
    ov = _label_overrides(p)
    label = f"datasets={p.get('datasets') or 'all'}"
    return chain(
        task_sig(
            "lookskip.label.prepare",
            label,
            wf=wf,
            datasets=p.get("datasets"),
            new_only=bool(p.get("new_only")),
            force=bool(p.get("force")),
            overrides=ov,
        ),
        task_sig("lookskip.label.validate", "validate", takes_result=True, wf=wf, overrides=ov),
    )


def pipeline_stages() -> list[str]:
    """The stages the pipeline chains, in order (those whose tasks are installed)."""
    return [s for s in ("ingest", "label", "train", "export") if s in BUILDERS]


def build_pipeline(wf: str, p: dict[str, Any]) -> Signature:
    order = pipeline_stages()
    start = p.get("from") or order[0]
    if start not in order:
        raise ValueError(f"--from {start}: choose one of {', '.join(order)}")
    stages = order[order.index(start) :]
    params = {k: v for k, v in p.items() if k not in ("from", "force")}
    # `train` alone ends with export; in the pipeline export is its own stage
    builders = {**BUILDERS, "train": build_train_only}
    return chain(*(builders[s](wf, params) for s in stages))


def _register_pipeline() -> None:
    order = pipeline_stages()
    PARTS["pipeline"] = [part for s in order for part in PARTS[s]]
    BUILDERS["pipeline"] = build_pipeline
    LAST_QUEUE["pipeline"] = LAST_QUEUE[order[-1]]


def _csv(value: Any) -> list[str] | None:
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def build_train_only(wf: str, p: dict[str, Any]) -> Signature:
    """plan → feature waves → chord of fit jobs → select best + refit (no export)."""
    kw = {
        "labels_dir": p.get("labels_dir"),
        "grid": p.get("grid") or "default",
        "folds": int(p.get("folds") or 5),
        "holdout": _csv(p.get("holdout")),
        "datasets": _csv(p.get("datasets")),
        "models_dir": p.get("models_dir"),
    }
    label = f"grid={kw['grid']} folds={kw['folds']}" + (
        f" holdout={','.join(kw['holdout'])}" if kw["holdout"] else ""
    )
    return task_sig("lookskip.train.plan", label, wf=wf, **kw)


@stage("export", parts=[], last_queue="train")
def build_export(wf: str, p: dict[str, Any]) -> Signature:
    """export the model file (+ reference outputs) → parity check (unless --no-check)."""
    kw = {"labels_dir": p.get("labels_dir"), "models_dir": p.get("models_dir")}
    export = task_sig(
        "lookskip.export.model",
        "export",
        takes_result=True,
        wf=wf,
        model_path=p.get("model_path"),
        output=p.get("output"),
        reference=p.get("reference", True) is not False,
        **kw,
    )
    if p.get("check", True) is False:
        return export
    return chain(
        export,
        task_sig(
            "lookskip.export.parity",
            "parity",
            takes_result=True,
            wf=wf,
            labels_dir=kw["labels_dir"],
        ),
    )


@stage("train", parts=["features", "fits"], last_queue="train")
def build_train(wf: str, p: dict[str, Any]) -> Signature:
    """The train stage as the issue describes it: … → select → refit → export → parity."""
    return chain(build_train_only(wf, p), build_export(wf, p))
