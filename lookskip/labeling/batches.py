"""Message Batches bookkeeping: prepare, submit, poll, collect, resubmit.

Each step is a separate function that loads the manifest, does one piece of work and
saves the manifest atomically, so the steps can run in one process (``lookskip
label``) or as separate Celery tasks that re-schedule themselves, and a run that is
interrupted at any point resumes without paying twice: a batch that has an API id is
polled, never created again.

Manifest (``<data_dir>/batches/manifest.json``)::

    batches:  key -> {key, round, status, api_id, custom_ids, request_count, bytes,
                      requests_path, results_path, parsed_path, model,
                      created_at, submitted_at, ended_at, collected_at,
                      request_counts, usage, cost_usd}
    windows:  custom_id -> {dataset, start, n, hash, batch, state, attempts, missing, why}
    datasets: name -> {custom_ids, lines, sample_sha256, prepared_at}
    totals:   {usage, cost_usd}

Batch status: prepared → in_progress (→ canceling) → ended → collected.
Window state: queued (in a batch not yet collected) → done | retry | incomplete.

Retry policy (documented in README): errored, expired and canceled requests and
requests missing from the results are resubmitted in a new batch, at most
``settings.max_resubmits`` times per window (``invalid_request_error`` is not retried:
the same request fails the same way). A succeeded answer that leaves lines unlabeled
(malformed, truncated, lines missing) is resubmitted at most ``MALFORMED_RETRIES``
times; lines labeled by an earlier answer are kept, the retry only fills the gaps.
Whatever is still unlabeled after that is recorded with its reason, never guessed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lookskip import storage
from lookskip.datasets import Dataset
from lookskip.labeling import pricing
from lookskip.labeling.parse import answer_text, parse_answer
from lookskip.labeling.prompt import (
    SampleError,
    build_request,
    read_sample,
    request_hash,
    windows,
)
from lookskip.settings import Settings

MANIFEST_VERSION = 1
MALFORMED_RETRIES = 1
#: Requests that will fail the same way again are not resubmitted.
NOT_RETRIED_ERRORS = ("invalid_request_error", "authentication_error", "permission_error")
#: A submit that died between the API's answer and saving the id is found again by
#: listing batches created since it started; this much earlier, for clock skew.
ADOPT_WINDOW_S = 600


class LabelingError(RuntimeError):
    """A labeling step that cannot go on (no API key, API refused, unknown batch)."""


# --------------------------------------------------------------------------- manifest


def manifest_path(settings: Settings) -> str:
    return storage.join(settings.batches_dir, "manifest.json")


def _empty_manifest() -> dict:
    return {
        "version": MANIFEST_VERSION,
        "batches": {},
        "windows": {},
        "datasets": {},
        "totals": {"usage": pricing.Usage().as_dict(), "cost_usd": 0.0},
    }


def load_manifest(settings: Settings) -> dict:
    path = manifest_path(settings)
    if not storage.exists(path):
        return _empty_manifest()
    m = storage.read_json(path)
    if m.get("version") != MANIFEST_VERSION:
        raise LabelingError(f"{path}: unknown manifest version {m.get('version')!r}")
    return m


def _set_totals(m: dict) -> None:
    usage = pricing.Usage()
    cost = 0.0
    for b in m["batches"].values():
        usage.add(b.get("usage"))
        cost += b.get("cost_usd") or 0.0
    m["totals"] = {"usage": usage.as_dict(), "cost_usd": round(cost, 6)}


@contextlib.contextmanager
def locked_manifest(settings: Settings) -> Iterator[Any]:
    """Load, yield for changes, save — under the data dir's manifest lock, so separate
    worker processes (on one host or many) updating different batches lose nothing.

    A file lock on a local data dir; on an object store a Redis lock with fencing and a
    conditional write (``lookskip.locking``). The yielded manifest is a dict with a
    ``commit()`` method, to save part-way (``submit_batch`` saves before the API call).
    """
    from lookskip.locking import locked_json

    with locked_json(
        settings, "manifest", manifest_path(settings), _empty_manifest, on_save=_set_totals
    ) as m:
        if m.get("version") != MANIFEST_VERSION:
            raise LabelingError(
                f"{manifest_path(settings)}: unknown manifest version {m.get('version')!r}"
            )
        yield m


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else value


# --------------------------------------------------------------------------- client


def make_client(settings: Settings):
    """The official SDK client; the key is handed over, never logged or stored."""
    if settings.anthropic_api_key is None:
        raise LabelingError(
            "ANTHROPIC_API_KEY is not set: export it (or point ANTHROPIC_BASE_URL at "
            "`lookskip api-sim` with any key), or use --dry-run to see what would be sent"
        )
    import anthropic

    return anthropic.Anthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url or None,
        max_retries=settings.api_max_retries,
        timeout=settings.api_timeout_s,
    )


@contextlib.contextmanager
def api_errors(what: str) -> Iterator[None]:
    """SDK errors (after its own retries) as one clear ``LabelingError`` line."""
    import anthropic

    try:
        yield
    except anthropic.APIStatusError as exc:
        raise LabelingError(f"{what}: API answered HTTP {exc.status_code}: {exc.message}") from None
    except anthropic.APIConnectionError as exc:
        raise LabelingError(f"{what}: cannot reach the API ({exc.message})") from None


# --------------------------------------------------------------------------- prepare


@dataclass
class BatchSpec:
    key: str
    custom_ids: list[str]
    bytes: int
    round: int = 0


@dataclass
class Prepared:
    """What ``prepare`` planned (or, with ``dry_run``, would plan)."""

    batches: list[BatchSpec] = field(default_factory=list)
    requests: int = 0
    reused: int = 0  # windows whose identical request is already answered or in flight
    lines: int = 0
    input_tokens_estimate: int = 0
    output_tokens_estimate: int = 0
    cost_estimate_usd: float | None = 0.0
    errors: dict[str, str] = field(default_factory=dict)  # dataset -> why it was skipped
    datasets: list[str] = field(default_factory=list)  # datasets with usable samples


def _request_bytes(request: dict) -> int:
    return len(json.dumps(request, ensure_ascii=False).encode("utf-8")) + 2


def _split(requests: list[dict], max_requests: int, max_bytes: int) -> list[list[dict]]:
    """Greedy split under both API limits (requests per batch, bytes per batch)."""
    groups: list[list[dict]] = []
    current: list[dict] = []
    size = 0
    for req in requests:
        n = _request_bytes(req)
        if current and (len(current) >= max_requests or size + n > max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(req)
        size += n
    if current:
        groups.append(current)
    return groups


def _new_batch_key(m: dict) -> str:
    return f"b{len(m['batches']) + 1:04d}"


def _add_batches(settings: Settings, m: dict, requests: list[dict], round_: int) -> list[BatchSpec]:
    specs = []
    for group in _split(requests, settings.batch_max_requests, settings.batch_max_bytes):
        key = _new_batch_key(m)
        rel = f"requests/{key}.jsonl"
        storage.write_jsonl(storage.join(settings.batches_dir, rel), group)
        ids = [r["custom_id"] for r in group]
        nbytes = sum(_request_bytes(r) for r in group)
        m["batches"][key] = {
            "key": key,
            "round": round_,
            "status": "prepared",
            "api_id": None,
            "custom_ids": ids,
            "request_count": len(ids),
            "bytes": nbytes,
            "requests_path": rel,
            "results_path": None,
            "parsed_path": None,
            "model": group[0]["params"]["model"],
            "created_at": _now(),
            "submitted_at": None,
            "ended_at": None,
            "collected_at": None,
            "request_counts": None,
            "usage": None,
            "cost_usd": None,
        }
        for cid in ids:
            m["windows"][cid]["batch"] = key
            m["windows"][cid]["state"] = "queued"
        specs.append(BatchSpec(key, ids, nbytes, round_))
    return specs


def prepare(
    datasets: list[Dataset],
    settings: Settings,
    *,
    force: bool = False,
    dry_run: bool = False,
    starts: Mapping[str, Collection[int]] | None = None,
) -> Prepared:
    """Plan the requests for ``datasets`` and write them as batches (unless ``dry_run``).

    A window whose identical request (same model, prompt, lines) was already answered
    or is in flight is reused, so re-running costs nothing; ``force`` asks again. A
    dataset whose sample cannot be read is reported in ``errors`` and skipped.

    ``starts`` (dataset → first lines of chosen windows, ``lookskip.labeling.select``)
    labels only those windows of a dataset; the dataset is then marked ``selected``
    and keeps the windows of earlier selections of the same sample, so each round
    adds to the labels instead of replacing them.
    """
    out = Prepared()
    ctx = contextlib.nullcontext(load_manifest(settings)) if dry_run else locked_manifest(settings)
    with ctx as m:
        new_requests: list[dict] = []
        for d in datasets:
            sample = storage.join(settings.loghub_dir, d.sample_name)
            try:
                lines = read_sample(sample)
            except SampleError as exc:
                out.errors[d.name] = str(exc)
                continue
            out.datasets.append(d.name)
            wins = windows(d.name, lines, settings.window_size)
            sha = storage.sha256(sample)
            selected = starts is not None and d.name in starts
            if selected:
                before = m["datasets"].get(d.name) or {}
                keep = (
                    set(before.get("custom_ids", ()))
                    if before.get("sample_sha256") == sha
                    else set()
                )
                wanted = set(starts[d.name])
                wins = [w for w in wins if w.start in wanted or w.custom_id in keep]
            if not dry_run:
                m["datasets"][d.name] = {
                    "custom_ids": [w.custom_id for w in wins],
                    "lines": len(lines),
                    "sample_sha256": sha,
                    "prepared_at": _now(),
                    "selected": selected,
                }
            for w in wins:
                req = build_request(
                    w, settings.label_model, settings.max_tokens, settings.system_prompt
                )
                h = request_hash(req)
                rec = m["windows"].get(w.custom_id)
                if rec and rec["hash"] == h and not force:
                    out.reused += 1
                    continue
                out.requests += 1
                out.lines += len(w.lines)
                out.input_tokens_estimate += pricing.estimate_input_tokens(req)
                out.output_tokens_estimate += pricing.estimate_output_tokens(len(w.lines))
                new_requests.append(req)
                if not dry_run:
                    m["windows"][w.custom_id] = {
                        "dataset": d.name,
                        "start": w.start,
                        "n": len(w.lines),
                        "hash": h,
                        "batch": None,
                        "state": "queued",
                        "attempts": [],
                        "missing": None,
                        "why": None,
                    }
        out.cost_estimate_usd = pricing.cost_usd(
            settings.label_model,
            pricing.Usage(out.input_tokens_estimate, out.output_tokens_estimate),
        )
        if dry_run:
            groups = _split(new_requests, settings.batch_max_requests, settings.batch_max_bytes)
            out.batches = [
                BatchSpec(
                    f"(new {i + 1})", [r["custom_id"] for r in g], sum(_request_bytes(r) for r in g)
                )
                for i, g in enumerate(groups)
            ]
        elif new_requests:
            out.batches = _add_batches(settings, m, new_requests, 0)
    return out


def prepare_resubmits(settings: Settings) -> list[BatchSpec]:
    """A new batch with the windows whose last attempt asked for a retry."""
    with locked_manifest(settings) as m:
        retry = [cid for cid, rec in m["windows"].items() if rec["state"] == "retry"]
        if not retry:
            return []
        by_batch: dict[str, list[str]] = {}
        for cid in retry:
            by_batch.setdefault(m["windows"][cid]["batch"], []).append(cid)
        requests = []
        for key, ids in by_batch.items():
            wanted = set(ids)
            path = storage.join(settings.batches_dir, m["batches"][key]["requests_path"])
            requests.extend(r for r in storage.read_jsonl(path) if r["custom_id"] in wanted)
        round_ = 1 + max(m["batches"][k]["round"] for k in by_batch)
        return _add_batches(settings, m, requests, round_)


# --------------------------------------------------------------------------- submit / poll


def _batch(m: dict, key: str) -> dict:
    if key not in m["batches"]:
        raise LabelingError(f"no batch {key!r} in the manifest")
    return m["batches"][key]


def _update_from_api(b: dict, api_batch: Any) -> None:
    b["api_id"] = api_batch.id
    b["status"] = api_batch.processing_status
    b["submitted_at"] = b["submitted_at"] or _iso(api_batch.created_at)
    b["ended_at"] = _iso(api_batch.ended_at)
    b["request_counts"] = api_batch.request_counts.to_dict()


def submit_batch(key: str, settings: Settings, client: Any = None) -> dict:
    """Create the batch at the API unless it already has an id; returns its manifest entry.

    The manifest stays locked across the create call, so two workers cannot submit
    the same batch twice. A process killed after the API created the batch but before
    its id was saved leaves ``submit_started_at``; the next submit then adopts the
    batch it finds at the API (same request count, created since, not in the manifest)
    instead of paying again. Two or more candidates: it submits anew rather than guess.
    """
    with locked_manifest(settings) as m:
        b = _batch(m, key)
        if b["api_id"] or b["status"] == "collected":
            return dict(b)
        path = storage.join(settings.batches_dir, b["requests_path"])
        requests = [
            r
            for r in storage.read_jsonl(path)
            if m["windows"].get(r["custom_id"], {}).get("batch") == key
        ]
        if not requests:  # every window was re-planned elsewhere (e.g. --force)
            b["status"] = "collected"
            b["collected_at"] = _now()
            return dict(b)
        client = client or make_client(settings)
        b["custom_ids"] = [r["custom_id"] for r in requests]
        b["request_count"] = len(requests)
        if b.get("submit_started_at"):  # an earlier submit died: did it reach the API?
            with api_errors(f"looking for batch {key} at the API"):
                orphan = _orphan(client, m, b)
            if orphan is not None:
                _update_from_api(b, orphan)
                b["adopted"] = True
                return dict(b)
        b["submit_started_at"] = _now()
        m.commit()  # recorded before the create, for the check above
        with api_errors(f"submitting batch {key}"):
            api_batch = client.messages.batches.create(requests=requests)
        _update_from_api(b, api_batch)
        return dict(b)


def _orphan(client: Any, m: dict, b: dict) -> Any:
    """The API batch a previous submit of ``b`` created but could not record, if exactly
    one fits: created since that submit started (less ``ADOPT_WINDOW_S`` for clock skew),
    with the same number of requests, and not known to the manifest."""
    since = dt.datetime.fromisoformat(b["submit_started_at"]) - dt.timedelta(seconds=ADOPT_WINDOW_S)
    known = {x["api_id"] for x in m["batches"].values() if x.get("api_id")}
    found = []
    for api_batch in client.messages.batches.list(limit=100):  # newest first
        if api_batch.created_at < since:
            break
        c = api_batch.request_counts
        total = c.processing + c.succeeded + c.errored + c.canceled + c.expired
        if api_batch.id not in known and total == b["request_count"]:
            found.append(api_batch)
    return found[0] if len(found) == 1 else None


def poll_batch(key: str, settings: Settings, client: Any = None) -> str:
    """One non-blocking status check: ``prepared``, ``in_progress``, ``canceling``,
    ``ended`` or ``collected``. Callers loop (or re-schedule) with their own backoff."""
    m = load_manifest(settings)
    b = _batch(m, key)
    if b["status"] in ("prepared", "collected", "ended"):
        return b["status"]
    client = client or make_client(settings)
    with api_errors(f"polling batch {key}"):
        api_batch = client.messages.batches.retrieve(b["api_id"])
    with locked_manifest(settings) as m:
        b = _batch(m, key)
        if b["status"] != "collected":
            _update_from_api(b, api_batch)
        return b["status"]


# --------------------------------------------------------------------------- collect


@dataclass
class Collected:
    key: str
    succeeded: int = 0
    problems: dict[str, str] = field(default_factory=dict)  # custom_id -> what went wrong
    retry: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    cost_usd: float | None = None


def _error_detail(result: dict) -> tuple[str, str]:
    """(kind, human detail) of an errored result's nested ErrorResponse."""
    err = (result.get("error") or {}).get("error") or {}
    kind = err.get("type") or "unknown_error"
    return kind, f"{kind}: {err.get('message') or 'no message'}"


