"""``lookskip label`` in one process: prepare → submit → poll with backoff → collect →
resubmit → merge, built from the separate steps in ``batches`` and ``merge``.

A Celery workflow runs the same steps as tasks; this loop is the local twin. It also
finishes batches left unfinished by an interrupted earlier run before anything new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from lookskip.datasets import Dataset
from lookskip.labeling import batches as B
from lookskip.labeling.merge import Merged, merge_labels
from lookskip.settings import Settings


@dataclass
class Progress:
    """A snapshot for a progress display."""

    batches_total: int
    batches_done: int
    requests_total: int
    requests_done: int
    status: str


@dataclass
class LabelRun:
    prepared: B.Prepared
    merged: list[Merged] = field(default_factory=list)
    collected: list[B.Collected] = field(default_factory=list)
    resubmitted: dict[str, str] = field(default_factory=dict)  # custom_id -> why
    gave_up: dict[str, str] = field(default_factory=dict)
    cost_usd: float | None = 0.0  # of the batches collected in this run
    usage: dict = field(default_factory=dict)
    total_cost_usd: float = 0.0  # of every batch in the manifest

    @property
    def errors(self) -> dict[str, str]:
        out = dict(self.prepared.errors)
        out.update({m.dataset: m.error for m in self.merged if m.error})
        return out


@dataclass
class Chosen:
    """The datasets a label run works on, and what was left out and why."""

    datasets: list[Dataset]
    not_ingested: list[str] = field(default_factory=list)
    already_labeled: list[str] = field(default_factory=list)


def choose_datasets(spec: str | None, settings: Settings, *, new_only: bool = False) -> Chosen:
    """The datasets to label: ``spec`` (names, ``all`` or None) as ``datasets.select`` reads it.

    "All" (``spec`` None) means the datasets whose sample is ingested: labeling cannot
    read a sample that is not there, and a registry entry alone is not a request to
    label it. A dataset named explicitly is kept (its missing sample is then that
    dataset's error). ``new_only`` drops datasets that already have a labels file.
    """
    from lookskip import datasets as ds
    from lookskip import storage
    from lookskip.labeling.merge import datasets_without_labels

    chosen = ds.select(spec, settings)
    out = Chosen(chosen)
    if spec is None:
        present = [
            d for d in chosen if storage.exists(storage.join(settings.loghub_dir, d.sample_name))
        ]
        if not present:
            raise B.LabelingError(
                f"no samples in {settings.loghub_dir}: run `lookskip ingest` first"
            )
        out.not_ingested = [d.name for d in chosen if d not in present]
        out.datasets = present
    if new_only:
        keep = set(datasets_without_labels([d.name for d in out.datasets], settings))
        out.already_labeled = [d.name for d in out.datasets if d.name not in keep]
        out.datasets = [d for d in out.datasets if d.name in keep]
    return out


def datasets_of_batches(settings: Settings, keys: list[str]) -> set[str]:
    """The datasets whose windows the batches ``keys`` carry (from the manifest)."""
    m = B.load_manifest(settings)
    return {
        m["windows"][c]["dataset"]
        for k in keys
        for c in m["batches"][k]["custom_ids"]
        if c in m["windows"]
    }


def poll_delay(settings: Settings, checks: int) -> float:
    """Seconds before the next status check after ``checks`` checks: x1.5 each, capped."""
    return min(settings.poll_initial_s * 1.5**checks, settings.poll_max_s)


def add_cost(total: float | None, cost: float | None) -> float | None:
    """A running cost sum that becomes unknown (None) once one part has no price."""
    return None if total is None or cost is None else round(total + cost, 6)


def _progress(settings: Settings, keys: list[str]) -> Progress:
    m = B.load_manifest(settings)
    bs = [m["batches"][k] for k in keys]
    done = [b for b in bs if b["status"] in ("ended", "collected")]
    status = ", ".join(sorted({b["status"] for b in bs})) or "idle"
    return Progress(
        len(bs),
        len(done),
        sum(b["request_count"] for b in bs),
        sum(b["request_count"] for b in done),
        status,
    )


def run_label(
    datasets: list[Dataset],
    settings: Settings,
    *,
    force: bool = False,
    client: Any = None,
    on_progress: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    starts: Mapping[str, Collection[int]] | None = None,
) -> LabelRun:
    """Label ``datasets`` end to end; returns what happened (cost, retries, per dataset).

    ``starts``: only these windows of these datasets (``lookskip.labeling.select``).
    """
    prepared = B.prepare(datasets, settings, force=force, starts=starts)
    run = LabelRun(prepared)
    touched = set(prepared.datasets)
    usage_total = B.pricing.Usage()
    cost: float | None = 0.0
    seen_keys: list[str] = []
    while True:
        keys = B.unfinished_batches(settings)
        if not keys:
            specs = B.prepare_resubmits(settings)
            if not specs:
                break
            keys = [s.key for s in specs]
        if client is None:
            client = B.make_client(settings)
        seen_keys.extend(k for k in keys if k not in seen_keys)
        touched.update(datasets_of_batches(settings, keys))
        for k in keys:
            B.submit_batch(k, settings, client)
        checks = 0
        waiting = list(keys)
        while waiting:
            waiting = [
                k
                for k in waiting
                if B.poll_batch(k, settings, client) not in ("ended", "collected")
            ]
            if on_progress:
                on_progress(_progress(settings, seen_keys))
            if waiting:
                sleep(poll_delay(settings, checks))
                checks += 1
        for k in keys:
            got = B.collect_batch(k, settings, client)
            run.collected.append(got)
            usage_total.add(got.usage)
            cost = add_cost(cost, got.cost_usd)
            for cid in got.retry:
                run.resubmitted[cid] = got.problems.get(cid, "")
            for cid in got.gave_up:
                run.gave_up[cid] = got.problems.get(cid, "")
            if on_progress:
                on_progress(_progress(settings, seen_keys))
    run.merged = merge_labels(sorted(touched), settings)
    run.usage = usage_total.as_dict()
    run.cost_usd = cost
    run.total_cost_usd = B.load_manifest(settings)["totals"]["cost_usd"]
    return run
