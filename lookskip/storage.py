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


def shrank(now: int | None, read: int, listed: int = 0) -> str | None:
    """Why a file whose reads ended after ``read`` bytes did not really end, or None.

    Why: logrotate's copytruncate (or ``: > app.log``) cuts a file while it is read,
    and the next read returns nothing, which looks exactly like the end of the file.
    The end is trusted only when the file (``now`` bytes; None: unknown) is still as
    long as what was read and as it was when listed. ``rust/src/guard.rs`` is the
    Rust side of the same rule.
    """
    was = max(read, listed)
    if now is None or now >= was:
        return None
    return (
        f"file shrank while being read (now {now} bytes, was {was} bytes; "
        "truncated, e.g. by log rotation)"
    )


#: Read buffer for object-store files read line by line.
LINE_BUFFER = 1 << 20


def open_file(url: str | os.PathLike[str], mode: str = "rb", **kwargs: Any) -> IO:
    """Open for reading (or non-atomic writing); ``compression='infer'`` handles .gz.

    An object-store file opened ``rb`` comes wrapped in an ``io.BufferedReader``: fsspec's
    own ``readline`` reads a whole block (50 MiB on S3) per line and keeps one line, so
    iterating the lines of a large object was quadratic (minutes for an output that a
    local disk reads in a second).
    """
    f = fsspec.open(str(url), mode, **kwargs).open()
    if mode == "rb" and isinstance(f, fsspec.spec.AbstractBufferedFile):
        return io.BufferedReader(f, LINE_BUFFER)  # type: ignore[arg-type]
    return f


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


@contextmanager
def local_copy(url: str | os.PathLike[str]) -> Iterator[str]:
    """A local path with the content of ``url``: itself if local, else a temp copy.

    Why: the Rust extension opens files by path; a model in the bucket (exported by a
    worker on another host) is fetched once into a temp file, removed after loading.
    """
    fs, path = fs_and_path(url)
    if "file" in _protocols(fs):
        yield path
        return
    suffix = "".join(os.path.basename(path).partition(".")[1:])
    fd, tmp = tempfile.mkstemp(prefix="lookskip-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(fs.cat_file(path))
        yield tmp
    finally:
        os.unlink(tmp)


@contextmanager
def local_dir(url: str | os.PathLike[str]) -> Iterator[str]:
    """A local directory with the files of ``url``: itself if local, else a temp copy.

    Why: transformers and the Rust BERT load model directories by path; one trained by a
    worker on another host lives in the bucket. A missing remote folder gives an empty
    directory, so the caller's own "no model here" message applies.
    """
    fs, path = fs_and_path(url)
    if "file" in _protocols(fs):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="lookskip-") as tmp:
        for remote in fs.find(path):
            rel = remote[len(path.rstrip("/")) + 1 :]
            target = os.path.join(tmp, *rel.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(fs.cat_file(remote))
        yield tmp


class Conflict(RuntimeError):
    """A conditional write was refused: the object changed since it was read."""


def _s3_key(fs: fsspec.AbstractFileSystem, path: str) -> tuple[str, str]:
    bucket, key, _ = fs.split_path(path)
    return bucket, key


def read_versioned(url: str | os.PathLike[str]) -> tuple[bytes | None, Any]:
    """The bytes of ``url`` (None if absent) and a version token for :func:`write_if_unchanged`.

    Why: read-modify-write state on an object store (the labeling manifest) must not
    replace a version it never saw. S3 gives the ETag of exactly the bytes read (one
    GET); a local file, its (mtime, size, inode); other stores give no token.
    """
    fs, path = fs_and_path(url)
    protos = _protocols(fs)
    if "s3" in protos or "s3a" in protos:
        from fsspec.asyn import sync

        bucket, key = _s3_key(fs, path)

        async def get() -> tuple[bytes, str]:
            resp = await fs._call_s3("get_object", Bucket=bucket, Key=key)
            body = resp["Body"]
            try:
                return await body.read(), resp["ETag"]
            finally:
                body.close()

        try:
            return sync(fs.loop, get)
        except FileNotFoundError:
            return None, None
    if "file" in protos:
        try:
            st = os.stat(path)
            with open(path, "rb") as f:
                return f.read(), (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            return None, None
    return (fs.cat_file(path), "unversioned") if fs.exists(path) else (None, None)


def write_if_unchanged(url: str | os.PathLike[str], data: bytes, version: Any) -> Any:
    """Write ``data`` to ``url`` only if it is still at ``version`` (None: still absent).

    Returns the new version. On S3 the store decides (``If-Match`` / ``If-None-Match``),
    so no window is left between the check and the write; a local file is checked and
    then replaced atomically (callers hold a file lock, which closes that window); other
    stores are written unconditionally. Raises :class:`Conflict` when refused.
    """
    fs, path = fs_and_path(url)
    protos = _protocols(fs)
    if "s3" in protos or "s3a" in protos:
        from fsspec.asyn import sync

        bucket, key = _s3_key(fs, path)
        cond = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}

        async def put() -> str:
            resp = await fs._call_s3("put_object", Bucket=bucket, Key=key, Body=data, **cond)
            return resp["ETag"]

        try:
            etag = sync(fs.loop, put)
        except Exception as exc:
            if _precondition_failed(exc):
                raise Conflict(f"{url} changed since it was read; not overwritten") from None
            raise
        finally:
            fs.invalidate_cache(path)
        return etag
    if "file" in protos:
        try:
            st = os.stat(path)
            now = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            now = None
        if now != version:
            raise Conflict(f"{url} changed since it was read; not overwritten")
        write_bytes(url, data)
        st = os.stat(path)
        return (st.st_mtime_ns, st.st_size, st.st_ino)
    write_bytes(url, data)
    return "unversioned"


def _precondition_failed(exc: BaseException) -> bool:
    """S3 answered 412 PreconditionFailed (or 409 ConditionalRequestConflict)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        resp = getattr(e, "response", None)
        if isinstance(resp, dict):
            code = str(resp.get("Error", {}).get("Code", ""))
            status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (
                409,
                412,
            ):
                return True
        if "PreconditionFailed" in str(e) or "ConditionalRequestConflict" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


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