def _judge(
    rec: dict, outcome: str, detail: str, missing: list[int], settings: Settings, retryable: bool
) -> None:
    """Set a window's state after an attempt, by the retry policy in the module doc."""
    rec["missing"] = missing
    if not missing:
        rec["state"], rec["why"] = "done", None
        return
    attempts = rec["attempts"]
    resubmits_left = len(attempts) <= settings.max_resubmits
    if outcome == "malformed":
        malformed = sum(1 for a in attempts if a["outcome"] == "malformed")
        retryable = retryable and malformed <= MALFORMED_RETRIES
    if retryable and resubmits_left:
        rec["state"], rec["why"] = "retry", detail
    else:
        rec["state"] = "incomplete"
        rec["why"] = f"{detail} (after {len(attempts)} attempt(s))"


def collect_batch(key: str, settings: Settings, client: Any = None) -> Collected:
    """Download an ended batch's results, parse every answer, decide retries, record cost."""
    report = Collected(key)
    m = load_manifest(settings)
    b = _batch(m, key)
    if b["status"] == "collected":
        report.usage, report.cost_usd = b.get("usage") or {}, b.get("cost_usd")
        return report
    if b["status"] != "ended":
        raise LabelingError(f"batch {key} has not ended yet (status {b['status']})")
    client = client or make_client(settings)
    with api_errors(f"downloading results of batch {key}"):
        results = [r.to_dict(mode="json") for r in client.messages.batches.results(b["api_id"])]
    results_rel = f"results/{key}.jsonl"
    storage.write_jsonl(storage.join(settings.batches_dir, results_rel), results)

    with locked_manifest(settings) as m:
        b = _batch(m, key)
        if b["status"] == "collected":  # another worker got here first
            report.usage, report.cost_usd = b.get("usage") or {}, b.get("cost_usd")
            return report
        usage = pricing.Usage()  # every answer is paid for, used or not
        for r in results:
            if (r.get("result") or {}).get("type") == "succeeded":
                usage.add(r["result"]["message"].get("usage"))
        parsed_rows = []
        by_id = {r["custom_id"]: r for r in results}
        for cid in b["custom_ids"]:
            rec = m["windows"].get(cid)
            if rec is None or rec["batch"] != key:
                continue  # window re-planned since (e.g. --force); its answer is not used
            prior = (
                set(rec["missing"]) if rec["missing"] is not None else set(range(1, rec["n"] + 1))
            )
            result = (by_id.get(cid) or {}).get("result") or {"type": "missing"}
            kind = result.get("type")
            retryable = True
            if kind == "succeeded":
                message = result["message"]
                parsed = parse_answer(answer_text(message), rec["n"])
                parsed_rows.append(
                    {
                        "custom_id": cid,
                        "labels": {str(k): list(v) for k, v in parsed.labels.items()},
                        "unlabeled": {str(k): v for k, v in parsed.unlabeled.items()},
                        "problems": parsed.problems[:20],
                        "stop_reason": message.get("stop_reason"),
                    }
                )
                missing = sorted(prior - set(parsed.labels))
                if parsed.complete:
                    outcome, detail = "ok", "ok"
                    report.succeeded += 1
                else:
                    outcome = "malformed"
                    why = next(iter(parsed.unlabeled.values()))
                    truncated = message.get("stop_reason") == "max_tokens"
                    detail = f"answer {'cut at max_tokens' if truncated else 'malformed'}: {why}"
            elif kind == "errored":
                err_kind, detail = _error_detail(result)
                detail = f"request errored: {detail}"
                outcome, missing = "errored", sorted(prior)
                retryable = err_kind not in NOT_RETRIED_ERRORS
            elif kind in ("expired", "canceled"):
                outcome, detail, missing = kind, f"request {kind}", sorted(prior)
            else:
                outcome, detail, missing = (
                    "missing",
                    "no result returned for the request",
                    sorted(prior),
                )
            rec["attempts"].append({"batch": key, "outcome": outcome, "detail": detail})
            _judge(rec, outcome, detail, missing, settings, retryable)
            if outcome != "ok":
                report.problems[cid] = detail
            if rec["state"] == "retry":
                report.retry.append(cid)
            elif rec["state"] == "incomplete":
                report.gave_up.append(cid)
        parsed_rel = f"parsed/{key}.jsonl"
        storage.write_jsonl(storage.join(settings.batches_dir, parsed_rel), parsed_rows)
        b["results_path"], b["parsed_path"] = results_rel, parsed_rel
        b["status"], b["collected_at"] = "collected", _now()
        b["usage"] = usage.as_dict()
        b["cost_usd"] = pricing.cost_usd(b["model"], usage)
        report.usage, report.cost_usd = b["usage"], b["cost_usd"]
    return report


def unfinished_batches(settings: Settings) -> list[str]:
    """Keys of batches not yet collected, oldest first."""
    m = load_manifest(settings)
    return [k for k, b in m["batches"].items() if b["status"] != "collected"]
