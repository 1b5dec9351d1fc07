"""The one progress display of every long command: classify, ingest, label, enqueue --wait.

Rules, the same everywhere (why: a bar is for a person watching a terminal, and must
never end up in what a script reads):

* shown only when both stdout and stderr are terminals, and not with ``--quiet``;
  piped or redirected output gets no bar and no control codes;
* drawn on stderr; rows a command prints to stdout are written while the bar is
  lifted (:meth:`LiveProgress.paused`), so the two never share a line;
* it appears only once the work has run for about a second (:data:`SHOW_AFTER_S`):
  a quick run prints its result and nothing else;
* redrawn 4 times a second; before each redraw the *pollers* read the live figures
  (``lookskip.progress.RunProgress.snapshot``, the job registry), so a bar moves
  while the Rust extension reads a file, with no callback from inside it;
* messages (per-file errors) go through :meth:`LiveProgress.note`: printed above the
  bar as they happen, and printed the same without a bar.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from cli.common import console

SHOW_AFTER_S = 1.0
REFRESH_PER_SECOND = 4

quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress display (it is also off when stdout or stderr is not a terminal).",
)


def progress_shown(quiet: bool = False) -> bool:
    """Whether a progress display may be drawn: both stdout and stderr are terminals."""
    if quiet:
        return False
    try:
        return sys.stdout.isatty() and sys.stderr.isatty() and console.is_terminal
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class LiveProgress(Progress):
    """``rich.progress.Progress`` with the rules above (pollers, delayed start, pause)."""

    def __init__(
        self,
        *columns: str | ProgressColumn,
        quiet: bool = False,
        show_after: float = SHOW_AFTER_S,
        transient: bool = True,
    ):
        self._pollers: list[Callable[[], Any]] = []  # before super(): rich renders at once
        super().__init__(
            *columns,
            console=console,
            transient=transient,
            refresh_per_second=REFRESH_PER_SECOND,
            redirect_stdout=False,  # rich would send stdout to *its* console: stderr
            redirect_stderr=False,
            disable=not progress_shown(quiet),
        )
        self._show_after = show_after
        self._gate = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False
        self._paused = False
        self._due = False  # the delay passed while paused: show when the pause ends

    def poll(self, fn: Callable[[], Any]) -> None:
        """Call ``fn`` before every redraw (it updates tasks from live figures)."""
        self._pollers.append(fn)

    def get_renderables(self) -> Any:
        for fn in self._pollers:
            fn()
        yield from super().get_renderables()

    def __enter__(self) -> LiveProgress:
        if self.disable:
            return self
        if self._show_after <= 0:
            self.start()
        else:
            self._timer = threading.Timer(self._show_after, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _show(self) -> None:
        with self._gate:
            if self._paused:
                self._due = True
            elif not self._closed:
                self.start()

    def __exit__(self, *exc: object) -> None:
        with self._gate:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
        for fn in self._pollers:  # last figures, for a non-transient display
            fn()
        self.stop()

    def note(self, message: str) -> None:
        """A line above the bar (rich markup), printed now, bar or not."""
        console.print(message)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Lift the bar while the caller writes to stdout (same terminal, other stream)."""
        with self._gate:
            self._paused = True
            live = self.live.is_started
            if live:
                self.stop()
        try:
            yield
        finally:
            with self._gate:
                self._paused = False
                if (live or self._due) and not self._closed:
                    self.start()


def _mib(n: float) -> str:
    mib = n / 2**20
    return f"{mib:,.1f}" if mib < 10 else f"{mib:,.0f}"


class _Figures(ProgressColumn):
    """What a task has done: bytes work (percent, MiB, lines, rates, files) or items."""

    def render(self, task: Task) -> Text:
        f = task.fields
        if f.get("kind") != "bytes":
            total = f"/{task.total:,.0f}" if task.total is not None else ""
            status = f" {f['status']}" if f.get("status") else ""
            return Text(f"{task.completed:,.0f}{total}{status}", style="progress.download")
        pct = f"{task.percentage:>3.0f}% " if task.total else ""
        total = f"/{_mib(task.total)}" if task.total else ""
        elapsed = task.elapsed or 0.0
        rate = f["lines"] / elapsed if elapsed > 0.2 else 0.0
        speed = f"{task.speed / 2**20:,.1f} MiB/s" if task.speed else "– MiB/s"
        of = f"/{f['files_total']}" if f.get("files_total") is not None else ""
        failed = f", {f['errors']} failed" if f.get("errors") else ""
        return Text(
            f"{pct}{_mib(task.completed)}{total} MiB · {f['lines']:,} lines · "
            f"{rate:,.0f} lines/s · {speed} · {f['files']}{of} {f.get('unit', 'files')}{failed}",
            style="progress.download",
        )


class _Eta(ProgressColumn):
    """``ETA 0:01:12`` once a total and a rate are known; nothing before."""

    max_refresh = 0.5

    def render(self, task: Task) -> Text:
        left = task.time_remaining
        if task.total is None or left is None or task.finished:
            return Text("")
        m, sec = divmod(int(left), 60)
        h, m = divmod(m, 60)
        return Text(f"ETA {h}:{m:02d}:{sec:02d}", style="progress.remaining")


def live_progress(quiet: bool = False, transient: bool = True) -> LiveProgress:
    """The display every command uses (one per command: rich draws one at a time)."""
    return LiveProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        _Figures(),
        TimeElapsedColumn(),
        _Eta(),
        quiet=quiet,
        transient=transient,
    )


def add_bytes_task(bar: LiveProgress, description: str, unit: str = "files") -> Any:
    """A task measured in bytes (``completed``/``total``) with lines and files (or other
    ``unit``: a workflow's units) done of found as fields."""
    return bar.add_task(
        description,
        total=None,
        kind="bytes",
        lines=0,
        files=0,
        files_total=None,
        errors=0,
        unit=unit,
    )


def add_count_task(bar: LiveProgress, description: str, total: int | None = None) -> Any:
    """A task counted in items; ``status`` is a short word shown after the count."""
    return bar.add_task(description, total=total, kind="items", status="")


def byte_progress(description: str, quiet: bool = False) -> tuple[LiveProgress, Any]:
    """A display with one bytes task (classify)."""
    bar = live_progress(quiet=quiet)
    return bar, add_bytes_task(bar, description)


def watch_run(bar: LiveProgress, task: Any, run: Any) -> None:
    """Feed a bytes task from a ``lookskip.progress.RunProgress`` before each redraw."""

    def update() -> None:
        s = run.snapshot()
        bar.update(
            task,
            completed=s.bytes,
            total=s.bytes_total or None,
            lines=s.lines,
            files=s.files_done,
            files_total=s.files_total,
            errors=s.errors,
        )

    bar.poll(update)
