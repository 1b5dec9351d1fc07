"""Human output: ``report.html`` (self-contained) and the ``file:line:prob:text`` printer.

Per file the report shows where the LOOK lines are (density along the file, an
inline SVG drawn from the summary's density bins) and which kinds of LOOK lines
dominate: lines grouped by their template key (:func:`lookskip.model.key.template_key`,
the key the model scores; whitespace runs are squeezed in it, so lines that differ
only in spacing are one pattern), counted, each expandable to a few example lines
with their line numbers. A key is shown message first: its leading header fields
(timestamp, host, pid: cut where :func:`lookskip.transformer.inputs.drop_header`
cuts) are dimmed and can be hidden, and the full key is the cell's tooltip. The
files table sorts by any column (a few lines of inline script; the page works
without it). No external assets: it opens anywhere, offline.

Keying costs ~30 µs a line in Python (~0.3 µs through the Rust extension), so for a
file with many LOOK lines
the patterns are counted on an even sample of its rows and the counts scaled up
(marked ``≈``); the totals and the density always cover every line.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from typing import IO, Any

from lookskip import storage
from lookskip.bulk.report_triage import triage_html
from lookskip.classify.rows import text_row
from lookskip.model.key import template_keys
from lookskip.transformer.inputs import split_key_header

REPORT_NAME = "report.html"
PATTERN_SAMPLE = 5_000  # rows keyed per file at most
PATTERN_BUDGET = 30_000  # ... and over the whole report (many files: fewer per file)
TOP_PATTERNS = 15
EXAMPLE_CHARS = 300
EXAMPLES_PER_PATTERN = 3


def _rows(url: str, step: int = 1) -> Any:
    with storage.open_file(url, "rb") as f:
        for i, raw in enumerate(f):
            if i % step == 0 and raw.strip():
                yield json.loads(raw)


def top_patterns(
    url: str,
    written: int,
    top: int = TOP_PATTERNS,
    sample: int = PATTERN_SAMPLE,
    examples: int = EXAMPLES_PER_PATTERN,
) -> tuple[list[dict[str, Any]], int]:
    """Most frequent template keys of an output file's LOOK lines, and the sampling step.

    Each pattern: ``pattern`` (the key), ``header``/``message`` (the key cut by
    :func:`~lookskip.transformer.inputs.split_key_header`), ``count`` (scaled by the
    step), ``example`` (the first line's text) and ``examples``: up to ``examples``
    ``(line number, text)`` of its lines, in file order.
    """
    step = max(1, -(-written // sample))
    counts: Counter[str] = Counter()
    seen: dict[str, list[tuple[int, str]]] = {}
    rows = [(int(row["line"]), row["text"]) for row in _rows(url, step)]
    for key, (line, text) in zip(template_keys([t for _, t in rows]), rows, strict=True):
        counts[key] += 1
        kept = seen.setdefault(key, [])
        if len(kept) < examples:
            kept.append((line, text))
    out = []
    for k, c in counts.most_common(top):
        header, message = split_key_header(k)
        out.append(
            {
                "pattern": k,
                "header": header,
                "message": message,
                "count": c * step,
                "example": seen[k][0][1],
                "examples": seen[k],
            }
        )
    return out, step


def density_svg(density: list[float], width: int = 640, height: int = 120) -> str:
    """Bars of LOOK share along the file (x: position in the file, y: share 0..max)."""
    if not density:
        return "<p><em>no lines</em></p>"
    top = max(max(density), 1e-9)
    n = len(density)
    bw = width / n
    bars = []
    for i, v in enumerate(density):
        h = (v / top) * (height - 20)
        bars.append(
            f'<rect x="{i * bw:.2f}" y="{height - 15 - h:.2f}" width="{max(bw - 0.5, 0.5):.2f}" '
            f'height="{h:.2f}" fill="#c0392b"><title>{i * 100 / n:.0f}–{(i + 1) * 100 / n:.0f}% '
            f"of the file: {v:.1%} LOOK</title></rect>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="LOOK density">'
        f'<line x1="0" y1="{height - 15}" x2="{width}" y2="{height - 15}" stroke="#999"/>'
        + "".join(bars)
        + f'<text x="0" y="{height - 2}" font-size="10">start</text>'
        f'<text x="{width}" y="{height - 2}" font-size="10" text-anchor="end">end</text>'
        f'<text x="2" y="10" font-size="10">max {top:.1%} LOOK</text></svg>'
    )


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;
font-size:13px;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:12px;word-break:break-all}.err{color:#b00}section{margin-bottom:2.5em}
th button{all:unset;cursor:pointer}th button::after{content:" \\2195";color:#999}
th[aria-sort=ascending] button::after{content:" \\2191";color:#222}
th[aria-sort=descending] button::after{content:" \\2193";color:#222}
.hdr{color:#999}.hide-hdr .hdr{display:none}.msg{color:#111}
details summary{cursor:pointer}details ol{margin:.3em 0 .3em 0;padding-left:1.2em}
details li{list-style:none}.ln{color:#777;display:inline-block;min-width:5em}
.empty{padding:1em;background:#f6f8fa;border:1px solid #ddd;border-radius:4px}
.density svg{max-width:100%;height:auto}"""

# Sort the files table by a column (click a header); numbers sort by data-v. Plain DOM,
# no library: the report must open offline.
_JS = """document.querySelectorAll('table.sortable').forEach(function(t){
t.querySelectorAll('th[data-col]').forEach(function(th){
th.querySelector('button').addEventListener('click',function(){
var col=+th.dataset.col,desc=th.getAttribute('aria-sort')!=='descending';
t.querySelectorAll('th[data-col]').forEach(function(o){o.removeAttribute('aria-sort')});
th.setAttribute('aria-sort',desc?'descending':'ascending');
var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=a.cells[col].dataset.v,y=b.cells[col].dataset.v;
var c=(th.dataset.type==='num')?(+x)-(+y):String(x).localeCompare(String(y));
return desc?-c:c;});rows.forEach(function(r){body.appendChild(r)});});});});
var h=document.getElementById('hide-hdr');if(h){h.addEventListener('change',function(){
document.body.classList.toggle('hide-hdr',h.checked)});}"""


def _files_table(summary: dict[str, Any]) -> str:
    """The files, sortable by name, lines, LOOK count and share (click a header)."""
    esc = html.escape
    cols = [("file", "text"), ("lines", "num"), ("LOOK", "num"), ("share", "num")]
    head = "".join(
        f"<th data-col='{i}' data-type='{kind}'><button type='button'>{name}</button></th>"
        for i, (name, kind) in enumerate(cols)
    )
    rows = []
    for i, f in enumerate(summary["files"]):
        err = "; ".join(f["errors"])
        rows.append(
            f"<tr><td data-v='{esc(f['file'])}'><a href='#f{i}'>{esc(f['file'])}</a></td>"
            f"<td class='n' data-v='{f['lines']}'>{f['lines']:,}</td>"
            f"<td class='n' data-v='{f['look']}'>{f['look']:,}</td>"
            f"<td class='n' data-v='{f['look_share']:.6f}'>{f['look_share']:.2%}</td>"
            f"<td class='err'>{esc(err)}</td></tr>"
        )
    return (
        f"<table class='sortable' id='files'><thead><tr>{head}<th>error</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _patterns_table(patterns: list[dict[str, Any]], approx: str) -> str:
    """One row per pattern: count, the key message-first (header dimmed, full key on
    hover), and its example lines (with line numbers) behind a disclosure."""
    esc = html.escape
    rows = []
    for p in patterns:
        header = (
            f"<span class='hdr'>{esc(p['header'][:EXAMPLE_CHARS])} </span>" if p["header"] else ""
        )
        message = esc(p["message"][:EXAMPLE_CHARS])
        examples = "".join(
            f"<li><span class='ln'>line {n:,}</span> <code>{esc(t[:EXAMPLE_CHARS])}</code></li>"
            for n, t in p["examples"]
        )
        rows.append(
            f"<tr><td class='n'>{approx}{p['count']:,}</td>"
            f"<td title='{esc(p['pattern'])}'><details><summary><code>{header}"
            f"<span class='msg'>{message}</span></code></summary><ol>{examples}</ol>"
            "</details></td></tr>"
        )
    return (
        "<table class='patterns'><thead><tr><th>count</th><th>pattern (click for example "
        f"lines)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _empty_state(t: dict[str, Any]) -> str:
    """What the report says when there is nothing to read, instead of empty tables."""
    if not t["files"]:
        return "<p class='empty'>No input files were found, so nothing was classified.</p>"
    if not t["files_ok"]:
        return "<p class='empty'>No file could be classified: the errors are listed below.</p>"
    if not t["look"]:
        return (
            f"<p class='empty'>No LOOK lines: the classifier found nothing worth reading in "
            f"these {t['lines']:,} lines.</p>"
        )
    return ""


def _file_section(
    i: int, f: dict[str, Any], output_dir: str, sample: int, summary: dict[str, Any]
) -> str:
    esc = html.escape
    parts = [f"<section id='f{i}'><h2>{esc(f['file'])}</h2>"]
    if f["errors"]:
        parts.append(f"<p class='err'>not classified: {esc('; '.join(f['errors']))}</p></section>")
        return "".join(parts)
    parts.append(
        f"<p>{f['lines']:,} lines · {f['look']:,} LOOK ({f['look_share']:.2%}) · "
        f"{f['bytes']:,} bytes · {f['lines_per_s']:,.0f} lines/s</p>"
    )
    parts.append(
        "<h3>LOOK density along the file</h3><div class='density'>"
        + density_svg(f.get("density", []))
        + "</div>"
    )
    url = storage.join(output_dir, f["output"]) if f.get("output") else None
    if not f["look"]:
        parts.append("<p class='empty'>No LOOK lines in this file.</p>")
    elif url and f["written"] and storage.exists(url):
        patterns, step = top_patterns(url, f["written"], sample=sample)
        approx = "≈" if step > 1 else ""
        note = f" (counted on every {step}th of {f['written']:,} LOOK lines)" if step > 1 else ""
        parts.append(f"<h3>Most frequent LOOK patterns{note}</h3>")
        parts.append(_patterns_table(patterns, approx))
    parts.append(triage_html(summary, f, output_dir))
    parts.append("</section>")
    return "".join(parts)


def render_report(summary: dict[str, Any], output_dir: str) -> str:
    t = summary["totals"]
    sample = max(500, min(PATTERN_SAMPLE, PATTERN_BUDGET // max(1, t.get("files_ok", 1))))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>lookskip report</title><style>{_CSS}</style></head><body>"
        "<h1>lookskip report</h1>",
        f"<p>{t['files_ok']} of {t['files']} files classified · {t['lines']:,} lines · "
        f"{t['look']:,} LOOK ({t['look_share']:.2%}) · {t['seconds']:.2f} s "
        f"({t['lines_per_s']:,.0f} lines/s)</p>",
        _empty_state(t),
    ]
    if summary["files"]:
        parts.append(_files_table(summary))
    if t["look"]:
        parts.append(
            "<p><label><input type='checkbox' id='hide-hdr'> hide the header fields "
            "(timestamp, host, pid) of patterns</label></p>"
        )
    for i, f in enumerate(summary["files"]):
        parts.append(_file_section(i, f, output_dir, sample, summary))
    parts.append(f"<script>{_JS}</script></body></html>\n")
    return "".join(parts)


def write_report(summary: dict[str, Any], output_dir: str) -> str:
    url = storage.join(output_dir, REPORT_NAME)
    storage.write_text(url, render_report(summary, output_dir))
    return url


def print_text(summary: dict[str, Any], output_dir: str, stream: IO[str]) -> int:
    """``file:line:prob:text`` for every written LOOK line, file by file, in line order."""
    n = 0
    for f in summary["files"]:
        if f["errors"] or not f.get("output"):
            continue
        for row in _rows(storage.join(output_dir, f["output"])):
            stream.write(text_row(row["file"], row["line"], row["prob"], row["text"], row))
            n += 1
    return n
