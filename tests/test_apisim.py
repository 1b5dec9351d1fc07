"""The Batch-API simulator, driven by the official ``anthropic`` SDK over real HTTP."""

from __future__ import annotations

import json
import time
from collections import Counter

import anthropic
import httpx
import pytest

from lookskip.apisim import SimOptions, Simulator, serve_in_thread, start_subprocess
from lookskip.labeling.parse import answer_text, parse_answer
from lookskip.labeling.prompt import build_request, windows

LINES = [
    "2024-01-01 10:00:00 INFO request served in 12ms",
    "2024-01-01 10:00:01 ERROR connection refused by db-1",
    "2024-01-01 10:00:02 DEBUG cache hit ratio 0.93",
    "java.lang.NullPointerException",
    "\tat com.example.Foo.bar(Foo.java:42)",
    "2024-01-01 10:00:03 sshd[42]: Failed password for invalid user admin",
]
EXPECTED = ["SKIP", "LOOK", "SKIP", "LOOK", "LOOK", "LOOK"]


def requests_for(lines: list[str], size: int = 50, dataset: str = "Demo") -> list[dict]:
    return [build_request(w, "claude-haiku-4-5", 1024) for w in windows(dataset, lines, size)]


def client_for(url: str, retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sim-key", base_url=url, max_retries=retries)


def wait_ended(client: anthropic.Anthropic, batch_id: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        b = client.messages.batches.retrieve(batch_id)
        if b.processing_status == "ended" or time.monotonic() > deadline:
            return b
        time.sleep(0.05)


def test_batch_lifecycle_parsed_by_the_sdk(api_sim):
    sim = api_sim(delay=0.3)
    client = client_for(sim.url)
    created = client.messages.batches.create(requests=requests_for(LINES * 2, size=6))
    assert created.id.startswith("msgbatch_") and created.type == "message_batch"
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 2 and created.results_url is None
    assert created.ended_at is None and created.expires_at > created.created_at

    ended = wait_ended(client, created.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    assert ended.request_counts.succeeded == 2 and ended.request_counts.processing == 0
    assert ended.results_url.endswith(f"/v1/messages/batches/{created.id}/results")

    results = list(client.messages.batches.results(created.id))
    assert sorted(r.custom_id for r in results) == ["Demo_1", "Demo_7"]
    for r in results:
        assert r.result.type == "succeeded"
        msg = r.result.message
        assert msg.role == "assistant" and msg.usage.input_tokens > 0
        parsed = parse_answer(msg.content[0].text, 6)
        assert parsed.complete
        assert [parsed.labels[i][0] for i in range(1, 7)] == EXPECTED


def test_list_paginates_newest_first(api_sim):
    sim = api_sim()
    client = client_for(sim.url)
    ids = [client.messages.batches.create(requests=requests_for(LINES)).id for _ in range(5)]
    listed = [b.id for b in client.messages.batches.list(limit=2)]  # auto-paginates
    assert listed == ids[::-1]
    first_page = client.messages.batches.list(limit=2)
    assert first_page.has_more and len(first_page.data) == 2


def test_replay_answers_recorded_custom_ids_verbatim(api_sim, shared_data):
    recorded_file = shared_data / "batches" / "batch_results.jsonl"
    recorded = {}
    with open(recorded_file, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            recorded[row["custom_id"]] = row["result"]
    sim = api_sim(replay=str(recorded_file))
    client = client_for(sim.url)
    apache = (shared_data / "loghub" / "Apache_2k.log").read_text("utf-8").split("\n")[:100]
    reqs = requests_for(apache, dataset="Apache") + requests_for(LINES, dataset="Unknown")
    batch = client.messages.batches.create(requests=reqs)
    wait_ended(client, batch.id)
    got = {
        r.custom_id: r.result.to_dict(mode="json")
        for r in client.messages.batches.results(batch.id)
    }
    for cid in ("Apache_1", "Apache_51"):
        assert answer_text(got[cid]["message"]) == answer_text(recorded[cid]["message"])
        assert (
            got[cid]["message"]["usage"]["input_tokens"]
            == recorded[cid]["message"]["usage"]["input_tokens"]
        )
    # not recorded: the built-in heuristic answers
    parsed = parse_answer(answer_text(got["Unknown_1"]["message"]), len(LINES))
    assert [parsed.labels[i][0] for i in range(1, 7)] == EXPECTED
    assert sim.stats["replayed"] == 2 and sim.stats["heuristic"] == 1


def test_cancel_ends_with_canceled_requests(api_sim):
    sim = api_sim(delay=30)
    client = client_for(sim.url)
    batch = client.messages.batches.create(requests=requests_for(LINES * 3, size=6))
    canceled = client.messages.batches.cancel(batch.id)
    assert canceled.processing_status == "canceling" and canceled.cancel_initiated_at
    ended = wait_ended(client, batch.id, timeout=5)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 3
    assert {r.result.type for r in client.messages.batches.results(batch.id)} == {"canceled"}


def test_http_faults_are_typed_and_retried_by_the_sdk(api_sim):
    sim = api_sim(fail_rate=0.5, fail_codes=(429, 500, 529), seed=3)
    no_retry = client_for(sim.url, retries=0)
    seen: Counter[type] = Counter()
    for _ in range(30):
        try:
            no_retry.messages.batches.list()
        except anthropic.APIStatusError as exc:
            seen[type(exc)] += 1
    assert {
        anthropic.RateLimitError,
        anthropic.InternalServerError,
        anthropic.OverloadedError,
    } <= set(seen)
    retrying = client_for(sim.url, retries=10)
    batch = retrying.messages.batches.create(requests=requests_for(LINES))
    wait_ended(retrying, batch.id)
    assert len(list(retrying.messages.batches.results(batch.id))) == 1
    assert sim.stats["batches_created"] == 1  # a failed create creates nothing
    assert sum(v for k, v in sim.stats.items() if k.startswith("fault:")) >= 10


def test_result_faults_are_seeded_and_shaped_like_the_api(api_sim):
    opts = {"error_rate": 0.2, "expire_rate": 0.2, "malformed_rate": 0.5, "seed": 11}
    lines = [f"line {i} {'ERROR disk' if i % 7 == 0 else 'ok'}" for i in range(400)]

    def run_once() -> dict[str, dict]:
        sim = api_sim(**opts)
        client = client_for(sim.url)
        batch = client.messages.batches.create(requests=requests_for(lines, size=10))
        counts = wait_ended(client, batch.id).request_counts
        out = {
            r.custom_id: r.result.to_dict(mode="json")
            for r in client.messages.batches.results(batch.id)
        }
        kinds = Counter(r["type"] for r in out.values())
        assert kinds == Counter(
            {"succeeded": counts.succeeded, "errored": counts.errored, "expired": counts.expired}
        )
        sim.stop()
        return out

    first, second = run_once(), run_once()
    assert first == second  # same seed, same faults
    kinds = Counter(r["type"] for r in first.values())
    assert kinds["errored"] and kinds["expired"] and kinds["succeeded"]
    err = next(r for r in first.values() if r["type"] == "errored")
    assert err["error"]["type"] == "error" and err["error"]["error"]["type"] == "api_error"
    damaged = [
        r
        for r in first.values()
        if r["type"] == "succeeded" and not parse_answer(answer_text(r["message"]), 10).complete
    ]
    assert damaged, "malformed answers were injected"


def test_auth_unknown_batch_and_bad_requests(api_sim):
    sim = api_sim()
    r = httpx.get(f"{sim.url}/v1/messages/batches")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error" and r.headers["request-id"]
    client = client_for(sim.url)
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_nope")
    dup = requests_for(LINES) * 2
    with pytest.raises(anthropic.BadRequestError, match="duplicate custom_id"):
        client.messages.batches.create(requests=dup)


def test_messages_endpoint(api_sim):
    sim = api_sim()
    client = client_for(sim.url)
    params = requests_for(LINES)[0]["params"]
    msg = client.messages.create(**params)
    parsed = parse_answer(msg.content[0].text, len(LINES))
    assert [parsed.labels[i][0] for i in range(1, 7)] == EXPECTED
    assert msg.usage.service_tier == "standard"


def test_serve_in_thread_unpacks_and_stops():
    url, stop = serve_in_thread(SimOptions(delay=0.0))
    assert httpx.get(f"{url}/_sim/stats").json() == {}
    stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sim/stats", timeout=2)


def test_cli_subprocess_keeps_batches_in_data_dir(tmp_path):
    sim_dir = tmp_path / "sim"
    url, proc = start_subprocess(["--delay", "0.1", "--data-dir", str(sim_dir), "--seed", "1"])
    try:
        client = client_for(url)
        batch = client.messages.batches.create(requests=requests_for(LINES))
        wait_ended(client, batch.id)
    finally:
        proc.terminate()
        proc.wait(10)
    # a restarted simulator still knows the batch and its results
    sim = Simulator(SimOptions(data_dir=str(sim_dir)))
    assert batch.id in sim.batches
    url2, proc2 = start_subprocess(["--data-dir", str(sim_dir)])
    try:
        client = client_for(url2)
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
        assert [r.custom_id for r in client.messages.batches.results(batch.id)] == ["Demo_1"]
    finally:
        proc2.terminate()
        proc2.wait(10)


def test_raw_responses_validate_against_the_sdk_types(api_sim):
    """Strict pydantic validation, not just the SDK's lenient construction."""
    from anthropic.types import Message
    from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
    from anthropic.types.shared import ErrorResponse

    sim = api_sim(error_rate=0.3, expire_rate=0.3, seed=2)
    headers = {"x-api-key": "k", "content-type": "application/json"}
    body = {"requests": requests_for([f"line {i}" for i in range(30)], size=3)}
    created = httpx.post(f"{sim.url}/v1/messages/batches", json=body, headers=headers).json()
    MessageBatch.model_validate(created)
    time.sleep(0.15)
    ended = httpx.get(f"{sim.url}/v1/messages/batches/{created['id']}", headers=headers).json()
    batch = MessageBatch.model_validate(ended)
    assert batch.processing_status == "ended"
    lines = httpx.get(batch.results_url, headers=headers).text.splitlines()
    kinds = Counter(
        MessageBatchIndividualResponse.model_validate_json(x).result.type for x in lines
    )
    assert sum(kinds.values()) == 10 and len(kinds) == 3
    msg = httpx.post(
        f"{sim.url}/v1/messages", json=body["requests"][0]["params"], headers=headers
    ).json()
    Message.model_validate(msg)
    missing = httpx.get(f"{sim.url}/v1/messages/batches/nope", headers=headers)
    assert missing.status_code == 404
    ErrorResponse.model_validate(missing.json())
