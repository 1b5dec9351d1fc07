"""``lookskip doctor``: check that this host can run (or send) lookskip jobs."""

from __future__ import annotations

import time
import uuid

import click
from rich.table import Table

from cli.common import out


@click.command()
@click.option(
    "--timeout", default=2.0, show_default=True, help="Seconds to wait for workers to answer."
)
def doctor(timeout: float) -> None:
    """Check the broker, result backend, workers per queue, Rust extension, data dir
    and API key (its presence only: it is never printed).

    Exits 1 if something needed is broken; a queue without workers or a missing API
    key is only a warning (not every host serves every role).
    """
    from lookskip import storage
    from lookskip.jobs import mask_url
    from lookskip.settings import get_settings
    from worker.client import Unreachable, check_url

    s = get_settings()
    rows: list[tuple[str, str, str]] = []  # (check, status, detail)
    broken = False

    broker = s.broker_url.get_secret_value()
    backend = s.result_backend.get_secret_value()
    reachable = True
    for what, url in (("broker", broker), ("result backend", backend)):
        try:
            check_url(url, what)
            rows.append((what, "ok", mask_url(url)))
        except Unreachable as exc:
            rows.append((what, "FAIL", str(exc)))
            broken, reachable = True, False

    if reachable:
        rows.extend(_worker_rows(timeout))
    else:
        rows.append(("workers", "skip", "broker unreachable"))

    try:
        import lookskip_rs

        rows.append(
            (
                "rust extension",
                "ok",
                f"lookskip_rs {getattr(lookskip_rs, '__version__', '')}".strip(),
            )
        )
    except ImportError as exc:
        rows.append(
            (
                "rust extension",
                "warn",
                f"import lookskip_rs failed ({exc}); classify workers need it "
                "(maturin develop --release -m rust/Cargo.toml)",
            )
        )

    probe = storage.join(s.data_dir, f".doctor-{uuid.uuid4().hex}")
    try:
        storage.write_text(probe, "ok")
        fs, path = storage.fs_and_path(probe)
        fs.rm(path)
        rows.append(("data dir", "ok", f"{s.data_dir} is writable"))
        rows.append(_lock_row(s, probe))
        broken = broken or rows[-1][1] == "FAIL"
    except OSError as exc:
        rows.append(("data dir", "FAIL", f"{s.data_dir}: {exc}"))
        broken = True

    key = s.anthropic_api_key
    if key is not None and key.get_secret_value():
        rows.append(("API key", "ok", "ANTHROPIC_API_KEY is set"))
    else:
        rows.append(("API key", "warn", "ANTHROPIC_API_KEY is not set (needed by `label`)"))
    if s.anthropic_base_url:
        rows.append(("API base URL", "ok", s.anthropic_base_url))

    table = Table("check", "status", "detail")
    style = {"ok": "green", "warn": "yellow", "FAIL": "red", "skip": "dim"}
    for check, status, detail in rows:
        table.add_row(check, f"[{style[status]}]{status}[/]", detail)
    out.print(table)
    if broken:
        raise SystemExit(1)


def _lock_row(s, probe: str) -> tuple[str, str, str]:
    """How read-modify-write state is protected here (README "Several hosts")."""
    from lookskip import storage
    from lookskip.jobs import mask_url
    from lookskip.locking import lock_kind, redis_client

    if lock_kind(s) == "file":
        return ("state locks", "ok", "file locks (local or shared POSIX data dir)")
    url = (s.lock_url or s.result_backend).get_secret_value()
    try:
        redis_client(s).ping()
    except Exception as exc:  # not Redis, or unreachable: labeling cannot run safely
        return ("state locks", "FAIL", f"Redis lock at {mask_url(url)}: {exc}")
    conditional = "conditional writes: no (fencing only)"
    try:
        storage.write_if_unchanged(probe, b"1", None)
        try:
            storage.write_if_unchanged(probe, b"2", None)
        except storage.Conflict:
            conditional = "conditional writes: yes"
        fs, path = storage.fs_and_path(probe)
        fs.rm(path)
    except OSError as exc:
        conditional = f"conditional writes: untested ({exc})"
    return ("state locks", "ok", f"Redis lock with fencing at {mask_url(url)}; {conditional}")


def _worker_rows(timeout: float) -> list[tuple[str, str, str]]:
    """Workers per queue (``inspect().active_queues()``) and an echo round trip each."""
    from worker.app import app
    from worker.config import QUEUES

    active = app.control.inspect(timeout=timeout).active_queues() or {}
    by_queue: dict[str, list[str]] = {q: [] for q in QUEUES}
    for node, queues in active.items():
        for q in queues:
            by_queue.setdefault(q["name"], []).append(node)
    rows = []
    for q in QUEUES:
        nodes = sorted(by_queue.get(q, []))
        if not nodes:
            rows.append((f"queue {q}", "warn", "no worker consumes it"))
            continue
        res = app.send_task("lookskip.diag.echo", kwargs={"sent_at": time.time()}, queue=q)
        t0 = time.monotonic()
        try:
            res.get(timeout=max(timeout, 10.0))
            rt = f"round trip {1000 * (time.monotonic() - t0):.0f} ms"
            rows.append((f"queue {q}", "ok", f"{len(nodes)} worker(s): {', '.join(nodes)}; {rt}"))
        except Exception as exc:  # a timeout or a worker error: report, do not crash
            rows.append((f"queue {q}", "FAIL", f"{len(nodes)} worker(s) but echo failed: {exc}"))
        finally:
            res.forget()
    return rows
