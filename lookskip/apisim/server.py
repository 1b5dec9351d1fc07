"""An HTTP server that speaks the Message Batches API (and ``POST /v1/messages``).

Built on aiohttp: it is already in the lock file (through s3fs), is a well-kept
asyncio server that needs no separate ASGI runner, and its ``AppRunner`` binds port 0
and serves from a background thread in a few lines — what tests and the Celery
integration tests need. Responses follow the shapes of the official SDK's types
(``anthropic.types.messages.MessageBatch``, ``MessageBatchIndividualResponse``,
``ErrorResponse``) so the real SDK parses them.

State is in memory; with ``data_dir`` every batch is also saved there as JSON and
loaded at start, so a restarted simulator still knows the batches it created.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from lookskip.apisim import responder as R

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
MAX_REQUESTS = 100_000
_REQUIRED = {"model", "max_tokens", "messages"}


@dataclass
class SimOptions:
    replay: str | None = None  # recorded results file (JSONL)
    delay: float = 1.0  # seconds from create to ended
    fail_rate: float = 0.0  # share of HTTP calls answered with an error status
    fail_codes: tuple[int, ...] = (429, 500, 529)
    error_rate: float = 0.0  # share of requests whose result is "errored"
    expire_rate: float = 0.0  # share of requests whose result is "expired"
    malformed_rate: float = 0.0  # share of succeeded answers that are damaged
    seed: int = 0
    data_dir: str | None = None
    retry_after_ms: int = 20  # sent with injected 429/5xx, so SDK retries are quick
    require_key: bool = True
    oracle: tuple[str, ...] = ()  # labels files: each shown line answered with its label


def _ts(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")


def _now() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


@dataclass
class _Batch:
    id: str
    created: float
    requests: list[dict]
    results: list[dict]
    canceled_at: float | None = None
    order: int = 0
    # When processing ends, fixed at creation: a batch that ended stays ended when the
    # simulator is restarted with another --delay (as a real batch would).
    ends: float | None = None

    def ended_at(self, delay: float) -> float | None:
        end = self.ends if self.ends is not None else self.created + delay
        if self.canceled_at is not None:  # cancellation takes a moment, as at the API
            end = min(end, self.canceled_at + min(delay, 0.05))
        return end if _now() >= end else None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "created": self.created,
            "requests": self.requests,
            "results": self.results,
            "canceled_at": self.canceled_at,
            "order": self.order,
            "ends": self.ends,
        }


@dataclass
class Simulator:
    options: SimOptions = field(default_factory=SimOptions)

    def __post_init__(self) -> None:
        self.batches: dict[str, _Batch] = {}
        self.stats: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()  # custom_id -> times asked
        self.lock = threading.Lock()
        self._rng = random.Random(self.options.seed)
        self.replay: dict[str, dict] = {}
        if self.options.replay:
            with open(self.options.replay, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        row = json.loads(line)
                        self.replay[row["custom_id"]] = row["result"]
        self.oracle = R.Oracle.load(self.options.oracle) if self.options.oracle else None
        if self.options.data_dir:
            Path(self.options.data_dir).mkdir(parents=True, exist_ok=True)
            for p in sorted(Path(self.options.data_dir).glob("msgbatch_*.json")):
                raw = json.loads(p.read_text("utf-8"))
                self.batches[raw["id"]] = _Batch(**raw)

    # ------------------------------------------------------------------ answers

    def answer(self, custom_id: str | None, params: dict) -> dict:
        """The ``result`` object for one request (batch) or a message (custom_id None)."""
        o = self.options
        key = custom_id or "msg:" + R.user_text(params)[:200]
        with self.lock:
            attempt = self.seen[key]
            self.seen[key] += 1
        fate, rnd = R.draw(
            o.seed,
            key,
            attempt,
            o.error_rate if custom_id else 0.0,
            o.expire_rate if custom_id else 0.0,
            o.malformed_rate,
        )
        if fate.outcome == "errored":
            return {
                "type": "errored",
                "error": {
                    "type": "error",
                    "request_id": None,
                    "error": {"type": "api_error", "message": "Internal server error (simulated)"},
                },
            }
        if fate.outcome == "expired":
            return {"type": "expired"}
        recorded = self.replay.get(custom_id) if custom_id else None
        recorded_items = R.recorded_items(recorded) if recorded else None
        if recorded is not None and (
            recorded_items is None
            or len(recorded_items) != len(R.numbered_lines(R.user_text(params)))
        ):
            # same custom_id, different window (e.g. another --window-size): not this answer
            self.stats["replay_mismatch"] += 1
            recorded = recorded_items = None
        if recorded is not None and recorded.get("type") == "succeeded" and not fate.malformation:
            self.stats["replayed"] += 1
            return recorded
        if recorded_items is None and self.oracle is not None:
            items, misses = self.oracle.items(params)
            self.stats["oracle"] += 1
            self.stats["oracle_miss_lines"] += misses
        else:
            items = recorded_items or R.heuristic_items(params)
            self.stats["replayed" if recorded else "heuristic"] += 1
        if fate.malformation:
            self.stats[f"malformed:{fate.malformation}"] += 1
            text, stop = R.malform(items, fate.malformation, rnd)
        else:
            text, stop = R.render(items), "end_turn"
        return {"type": "succeeded", "message": R.message(params, text, stop)}

    # ------------------------------------------------------------------ batch objects

    def batch_json(self, b: _Batch, base_url: str) -> dict:
        ended = b.ended_at(self.options.delay)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended is None:
            counts["processing"] = len(b.requests)
            status = "canceling" if b.canceled_at is not None else "in_progress"
        else:
            status = "ended"
            for r in b.results:
                counts[r["result"]["type"]] += 1
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _ts(b.created),
            "expires_at": _ts(b.created + 86400),
            "ended_at": _ts(ended) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": _ts(b.canceled_at) if b.canceled_at else None,
            "results_url": f"{base_url}/v1/messages/batches/{b.id}/results" if ended else None,
        }

    def _save(self, b: _Batch) -> None:
        if self.options.data_dir:
            p = Path(self.options.data_dir) / f"{b.id}.json"
            tmp = p.with_suffix(".tmp")
            tmp.write_text(json.dumps(b.to_json()), "utf-8")
            os.replace(tmp, p)

    # ------------------------------------------------------------------ HTTP

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024, middlewares=[self._middleware])
        app.add_routes(
            [
                web.post("/v1/messages/batches", self.create),
                web.get("/v1/messages/batches", self.list_batches),
                web.get("/v1/messages/batches/{id}", self.retrieve),
                web.get("/v1/messages/batches/{id}/results", self.results),
                web.post("/v1/messages/batches/{id}/cancel", self.cancel),
                web.post("/v1/messages", self.messages),
                web.get("/_sim/stats", self.get_stats),
            ]
        )
        return app

    @staticmethod
    def error(status: int, message: str, headers: dict | None = None) -> web.Response:
        body = {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
        }
        return web.json_response(body, status=status, headers=headers)

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        rid = f"req_sim_{uuid.uuid4().hex[:20]}"
        if request.path.startswith("/v1/"):
            self.stats["calls"] += 1
            if self.options.require_key and not (
                request.headers.get("x-api-key") or request.headers.get("authorization")
            ):
                resp = self.error(401, "x-api-key header is required")
                resp.headers["request-id"] = rid
                return resp
            with self.lock:
                fault = self._rng.random() < self.options.fail_rate
                code = self._rng.choice(self.options.fail_codes) if fault else 0
            if fault:
                self.stats[f"fault:{code}"] += 1
                resp = self.error(
                    code,
                    f"simulated HTTP {code}",
                    headers={
                        "retry-after-ms": str(self.options.retry_after_ms),
                        "x-should-retry": "true",
                    },
                )
                resp.headers["request-id"] = rid
                return resp
        resp = await handler(request)
        resp.headers["request-id"] = rid
        return resp

    def _base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    def _get(self, request: web.Request) -> _Batch | None:
        return self.batches.get(request.match_info["id"])

    async def create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return self.error(400, "request body is not valid JSON")
        reqs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(reqs, list) or not reqs:
            return self.error(400, "requests: a non-empty list is required")
        if len(reqs) > MAX_REQUESTS:
            return self.error(400, f"requests: at most {MAX_REQUESTS} per batch")
        ids = set()
        for r in reqs:
            cid = r.get("custom_id") if isinstance(r, dict) else None
            params = r.get("params") if isinstance(r, dict) else None
            if not isinstance(cid, str) or not _CUSTOM_ID.match(cid):
                return self.error(400, f"custom_id {cid!r} must match {_CUSTOM_ID.pattern}")
            if cid in ids:
                return self.error(400, f"duplicate custom_id {cid!r}")
            ids.add(cid)
            if not isinstance(params, dict) or not params.keys() >= _REQUIRED:
                return self.error(400, f"{cid}: params need model, max_tokens and messages")
        results = [
            {"custom_id": r["custom_id"], "result": self.answer(r["custom_id"], r["params"])}
            for r in reqs
        ]
        with self.lock:
            now = _now()
            b = _Batch(
                f"msgbatch_sim_{uuid.uuid4().hex[:20]}",
                now,
                reqs,
                results,
                order=len(self.batches),
                ends=now + self.options.delay,
            )
            self.batches[b.id] = b
            self.stats["batches_created"] += 1
        self._save(b)
        return web.json_response(self.batch_json(b, self._base(request)))

    async def retrieve(self, request: web.Request) -> web.Response:
        b = self._get(request)
        if b is None:
            return self.error(404, f"batch {request.match_info['id']} not found")
        return web.json_response(self.batch_json(b, self._base(request)))

    async def list_batches(self, request: web.Request) -> web.Response:
        newest_first = sorted(self.batches.values(), key=lambda b: b.order, reverse=True)
        ids = [b.id for b in newest_first]
        q = request.query
        limit = min(max(int(q.get("limit", 20)), 1), 1000)
        if "after_id" in q and q["after_id"] in ids:
            chosen = newest_first[ids.index(q["after_id"]) + 1 :]
        elif "before_id" in q and q["before_id"] in ids:
            chosen = newest_first[: ids.index(q["before_id"])][-limit:]
        else:
            chosen = newest_first
        has_more = len(chosen) > limit
        page = chosen[:limit]
        data = [self.batch_json(b, self._base(request)) for b in page]
        return web.json_response(
            {
                "data": data,
                "has_more": has_more,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def results(self, request: web.Request) -> web.StreamResponse:
        b = self._get(request)
        if b is None:
            return self.error(404, f"batch {request.match_info['id']} not found")
        if b.ended_at(self.options.delay) is None:
            return self.error(400, f"batch {b.id} is still processing")
        resp = web.StreamResponse(headers={"Content-Type": "application/binary"})
        await resp.prepare(request)
        for r in b.results:
            await resp.write(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n")
        await resp.write_eof()
        return resp

    async def cancel(self, request: web.Request) -> web.Response:
        b = self._get(request)
        if b is None:
            return self.error(404, f"batch {request.match_info['id']} not found")
        if b.ended_at(self.options.delay) is None and b.canceled_at is None:
            b.canceled_at = _now()
            b.results = [
                {"custom_id": r["custom_id"], "result": {"type": "canceled"}} for r in b.results
            ]
            self._save(b)
        return web.json_response(self.batch_json(b, self._base(request)))

    async def messages(self, request: web.Request) -> web.Response:
        try:
            params = await request.json()
        except ValueError:
            return self.error(400, "request body is not valid JSON")
        if not isinstance(params, dict) or not params.keys() >= _REQUIRED:
            return self.error(400, "model, max_tokens and messages are required")
        result = self.answer(None, params)
        msg = result["message"]
        msg["usage"]["service_tier"] = "standard"
        return web.json_response(msg)

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.stats))


# ---------------------------------------------------------------------- running it


class RunningSim:
    """A simulator serving from a background thread; unpacks as ``(url, stop)``."""

    def __init__(
        self,
        simulator: Simulator,
        url: str,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
    ) -> None:
        self.simulator, self.url, self._loop, self._thread = simulator, url, loop, thread

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __iter__(self):
        return iter((self.url, self.stop))

    @property
    def stats(self) -> Counter[str]:
        return self.simulator.stats


def serve_in_thread(
    options: SimOptions | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSim:
    """Start a simulator on ``host:port`` (0 = a free port) in a daemon thread."""
    sim = Simulator(options or SimOptions())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(sim.app(), access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, host, port)
            loop.run_until_complete(site.start())
            box["port"] = runner.addresses[0][1]
        except BaseException as exc:  # reported to the starting thread
            box["error"] = exc
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    thread = threading.Thread(target=run, name="lookskip-api-sim", daemon=True)
    thread.start()
    if not ready.wait(15) or "error" in box:
        raise RuntimeError(f"api-sim did not start: {box.get('error', 'timeout')}")
    return RunningSim(sim, f"http://{host}:{box['port']}", loop, thread)


async def serve_forever(options: SimOptions, host: str, port: int, on_ready=None) -> None:
    """Serve until cancelled (the ``lookskip api-sim`` command)."""
    sim = Simulator(options)
    runner = web.AppRunner(sim.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    if on_ready:
        on_ready(f"http://{host}:{runner.addresses[0][1]}", sim)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
