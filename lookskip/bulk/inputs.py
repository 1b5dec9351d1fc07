"""Expand what the user named (files, directories, archives, URLs, ``-``) into sources.

A *source* is one logical log file: a plain file, a compressed one (``.gz``, ``.xz``,
``.bz2``, ``.zst``), one member of a ``.tar`` (plain or compressed the same ways:
``.tar.gz``, ``.tgz``, ``.tar.xz``, ``.tar.bz2``, ``.tar.zst`` …) or ``.zip`` archive,
or stdin. Everything downstream
(chunking, scanning, naming outputs) works on sources, so an archive member is
classified and reported exactly like a file, under the name ``archive.tar.gz!dir/member``.

Listing never reads a whole file into memory: a tar is walked header by header
(``tarfile`` skips over member data while decompressing), a zip reads its central
directory. A problem with one input (missing, truncated archive) becomes an
:class:`InputError` for the summary; the other inputs go on.

A directory walk takes regular files only, following symbolic links. Every other
entry it meets is skipped and listed as an :class:`InputError` with its reason: a
dangling or looping link, a FIFO, socket or device (reading a FIFO nobody writes
would hang the run), a link back to a directory being walked. A FIFO or ``-`` named
explicitly is still read: the user asked for it.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lookskip import storage
from lookskip.compression import STREAM_SUFFIXES, TAR_SUFFIXES, decompress, skip, stream_errors

STDIN = "-"
ZIP_SUFFIXES = (".zip",)


@dataclass(frozen=True)
class Source:
    """One log file to classify; JSON-friendly so a Celery task can receive it.

    ``kind`` is ``plain`` (byte ranges can be read directly), ``gz``, ``xz``, ``bz2``
    or ``zst`` (one compressed stream), ``tar`` / ``zip`` (a member of an archive at
    ``url``) or ``stdin``. For a tar
    member ``offset`` is where its data start in the *uncompressed* tar stream, so
    a worker seeks straight there instead of re-walking the headers.
    """

    name: str
    url: str
    kind: str
    size: int = 0
    member: str | None = None
    offset: int = 0
    compression: str | None = None  # tar only: "gz", "xz", "bz2", "zst" or None
    # The path as the user gave it (a named directory's path joined with the file's
    # path under it; `!member` for an archive member): what rows print as `file`, so a
    # row's `file:line` opens in an editor. None: ``name``.
    shown: str | None = None

    @property
    def row_file(self) -> str:
        """The ``file`` of this source's rows."""
        return self.shown or self.name

    @property
    def splittable(self) -> bool:
        """Only plain files can be cut into byte ranges without reading what precedes."""
        return self.kind == "plain"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Source:
        return cls(**d)


@dataclass(frozen=True)
class InputError:
    """An input that could not be expanded or read, with the reason for the summary."""

    name: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Expansion:
    sources: list[Source] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    """A glob matches the path relative to the named directory, or the base name."""
    base = posixpath.basename(rel)
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(base, p) for p in patterns)


