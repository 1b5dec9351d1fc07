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
import json
import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lookskip import storage
from lookskip.compression import (
    SNIFF_BYTES,
    STREAM_SUFFIXES,
    TAR_SUFFIXES,
    decompress,
    skip,
    sniff,
    stream_errors,
)

STDIN = "-"
ZIP_SUFFIXES = (".zip",)

OUTPUT_SUFFIX = ".look.jsonl"
OUTPUT_MARKER = ".lookskip-output"  # in every output dir (see lookskip.bulk.staging)
STAGING_DIR = ".lookskip-staging"
# Folders a run keeps in its output dir (distributed parts, the staging area): an
# input's output path never starts with one of them.
RESERVED_OUTPUT_DIRS = (".parts", STAGING_DIR)
# What a run writes at the top of its output dir besides the rows files.
RUN_FILES = ("summary.json", "report.html", OUTPUT_MARKER, *RESERVED_OUTPUT_DIRS)


@dataclass(frozen=True)
class Source:
    """One log file to classify; JSON-friendly so a Celery task can receive it.

    ``kind`` is ``plain`` (byte ranges can be read directly), ``gz``, ``xz``, ``bz2``
    or ``zst`` (one compressed stream), ``tar`` / ``zip`` (a member of an archive at
    ``url``) or ``stdin``. For a tar
    member ``offset`` is where its data start in the *uncompressed* tar stream, so
    a worker seeks straight there instead of re-walking the headers; for a zip member
    it is the member's local header offset, because a zip may hold two members of
    the same name and opening by name would read the last one twice.
    """

    name: str
    url: str
    kind: str
    size: int = 0
    member: str | None = None
    offset: int = 0  # tar: data offset; zip: the member's header offset (names may repeat)
    compression: str | None = None  # tar only: "gz", "xz", "bz2", "zst" or None
    archive: str | None = None  # a member: the name of its archive (``name`` starts with it)
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


def list_tar(url: str, name: str) -> tuple[list[Source], list[InputError]]:
    """Regular-file members of a tar (optionally compressed), streaming the headers.

    A truncated or corrupt archive yields the members listed before the damage plus an
    error naming it; the member cut by the damage then fails on its own when read.
    Link members are treated as a directory walk treats links (:func:`_tar_links`):
    followed to the member they name, or listed with the reason they are not.
    """
    compression = _tar_compression(url)
    entries: list[Source | tarfile.TarInfo] = []  # links stay TarInfo until resolved
    members: list[Source] = []
    errors: list[InputError] = []
    try:
        with (
            storage.open_file(url, "rb") as raw,
            _open_tar(raw, compression) as tf,
        ):
            while True:
                info = tf.next()
                if info is None:
                    break
                if info.isfile():
                    src = Source(
                        name=f"{name}!{_safe_member(info.name)}",
                        url=url,
                        kind="tar",
                        size=int(info.size),
                        member=info.name,
                        offset=int(info.offset_data),
                        compression=compression,
                        archive=name,
                    )
                    members.append(src)
                    entries.append(src)
                elif info.islnk() or info.issym():
                    entries.append(info)
                elif not info.isdir():
                    errors.append(
                        InputError(
                            f"{name}!{_safe_member(info.name)}",
                            f"{_tar_type_name(info)} member, not a regular file: skipped",
                        )
                    )
    except (tarfile.TarError, *stream_errors()) as exc:
        if not members or _member_end_readable(url, compression, members[-1]):
            what = "truncated or corrupt archive" if members else "cannot read archive"
            errors.append(InputError(name, f"{what}: {type(exc).__name__}: {exc}".rstrip(": ")))
        # else: cut inside the last member, which fails when read and says so, with
        # the lines it got; one error for one cut.
    sources, link_errors = _tar_links(entries, name)
    return sources, errors + link_errors


def _tar_type_name(info: tarfile.TarInfo) -> str:
    if info.ischr():
        return "a character device"
    if info.isblk():
        return "a block device"
    return "a FIFO" if info.isfifo() else "an unknown type of"


