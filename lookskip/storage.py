"""All file I/O goes through here, so a path may be local or an object-store URL.

fsspec gives one interface for local paths, ``file://``, ``s3://``, ``gs://`` …
Stages call these helpers instead of ``open``/``os`` so that a multi-host
deployment can point ``LOOKSKIP_DATA_DIR`` at a bucket. Writes are atomic
(temp file + rename) on file systems that can rename; object stores publish an
object only when its upload completes, which gives the same guarantee.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def file_mode() -> int:
    """The mode a plain ``open()`` gives a new file (0666 & ~umask); ``mkstemp`` gives 0600."""
    return 0o666 & ~_UMASK


def fs_and_path(url: str | os.PathLike[str]) -> tuple[fsspec.AbstractFileSystem, str]:
    """The file system that serves ``url`` and the path within it."""
    return url_to_fs(str(url))


def is_local(url: str | os.PathLike[str]) -> bool:
    fs, _ = fs_and_path(url)
    return "file" in _protocols(fs)


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def join(base: str | os.PathLike[str], *parts: str) -> str:
    return "/".join([str(base).rstrip("/"), *parts])


def exists(url: str | os.PathLike[str]) -> bool:
    fs, path = fs_and_path(url)
    return fs.exists(path)


def makedirs(url: str | os.PathLike[str]) -> None:
    fs, path = fs_and_path(url)
    fs.makedirs(path, exist_ok=True)


def listdir(url: str | os.PathLike[str], pattern: str = "*") -> list[str]:
    """Sorted paths matching ``pattern`` directly under ``url`` (empty if it does not exist)."""
    fs, path = fs_and_path(url)
    if not fs.exists(path):
        return []
    found = fs.glob(join(path, pattern))
    prefix = "" if "file" in _protocols(fs) else f"{_protocols(fs)[0]}://"
    return sorted(prefix + p for p in found)


def size(url: str | os.PathLike[str]) -> int:
    fs, path = fs_and_path(url)
    return int(fs.size(path))


def open_file(url: str | os.PathLike[str], mode: str = "rb", **kwargs: Any) -> IO:
    """Open for reading (or non-atomic writing); ``compression='infer'`` handles .gz."""
    return fsspec.open(str(url), mode, **kwargs).open()


def read_bytes(url: str | os.PathLike[str]) -> bytes:
    fs, path = fs_and_path(url)
    return fs.cat_file(path)


def read_text(url: str | os.PathLike[str]) -> str:
    return read_bytes(url).decode("utf-8")


def sha256(url: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open_file(url, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextmanager
def atomic_writer(url: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Write to a temp file next to ``url`` and rename it into place on success.

    A crash (or a killed worker) leaves either the old file or the new one, never
    a half-written file, so a redone task can simply write again.
    """
    fs, path = fs_and_path(url)
    if "file" in _protocols(fs):
        directory = os.path.dirname(os.path.abspath(path)) or "."
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 & ~umask)
        # so workers running as another user (containers) can read what this one wrote.
        os.fchmod(fd, file_mode())
        try:
            with os.fdopen(fd, mode) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:  # object stores: the object appears only once the upload is complete
        buf: IO = io.BytesIO() if "b" in mode else io.StringIO()
        yield buf
        data = buf.getvalue()
        with fs.open(path, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)


def write_bytes(url: str | os.PathLike[str], data: bytes) -> None:
    with atomic_writer(url, "wb") as f:
        f.write(data)


def write_text(url: str | os.PathLike[str], text: str) -> None:
    write_bytes(url, text.encode("utf-8"))


def read_json(url: str | os.PathLike[str]) -> Any:
    return json.loads(read_bytes(url))


def write_json(url: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> None:
    write_text(url, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def read_jsonl(url: str | os.PathLike[str]) -> Iterator[dict]:
    with open_file(url, "rt", encoding="utf-8", compression="infer") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def write_jsonl(url: str | os.PathLike[str], rows: Iterable[dict]) -> int:
    """Atomically (re)write ``url`` with one JSON object per line; returns the row count."""
    n = 0
    with atomic_writer(url, "wb") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
            n += 1
    return n
