"""The report's triage section per file: new LOOK rows, whole events, why, LOOK times.

Kept apart from :mod:`lookskip.bulk.report` (which calls :func:`triage_html` once per
file) so each can change without touching the other.

LOOK times come from the run's aggregates (:mod:`lookskip.bulk.patterns`): the
timestamp a LOOK line starts with is found with the events rule's ``timestamp``
pattern (:mod:`lookskip.classify.events`) in its first ``head_bytes`` bytes and shown
as written (no time zone is guessed). Every format that rule knows is read by
:func:`parse_time` (syslog, ISO 8601 also inside ``time="…"`` as dockerd writes it,
``yy/mm/dd``, access logs, Android, HDFS, HealthApp, epoch seconds, a bare
``hh:mm:ss``), so a chart counts LOOK lines along *time* beside the line-number
density chart: a burst of errors in one minute of a long quiet log shows as a spike,
on an axis with labelled ticks. Formats without a year (syslog, Android) are read as
year 2000 and those without a date (``hh:mm:ss``) as seconds of a day, so only times
within one file are compared.

The tables of the first new / explained / event rows read the rows file's first rows
only (until each table is full, at most :data:`ROWS_READ` rows): never the whole file.
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
ROWS_READ = 50_000  # rows read at most for the tables of first rows
TIME_TICKS = 5
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


def time_svg(hist: dict[str, Any], width: int = 640, height: int = 150) -> str:
    """LOOK lines per time slice (``hist``: ``lo``/``hi`` seconds and ``bins`` counts),
    on a labelled time axis (ticks at even fractions of the span) and a count axis."""
    lo, hi, bins = hist["lo"], hist["hi"], hist["bins"]
    left, bottom, top_pad = 44, 34, 8
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max(max(bins), 1)
    bw = plot_w / len(bins)
    span = (hi - lo) / len(bins)
    y0 = top_pad + plot_h
    bars = "".join(
        f'<rect x="{left + i * bw:.2f}" y="{y0 - v / top * plot_h:.2f}" '
        f'width="{max(bw - 0.5, 0.5):.2f}" height="{v / top * plot_h:.2f}" fill="#8e44ad">'
        f"<title>{_when(lo + i * span)} – {_when(lo + (i + 1) * span)}: {v:,} LOOK</title></rect>"
        for i, v in enumerate(bins)
    )
    labels = [_when(lo + (hi - lo) * j / (TIME_TICKS - 1)) for j in range(TIME_TICKS)]
    day = labels[0][:10] if len(labels[0]) > 10 else ""
    if day and all(lb.startswith(day) for lb in labels):  # one day: the date once, below
        labels = [lb[11:] for lb in labels]
    else:
        day = ""
    ticks = []
    for j, label in enumerate(labels):
        x = left + plot_w * j / (TIME_TICKS - 1)
        anchor = "start" if j == 0 else "end" if j == TIME_TICKS - 1 else "middle"
        ticks.append(
            f'<line class="tick" x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 4}" stroke="#555"/>'
            f'<text class="tick" x="{x:.1f}" y="{y0 + 15}" font-size="10" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    yaxis = (
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{y0}" stroke="#555"/>'
        f'<text x="{left - 4}" y="{top_pad + 8}" font-size="10" text-anchor="end">{top:,}</text>'
        f'<text x="{left - 4}" y="{y0}" font-size="10" text-anchor="end">0</text>'
        f'<text x="10" y="{top_pad + plot_h / 2:.0f}" font-size="10" text-anchor="middle" '
        f'transform="rotate(-90 10 {top_pad + plot_h / 2:.0f})">LOOK lines</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="LOOK lines over time">'
        f'<line x1="{left}" y1="{y0}" x2="{left + plot_w}" y2="{y0}" stroke="#555"/>'
        f"{bars}{''.join(ticks)}{yaxis}"
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 2}" font-size="10" '
        f'text-anchor="middle">time{" on " + day if day else ""} (as written in the lines; '
        f"a slice is {_span(span)})</text></svg>"
    )


def _span(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


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


def _first_rows(url: str) -> dict[str, Any]:
    """The first rows of each kind (new, events, why), reading only until each list
    is full or :data:`ROWS_READ` rows were read."""
    out: dict[str, Any] = {"new": [], "events": [], "why": []}
    with storage.open_file(url, "rb") as f:
        for i, raw in enumerate(f):
            if i >= ROWS_READ or (
                len(out["new"]) >= SHOWN
                and len(out["events"]) >= EVENTS_SHOWN
                and len(out["why"]) >= SHOWN
            ):
                break
            if not raw.strip():
                continue
            row = json.loads(raw)
            if row.get("new") and len(out["new"]) < SHOWN:
                out["new"].append(row)
            if row.get("event") and len(out["events"]) < EVENTS_SHOWN:
                out["events"].append(row)
            if row.get("why") and len(out["why"]) < SHOWN:
                out["why"].append(row)
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
    """The file's LOOK-time chart and triage section (empty when the run asked for no
    triage and no LOOK line holds a time)."""
    esc = html.escape
    run = summary.get("run", {})
    agg = f.get("patterns") or {}
    parts = []
    if agg.get("times"):
        parts.append("<h3>LOOK lines over time</h3><div class='timechart'>")
        parts.append(time_svg(agg["times"]) + "</div>")
    first, last = agg.get("first_time"), agg.get("last_time")
    if first or last:
        parts.append(
            "<p>LOOK time: first "
            + (f"{esc(first[1])} (line {first[0]:,})" if first else "—")
            + " · last "
            + (f"{esc(last[1])} (line {last[0]:,})" if last else "—")
            + "</p>"
        )
    url = storage.join(output_dir, f["output"]) if f.get("output") else None
    wants_rows = run.get("baseline_keys") is not None or run.get("events") or run.get("why")
    if not wants_rows or not url or not f.get("written") or not storage.exists(url):
        return "".join(parts)
    seen = _first_rows(url)
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
