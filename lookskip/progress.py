"""Where a classify run stands, readable from another thread while it runs.

Why a pollable tally instead of callbacks: the Rust extension reads, scores and
writes a whole unit (up to a whole file) in one call without the GIL, so no
per-line or per-batch Python callback can run without costing the speed the Rust
path exists for. Instead the run hands the extension a ``lookskip_rs.ReadProgress``:
the extension shows it the read tally of the input it opens (the atomic byte/line
counters its reader keeps anyway, so nothing is added per line); a watcher (the
CLI's progress bar, a worker's heartbeat) calls
:meth:`RunProgress.snapshot` a few times a second. The numpy/Python path
(:func:`lookskip.bulk.scan.scan_unit`) adds its blocks with :meth:`RunProgress.add`.

A unit's exact totals replace its live count when it ends (:meth:`unit_done`): the
live count may run ahead of scoring by the batches in flight and does not count a
last line without ``\\n``, so totals stay exact while the bar moves.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lookskip.compression import compressed_name
from lookskip.rust import rust_module


@dataclass(frozen=True)
class Snapshot:
    """Figures of a run at one moment (``*_total`` None: not known in advance)."""

    bytes: int
    lines: int
    files_done: int
    files_total: int | None
    bytes_total: int | None
    errors: int


@dataclass
class RunProgress:
    """Bytes, lines and files done of a run; every method is thread-safe.

    ``bytes_total`` is set only when every input's size is known exactly (plain files,
    tar members): a gzip stream's uncompressed size is not, and a guess would make a
    bar pass 100% or an ETA lie, so then the bar shows rates and counts only.
    """

    files_total: int | None = None
    bytes_total: int | None = None
    _bytes: int = 0
    _lines: int = 0
    _live_bytes: int = 0
    _live_lines: int = 0
    _files_done: int = 0
    _errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # the lookskip_rs.ReadProgress handed to the extension; None: one is made when the
    # extension is there; False: none (a Python-only run)
    counter: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.counter is None:
            module, _ = rust_module()
            self.counter = module.ReadProgress() if module is not None else False

    def set_totals(self, files: int | None, bytes_total: int | None) -> None:
        with self._lock:
            self.files_total, self.bytes_total = files, bytes_total

    def add(self, nbytes: int, nlines: int) -> None:
        """Bytes/lines read by the Python path of the unit in flight."""
        with self._lock:
            self._live_bytes += nbytes
            self._live_lines += nlines

    def unit_done(self, nbytes: int, nlines: int) -> None:
        """A unit ended with these exact totals: they replace its live count.

        Call it after the call that was given ``counter`` has returned (the counter is
        reset here, and nothing else writes it between units)."""
        with self._lock:
            self._bytes += nbytes
            self._lines += nlines
            self._live_bytes = self._live_lines = 0
            if self.counter:
                self.counter.reset()

    def file_done(self, failed: bool = False) -> None:
        with self._lock:
            self._files_done += 1
            self._errors += int(failed)

    def snapshot(self) -> Snapshot:
        with self._lock:
            rb, rl = self.counter.snapshot() if self.counter else (0, 0)
            return Snapshot(
                bytes=self._bytes + self._live_bytes + rb,
                lines=self._lines + self._live_lines + rl,
                files_done=self._files_done,
                files_total=self.files_total,
                bytes_total=self.bytes_total,
                errors=self._errors,
            )


def exact_bytes_total(sources: Any) -> int | None:
    """Sum of the sources' sizes when each is the size of what will be read, else None."""
    total = 0
    for s in sources:
        packed_member = s.kind == "tar" and compressed_name(s.name)  # read decompressed
        if s.kind not in ("plain", "tar") or packed_member:
            return None
        if s.kind == "plain" and s.size == 0 and not _regular(s.url):
            return None  # a FIFO named on purpose: read to its end, size unknown
        total += s.size
    return total


def _regular(url: str) -> bool:
    from lookskip import storage

    if not storage.is_local(url):
        return True
    try:
        return stat.S_ISREG(os.stat(storage.fs_and_path(url)[1]).st_mode)
    except OSError:
        return True


@contextmanager
def heartbeat(
    report: Callable[[Snapshot], Any], run: RunProgress, every_s: float = 1.0
) -> Iterator[None]:
    """Call ``report(run.snapshot())`` every ``every_s`` seconds while the block runs, and
    once more at its end (a worker's unit publishing how far it has read)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            with contextlib.suppress(Exception):  # a missed beat must never fail the work
                report(run.snapshot())

    t = threading.Thread(target=beat, name="lookskip-heartbeat", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        report(run.snapshot())
