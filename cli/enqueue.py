"""``lookskip enqueue <stage>``: send a stage to the Celery workers instead of running it here."""

from __future__ import annotations

import click


@click.group()
def enqueue() -> None:
    """Send a stage (or the whole pipeline) to the workers; prints the workflow id.

    Each subcommand takes the same options as the local command of the same name,
    plus --wait to follow it with a live progress bar (exit status 1 on failure,
    naming the failing task). Follow it later with `lookskip status ID`.
    """