MAX_LINK_HOPS = 16


def _tar_links(
    entries: list[Source | tarfile.TarInfo], name: str
) -> tuple[list[Source], list[InputError]]:
    """The archive's sources in order, link members followed to the member they name.

    Why: a directory walk scores what a link points to, so a tar of the same tree
    must too (skipping links silently lost their files). A hard link names an
    earlier member by its archive path; a symbolic link names a path relative to its
    own folder, possibly another link. A link is read as a member of its own name with
    its target's data (offset and size); one that leaves the archive, names nothing
    in it, names a folder or loops is listed with the reason, never read.
    """
    files: dict[str, Source] = {}
    links: dict[str, tarfile.TarInfo] = {}
    for e in entries:
        if isinstance(e, Source):
            files[posixpath.normpath(e.member or "")] = e
        else:
            links[posixpath.normpath(e.name)] = e
    out: list[Source] = []
    errors: list[InputError] = []
    before: dict[str, Source] = {}  # a hard link names a member before it
    for e in entries:
        if isinstance(e, Source):
            before[posixpath.normpath(e.member or "")] = e
            out.append(e)
            continue
        label = f"{name}!{_safe_member(e.name)}"
        target, why = _follow_tar_link(e, before, files, links)
        if target is None:
            errors.append(InputError(label, why))
        else:
            out.append(Source(**{**target.to_dict(), "name": label, "member": e.name}))
    return out, errors


def _follow_tar_link(
    info: tarfile.TarInfo,
    before: dict[str, Source],
    files: dict[str, Source],
    links: dict[str, tarfile.TarInfo],
) -> tuple[Source | None, str]:
    """The regular member a link member ends at, or None and why it is skipped."""
    kind = "hard link" if info.islnk() else "symbolic link"
    seen: set[str] = set()
    cur = info
    for _ in range(MAX_LINK_HOPS):
        if cur.islnk():
            target = posixpath.normpath(cur.linkname.lstrip("/"))
            pool = before if cur is info else files
        else:
            if cur.linkname.startswith("/"):
                return None, f"{kind} to {info.linkname}, outside the archive: skipped"
            target = posixpath.normpath(posixpath.join(posixpath.dirname(cur.name), cur.linkname))
            pool = files
        if target == ".." or target.startswith("../"):
            return None, f"{kind} to {info.linkname}, outside the archive: skipped"
        if target in pool:
            return pool[target], ""
        if target in seen or target not in links:
            what = "symbolic link loop" if target in seen else "not a file in the archive"
            if target not in seen and any(k.startswith(f"{target}/") for k in (*files, *links)):
                what = "a folder (not followed)"
            return None, f"{kind} to {info.linkname}: {what}: skipped"
        seen.add(target)
        cur = links[target]
    return None, f"{kind} to {info.linkname}: too many links in a row: skipped"


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


def list_zip(url: str, name: str) -> tuple[list[Source], list[InputError]]:
    try:
        with storage.open_file(url, "rb") as raw, zipfile.ZipFile(raw) as zf:
            return [
                Source(
                    name=f"{name}!{_safe_member(i.filename)}",
                    url=url,
                    kind="zip",
                    size=int(i.file_size),
                    member=i.filename,
                    offset=int(i.header_offset),
                    archive=name,
                )
                for i in zf.infolist()
                if not i.is_dir()
            ], []
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return [], [InputError(name, f"cannot read archive: {type(exc).__name__}: {exc}")]


def kind_by_content(url: str) -> str:
    """``plain``, or the compression a local regular file's first bytes name: inputs
    are read by content, so ``app.log`` that is really xz reads like ``app.log.xz``
    (never a FIFO's first bytes: sniffing would take them)."""
    if not storage.is_local(url):
        return "plain"
    path = storage.fs_and_path(url)[1]
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "plain"
        with open(path, "rb") as f:
            return sniff(f.read(SNIFF_BYTES)) or "plain"
    except OSError:
        return "plain"  # its reader reports why it cannot be read


