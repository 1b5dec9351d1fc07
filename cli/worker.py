"""``lookskip worker`` and ``lookskip flower``: run a Celery worker or the Flower monitor."""

from __future__ import annotations

import os
import uuid

import click

from cli.common import console, fail


def _require_broker() -> None:
    from worker.client import Unreachable, check_broker

    try:
        check_broker()
    except Unreachable as exc:
        fail(str(exc))


def _parse_queues(value: str) -> list[str]:
    from worker.config import QUEUES

    queues = [q.strip() for q in value.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        raise click.BadParameter(
            f"unknown queue(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(QUEUES)}"
        )
    return queues


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "-Q",
    "--queues",
    default="ingest,label,train,classify,transformer",
    show_default=True,
    help="Comma-separated queues (roles) this worker serves.",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: number of CPUs).",
)
@click.option(
    "-l",
    "--loglevel",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.option(
    "--pool",
    default="prefork",
    show_default=True,
    type=click.Choice(["prefork", "solo", "threads"]),
    help="prefork enforces hard time limits and survives a killed task process.",
)
@click.option(
    "-n", "--name", default=None, help="Node name prefix (a unique suffix and @host are added)."
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(
    queues: str,
    concurrency: int | None,
    loglevel: str,
    pool: str,
    name: str | None,
    celery_args: tuple[str, ...],
) -> None:
    """Run a Celery worker that takes tasks only from the given queues.

    \b
    Examples:
      lookskip worker --queues ingest,label          # cheap I/O-bound roles
      lookskip worker --queues train --concurrency 2 # fit jobs, one per core
      lookskip worker --queues classify              # needs the Rust extension
    Extra arguments after `--` go to `celery worker` unchanged.
    """
    qs = _parse_queues(queues)
    _require_broker()
    from worker.app import app

    node = f"{name or 'lookskip'}-{'-'.join(qs)}-{uuid.uuid4().hex[:6]}@%h"
    argv = ["worker", "-Q", ",".join(qs), "-n", node, "-l", loglevel.upper(), f"--pool={pool}"]
    if concurrency:
        argv += ["-c", str(concurrency)]
    app.worker_main([*argv, *celery_args])


@click.command()
@click.option("--port", default=5555, show_default=True, help="HTTP port.")
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 to serve other hosts).",
)
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower(port: int, address: str, flower_args: tuple[str, ...]) -> None:
    """Start Flower (web monitor of workers, queues and tasks) with basic auth.

    The user and password come from LOOKSKIP_FLOWER_USER / LOOKSKIP_FLOWER_PASSWORD
    (or lookskip.toml); Flower refuses to start without a password. They are passed
    through the environment, never on the command line (where `ps` would show them).
    """
    from lookskip.settings import get_settings

    s = get_settings()
    if s.flower_password is None or not s.flower_password.get_secret_value():
        fail(
            "set LOOKSKIP_FLOWER_PASSWORD (and optionally LOOKSKIP_FLOWER_USER): "
            "Flower is only started with basic auth"
        )
    _require_broker()
    os.environ["FLOWER_BASIC_AUTH"] = f"{s.flower_user}:{s.flower_password.get_secret_value()}"
    from worker.app import app

    console.print(f"Flower on http://{address}:{port} (user {s.flower_user})")
    app.start(["flower", f"--port={port}", f"--address={address}", *flower_args])
