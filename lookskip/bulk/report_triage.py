"""The report's triage section per file: new LOOK rows, whole events, why, LOOK times.

Kept apart from :mod:`lookskip.bulk.report` (which calls :func:`triage_html` once per
file) so each can change without touching the other. Everything here reads the
file's ``.look.jsonl`` rows once, keeping at most :data:`SHOWN` of each kind.

LOOK times are the timestamps of the first and last LOOK rows, found with the
events rule's ``timestamp`` pattern (:mod:`lookskip.classify.events`) in the row's
first ``head_bytes`` bytes and shown as written (no time zone is guessed).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from lookskip import storage
from lookskip.classify.events import EVENT_RULE
from lookskip.classify.rows import format_why

SHOWN = 20  # rows of each kind listed per file
EVENTS_SHOWN = 10
TEXT_CHARS = 300
_TIMESTAMP = re.compile(EVENT_RULE["timestamp"], re.ASCII)


def look_time(text: str) -> str | None:
    """The timestamp a row's line starts with, as written, or None."""
    m = _TIMESTAMP.search(text[: EVENT_RULE["head_bytes"]])
    return m.group(0) if m else None


def _scan(url: str) -> dict[str, Any]:
    """One pass over the rows: the first rows of each kind, first and last times."""
    out: dict[str, Any] = {"new": [], "events": [], "why": [], "first": None, "last": None}
    last_raw = None
    with storage.open_file(url, "rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            last_raw = raw
            need = (
                out["first"] is None
                or len(out["new"]) < SHOWN
                or len(out["events"]) < EVENTS_SHOWN
                or len(out["why"]) < SHOWN
            )
            if not need:
                continue
            row = json.loads(raw)
            if out["first"] is None and (t := look_time(row["text"])):
                out["first"] = (row["line"], t)
            if row.get("new") and len(out["new"]) < SHOWN:
                out["new"].append(row)
            if row.get("event") and len(out["events"]) < EVENTS_SHOWN:
                out["events"].append(row)
            if row.get("why") and len(out["why"]) < SHOWN:
                out["why"].append(row)
    if last_raw is not None:
        row = json.loads(last_raw)
        if t := look_time(row["text"]):
            out["last"] = (row["line"], t)
    return out


def _rows_table(title: str, rows: list[dict[str, Any]]) -> str:
    esc = html.escape
    parts = [f"<h3>{title}</h3><table><tr><th>line</th><th>prob</th><th>why</th><th>text</th></tr>"]
    for r in rows:
        why = format_why(r["why"]) if r.get("why") else ""
        parts.append(
            f"<tr><td>{r['line']:,}</td><td>{r['prob']:.3f}</td><td><code>{esc(why)}</code></td>"
            f"<td><code>{esc(r['text'][:TEXT_CHARS])}</code></td></tr>"
        )
    return "".join(parts) + "</table>"


def triage_html(summary: dict[str, Any], f: dict[str, Any], output_dir: str) -> str:
    """The file's triage section (empty when the run asked for none and rows hold no time)."""
    esc = html.escape
    url = storage.join(output_dir, f["output"]) if f.get("output") else None
    if not url or not f.get("written") or not storage.exists(url):
        return ""
    run = summary.get("run", {})
    seen = _scan(url)
    parts = []
    if seen["first"] or seen["last"]:
        first, last = seen["first"], seen["last"]
        parts.append(
            "<p>LOOK time: first "
            + (f"{esc(first[1])} (line {first[0]:,})" if first else "—")
            + " · last "
            + (f"{esc(last[1])} (line {last[0]:,})" if last else "—")
            + "</p>"
        )
    if run.get("baseline_keys") is not None:
        parts.append(
            f"<p><strong>{f.get('look_new', 0):,} new LOOK</strong> rows (template key "
            f"absent from the baseline of {run['baseline_keys']:,} keys)</p>"
        )
        if seen["new"]:
            parts.append(
                _rows_table(f"First new LOOK rows (of {f.get('look_new', 0):,})", seen["new"])
            )
    elif seen["why"]:
        parts.append(_rows_table("First LOOK rows, and why", seen["why"]))
    if run.get("events"):
        parts.append(f"<p>{f.get('look_events', 0):,} LOOK events</p>")
        if seen["events"]:
            parts.append("<h3>First multi-line LOOK events</h3>")
            for r in seen["events"]:
                parts.append(
                    f"<details><summary>lines {r['line']:,}–{r['event_end']:,}: "
                    f"<code>{esc(r['text'][:TEXT_CHARS])}</code></summary>"
                    f"<pre>{esc(r['event'])}</pre></details>"
                )
    return "".join(parts)
