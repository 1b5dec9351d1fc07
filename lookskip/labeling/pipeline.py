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
        m = B.load_manifest(settings)
        for k in keys:
            touched.update(
                m["windows"][c]["dataset"]
                for c in m["batches"][k]["custom_ids"]
                if c in m["windows"]
            )
            B.submit_batch(k, settings, client)
        delay = settings.poll_initial_s
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
                sleep(delay)
                delay = min(delay * 1.5, settings.poll_max_s)
        for k in keys:
            got = B.collect_batch(k, settings, client)
            run.collected.append(got)
            usage_total.add(got.usage)
            cost = None if cost is None or got.cost_usd is None else cost + got.cost_usd
            for cid in got.retry:
                run.resubmitted[cid] = got.problems.get(cid, "")
            for cid in got.gave_up:
                run.gave_up[cid] = got.problems.get(cid, "")
            if on_progress:
                on_progress(_progress(settings, seen_keys))
    run.merged = merge_labels(sorted(touched), settings)
    run.usage = usage_total.as_dict()
    run.cost_usd = round(cost, 6) if cost is not None else None
    run.total_cost_usd = B.load_manifest(settings)["totals"]["cost_usd"]
    return run
