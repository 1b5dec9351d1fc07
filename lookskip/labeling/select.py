"""Which windows of a sample to send for labeling: the ones the model is least sure of.

Labeling every 50-line window pays for thousands of routine lines said again; the
lines that teach a model the most are those of templates it scores near its
threshold. Lines are grouped by template key (:func:`lookskip.model.key.template_keys`),
and a key's value is its *uncertainty* (1 at the threshold, 0 at p = 0 or 1) times
``1 + ln(count)`` (how often it occurs, damped so that one chatty template does not
crowd out the rare ones). Windows stay the aligned ones labeling always uses (start
lines 1, 1+w, 1+2w …), so the prompt and the ``custom_id`` of a chosen window are
exactly those of a full run, and answers already paid for are reused.

The choice is greedy with lazy re-evaluation: take the window with the largest
value of keys not yet covered, mark its keys covered (each key counts once across
windows), repeat. Greedy is the standard (1 - 1/e)-approximation for this coverage
objective, and it lets a budget stop the list at any point.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowChoice:
    """One chosen window: ``start`` is its 1-based first line; ``gain`` its value when chosen."""

    start: int
    n_lines: int
    gain: float
    new_keys: tuple[str, ...]  # keys this window covers first, most uncertain first


def uncertainty(p_look: float, threshold: float) -> float:
    """1 at the threshold, falling linearly to 0 at p = 0 and p = 1."""
    span = threshold if p_look < threshold else 1.0 - threshold
    if span <= 0:
        return 0.0
    return max(0.0, 1.0 - abs(p_look - threshold) / span)


def key_values(
    keys: Sequence[str],
    p_look: Sequence[float],
    threshold: float,
    counts: Mapping[str, int] | None = None,
) -> dict[str, float]:
    """Each distinct key's value: uncertainty × (1 + ln count).

    ``counts`` (how often each key occurs in the user's logs, which may be much
    larger than the sample) defaults to the occurrences in ``keys``.
    """
    seen = Counter(keys)
    counts = counts or seen
    p_of: dict[str, float] = {}
    for k, p in zip(keys, p_look, strict=True):
        p_of.setdefault(k, float(p))
    return {
        k: uncertainty(p, threshold) * (1.0 + math.log(max(counts.get(k, seen[k]), 1)))
        for k, p in p_of.items()
    }


def rank_windows(
    keys: Sequence[str],
    p_look: Sequence[float],
    threshold: float,
    window_size: int,
    *,
    counts: Mapping[str, int] | None = None,
    covered: Iterable[str] = (),
    skip_starts: Iterable[int] = (),
    limit: int | None = None,
) -> list[WindowChoice]:
    """Windows in the order greedy coverage picks them, best first.

    ``covered``: keys already labeled (their windows were answered before), worth
    nothing now; ``skip_starts``: windows not to choose. Windows that would add no
    value are not listed.
    """
    value = key_values(keys, p_look, threshold, counts)
    done = set(covered)
    skip = set(skip_starts)
    windows: list[tuple[int, int, list[str]]] = []
    for i in range(0, len(keys), window_size):
        start = i + 1
        if start not in skip:
            chunk = keys[i : i + window_size]
            windows.append((start, len(chunk), list(dict.fromkeys(chunk))))

    def gain(w: tuple[int, int, list[str]]) -> float:
        return sum(value[k] for k in w[2] if k not in done)

    # max-heap of (−gain, start, index); a popped stale entry is re-scored and pushed back
    heap = [(-gain(w), w[0], j) for j, w in enumerate(windows)]
    heapq.heapify(heap)
    out: list[WindowChoice] = []
    while heap and (limit is None or len(out) < limit):
        _, start, j = heapq.heappop(heap)
        g = gain(windows[j])
        if g <= 0:
            continue
        if heap and g < -heap[0][0] - 1e-12:  # stale: another window may now be better
            heapq.heappush(heap, (-g, start, j))
            continue
        new = sorted((k for k in windows[j][2] if k not in done), key=lambda k: -value[k])
        done.update(new)
        out.append(WindowChoice(start, windows[j][1], g, tuple(new)))
    return out


def propagate_labels(
    keys: Sequence[str], labeled: Mapping[int, str]
) -> tuple[dict[int, str], dict[str, int]]:
    """Labels of the labeled lines spread to every line of the same key.

    ``labeled``: 0-based line index → label. Returns (index → label for every line
    whose key got exactly one label, key → how many lines its label now covers). A
    key labeled both ways (mixed) spreads nothing: its labeled lines keep their own.
    """
    by_key: dict[str, set[str]] = {}
    for i, lab in labeled.items():
        by_key.setdefault(keys[i], set()).add(lab)
    out = dict(labeled)
    covers: Counter[str] = Counter()
    for i, k in enumerate(keys):
        labs = by_key.get(k)
        if labs and len(labs) == 1:
            out.setdefault(i, next(iter(labs)))
            covers[k] += 1
    return out, dict(covers)


@dataclass
class Selection:
    """The windows chosen for labeling, per dataset, within a request cap and a budget."""

    windows: dict[str, list[WindowChoice]]
    cost_estimate_usd: float | None
    requests: int
    stopped_by: str  # "budget", "max_requests" or "no more uncertain windows"
    errors: dict[str, str]

    def starts(self) -> dict[str, list[int]]:
        return {name: sorted(w.start for w in ws) for name, ws in self.windows.items()}


def select_uncertain(
    datasets: Sequence,
    settings,
    scorer,
    *,
    max_requests: int | None = None,
    budget_usd: float | None = None,
) -> Selection:
    """Choose windows of ``datasets``' samples across all of them, best value first.

    Each dataset's windows are ranked with :func:`rank_windows` (keys of windows
    already answered count as covered, and those windows are not chosen again);
    the ranked lists are merged by gain and cut where the next window would pass
    ``max_requests`` or push the estimated Batch cost (the same estimate ``--dry-run``
    prints) over ``budget_usd``.
    """
    from lookskip import storage
    from lookskip.labeling import pricing
    from lookskip.labeling.batches import load_manifest
    from lookskip.labeling.prompt import (
        SampleError,
        Window,
        build_request,
        read_sample,
        request_hash,
    )
    from lookskip.model.key import template_keys

    if max_requests is None and budget_usd is None:
        raise ValueError("choosing uncertain windows needs a request cap or a budget")
    if budget_usd is not None and pricing.prices(settings.label_model) is None:
        raise ValueError(
            f"no price known for model {settings.label_model}: cap with --max-requests instead"
        )
    manifest = load_manifest(settings)
    size = settings.window_size
    threshold = float(scorer.engine.threshold)
    candidates: list[tuple[float, str, WindowChoice, float]] = []
    errors: dict[str, str] = {}
    for d in datasets:
        sample = storage.join(settings.loghub_dir, d.sample_name)
        try:
            lines = read_sample(sample)
        except SampleError as exc:
            errors[d.name] = str(exc)
            continue
        if not lines:
            errors[d.name] = f"{sample}: empty sample"
            continue
        keys = template_keys(lines)
        p = scorer.predict_proba(lines)

        def request(start: int, name: str = d.name, lines: list[str] = lines) -> dict:
            w = Window(name, start, tuple(lines[start - 1 : start - 1 + size]), len(lines))
            return build_request(
                w, settings.label_model, settings.max_tokens, settings.system_prompt
            )

        answered = []
        for start in range(1, len(lines) + 1, size):
            rec = manifest["windows"].get(f"{d.name}_{start}")
            if rec and rec["state"] == "done" and rec["hash"] == request_hash(request(start)):
                answered.append(start)
        covered = {k for s in answered for k in keys[s - 1 : s - 1 + size]}
        for choice in rank_windows(keys, p, threshold, size, covered=covered, skip_starts=answered):
            req = request(choice.start)
            cost = pricing.cost_usd(
                settings.label_model,
                pricing.Usage(
                    pricing.estimate_input_tokens(req),
                    pricing.estimate_output_tokens(choice.n_lines),
                ),
            )
            candidates.append((choice.gain, d.name, choice, cost if cost is not None else 0.0))
    # within a dataset gains only fall (greedy order), so a stable sort by gain keeps it
    candidates.sort(key=lambda c: -c[0])
    chosen: dict[str, list[WindowChoice]] = {}
    total, n, stopped = 0.0, 0, "no more uncertain windows"
    priced = pricing.prices(settings.label_model) is not None
    for _, name, choice, cost in candidates:
        if max_requests is not None and n >= max_requests:
            stopped = "max_requests"
            break
        if budget_usd is not None and total + cost > budget_usd + 1e-12:
            stopped = "budget"
            break
        chosen.setdefault(name, []).append(choice)
        total += cost
        n += 1
    return Selection(chosen, round(total, 6) if priced else None, n, stopped, errors)
