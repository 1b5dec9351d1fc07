"""The job registry: what `lookskip status` and `lookskip jobs` read.

A workflow is many Celery tasks, some created only once an earlier task knows how
many are needed (one per Batch-API batch, one per grid combination × fold). Asking
Celery for all of them would need every task id; instead each task records its own
progress under its workflow's id in Redis, in a few small keys:

    lookskip:jobs                   sorted set: workflow id -> creation time
    lookskip:job:<id>               hash: meta (stage, params, created), state,
                                    result, total:<part>, label, started
    lookskip:job:<id>:done:<part>   set of the item keys finished in that part
    lookskip:job:<id>:failed        hash: item key -> error (JSON)
    lookskip:job:<id>:work          hash: item key -> "bytes lines" read so far (classify
                                    units: a heartbeat while running, exact at the end;
                                    the hash's total size under work_total in the main hash)

"Done" is a set of item keys, not a counter, so a task that is redone (its worker
was killed after it finished but before it acknowledged) is not counted twice.
Nothing here imports Celery: the keys are plain Redis, so any process with the
result-backend URL can read them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PREFIX = "lookskip"
JOBS_KEY = f"{PREFIX}:jobs"
KEEP_JOBS = 500  # the registry keeps this many recent workflows


def mask_url(url: str) -> str:
    """``redis://:secret@host:6379/0`` -> ``redis://:***@host:6379/0`` (for printing).

    Only the userinfo is rewritten, so a URL whose port is not a number is masked too
    (it is the URL the user needs to see to fix it).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        if "@" not in url:
            return url
        # not parsed as user:password@host (a typo in the scheme): hide all of the userinfo
        head, _, host = url.rpartition("@")
        scheme = head.partition("://")[0] + "://" if "://" in head else ""
        return f"{scheme}***@{host}"
    user = parts.username or ""
    hostinfo = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot name a broker or result backend (no scheme, a port that is
    not a number), or None. Checked before any client library parses it: those raise
    a bare ``ValueError`` deep inside a connection pool."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc).replace("could not be cast to integer value as", "is not a number:")
    if not parts.scheme or not (parts.hostname or parts.path):
        return "expected scheme://[user:password@]host[:port][/…]"
    return None if port is None or port > 0 else "port 0 is not a port"


