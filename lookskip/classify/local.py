"""Classify log files one by one on this machine, with a loaded ``Scorer``.

The scorer (``lookskip.classify.scorer``: the Rust extension, or the numpy
reference) is the one every classify path loads; this module is the plain-file
loop of ``lookskip classify FILE…`` (stdout mode) and its summary.

Line handling, identical in both: split on ``\\n`` (a ``\\r`` before it dropped),
bytes decoded as UTF-8 with U+FFFD replacement, a line longer than
``max_line_bytes`` scored on its first ``max_line_bytes`` bytes and counted as
truncated; plain or compressed input (gzip, xz, bzip2, zstd: by magic bytes); ``-``
is stdin.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from lookskip import storage
from lookskip.bulk.patterns import PatternAggregator, merge_units, scorer_keyer
from lookskip.classify.rows import json_row
from lookskip.classify.scorer import pick_threshold
from lookskip.classify.triage import NO_TRIAGE, Triage, require_rust
from lookskip.compression import BINARY_PROBE, SNIFF_BYTES, decompress, sniff, unreadable
from lookskip.progress import RunProgress

if TYPE_CHECKING:  # scorer.py imports this module (lazily) for classify_file
    from lookskip.classify.scorer import Scorer

_BATCH = 4096


@dataclass
class FileResult:
    """Totals of one classified file; ``look_lines`` holds ``(line_number, p_look, text)``,
    with triage ``(line_number, p_look, text, {event_end, new, why, event})``."""

    path: str
    lines: int = 0
    look: int = 0
    bytes: int = 0
    truncated: int = 0
    seconds: float = 0.0
    look_kept: int = 0
    look_lines: list[tuple[Any, ...]] = field(default_factory=list)
    look_new: int | None = None  # with a baseline: LOOK rows whose key is new
    look_events: int | None = None  # with events: LOOK events
    output: str | None = None
    error: str | None = None
    # per-key aggregates of the LOOK lines (lookskip.bulk.patterns.merge_units's form)
    patterns: dict[str, Any] | None = None

    def totals(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("look_lines")
        d.pop("patterns")
        return d


def classify_file(
    scorer: Scorer,
    path: str,
    threshold: float | None = None,
    max_look: int | None = None,
    output: str | None = None,
    triage: Triage = NO_TRIAGE,
    progress: RunProgress | None = None,
) -> FileResult:
    """Classify one file with ``scorer``, streaming. LOOK rows go to ``output`` when given
    (JSONL in the :mod:`~lookskip.classify.rows` format), else into ``look_lines``;
    either way at most ``max_look`` of them. ``triage`` (Rust only) adds why/new/events.
    ``progress`` sees the bytes and lines as they are read (see :mod:`lookskip.progress`)."""
    thr = pick_threshold(threshold, scorer.threshold)
    require_rust(scorer, triage)
    res = _classify_file(scorer, path, thr, max_look, output, triage, progress)
    if progress is not None:
        progress.unit_done(res.bytes, res.lines)
    return res


def _classify_file(
    scorer: Scorer,
    path: str,
    thr: float,
    max_look: int | None,
    output: str | None,
    triage: Triage,
    progress: RunProgress | None,
) -> FileResult:
    if scorer.backend == "rust":
        watch = {"progress": progress.counter} if progress and progress.counter else {}
        d = scorer.engine.classify_file(
            path,
            threshold=thr,
            max_look=max_look,
            output=output,
            **triage.rust_kwargs(),
            **watch,
            patterns=True,
        )
        look_lines = [(int(r[0]), float(r[1]), *r[2:]) for r in d["look_lines"]]
        return FileResult(
            path=path,
            lines=d["lines"],
            look=d["look"],
            bytes=d["bytes"],
            truncated=d["truncated"],
            seconds=d["seconds"],
            look_kept=d["look_kept"],
            look_lines=look_lines,
            look_new=d["look_new"] if triage.baseline is not None else None,
            look_events=d["look_events"] if triage.events else None,
            output=output,
            patterns=merge_units([(0, json.loads(d["patterns"]))]),
        )
    return _classify_reference(scorer, path, thr, max_look, output, progress)


# --- the numpy fallback -------------------------------------------------------
def _classify_reference(
    scorer: Scorer,
    path: str,
    thr: float,
    max_look: int | None,
    output: str | None,
    progress: RunProgress | None = None,
) -> FileResult:
    started = time.perf_counter()
    res = FileResult(path=path, output=output)
    limit = sys.maxsize if max_look is None else max_look
    opened = _open_input(path)
    with opened as f:
        if why := unreadable(f.peek(BINARY_PROBE)[:BINARY_PROBE]):  # the bulk path's rule
            raise OSError(f"{path}: {why}")
        if output is None:
            _scan(scorer, f, res, thr, limit, None, progress)
            opened.check_whole(res)
        else:
            with storage.atomic_writer(output, "wb") as out:
                _scan(scorer, f, res, thr, limit, out, progress)
                opened.check_whole(res)
    res.seconds = time.perf_counter() - started
    return res


def _scan(
    scorer: Scorer,
    f: IO[bytes],
    res: FileResult,
    thr: float,
    limit: int,
    out: IO[bytes] | None,
    progress: RunProgress | None = None,
) -> None:
    seen = (0, 0)
    agg = PatternAggregator(scorer_keyer(scorer.engine))
    for first, batch in _batches(f, scorer.max_line_bytes, res):
        if progress is not None:
            progress.add(res.bytes - seen[0], res.lines - seen[1])
            seen = (res.bytes, res.lines)
        texts = [raw.decode("utf-8", "replace") for raw, _ in batch]
        probs = scorer.predict_proba(texts)
        agg.observe([raw for raw, _ in batch], probs, thr, first)
        for i in np.flatnonzero(probs >= thr):
            res.look += 1
            if res.look_kept >= limit:
                continue
            res.look_kept += 1
            why = scorer.answer_reason(texts[i])
            row = (first + int(i), float(probs[i]), texts[i], *([{"reason": why}] if why else []))
            if out is None:
                res.look_lines.append(row)
            else:
                out.write(json_row(res.path, *row).encode("utf-8"))
    res.patterns = merge_units([(0, agg.to_dict())])


class _open_input:
    """Binary stream of a local file or stdin (``-``), decompressed when it starts with
    a compressed format read here (``lookskip.compression.sniff``)."""

    def __init__(self, path: str):
        self.path = path
        self._owned: list[IO[bytes]] = []
        self._size: int | None = None  # a regular file's size when opened

    def __enter__(self) -> IO[bytes]:
        raw: IO[bytes] = sys.stdin.buffer if self.path == "-" else open(self.path, "rb")
        if self.path != "-":
            self._owned.append(raw)
            st = os.fstat(raw.fileno())
            self._size = st.st_size if stat.S_ISREG(st.st_mode) else None
        buffered = raw if hasattr(raw, "peek") else open(raw.fileno(), "rb", closefd=False)
        if buffered is not raw:
            self._owned.append(buffered)
        kind = sniff(buffered.peek(SNIFF_BYTES)[:SNIFF_BYTES])
        if kind is not None:
            stream = decompress(kind, buffered)
            self._owned.append(stream)
            return stream
        return buffered

    def __exit__(self, *exc: object) -> None:
        for f in reversed(self._owned):
            f.close()

    def check_whole(self, res: FileResult) -> None:
        """Raise if the file shrank while it was read (:func:`lookskip.storage.shrank`)."""
        if self._size is None:
            return
        raw = self._owned[0]
        why = storage.shrank(os.fstat(raw.fileno()).st_size, raw.tell(), self._size)
        if why:
            raise OSError(f"{self.path}: {why}, after {res.lines} complete lines")


def _batches(
    f: IO[bytes], cap: int, res: FileResult
) -> Iterator[tuple[int, list[tuple[bytes, bool]]]]:
    """``(first line number, [(line bytes, truncated)])`` batches, counting into ``res``."""
    batch: list[tuple[bytes, bool]] = []
    first = 1
    try:
        for raw, dropped in _capped_lines(f, cap):
            res.lines += 1
            res.bytes += len(raw) + dropped
            line = raw[:-1] if raw.endswith(b"\n") else raw
            if len(line) > cap:
                line, cut = line[:cap], True
                res.truncated += 1
            else:
                cut = False
                if raw.endswith(b"\n") and line.endswith(b"\r"):
                    line = line[:-1]
            batch.append((line, cut))
            if len(batch) >= _BATCH:
                yield first, batch
                first += len(batch)
                batch = []
    except (OSError, EOFError) as exc:
        raise OSError(f"{res.path}: corrupt or truncated compressed input ({exc})") from exc
    if batch:
        yield first, batch


def _capped_lines(f: IO[bytes], cap: int) -> Iterator[tuple[bytes, int]]:
    """``(line, dropped)``: the lines of ``f`` as ``for line in f`` gives them, except
    that a line longer than ``cap + 1`` bytes keeps only its first ``cap + 2`` (and its
    newline; still too long, so it is cut and counted) while the rest is read in
    pieces and dropped (``dropped`` bytes). Why: ``for line in f`` holds a line whole,
    so one line of a GiB cost a GiB before the cap applied.
    """
    while True:
        raw = f.readline(cap + 2)
        if not raw:
            return
        dropped = 0
        if len(raw) == cap + 2 and not raw.endswith(b"\n"):
            while True:
                rest = f.readline(1 << 20)
                if rest.endswith(b"\n"):
                    dropped += len(rest) - 1
                    raw += b"\n"
                    break
                dropped += len(rest)
                if not rest:
                    break
        yield raw, dropped


def output_name(path: str, taken: set[str]) -> str:
    """``<file>.look.jsonl`` for an input (``stdin`` for ``-``), unique within ``taken``."""
    base = "stdin" if path == "-" else os.path.basename(path.rstrip("/")) or "input"
    name, n = f"{base}.look.jsonl", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.look.jsonl"
    taken.add(name)
    return name


def classify_paths(
    clf: Scorer,
    paths: Sequence[str],
    threshold: float | None = None,
    max_look: int | None = None,
    output_dir: str | None = None,
    on_file: Any = None,
    triage: Triage = NO_TRIAGE,
    progress: RunProgress | None = None,
) -> list[FileResult]:
    """Classify each path; a file that fails gets ``error`` set and the rest go on.

    With ``output_dir``, each file's LOOK rows go to ``<file>.look.jsonl`` there and
    ``summary.json`` lists every file (written last, atomically). ``progress`` is kept
    current (files found and their sizes first, then bytes and lines as read).
    """
    results: list[FileResult] = []
    taken: set[str] = set()
    if output_dir is not None:
        storage.makedirs(output_dir)
    if progress is not None:
        progress.set_totals(len(paths), _sizes(paths))
    for path in paths:
        out = storage.join(output_dir, output_name(path, taken)) if output_dir else None
        try:
            res = classify_file(
                clf,
                path,
                threshold=threshold,
                max_look=max_look,
                output=out,
                triage=triage,
                progress=progress,
            )
        except (OSError, ValueError) as exc:
            res = FileResult(path=path, error=str(exc))
            if progress is not None:
                progress.unit_done(0, 0)
        if progress is not None:
            progress.file_done(failed=res.error is not None)
        results.append(res)
        if on_file is not None:
            on_file(res)
    if output_dir is not None:
        write_summary(output_dir, clf, results, threshold, max_look)
    return results


def _sizes(paths: Sequence[str]) -> int | None:
    """Total bytes to read when every input is a plain regular file, else None: the
    uncompressed size of compressed input is unknown, and a FIFO or stdin has none
    (and must not be peeked at: that would take its first bytes)."""
    total = 0
    for p in paths:
        if p == "-":
            return None
        try:
            st = os.stat(p)
        except OSError:
            continue  # it will fail and be reported; the others still count
        if not stat.S_ISREG(st.st_mode):
            return None
        try:
            with open(p, "rb") as f:
                if sniff(f.read(SNIFF_BYTES)) is not None:
                    return None
        except OSError:
            continue
        total += st.st_size
    return total


def summarize(
    clf: Scorer,
    results: Sequence[FileResult],
    threshold: float | None,
    max_look: int | None,
) -> dict[str, Any]:
    ok = [r for r in results if r.error is None]
    return {
        "model": clf.model_path,
        "backend": clf.backend,
        "threads": clf.threads,
        "threshold": clf.threshold if threshold is None else threshold,
        "max_look": max_look,
        "max_line_bytes": clf.max_line_bytes,
        "totals": {
            "files": len(results),
            "failed": len(results) - len(ok),
            "lines": sum(r.lines for r in ok),
            "look": sum(r.look for r in ok),
            "bytes": sum(r.bytes for r in ok),
            "truncated": sum(r.truncated for r in ok),
            "seconds": sum(r.seconds for r in ok),
            **_triage_totals(ok),
        },
        "files": [r.totals() for r in results],
    }


def _triage_totals(ok: Sequence[FileResult]) -> dict[str, int]:
    """``look_new`` / ``look_events`` totals, when the run counted them."""
    out = {}
    for name in ("look_new", "look_events"):
        vals = [getattr(r, name) for r in ok if getattr(r, name) is not None]
        if vals:
            out[name] = sum(vals)
    return out


def write_summary(
    output_dir: str,
    clf: Scorer,
    results: Sequence[FileResult],
    threshold: float | None,
    max_look: int | None,
) -> dict[str, Any]:
    summary = summarize(clf, results, threshold, max_look)
    storage.write_json(storage.join(output_dir, "summary.json"), summary)
    return summary