def _file_sources(
    url: str, name: str, shown: str | None = None
) -> tuple[list[Source], list[InputError]]:
    kind = _kind_of(url)
    if kind == "tar":
        srcs, errs = list_tar(url, name)
    elif kind == "zip":
        srcs, errs = list_zip(url, name)
    else:
        kind = kind_by_content(url) if kind == "plain" else kind
        srcs, errs = [Source(name=name, url=url, kind=kind, size=storage.size(url))], []
    if shown is not None:  # name!member -> shown!member
        srcs = [Source(**{**s.to_dict(), "shown": shown + s.name[len(name) :]}) for s in srcs]
    return srcs, errs


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


def is_output_dir(path: str) -> bool:
    """Whether a local folder holds lookskip outputs: the marker every run writes, or
    (a run older than the marker) a ``summary.json`` with a run's ``totals`` and
    ``files``."""
    if os.path.exists(os.path.join(path, OUTPUT_MARKER)):
        return True
    summary = os.path.join(path, "summary.json")
    if not os.path.isfile(summary):
        return False
    try:
        with open(summary, "rb") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and {"totals", "files", "run"} <= doc.keys()


def _dir_keys(paths: Sequence[str]) -> frozenset[tuple[int, int]]:
    keys = set()
    for p in paths:
        if storage.is_local(p):
            try:
                st = os.stat(storage.fs_and_path(p)[1])
            except OSError:
                continue
            keys.add((st.st_dev, st.st_ino))
    return frozenset(keys)


