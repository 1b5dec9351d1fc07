"""``classify --ask-claude``: survey → choose within the budget → ask → store → refit.

Every step is a function of this module or its siblings; the click command and the
Celery task only call :func:`plan_ask` and :func:`ask` and report.

Resumable and never paid twice: a submitted batch is written to the store's
``pending`` (with everything needed to file its answers) before the run waits for
it; a run that is killed and started again collects that batch instead of
submitting its requests again (a request's ``custom_id`` is a hash of its content,
so the same question is recognised), and answered templates are never chosen again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lookskip.ask.requests import AskRequest, build_requests, estimate_cost
from lookskip.ask.survey import Survey, survey
from lookskip.settings import Settings
from lookskip.templates import Template

#: The survey reads at most this many lines (a larger input is sampled: its first
#: lines, and the run says so); templates repeat, so more lines add few new ones.
DEFAULT_SURVEY_LINES = 2_000_000


class AskError(ValueError):
    """An ask that cannot go ahead (budget below one request, nothing to learn from)."""


@dataclass
class AskPlan:
    survey: Survey
    chosen: list[Template]
    requests: list[AskRequest]
    cost_estimate_usd: float | None
    budget_usd: float
    stopped_by: str  # "budget", "all items" or "nothing to ask"
    send: str = "raw"


@dataclass
class AskReport:
    plan: AskPlan
    answers: list[dict] = field(default_factory=list)
    cost_usd: float | None = 0.0
    problems: list[str] = field(default_factory=list)
    refit: dict[str, Any] | None = None
    seconds: float = 0.0


def _system_name(templates: Sequence[Template]) -> str:
    names = sorted({t.keys[0].source.rsplit("/", 1)[-1] for t in templates})
    shown = ", ".join(names[:5])
    return shown + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")


def _requests(templates: Sequence[Template], settings: Settings, send: str) -> list[AskRequest]:
    out: list[AskRequest] = []
    n = settings.ask_per_request
    for i in range(0, len(templates), n):
        part = templates[i : i + n]
        out += build_requests(
            _system_name(part), part, settings.label_model, settings.max_tokens, n, send
        )
    return out


def choose(
    templates: Sequence[Template], settings: Settings, budget_usd: float, send: str
) -> tuple[list[Template], list[AskRequest], float | None, str]:
    """The longest prefix of ``templates`` (best first) whose estimated Batch cost is
    within ``budget_usd``; raises ``AskError`` when not even one template fits."""
    if not templates:
        return [], [], 0.0, "nothing to ask"
    if estimate_cost(_requests(templates[:1], settings, send), settings.label_model) is None:
        raise AskError(f"no price known for model {settings.label_model}")

    def cost(k: int) -> float:
        return estimate_cost(_requests(templates[:k], settings, send), settings.label_model) or 0.0

    if cost(1) > budget_usd + 1e-12:
        raise AskError(
            f"a budget of ${budget_usd:.4f} is below one request "
            f"(${cost(1):.4f} for one template): raise --budget"
        )
    from lookskip.labeling import pricing

    # an item costs at least its answer's output tokens: no more items can fit than
    # that bound allows, so a huge survey is never turned into requests whole
    out_price = pricing.prices(settings.label_model)[1] * pricing.BATCH_DISCOUNT / 1e6
    most = int(budget_usd / (pricing.OUTPUT_TOKENS_PER_LINE * out_price)) + 1
    lo, hi = 1, min(len(templates), most)
    while lo < hi:  # largest k with cost(k) <= budget (cost grows with k)
        mid = (lo + hi + 1) // 2
        if cost(mid) <= budget_usd + 1e-12:
            lo = mid
        else:
            hi = mid - 1
    chosen = list(templates[:lo])
    reqs = _requests(chosen, settings, send)
    stopped = "all items" if lo == len(templates) else "budget"
    return chosen, reqs, estimate_cost(reqs, settings.label_model), stopped


def key_items(templates: Sequence[Template], base_rows: Sequence[dict] = ()) -> list[Template]:
    """The keys of ``templates`` beyond each one's representative, as items of their
    own (exact-key templates), most lines first: what a budget left after one answer
    per template buys. A template's lines mostly share a label (majority purity 0.95
    over the 20 labeled systems), but not always (HPC 0.83, against 0.98 per key);
    an answer about the exact key overrides its template's (``model.answers``).
    """
    known = {r["key"] for r in base_rows}
    out = [
        Template(k.key, [k], value=0.0) for t in templates for k in t.keys[1:] if k.key not in known
    ]
    return sorted(out, key=lambda t: (-t.count, t.template))


def vote_items(items: Sequence[Template]) -> list[Template]:
    """More answers about keys already asked, each on another sample line of the key
    (its 3rd, 10th, 30th, 100th occurrence, with that line's context): the label a
    key gets is then the majority of its answers (LOOK on a tie), not its first
    line's. Why: a key's lines can differ by context (a stack frame of a failing
    trace or of a logged one); on the 20 labeled systems a key's majority label holds
    for 97% of lines, its first line's for fewer (OpenSSH, HPC). Ordered by lines per
    vote already asked.
    """
    heads = [t.keys[0] for t in items]
    out = [Template(k.key, [k], sample=j) for k in heads for j in range(1, len(k.samples))]
    # a key's j-th vote is worth its lines / j: a 400-line key gets its votes before a
    # 3-line key gets its second
    return sorted(out, key=lambda t: (-t.count / t.sample, t.template, t.sample))


def plan_ask(
    scorer: Any,
    inputs: Sequence[str],
    settings: Settings,
    budget_usd: float,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_lines: int | None = DEFAULT_SURVEY_LINES,
    send: str = "raw",
) -> AskPlan:
    """Survey ``inputs`` and choose what to ask within ``budget_usd``; sends nothing."""
    from lookskip.ask.store import answers_of, load_store
    from lookskip.training.base import default_base_rows, read_base_rows

    if not budget_usd > 0:
        raise AskError("--budget must be a positive number of US dollars")
    base = default_base_rows(settings)
    base_rows = read_base_rows(base)[1] if base else []
    sv = survey(
        scorer,
        inputs,
        stored=answers_of(load_store(settings)),
        base_rows=base_rows,
        include=include,
        exclude=exclude,
        max_lines=max_lines,
    )
    items = sv.to_ask + key_items(sv.to_ask, base_rows)
    chosen, reqs, est, stopped = choose(items + vote_items(items), settings, budget_usd, send)
    return AskPlan(sv, chosen, reqs, est, budget_usd, stopped, send)


def _pending_entry(r: AskRequest, send: str) -> dict:
    """What filing a request's answer needs, saved before the answer exists."""
    return {
        "templates": [
            {
                "template": t.template,
                "system": t.shown.source,
                "keys": [[k.key, k.count] for k in t.keys],
                "examples": [t.shown.text] + [k.example for k in t.keys[1:2]],
                "vote": t.sample > 0,
            }
            for t in r.items
        ],
        "send": send,
    }


def _file_answer(
    entry: dict, message: dict, model: str, batch: bool
) -> tuple[list[dict], float | None, list[str]]:
    """Answer records of one request's reply (``message``: a Messages API dict)."""
    from lookskip.ask.store import now
    from lookskip.labeling import pricing
    from lookskip.labeling.parse import answer_text, parse_answer

    items = entry["templates"]
    parsed = parse_answer(answer_text(message), len(items))
    usage = pricing.Usage()
    usage.add(message.get("usage"))
    cost = pricing.cost_usd(model, usage, batch=batch)
    share = None if cost is None else round(cost / len(items), 6)
    records = []
    for n, item in enumerate(items, 1):
        if n not in parsed.labels:
            continue
        label, reason = parsed.labels[n]
        records.append(
            {
                **item,
                "label": label,
                "reason": reason,
                "model": model,
                "cost_usd": share,
                "asked_at": now(),
                "send": entry.get("send", "raw"),
            }
        )
    problems = [f"{len(parsed.unlabeled)} template(s) unanswered"] if parsed.unlabeled else []
    return records, cost, problems


def _add_cost(total: float | None, cost: float | None) -> float | None:
    return None if total is None or cost is None else round(total + cost, 6)


def ask(
    plan: AskPlan,
    settings: Settings,
    *,
    now: bool = False,
    client: Any = None,
    on_step: Callable[[str], None] | None = None,
) -> AskReport:
    """Send the plan's requests (Batch API; ``now``: the Messages API), file the
    answers in the store, and collect any batch an earlier run left pending."""
    from lookskip.ask.store import add_answers, locked_store
    from lookskip.labeling.batches import api_errors, make_client

    started = time.perf_counter()
    report = AskReport(plan)
    client = client or make_client(settings)
    model = settings.label_model

    def step(text: str) -> None:
        if on_step:
            on_step(text)

    if now:
        for i, r in enumerate(plan.requests, 1):
            step(f"asking {i}/{len(plan.requests)} (Messages API)")
            entry = _pending_entry(r, plan.send)
            with api_errors("asking Claude"):
                msg = client.messages.create(**r.params).model_dump()
            records, cost, problems = _file_answer(entry, msg, model, batch=False)
            with locked_store(settings) as doc:
                add_answers(doc, records)
            report.answers += records
            report.cost_usd = _add_cost(report.cost_usd, cost)
            report.problems += problems
        report.seconds = time.perf_counter() - started
        return report

    with locked_store(settings) as doc:
        pending = dict(doc["pending"])
    new = [r for r in plan.requests if r.custom_id not in pending]
    if new:
        step(f"submitting {len(new)} request(s) in one batch")
        with api_errors("submitting the ask batch"):
            batch = client.messages.batches.create(requests=[r.request for r in new])
        with locked_store(settings) as doc:
            for r in new:
                doc["pending"][r.custom_id] = {
                    **_pending_entry(r, plan.send),
                    "batch_id": batch.id,
                    "submitted_at": time.time(),
                }
            pending = dict(doc["pending"])
    batch_ids = sorted({p["batch_id"] for p in pending.values()})
    for batch_id in batch_ids:
        delay, checks = settings.poll_initial_s, 0
        while True:
            with api_errors("polling the ask batch"):
                b = client.messages.batches.retrieve(batch_id)
            if b.processing_status == "ended":
                break
            checks += 1
            step(f"waiting for batch {batch_id} ({checks} checks)")
            time.sleep(delay)
            delay = min(settings.poll_max_s, delay * 2)
        with api_errors("reading the ask batch's results"):
            results = list(client.messages.batches.results(batch_id))
        filed: list[dict] = []
        done: list[str] = []
        for res in results:
            entry = pending.get(res.custom_id)
            if entry is None or entry.get("batch_id") != batch_id:
                continue
            if res.result.type == "succeeded":
                records, cost, problems = _file_answer(
                    entry, res.result.message.model_dump(), model, batch=True
                )
                report.answers += records
                report.cost_usd = _add_cost(report.cost_usd, cost)
                report.problems += problems
            else:
                report.problems.append(
                    f"request {res.custom_id}: {res.result.type} (its templates stay unasked)"
                )
                records = []
            filed += records
            done.append(res.custom_id)
        # one atomic write per batch: its answers filed and its requests no longer
        # pending, or (killed before) neither, and the next run collects it again
        with locked_store(settings) as doc:
            add_answers(doc, filed)
            for cid in done:
                doc["pending"].pop(cid, None)
    report.seconds = time.perf_counter() - started
    return report


def learn(report: AskReport, settings: Settings, base_model: str) -> dict[str, Any]:
    """Refit on base rows + labels + the whole store, into the data dir's model."""
    from lookskip.ask.learn import refit
    from lookskip.ask.store import load_store

    report.refit = refit(settings, load_store(settings), base_model)
    return report.refit
