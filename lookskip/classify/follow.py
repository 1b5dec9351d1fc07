"""``lookskip classify --follow FILE``: score lines as they are appended, like ``tail -F``.

A person watching a live service wants the LOOK lines as they happen, not after the
run. :func:`follow` polls the file (every ``poll_s``, 10 ms by default: a line is
scored within a few ms of its writer's flush), scores each complete new line with
the Rust classifier (a block at a time: at 100K lines/s a poll finds ~1,000 lines,
scored in one call) and hands the LOOK rows to ``on_rows``. Like ``tail -F`` it
survives rotation (the path now names another file: the rest of the old one is
read, then the new one from its start) and truncation (the file got shorter: read
again from its start); a file that does not exist yet is waited for. Line numbers
are the file's (lines already there when following starts are counted, not
scored, unless ``from_start``). A partial last line waits for its
``\\n``. Events (``--events``) need the lines after a head and are not joined here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from lookskip.classify.linecut import split_lines
from lookskip.classify.scorer import pick_threshold
from lookskip.classify.triage import NO_TRIAGE, Triage

POLL_S = 0.01
READ_BYTES = 4 << 20

Rows = list[tuple[int, float, str, dict[str, Any]]]


class _Followed:
    """The open file, its identity, and where reading stands."""

    def __init__(self, path: str, at_end: bool):
        self.f: IO[bytes] = open(path, "rb")  # noqa: SIM115 - kept open across polls
        st = os.fstat(self.f.fileno())
        self.ident = (st.st_dev, st.st_ino)
        self.line = 0
        self.pending = b""
        if at_end:  # skip what is there, counting its lines so numbers stay true
            end = 0
            while block := self.f.read(READ_BYTES):
                self.line += block.count(b"\n")
                nl = block.rfind(b"\n")
                if nl >= 0:
                    end = self.f.tell() - len(block) + nl + 1
            self.f.seek(end)  # a partial last line is read whole once it ends

    def close(self) -> None:
        self.f.close()


def _rows(scorer: Any, lines: list[bytes], first: int, thr: float, triage: Triage) -> Rows:
    # cascade/blend modes: rows carry TF-IDF's probability beside the mode's, as the
    # bulk path's rows do (None in the other modes)
    pair = getattr(scorer.engine, "predict_proba_pair", None)
    probs, tfidf = pair(lines) if pair is not None else (scorer.predict_proba(lines), None)
    probs = np.asarray(probs, dtype=np.float64)
    hits = np.flatnonzero(probs >= thr).tolist()
    if not hits:
        return []

    def fields(i: int) -> dict[str, Any]:
        return {} if tfidf is None else {"prob_tfidf": float(tfidf[i])}

    if not triage.active:  # the common case, kept lean: rows are all the work at 100K/s
        return [
            (first + i, float(probs[i]), lines[i].decode("utf-8", "replace"), fields(i))
            for i in hits
        ]
    look = [lines[i] for i in hits]
    extra: list[dict[str, Any]] = [fields(i) for i in hits]
    if triage.baseline is not None:
        for e, new in zip(extra, triage.baseline.is_new(scorer.engine, look), strict=True):
            e["new"] = new
    rows = [
        (first + i, float(probs[i]), lines[i].decode("utf-8", "replace"), e)
        for i, e in zip(hits, extra, strict=True)
    ]
    if triage.only_new and triage.baseline is not None:
        rows = [r for r in rows if r[3]["new"]]
    if triage.why and rows:
        texts = [r[2] for r in rows]
        for r, why in zip(rows, scorer.engine.explain(texts, triage.why), strict=True):
            r[3]["why"] = why
    return rows


def follow(
    path: str,
    scorer: Any,
    on_rows: Callable[[Rows], Any],
    *,
    threshold: float | None = None,
    triage: Triage = NO_TRIAGE,
    poll_s: float = POLL_S,
    from_start: bool = False,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Follow ``path`` until ``stop()`` is true; ``on_rows`` gets each poll's LOOK rows
    ``(line, prob, text, triage fields)``. Returns the number of lines scored."""
    if triage.events:
        raise ValueError("--events cannot be used with --follow (an event's end is not known yet)")
    thr = pick_threshold(threshold, scorer.threshold)
    cap = int(scorer.max_line_bytes)
    cur: _Followed | None = None
    scored = 0
    at_end = not from_start
    try:
        while not stop():
            if cur is None:
                try:
                    cur = _Followed(path, at_end)
                except FileNotFoundError:
                    at_end = False  # a file created later is read from its start
                    time.sleep(poll_s)
                    continue
            data = cur.f.read(READ_BYTES)
            if data:
                buf = cur.pending + data
                cut = buf.rfind(b"\n") + 1
                cur.pending = buf[cut:]
                if cut:
                    lines, _ = split_lines(buf[:cut], cap)
                    first = cur.line + 1
                    rows = _rows(scorer, lines, first, thr, triage)
                    cur.line = first + len(lines) - 1
                    scored += len(lines)
                    if rows:
                        on_rows(rows)
                continue
            # Nothing new: rotated (another file under the name) or truncated?
            try:
                st = os.stat(path)
            except FileNotFoundError:
                time.sleep(poll_s)
                continue
            if (st.st_dev, st.st_ino) != cur.ident:
                cur.close()
                cur, at_end = None, False
                continue
            if st.st_size < cur.f.tell():
                cur.f.seek(0)
                cur.line, cur.pending = 0, b""
                continue
            time.sleep(poll_s)
    finally:
        if cur is not None:
            cur.close()
    return scored