def _walk_local(
    root: str, skip: frozenset[tuple[int, int]] = frozenset()
) -> list[tuple[str, str | None]]:
    """``(path, None)`` for every regular file under ``root`` (links followed), and
    ``(path, why skipped)`` for every other entry; sorted by path.

    Outputs are never inputs: folders in ``skip`` (the run's own output dir, by device
    and inode, so a link to it is skipped too), ``*.look.jsonl`` rows files, and in a
    folder holding an earlier run's outputs (:func:`is_output_dir`) its summary,
    report, marker, parts and staging are left out without a word. Why: with
    ``--output`` inside the input tree, a second run classified the first one's
    outputs (``out/in/out/in/x.look.jsonl.look.jsonl``, ``summary.json.look.jsonl``).
    """
    found: list[tuple[str, str | None]] = []

    def visit(directory: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            found.append((directory, f"cannot list directory: {exc.strerror or exc}"))
            return
        if is_output_dir(directory):
            entries = [e for e in entries if e.name not in RUN_FILES]
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
                elif key not in skip:
                    visit(entry.path, ancestors | {key})
            elif stat.S_ISREG(st.st_mode):
                if not entry.name.endswith(OUTPUT_SUFFIX):
                    found.append((entry.path, None))
            else:
                found.append((entry.path, f"{_type_name(st.st_mode)}, not a regular file: skipped"))

    top = os.stat(root)
    visit(root, frozenset({(top.st_dev, top.st_ino)}))
    return sorted(found)


def _walk(url: str, skip: Sequence[str] = ()) -> list[tuple[str, str | None]]:
    """Every file under a directory (recursive, sorted), as URLs the storage module opens,
    each with None or the reason it is skipped (see the module docstring); outputs
    left out as :func:`_walk_local` says (in an object store: folders with the marker
    or in ``skip``, and rows files)."""
    if storage.is_local(url):
        return _walk_local(storage.fs_and_path(url)[1], _dir_keys(skip))
    fs, path = storage.fs_and_path(url)
    proto = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    found = fs.find(path)
    marked = {posixpath.dirname(p) for p in found if posixpath.basename(p) == OUTPUT_MARKER}
    run_files = tuple(f"{d}/{n}" for d in marked for n in RUN_FILES)
    skipped = tuple(storage.fs_and_path(d)[1].rstrip("/") + "/" for d in skip)
    return sorted(
        (f"{proto}://{p}", None)
        for p in found
        if not p.endswith(OUTPUT_SUFFIX)
        and not p.startswith(skipped)
        and not any(p == r or p.startswith(r + "/") for r in run_files)
    )


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
    skip: Sequence[str] = (),
) -> Expansion:
    """Sources for every named input, in the order given (directories sorted inside).

    Globs (``--include``/``--exclude``) filter files found in directories and archive
    members; a file named explicitly is always taken. Names are made unique so that
    each source gets its own output file. ``skip``: folders never walked (the run's
    output dir); the outputs of earlier runs are never taken either (:func:`_walk_local`).
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
                for found, skipped in _walk(url, skip):
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
        srcs, errs = _file_sources(url, name, shown)
    except OSError as exc:
        out.errors.append(InputError(name, describe_os_error(exc)))
        return
    out.sources.extend(s for s in srcs if _member_selected(s, include, exclude))
    out.errors.extend(
        e for e in errs if e.name == name or _selected(e.name[len(name) + 1 :], include, exclude)
    )


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


def _unique_names(names: Iterable[str], archives: Iterable[str | None] | None = None) -> list[str]:
    """Each name once: a repeat becomes ``root~N.ext`` with the first N that no name
    (given before or after it) has, so ``a/app.log b/app.log c/app~2.log`` cannot
    give two ``app~2.log``. A member's ``~N`` goes into its member path, after
    ``<archive>!`` (``archives``: each name's archive name, or None)."""
    names = list(names)
    parents = list(archives) if archives is not None else [None] * len(names)
    taken = set(names)
    seen: set[str] = set()
    result = []
    for name, archive in zip(names, parents, strict=True):
        if name in seen:
            head = "" if archive is None else f"{archive}!"
            root, ext = os.path.splitext(name[len(head) :])
            n = 2
            while f"{head}{root}~{n}{ext}" in taken:
                n += 1
            name = f"{head}{root}~{n}{ext}"
            taken.add(name)
        seen.add(name)
        result.append(name)
    return result


def _unique(sources: list[Source]) -> list[Source]:
    names = _unique_names((s.name for s in sources), (s.archive for s in sources))
    return [
        s if s.name == n else Source(**{**s.to_dict(), "name": n})
        for s, n in zip(sources, names, strict=True)
    ]


def simple_file_names(inputs: Sequence[str]) -> list[str]:
    """The ``file`` each input file (a path or ``-``, as ``--bert`` takes) gets in rows:
    the path as given, as :attr:`Source.row_file` is, so every path of ``lookskip classify``
    prints rows whose ``file:line`` opens in an editor."""
    return ["stdin" if raw == STDIN else raw for raw in inputs]


def _escape_segment(seg: str) -> str:
    """``%`` and ``!`` percent-escaped, and ``.``/``..`` kept as names, not steps."""
    seg = seg.replace("%", "%25").replace("!", "%21")
    return seg.replace(".", "%2E") if seg in (".", "..") else seg


def _escape_path(name: str, top: bool = True) -> str:
    segs = [_escape_segment(p) for p in name.split("/") if p]
    if top and segs and segs[0] in RESERVED_OUTPUT_DIRS:
        segs[0] = "%2E" + segs[0][1:]
    return "/".join(segs)


def output_relpath(source: Source, suffix: str = OUTPUT_SUFFIX) -> str:
    """Where a source's output goes under ``--output``; distinct sources never share one.

    Why this scheme: names are unique (:func:`expand_inputs`), and the mapping is one
    to one. ``!`` and ``%`` in a name are percent-escaped (``x!y`` -> ``x%21y``), so
    the only ``!`` left in an output path is the one that puts an archive's members
    in an ``<archive>!/`` folder: a file ``d/x!y`` and a file ``d/x!/y`` can no longer
    meet, as they did when every ``!`` became a folder. Everything else stays as
    named, so outputs stay readable; ``summary.json``'s ``manifest`` maps each input
    to its output.
    """
    if source.archive is None or not source.name.startswith(f"{source.archive}!"):
        return _escape_path(source.name) + suffix
    tail = source.name[len(source.archive) + 1 :]
    return f"{_escape_path(source.archive)}!/{_escape_path(tail, top=False)}{suffix}"