def _selected(rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if include and not _matches(rel, include):
        return False
    return not (exclude and _matches(rel, exclude))


def _kind_of(path: str) -> str:
    low = path.lower()
    if low.endswith(tuple(TAR_SUFFIXES)):
        return "tar"
    if low.endswith(ZIP_SUFFIXES):
        return "zip"
    for kind, suffixes in STREAM_SUFFIXES.items():
        if low.endswith(suffixes):
            return kind
    return "plain"


def _tar_compression(path: str) -> str | None:
    low = path.lower()
    return next((c for suffix, c in TAR_SUFFIXES.items() if low.endswith(suffix)), None)


def _safe_member(name: str) -> str:
    """Member path without ``..``/absolute parts: it names an output file later."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts)


def list_tar(url: str, name: str) -> tuple[list[Source], InputError | None]:
    """Regular-file members of a tar (optionally compressed), streaming the headers.

    A truncated or corrupt archive yields the members listed before the damage plus an
    error naming it; the member cut by the damage then fails on its own when read.
    """
    compression = _tar_compression(url)
    members: list[Source] = []
    try:
        with (
            storage.open_file(url, "rb") as raw,
            _open_tar(raw, compression) as tf,
        ):
            while True:
                info = tf.next()
                if info is None:
                    break
                if not info.isfile():
                    continue
                member = _safe_member(info.name)
                members.append(
                    Source(
                        name=f"{name}!{member}",
                        url=url,
                        kind="tar",
                        size=int(info.size),
                        member=info.name,
                        offset=int(info.offset_data),
                        compression=compression,
                    )
                )
    except (tarfile.TarError, *stream_errors()) as exc:
        if members and not _member_end_readable(url, compression, members[-1]):
            # Cut inside the last member: that member fails when read and says so,
            # with the lines it got; one error for one cut.
            return members, None
        what = "truncated or corrupt archive" if members else "cannot read archive"
        return members, InputError(name, f"{what}: {type(exc).__name__}: {exc}".rstrip(": "))
    return members, None


def _open_tar(raw: Any, compression: str | None) -> tarfile.TarFile:
    """A tar read header by header; a compressed one through its decompressor, as a
    stream (``r|``: xz, bzip2 and zstd streams seek only forward)."""
    if compression is None:
        return tarfile.open(fileobj=raw, mode="r:")
    if compression == "gz":
        return tarfile.open(fileobj=raw, mode="r:gz")
    return tarfile.open(fileobj=decompress(compression, raw), mode="r|")


def _member_end_readable(url: str, compression: str | None, member: Source) -> bool:
    """Whether the archive holds all of ``member``'s data (it was damaged after it)."""
    end = member.offset + member.size
    try:
        with storage.open_file(url, "rb") as raw:
            if compression is not None:
                with decompress(compression, raw) as stream:
                    return skip(stream, end) == end
            return storage.size(url) >= end
    except stream_errors():
        return False


def list_zip(url: str, name: str) -> tuple[list[Source], InputError | None]:
    try:
        with storage.open_file(url, "rb") as raw, zipfile.ZipFile(raw) as zf:
            return [
                Source(
                    name=f"{name}!{_safe_member(i.filename)}",
                    url=url,
                    kind="zip",
                    size=int(i.file_size),
                    member=i.filename,
                )
                for i in zf.infolist()
                if not i.is_dir()
            ], None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return [], InputError(name, f"cannot read archive: {type(exc).__name__}: {exc}")


def _file_sources(
    url: str, name: str, shown: str | None = None
) -> tuple[list[Source], InputError | None]:
    kind = _kind_of(url)
    if kind == "tar":
        srcs, err = list_tar(url, name)
    elif kind == "zip":
        srcs, err = list_zip(url, name)
    else:
        srcs, err = [Source(name=name, url=url, kind=kind, size=storage.size(url))], None
    if shown is not None:  # name!member -> shown!member
        srcs = [Source(**{**s.to_dict(), "shown": shown + s.name[len(name) :]}) for s in srcs]
    return srcs, err


_FILE_TYPES = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _type_name(mode: int) -> str:
    return next((name for test, name in _FILE_TYPES if test(mode)), "not a regular file")


def _stat_problem(path: str, exc: OSError) -> str:
    """Why ``stat`` (following links) failed for an entry, in words."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR) and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"dangling symbolic link (to {target})"
    return f"cannot stat: {exc.strerror or exc}"


def _walk_local(root: str) -> list[tuple[str, str | None]]:
    """``(path, None)`` for every regular file under ``root`` (links followed), and
    ``(path, why skipped)`` for every other entry; sorted by path."""
    found: list[tuple[str, str | None]] = []

    def visit(directory: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            found.append((directory, f"cannot list directory: {exc.strerror or exc}"))
            return
        for entry in entries:
            try:
                st = os.stat(entry.path)
            except OSError as exc:
                found.append((entry.path, _stat_problem(entry.path, exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    found.append(
                        (entry.path, "symbolic link loop (to a directory being walked): skipped")
                    )
                else:
                    visit(entry.path, ancestors | {key})
            elif stat.S_ISREG(st.st_mode):
                found.append((entry.path, None))
            else:
                found.append((entry.path, f"{_type_name(st.st_mode)}, not a regular file: skipped"))

    top = os.stat(root)
    visit(root, frozenset({(top.st_dev, top.st_ino)}))
    return sorted(found)


def _walk(url: str) -> list[tuple[str, str | None]]:
    """Every file under a directory (recursive, sorted), as URLs the storage module opens,
    each with None or the reason it is skipped (see the module docstring)."""
    if storage.is_local(url):
        return _walk_local(storage.fs_and_path(url)[1])
    fs, path = storage.fs_and_path(url)
    proto = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return sorted((f"{proto}://{p}", None) for p in fs.find(path))


def _explicit_problem(url: str) -> str | None:
    """Why a local input named explicitly cannot be read (None: read it)."""
    if not storage.is_local(url):
        return None
    path = storage.fs_and_path(url)[1]
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.islink(path):
            return f"{url}: no such file or directory"
        return f"{url}: {_stat_problem(path, exc)}"
    if stat.S_ISSOCK(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return f"{url}: {_type_name(st.st_mode)}, not a file to read"
    return None  # regular files, directories, and FIFOs / character devices named on purpose


def expand_inputs(
    inputs: Iterable[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    allow_stdin: bool = True,
) -> Expansion:
    """Sources for every named input, in the order given (directories sorted inside).

    Globs (``--include``/``--exclude``) filter files found in directories and archive
    members; a file named explicitly is always taken. Names are made unique so that
    each source gets its own output file.
    """
    out = Expansion()
    for raw in inputs:
        if raw == STDIN:
            if not allow_stdin:
                out.errors.append(InputError(raw, "stdin ('-') is only read by local classify"))
            else:
                out.sources.append(Source(name="stdin", url=STDIN, kind="stdin"))
            continue
        url = raw.rstrip("/") or raw
        try:
            problem = _explicit_problem(url)
            if problem:
                out.errors.append(InputError(raw, problem))
                continue
            fs, path = storage.fs_and_path(url)
            if fs.isdir(path):
                base = posixpath.basename(path.rstrip("/")) or path
                for found, skipped in _walk(url):
                    _, fpath = storage.fs_and_path(found)
                    rel = posixpath.relpath(fpath, path)
                    # An archive is opened unless excluded; --include then picks its members.
                    is_archive = _kind_of(found) in ("tar", "zip")
                    if (exclude and _matches(rel, exclude)) or not (
                        is_archive or _selected(rel, include, exclude)
                    ):
                        continue
                    if skipped:
                        out.errors.append(InputError(f"{base}/{rel}", skipped))
                        continue
                    shown = posixpath.join(url, rel)  # as given: relative stays relative
                    _add_file(out, found, f"{base}/{rel}", include, exclude, shown)
            elif fs.exists(path):
                _add_file(out, url, posixpath.basename(path), include, exclude, raw)
            else:
                out.errors.append(InputError(raw, f"{raw}: no such file or directory"))
        except OSError as exc:
            out.errors.append(InputError(raw, f"{type(exc).__name__}: {exc}"))
    out.sources = _unique(out.sources)
    return out


def _add_file(
    out: Expansion,
    url: str,
    name: str,
    include: Sequence[str],
    exclude: Sequence[str],
    shown: str | None = None,
) -> None:
    """The sources of one file (or its error): a file that vanished or cannot be read
    while the directory is listed is one error, not the end of the directory."""
    try:
        srcs, err = _file_sources(url, name, shown)
    except OSError as exc:
        out.errors.append(InputError(name, describe_os_error(exc)))
        return
    out.sources.extend(s for s in srcs if _member_selected(s, include, exclude))
    if err:
        out.errors.append(err)


def describe_os_error(exc: OSError) -> str:
    """``Permission denied``, ``no such file`` …: the reason without the path (the
    summary names the file)."""
    if isinstance(exc, FileNotFoundError):
        return "no such file (it vanished while the directory was listed)"
    return exc.strerror or f"{type(exc).__name__}: {exc}"


def _member_selected(src: Source, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if src.member is None:
        return True
    return _selected(src.name.split("!", 1)[1], include, exclude)


def _unique_names(names: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        n = seen.get(name, 0)
        seen[name] = n + 1
        if n:
            root, ext = os.path.splitext(name)
            name = f"{root}~{n + 1}{ext}"
        result.append(name)
    return result


def _unique(sources: list[Source]) -> list[Source]:
    names = _unique_names(s.name for s in sources)
    return [
        s if s.name == n else Source(**{**s.to_dict(), "name": n})
        for s, n in zip(sources, names, strict=True)
    ]


def simple_file_names(inputs: Sequence[str]) -> list[str]:
    """The ``file`` each simple input (see :func:`is_simple_file`) gets in rows: the
    path as given, as :attr:`Source.row_file` is, so every path of ``lookskip classify``
    prints rows whose ``file:line`` opens in an editor."""
    return ["stdin" if raw == STDIN else raw for raw in inputs]


def is_simple_file(name: str) -> bool:
    """``-`` or a local plain/.gz file: what a one-file-at-a-time classifier can read."""
    if name == STDIN:
        return True
    if not storage.is_local(name) or _kind_of(name) in ("tar", "zip"):
        return False
    return os.path.isfile(storage.fs_and_path(name)[1])


def output_relpath(name: str, suffix: str = ".look.jsonl") -> str:
    """Where a source's output goes under ``--output``: archive members in a subfolder."""
    parts = [p for p in name.replace("!", "!/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) + suffix
