"""Rows on stdout (``lookskip classify`` without ``--output``), by the rows' own writer.

The unit loop writes rows to stdout exactly as it writes them to an output file: the
Rust extension (or the numpy fallback) writes JSON or text rows itself, so no row is
read back, decoded or re-encoded by Python. Two ways, by source:

* stdin (``-``) may never end (``tail -f app.log | lookskip classify -``): its rows
  go straight to stdout's file descriptor as its lines are scored, a batch (64K lines
  or 8 MB) at a time;
* a file's rows go to a spool file first and on to stdout once the file has been read
  to its end (``os.sendfile``: the kernel moves the bytes). A file that fails midway
  (a truncated gzip, a file cut while read) so prints no rows, as one that fails at
  once: stdout never holds rows of a file the summary calls failed.

Where stdout has no file descriptor (``click.testing.CliRunner``, a replaced
``sys.stdout``), stdin's rows are spooled too and every spool is copied through
``stdout.buffer``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import IO

from lookskip.bulk.inputs import STDIN, Source
from lookskip.bulk.parts import Discard
from lookskip.bulk.scan import RowTarget
from lookskip.classify.rows import row_prefix, text_name

COPY_BYTES = 8 << 20


def stream_fd(stream: IO[str]) -> int | None:
    """``stream``'s file descriptor, or None where it has none."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


@dataclass
class StdoutRows:
    """Rows of a run on ``stream`` (``sys.stdout``), as ``fmt`` (``jsonl`` or ``text``).

    ``pause``: a context in which nothing else draws on the terminal (the progress
    bar is lifted while a file's rows are copied out).
    """

    stream: IO[str]
    fmt: str = "jsonl"
    pause: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
    fd: int | None = field(init=False)

    def __post_init__(self) -> None:
        if self.fmt not in ("jsonl", "text"):
            raise ValueError(f"unknown row format {self.fmt!r} (jsonl or text)")
        self.fd = stream_fd(self.stream)

    def prefix(self, source: Source) -> bytes:
        """What the row writer starts a row of ``source`` with: the JSON row start, or
        the name text rows print (control characters escaped: a name cannot forge rows)."""
        if self.fmt == "text":
            return text_name(source.row_file).encode("utf-8")
        return row_prefix(source.row_file)

    @contextmanager
    def target(self, source: Source) -> Iterator[RowTarget]:
        """Where ``source``'s rows are written: stdout's descriptor (stdin's rows,
        straight), or a spool copied to stdout when the block ends without
        :class:`Discard` (which drops the spool and is not raised further)."""
        self.stream.flush()  # whatever Python printed goes first
        if self.fd is not None and (source.kind == "stdin" or source.url == STDIN):
            yield self.fd
            return
        fd, spool = tempfile.mkstemp(prefix="lookskip-rows-")
        os.close(fd)
        try:
            try:
                yield spool
            except Discard:
                return
            with self.pause():
                self._copy(spool)
        finally:
            os.unlink(spool)

    def _copy(self, spool: str) -> None:
        if self.fd is not None:
            copy_to_fd(spool, self.fd)
            return
        out = getattr(self.stream, "buffer", None)
        with open(spool, "rb") as f:
            while chunk := f.read(COPY_BYTES):
                if out is not None:
                    out.write(chunk)
                else:
                    self.stream.write(chunk.decode("utf-8"))
        self.stream.flush()


def copy_to_fd(path: str, fd: int) -> None:
    """Append the file at ``path`` to the open descriptor ``fd`` (at its position)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if _sendfile(f.fileno(), fd, size):
            return
        f.seek(0)
        while chunk := f.read(COPY_BYTES):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]


def _sendfile(src: int, dst: int, size: int) -> bool:
    """Copy ``size`` bytes of ``src`` to ``dst`` in the kernel; False where ``dst``
    does not take sendfile (a file opened to append, ``>>``, some terminals): the
    caller then copies by hand. A reader that went away raises ``BrokenPipeError``."""
    sent = 0
    while sent < size:
        try:
            n = os.sendfile(dst, src, sent, size - sent)
        except OSError as exc:
            if sent == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                return False
            raise
        if n == 0:
            break
        sent += n
    return True
