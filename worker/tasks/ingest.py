"""Ingest as tasks: plan → a chord of one ``lookskip.ingest.dataset`` per dataset → summary."""

from __future__ import annotations

from typing import Any

from celery import chord, group

from lookskip.roots import check as check_path
from lookskip.roots import worker_roots
from worker.app import app, stage_settings
from worker.workflows import task_sig

PART = "datasets"


class IngestFailed(RuntimeError):
    """One dataset could not be ingested (the message says which and why)."""


@app.task(name="lookskip.ingest.plan", bind=True)
def plan(
    self,
    *,
    wf: str | None = None,
    source: str | None = None,
    datasets: str | None = None,
    force: bool = False,
    seed: int | None = None,
) -> Any:
    """Choose the datasets (on a worker: the source is a path the workers see) and fan out."""
    from lookskip import ingest as ing
    from lookskip import synthetic

    settings = stage_settings()
    if folder := ing.source_dir(source):  # a named source or a mirror URL is no path
        check_path(folder, worker_roots(), "ingest source")
    _, todo = ing.plan(datasets, source, settings)
    self.set_total(wf, PART, len(todo))
    self.progress(wf, 0, len(todo), f"ingest: {len(todo)} dataset(s)")
    seed = synthetic.DEFAULT_SEED if seed is None else seed
    header = group(
        task_sig(
            "lookskip.ingest.dataset",
            f"dataset={d.name}",
            wf=wf,
            item=d.name,
            source=source,
            force=force,
            seed=seed,
            required=named,
        )
        for d, named in todo
    )
    body = task_sig(
        "lookskip.ingest.summary", f"{len(todo)} datasets", takes_result=True, wf=wf, source=source
    )
    return self.replace(chord(header, body))


@app.task(name="lookskip.ingest.dataset", bind=True)
def dataset(
    self,
    *,
    wf: str | None = None,
    item: str,
    source: str | None = None,
    force: bool = False,
    seed: int,
    required: bool = True,
) -> dict:
    """Ingest one dataset (idempotent: an intact sample is left as it is)."""
    from lookskip import ingest as ing

    if folder := ing.source_dir(source):  # a named source or a mirror URL is no path
        check_path(folder, worker_roots(), "ingest source")
    result = ing.ingest_dataset(
        item, source, stage_settings(), force=force, seed=seed, required=required
    )
    if result.status == "failed":
        raise IngestFailed(f"{item}: {result.error}")
    self.item_done(wf, PART, item)
    return result.to_dict()


@app.task(name="lookskip.ingest.summary", bind=True)
def summary(self, results: list[dict], *, wf: str | None = None, source: str | None = None) -> dict:
    """Counts by status and the sample paths; a mirror that had nothing is an error."""
    from lookskip import ingest as ing

    rs = [ing.IngestResult(**r) for r in results]
    if source and rs and all(r.status == "missing" for r in rs):
        raise IngestFailed(
            f"source {source} has none of the datasets "
            "(expected <Name>_2k.log or <Name>/<Name>_2k.log)"
        )
    return {
        "summary": ing.summary(rs),
        "artifacts": [r.path for r in rs if r.path],
        "datasets": {r.dataset: r.status for r in rs},
    }
