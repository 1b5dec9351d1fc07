"""Part files: what one unit of work leaves for the merge.

Each unit writes two files under ``<parts dir>/<file key>/``:

* ``<unit>.rows`` — one row per LOOK line, ``<local line>\\t<JSON row after the line number>``;
* ``<unit>.json`` — the unit's :class:`~lookskip.bulk.scan.UnitResult` (line count, …).

Both are written atomically and the metadata last, so a metadata file means a
complete part. A unit redone after its worker was killed simply writes the same two
files again: nothing is appended, nothing duplicated.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lookskip import storage
from lookskip.bulk.chunks import Unit
from lookskip.bulk.scan import Engine, UnitResult, classify_unit_to
from lookskip.classify.triage import NO_TRIAGE, Triage
from lookskip.progress import RunProgress


def file_key(name: str) -> str:
    """A short, stable folder name for a source (names may hold ``/`` and ``!``)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:16]


def part_urls(parts_dir: str, unit: Unit) -> tuple[str, str]:
    base = storage.join(parts_dir, file_key(unit.source.name), unit.key)
    return base + ".rows", base + ".json"


class Discard(Exception):
    """Raised inside :func:`local_target` to drop what was written."""


@contextmanager
def local_target(url: str) -> Iterator[str]:
    """A local temp file that becomes ``url`` in one rename (or upload) if the block succeeds.

    The Rust extension writes rows to a local path; this gives it one beside the target
    (so the rename is atomic) or, for an object-store URL, in the temp folder.
    """
    local = storage.is_local(url)
    if local:
        path = storage.fs_and_path(url)[1]
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
        os.fchmod(fd, storage.file_mode())  # as summary.json: readable by whoever reads the rest
    else:
        fd, tmp = tempfile.mkstemp(prefix="lookskip-part-")
    os.close(fd)
    try:
        yield tmp
        if local:
            os.replace(tmp, path)
        else:
            with open(tmp, "rb") as src, storage.atomic_writer(url, "wb") as dst:
                shutil.copyfileobj(src, dst, 4 << 20)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def run_unit(
    unit: Unit,
    parts_dir: str,
    scorer: Engine,
    threshold: float,
    max_look: int | None = None,
    progress: RunProgress | None = None,
    triage: Triage = NO_TRIAGE,
) -> UnitResult:
    """Scan a unit into its part files (idempotent: a rerun overwrites them); ``progress``
    sees its bytes and lines as they are read; ``triage`` as in a local run."""
    rows_url, meta_url = part_urls(parts_dir, unit)
    with local_target(rows_url) as tmp:
        res = classify_unit_to(
            unit, scorer, threshold, tmp, max_look=max_look, progress=progress, triage=triage
        )
    storage.write_json(meta_url, {"unit": unit.to_dict(), "result": res.to_dict()})
    return res


def read_meta(parts_dir: str, unit: Unit) -> UnitResult | None:
    _, meta_url = part_urls(parts_dir, unit)
    if not storage.exists(meta_url):
        return None
    doc: dict[str, Any] = storage.read_json(meta_url)
    return UnitResult.from_dict(doc["result"])


def remove_parts(parts_dir: str) -> None:
    fs, path = storage.fs_and_path(parts_dir)
    if fs.exists(path):
        fs.rm(path, recursive=True)
