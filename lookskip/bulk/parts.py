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
from typing import Any

from lookskip import storage
from lookskip.bulk.chunks import Unit
from lookskip.bulk.scan import Scorer, UnitResult, scan_unit


def file_key(name: str) -> str:
    """A short, stable folder name for a source (names may hold ``/`` and ``!``)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:16]


def part_urls(parts_dir: str, unit: Unit) -> tuple[str, str]:
    base = storage.join(parts_dir, file_key(unit.source.name), unit.key)
    return base + ".rows", base + ".json"


def run_unit(unit: Unit, parts_dir: str, scorer: Scorer, threshold: float,
             max_look: int | None = None) -> UnitResult:
    """Scan a unit into its part files (idempotent: a rerun overwrites them)."""
    rows_url, meta_url = part_urls(parts_dir, unit)
    with storage.atomic_writer(rows_url, "wb") as f:
        res = scan_unit(unit, scorer, threshold, f.write, max_look=max_look)
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
