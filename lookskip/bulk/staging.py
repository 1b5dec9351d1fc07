"""A run's output folder: written aside, put in place only when the run has finished.

Why: a rerun into an existing ``--output`` (another threshold, say) that was killed
mid-way (SIGTERM, out of memory, a reboot) left the previous run's ``summary.json``
beside half of the new rows and a ``.tmp-*`` file, and nothing said the folder was
mixed. Now every output of a run, ``summary.json`` and ``report.html`` included, is
written into a staging folder inside the output dir (``.lookskip-staging/<run>/``),
and moved into place only once the run has finished: until then the previous run's
files are untouched, and a run that fails or is stopped leaves them as they were.

The marker file ``.lookskip-output`` says the folder holds lookskip outputs, so a
later run over a tree that contains it never classifies them (``lookskip.bulk.inputs``
skips such folders), and its ``state``: ``complete``; ``incomplete`` (no run has
finished into it yet); or ``replacing`` while the files are being moved (a folder
left in that state is mixed, and says so). A staging folder left by a run that was
killed hard (SIGKILL) is removed by the next run on the same host; a distributed
job's merge stages into a folder named for the job, so the attempt redone after a
classifier was killed mid-merge (its host may never come back) takes it over.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lookskip import storage
from lookskip.bulk.inputs import OUTPUT_MARKER, OUTPUT_SUFFIX, STAGING_DIR
from lookskip.bulk.report import REPORT_NAME
from lookskip.bulk.summary import SUMMARY_NAME

MARKER = OUTPUT_MARKER
STAGING = STAGING_DIR


def read_marker(output_dir: str) -> dict[str, Any] | None:
    url = storage.join(output_dir, MARKER)
    try:
        doc = json.loads(storage.read_text(url))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _write_marker(output_dir: str, state: str, run: str) -> None:
    storage.write_json(
        storage.join(output_dir, MARKER), {"lookskip": "output", "state": state, "run": run}
    )


def _token() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(output_dir: str) -> None:
    """Staging folders of runs on this host whose process is gone (killed hard)."""
    root = storage.join(output_dir, STAGING)
    if not storage.is_local(root) or not os.path.isdir(root):
        return
    host = socket.gethostname()
    for name in os.listdir(root):
        parts = name.rsplit("-", 2)  # see _token
        mine = len(parts) == 3 and parts[0] == host and parts[1].isdigit()
        if mine and not _pid_alive(int(parts[1])):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _rm(url: str) -> None:
    fs, path = storage.fs_and_path(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _staged_files(stage: str) -> list[str]:
    """Every file under ``stage``, relative to it (``/``-separated)."""
    fs, root = storage.fs_and_path(stage)
    if not fs.exists(root):
        return []
    root = root.rstrip("/")
    return sorted(posixpath.relpath(p, root) for p in fs.find(root))


def _safe_rel(rel: Any) -> str | None:
    """A path a previous summary names, if it is one of a run's files inside the folder
    (a summary.json is data: it must never make a run delete anything else)."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel:
        return None
    norm = posixpath.normpath(rel)
    if norm.startswith("..") or norm.split("/")[0] in (STAGING, ".parts", MARKER):
        return None
    return norm if norm.endswith(OUTPUT_SUFFIX) else None


def _previous_files(output_dir: str) -> set[str]:
    """The files the previous run put in the folder (from its summary.json)."""
    url = storage.join(output_dir, SUMMARY_NAME)
    try:
        doc = json.loads(storage.read_text(url))
    except (OSError, ValueError):
        return set()
    old = {SUMMARY_NAME, REPORT_NAME}
    files = doc.get("files") if isinstance(doc, dict) else None
    for f in files if isinstance(files, list) else []:
        rel = _safe_rel(f.get("output") if isinstance(f, dict) else None)
        if rel:
            old.add(rel)
    return old


def _move(src: str, dst: str) -> None:
    if storage.is_local(dst):
        d = storage.fs_and_path(dst)[1]
        os.makedirs(os.path.dirname(d) or ".", exist_ok=True)
        os.replace(storage.fs_and_path(src)[1], d)
    else:
        fs, s = storage.fs_and_path(src)
        fs.mv(s, storage.fs_and_path(dst)[1])


def promote(stage: str, output_dir: str, run: str) -> None:
    """Replace the previous run's files in ``output_dir`` by those staged in ``stage``.

    The previous run's outputs that this run did not write (a file that failed this
    time, a report not asked for) are removed, so the folder holds one run's files;
    ``summary.json`` is moved last.
    """
    new = _staged_files(stage)
    old = _previous_files(output_dir) - set(new)
    _write_marker(output_dir, "replacing", run)
    for rel in sorted(old):
        _rm(storage.join(output_dir, rel))
    for rel in sorted(new, key=lambda r: r == SUMMARY_NAME):
        _move(storage.join(stage, rel), storage.join(output_dir, rel))
    _write_marker(output_dir, "complete", run)
    _drop(stage, output_dir)


def _drop(stage: str, output_dir: str) -> None:
    """Remove a staging folder, and the staging area if no other run uses it."""
    _rm(stage)
    parent = storage.join(output_dir, STAGING)
    if storage.is_local(parent):
        with contextlib.suppress(OSError):  # another run is staging there
            os.rmdir(storage.fs_and_path(parent)[1])


@contextmanager
def staged_output(output_dir: str, job: str | None = None) -> Iterator[str]:
    """A staging folder for a run into ``output_dir``, promoted if the block succeeds.

    If the block raises (an error, Ctrl-C, SIGTERM turned into an exception by the
    CLI), the staging folder is removed and ``output_dir`` keeps its previous files.
    ``job``: a distributed job's id; its folder ``job-<id>``, left by an attempt of
    this merge killed on another host, is cleared and reused.
    """
    storage.makedirs(output_dir)
    _remove_stale(output_dir)
    run = _token() if job is None else f"job-{job}"
    marker = read_marker(output_dir)
    if marker is None or marker.get("state") != "complete":
        # No finished run here yet (or one was cut while replacing): say so.
        state = "incomplete" if marker is None else str(marker.get("state", "incomplete"))
        _write_marker(output_dir, state, run)
    stage = storage.join(output_dir, STAGING, run)
    if job is not None:
        _rm(stage)  # a killed attempt's files
    storage.makedirs(stage)
    try:
        yield stage
    except BaseException:
        _drop(stage, output_dir)
        raise
    promote(stage, output_dir, run)
