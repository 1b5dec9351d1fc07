"""Small pieces every command shares: error reporting, shared options, output."""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error (no traceback) and exit: users need the cause, not a stack.

    ``message`` is printed as it is, never read as rich markup: it quotes user input
    (a URL, a file name) whose ``[`` would otherwise be taken for a tag, or raise.
    """
    console.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


def apply_options(options: Sequence[Decorator]) -> Decorator:
    """Apply a list of click options, so a stage and its ``enqueue`` twin share one list."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return wrap


def user_errors(*kinds: type[BaseException]) -> Decorator:
    """Turn the listed exception types (plus OSError) into a clear one-line error."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return f(*args, **kwargs)
            except (*kinds, OSError, ValueError) as exc:
                fail(str(exc))

        return inner

    return wrap


datasets_option = click.option(
    "--datasets",
    "datasets",
    metavar="A,B",
    default=None,
    help="Only these datasets (comma-separated names from `lookskip datasets list`).",
)


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Within the block, SIGTERM ends the command as an exception (exit status 143).

    Why: Python's default SIGTERM kills the process where it stands, so no ``finally``
    runs: a ``classify --output`` stopped by ``kill`` or ``docker stop`` left its
    staging folder and temp files behind. As an exception, the run's cleanup runs
    (the staging folder is removed; the previous run's files stay as they were). The
    exception is raised once the Rust call in progress returns (one unit of at most
    ``--chunk-mib``, or a compressed file). Outside the main thread it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ThresholdType(click.ParamType):
    """A threshold option: a number in [0, 1] (``click.FloatRange`` lets nan through)."""

    name = "P"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        from lookskip.classify.scorer import THRESHOLD_RULE, check_threshold

        if value is None:
            return None
        try:
            return check_threshold(value)
        except ValueError:
            self.fail(f"{value} {THRESHOLD_RULE}", param, ctx)


THRESHOLD = ThresholdType()