def host_port(url: str, default_port: int = 6379) -> str:
    """``host:port`` of a broker URL, for one-line connection errors."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or 'localhost'}:{parts.port or default_port}"
    except ValueError:
        return "<unparseable url>"


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret value (API key, passwords) in ``text`` with ``***``."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


def short_error(exc: BaseException, limit: int = 500) -> str:
    """``Type: message`` on one line, bounded, for status displays."""
    msg = re.sub(r"\s+", " ", str(exc)).strip()
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class JobView:
    """What `lookskip status` shows about one workflow."""

    id: str
    stage: str
    state: str
    created: float
    params: dict[str, Any] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)  # name, done, total
    label: str = ""
    failures: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    finished: float | None = None
    # bytes/lines read so far over all items, and bytes_total when known (classify)
    work: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.state in ("SUCCESS", "FAILURE")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stage": self.stage,
            "state": self.state,
            "created": self.created,
            "finished": self.finished,
            "params": self.params,
            "progress": self.parts,
            "label": self.label,
            "failures": self.failures,
            "result": self.result,
            "work": self.work,
        }


def progress_text(parts: list[dict[str, Any]]) -> str:
    """``ingest 16/16 · fits 57/160`` for the parts that have a known total."""
    return " · ".join(f"{p['name']} {p['done']}/{p['total']}" for p in parts if p.get("total"))


class JobStore:
    """Reads and writes the registry keys on a ``redis.Redis`` client."""

    def __init__(self, client: Any, expires_s: int = 7 * 24 * 3600):
        self.r = client
        self.expires_s = int(expires_s)

    def _key(self, wf: str, *rest: str) -> str:
        return ":".join([PREFIX, "job", wf, *rest])

    def _touch(self, pipe: Any, *keys: str) -> None:
        for k in keys:
            pipe.expire(k, self.expires_s)

    # --- written by the client that enqueues ------------------------------
    def create(self, wf: str, stage: str, params: dict[str, Any], parts: list[str]) -> None:
        now = time.time()
        key = self._key(wf)
        meta = {"stage": stage, "params": params, "created": now, "parts": parts}
        pipe = self.r.pipeline()
        pipe.hset(key, mapping={"meta": json.dumps(meta), "state": "PENDING"})
        pipe.zadd(JOBS_KEY, {wf: now})
        pipe.zremrangebyrank(JOBS_KEY, 0, -KEEP_JOBS - 1)
        self._touch(pipe, key)
        pipe.execute()

    # --- written by tasks ----------------------------------------------------
    def set_total(self, wf: str, part: str, total: int) -> None:
        key = self._key(wf)
        pipe = self.r.pipeline()
        pipe.hset(key, mapping={f"total:{part}": int(total), "state": "STARTED"})
        self._touch(pipe, key)
        pipe.execute()

    def mark_started(self, wf: str, label: str) -> None:
        key = self._key(wf)
        pipe = self.r.pipeline()
        pipe.hsetnx(key, "started", time.time())
        pipe.hset(key, "label", label)
        pipe.hget(key, "state")
        state = pipe.execute()[-1]
        # A PENDING workflow becomes STARTED; a finished one keeps its state.
        if state is not None and _s(state) == "PENDING":
            self.r.hset(key, "state", "STARTED")

    def mark_done(self, wf: str, part: str, item: str) -> None:
        done = self._key(wf, "done", part)
        pipe = self.r.pipeline()
        pipe.sadd(done, item)
        self._touch(pipe, done)
        pipe.execute()

    def set_work_total(self, wf: str, bytes_total: int | None) -> None:
        """Bytes the whole workflow will read (0: not known in advance)."""
        key = self._key(wf)
        pipe = self.r.pipeline()
        pipe.hset(key, "work_total", int(bytes_total or 0))
        self._touch(pipe, key)
        pipe.execute()

    def set_work(self, wf: str, item: str, nbytes: int, nlines: int) -> None:
        """Bytes and lines ``item`` has read so far (a redone item overwrites, never adds)."""
        work = self._key(wf, "work")
        pipe = self.r.pipeline()
        pipe.hset(work, item, f"{int(nbytes)} {int(nlines)}")
        self._touch(pipe, work)
        pipe.execute()

    def mark_failed(self, wf: str, task: str, item: str, error: str) -> None:
        failed = self._key(wf, "failed")
        entry = {"task": task, "item": item, "error": error, "at": time.time()}
        pipe = self.r.pipeline()
        pipe.hset(failed, item, json.dumps(entry))
        self._touch(pipe, failed)
        pipe.execute()

    def finish(self, wf: str, result: Any) -> None:
        key = self._key(wf)
        self.r.hset(
            key, mapping={"result": json.dumps(result), "state": "SUCCESS", "finished": time.time()}
        )

    # --- read by `lookskip status` / `lookskip jobs` ---------------------------
    def get(self, wf: str) -> JobView | None:
        raw = {_s(k): _s(v) for k, v in self.r.hgetall(self._key(wf)).items()}
        if "meta" not in raw:
            return None
        meta = json.loads(raw["meta"])
        parts = []
        for part in meta.get("parts", []):
            total = int(raw.get(f"total:{part}", 0) or 0)
            done = int(self.r.scard(self._key(wf, "done", part)))
            parts.append({"name": part, "done": done, "total": total})
        failures = sorted(
            (json.loads(_s(v)) for v in self.r.hvals(self._key(wf, "failed"))),
            key=lambda f: f.get("at", 0),
        )
        work = None
        if "work_total" in raw:
            pairs = [_s(v).split() for v in self.r.hvals(self._key(wf, "work"))]
            work = {
                "bytes": sum(int(b) for b, _ in pairs),
                "lines": sum(int(n) for _, n in pairs),
                "bytes_total": int(raw["work_total"]) or None,
            }
        state = raw.get("state", "PENDING")
        if state != "SUCCESS" and failures:
            state = "FAILURE"
        return JobView(
            id=wf,
            stage=meta["stage"],
            state=state,
            created=meta["created"],
            params=meta.get("params", {}),
            parts=parts,
            label=raw.get("label", ""),
            failures=failures,
            result=json.loads(raw["result"]) if "result" in raw else None,
            finished=float(raw["finished"]) if "finished" in raw else None,
            work=work,
        )

    def recent(self, limit: int = 20) -> list[JobView]:
        ids = [_s(i) for i in self.r.zrevrange(JOBS_KEY, 0, limit - 1)]
        return [v for v in (self.get(i) for i in ids) if v is not None]


def _s(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)
