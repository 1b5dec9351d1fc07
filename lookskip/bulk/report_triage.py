"""The report's triage section per file: new LOOK rows, whole events, why, LOOK times.

Kept apart from :mod:`lookskip.bulk.report` (which calls :func:`triage_html` once per
file) so each can change without touching the other. Everything here reads the
file's ``.look.jsonl`` rows once, keeping at most :data:`SHOWN` of each kind.

LOOK times are the timestamps of the first and last LOOK rows, found with the
events rule's ``timestamp`` pattern (:mod:`lookskip.classify.events`) in the row's
first ``head_bytes`` bytes and shown as written (no time zone is guessed). When
rows carry timestamps that :func:`parse_time` reads, a second chart counts LOOK rows
along *time* (first to last LOOK time) beside the line-number density chart: a
burst of errors in one minute of a long quiet log shows as a spike there. Formats
without a year (syslog, Android) are read as year 2000 and those without a date
(``hh:mm:ss``) as seconds of a day, so only times within one file are compared.
"""

from __future__ import annotations

import datetime as dt
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
_SECONDS = re.compile(r":\d\d(?![\d:])")
TIME_SAMPLE = 20_000  # rows whose time is read for the time chart, at most
TIME_BINS = 64
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    )
}
# (pattern, how to read its groups) for the formats the timestamp rule finds
_PARSERS: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"^(\d{4})[-/](\d\d)[-/](\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?"),
        lambda g: (int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5] or 0)),
    ),
    (
        re.compile(r"^(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)"),
        lambda g: (2000 + int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5])),
    ),
    (
        re.compile(r"^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)"),
        lambda g: (2000, _MONTHS[g[0]], int(g[1]), int(g[2]), int(g[3]), int(g[4])),
    ),
    (
        re.compile(r"^(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d)(?::(\d\d))?"),
        lambda g: (int(g[2]), _MONTHS[g[1]], int(g[0]), int(g[3]), int(g[4]), int(g[5] or 0)),
    ),
    (
        re.compile(r"^(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)"),
        lambda g: (2000, int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4])),
    ),
    (
        re.compile(r"^(\d\d)(\d\d)(\d\d) (\d\d)(\d\d)(\d\d)"),
        lambda g: (2000 + int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5])),
    ),
    (
        re.compile(r"^(\d{4})(\d\d)(\d\d)-(\d\d):(\d\d):(\d\d)"),
        lambda g: (int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5])),
    ),
]


def parse_time(stamp: str) -> float | None:
    """Seconds (a UTC reading of the stamp as written) of a timestamp ``look_time``
    found, or None for one it cannot read."""
    if re.fullmatch(r"1\d{9}(?:\.\d+)?", stamp):
        return float(stamp)
    for rx, fields in _PARSERS:
        if m := rx.match(stamp):
            try:
                t = dt.datetime(*fields(m.groups()), tzinfo=dt.UTC)
            except (ValueError, KeyError):
                return None
            return t.timestamp()
    if m := re.fullmatch(r"(\d\d):(\d\d):(\d\d)", stamp):
        return float(int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]))
    return None


def time_svg(times: list[float], step: int, width: int = 640, height: int = 120) -> str:
    """LOOK rows per time slice, first to last LOOK time (``step``: rows per sample)."""
    lo, hi = min(times), max(times)
    span = max(hi - lo, 1e-9)
    bins = [0] * TIME_BINS
    for t in times:
        bins[min(TIME_BINS - 1, int((t - lo) / span * TIME_BINS))] += step
    top = max(bins)
    bw = width / TIME_BINS
    bars = "".join(
        f'<rect x="{i * bw:.2f}" y="{height - 15 - v / top * (height - 20):.2f}" '
        f'width="{bw - 0.5:.2f}" height="{v / top * (height - 20):.2f}" fill="#8e44ad">'
        f"<title>{_when(lo + i * span / TIME_BINS)}: {v:,} LOOK</title></rect>"
        for i, v in enumerate(bins)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="LOOK rows over time">'
        f'<line x1="0" y1="{height - 15}" x2="{width}" y2="{height - 15}" stroke="#999"/>'
        f'{bars}<text x="0" y="{height - 2}" font-size="10">{_when(lo)}</text>'
        f'<text x="{width}" y="{height - 2}" font-size="10" text-anchor="end">{_when(hi)}'
        f'</text><text x="2" y="10" font-size="10">max {top:,} LOOK a slice</text></svg>'
    )


def _when(t: float) -> str:
    if t < 86_400:  # a time of day without a date
        return f"{int(t) // 3600:02d}:{int(t) % 3600 // 60:02d}:{int(t) % 60:02d}"
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def look_time(text: str) -> str | None:
    """The timestamp a row's line starts with, as written, or None."""
    m = _TIMESTAMP.search(text[: EVENT_RULE["head_bytes"]])
    if not m:
        return None
    seconds = _SECONDS.match(text, m.end())  # the rule stops at minutes for some formats
    return text[m.start() : seconds.end() if seconds else m.end()]


def _scan(url: str, written: int) -> dict[str, Any]:
    """One pass over the rows: the first rows of each kind, first and last times, and
    the times of an even sample of rows (every ``step``-th)."""
    out: dict[str, Any] = {"new": [], "events": [], "why": [], "first": None, "last": None}
    step = max(1, -(-written // TIME_SAMPLE))
    times: list[float] = []
    last_raw = None
    with storage.open_file(url, "rb") as f:
        for i, raw in enumerate(f):
            if not raw.strip():
                continue
            last_raw = raw
            if i % step == 0:
                row = json.loads(raw)
                stamp = look_time(row["text"])
                if stamp:
                    out["last"] = (row["line"], stamp)
                    if (t := parse_time(stamp)) is not None:
                        times.append(t)
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
    out["times"], out["step"] = times, step
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
    seen = _scan(url, f["written"])
    parts = []
    if len(seen["times"]) >= 2 and max(seen["times"]) > min(seen["times"]):
        note = f" (every {seen['step']}th row)" if seen["step"] > 1 else ""
        parts.append(f"<h3>LOOK rows over time{note}</h3>" + time_svg(seen["times"], seen["step"]))
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
