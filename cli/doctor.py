"""``lookskip doctor``: check that this host can run (or send) lookskip jobs."""

from __future__ import annotations

import time
import uuid

import click
from rich.markup import escape
from rich.table import Column, Table

from cli.common import out


@click.command()
@click.option(
    "--timeout", default=2.0, show_default=True, help="Seconds to wait for workers to answer."
)
def doctor(timeout: float) -> None:
    """Check the broker, result backend, workers per queue, Rust extension, data dir
    (and why it is that one), the model classify would use, and the API key (its
    presence only: it is never printed).

    Exits 1 if something needed is broken; a queue without workers or a missing API
    key is only a warning (not every host serves every role).
    """
    from lookskip.settings import get_settings

    s = get_settings()
    rows: list[tuple[str, str, str]] = []  # (check, status, detail)
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:  # a plain `pip install lookskip`: local classify only
        rows.append(
            (
                "job system",
                "skip",
                f"{exc.name} is not installed: `pip install 'lookskip[worker]'` for "
                "workers and enqueue (local classify needs neither)",
            )
        )
    else:
        rows.extend(_job_system_rows(s, timeout))

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

    rows.extend(_data_dir_rows(s))
    rows.append(_model_row())

    key = s.anthropic_api_key
    if key is not None and key.get_secret_value():
        rows.append(("API key", "ok", "ANTHROPIC_API_KEY is set"))
    else:
        rows.append(("API key", "warn", "ANTHROPIC_API_KEY is not set (needed by `label`)"))
    if s.anthropic_base_url:
        rows.append(("API base URL", "ok", s.anthropic_base_url))

    table = Table("check", "status", Column("detail", overflow="fold"))  # paths whole
    style = {"ok": "green", "warn": "yellow", "FAIL": "red", "skip": "dim"}
    for check, status, detail in rows:
        table.add_row(check, f"[{style[status]}]{status}[/]", escape(detail))
    out.print(table)
    if any(status == "FAIL" for _, status, _ in rows):
        raise SystemExit(1)


def _job_system_rows(s, timeout: float) -> list[tuple[str, str, str]]:
    """Broker, result backend and, when they answer, the workers of every queue."""
    from lookskip.jobs import mask_url
    from worker.client import Unreachable, check_url

    rows: list[tuple[str, str, str]] = []
    reachable = True
    for what, secret in (("broker", s.broker_url), ("result backend", s.result_backend)):
        url = secret.get_secret_value()
        try:
            check_url(url, what)
            rows.append((what, "ok", mask_url(url)))
        except Unreachable as exc:
            rows.append((what, "FAIL", str(exc)))
            reachable = False
    if reachable:
        rows.extend(_worker_rows(timeout))
    else:
        rows.append(("workers", "skip", "broker unreachable"))
    return rows


def _data_dir_rows(s) -> list[tuple[str, str, str]]:
    """The data dir, why it is the one, and whether it is writable. A local dir that
    does not exist yet is only reported: doctor must not leave a ``./data`` (or any
    dir) behind; the first stage that writes creates it."""
    from lookskip import storage

    where = f"{s.data_dir} ({s.data_dir_origin()})"
    if storage.is_local(s.data_dir) and not storage.exists(s.data_dir):
        return [
            (
                "data dir",
                "warn",
                f"{where} does not exist yet; ingest/label/train create it (classify needs none)",
            )
        ]
    probe = storage.join(s.data_dir, f".doctor-{uuid.uuid4().hex}")
    try:
        storage.write_text(probe, "ok")
        fs, path = storage.fs_and_path(probe)
        fs.rm(path)
    except OSError as exc:
        return [("data dir", "FAIL", f"{where}: {exc}")]
    return [("data dir", "ok", f"{where} is writable"), _lock_row(s, probe)]


def _model_row() -> tuple[str, str, str]:
    """The model `lookskip classify` would use, loaded once (so a corrupt file shows)."""
    from lookskip.classify.scorer import load_scorer, model_choice

    path, origin = model_choice()
    try:
        scorer = load_scorer(threads=1)
    except (OSError, ValueError, RuntimeError) as exc:
        return ("model", "FAIL", f"{origin}: {exc}")
    return (
        "model",
        "ok",
        f"{path} ({origin}); loads in {scorer.load_seconds:.2f}s ({scorer.backend}), "
        f"threshold {scorer.threshold:g}",
    )


def _lock_row(s, probe: str) -> tuple[str, str, str]:
    """How read-modify-write state is protected here (docs/workers.md "Several hosts")."""
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
