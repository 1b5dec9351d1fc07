"""Human output: ``report.html`` (self-contained) and the ``file:line:prob:text`` printer.

The report is built from the run's aggregates (``summary.json``: per file, the
per-key counts, scores, first/last lines and times, and example lines with their
context, collected while the lines were scored: :mod:`lookskip.bulk.patterns`); it
never re-reads the rows files for them.

"Patterns" is one table across all files: a row per template (the LOOK keys of every
file grouped as the ask-Claude survey groups them), with its level word, score,
lines, files (per-file counts on expand) and first-seen time; sorted by score, then
rarest first (:func:`lookskip.bulk.patterns.pattern_rows`). The first
:data:`TOP_PATTERNS` rows show, the rest behind "N more"; each row expands to up to
three example lines, each with the lines around it. A template is shown message
first: its leading header fields (timestamp, host, pid: cut where
:func:`lookskip.transformer.inputs.drop_header` cuts) are dimmed and can be hidden.
Per file: the LOOK density along the file (from the summary's density bins), LOOK
over time (when its lines carry a timestamp the events rule knows), the same table
for that file's keys, and the triage rows. The files table sorts by any column (a few
lines of inline script; the page works without it). No external assets: it opens
anywhere, offline.
"""

from __future__ import annotations

import html
import json
from typing import IO, Any

from lookskip import storage
from lookskip.bulk.patterns import CONTEXT, MAX_KEYS, PatternRow, file_patterns, pattern_rows
from lookskip.bulk.report_triage import triage_html
from lookskip.classify.rows import text_row
from lookskip.transformer.inputs import split_key_header

REPORT_NAME = "report.html"
TOP_PATTERNS = 15  # rows shown before "N more"
MAX_ROWS = 5_000  # rows listed at most (the report stays a page a browser opens)
EXAMPLE_CHARS = 300


def _rows(url: str) -> Any:
    with storage.open_file(url, "rb") as f:
        for raw in f:
            if raw.strip():
                yield json.loads(raw)


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
.density svg,.timechart svg{max-width:100%;height:auto}.note{color:#666;font-size:13px}
pre.ctx{margin:.2em 0;padding:.3em;background:#f6f8fa;font-size:12px;white-space:pre-wrap;
word-break:break-all}pre.ctx .cl{display:block;color:#666}pre.ctx .hit{color:#000;
background:#fde2e1;font-weight:600}.where{font-size:12px;color:#555}
ol.examples{padding-left:0}details.more>summary{margin:.4em 0;font-weight:600}
details.files ul{margin:.2em 0;padding-left:1em;text-align:left;white-space:nowrap}"""

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


def _example_html(name: str | None, e: dict[str, Any]) -> str:
    """An example line with the lines around it (numbered; the LOOK line marked)."""
    esc = html.escape
    n = e["line"]
    before, after = e["before"], e["after"]
    lines = [(n - len(before) + i, t, "") for i, t in enumerate(before)]
    lines += [(n, e["text"], " hit")] + [(n + 1 + i, t, "") for i, t in enumerate(after)]
    body = "".join(
        f"<span class='cl{cls}'><span class='ln'>{m:,}</span>{esc(t[:EXAMPLE_CHARS])}</span>"
        for m, t, cls in lines
    )
    where = f"{esc(name)}:{n:,}" if name else f"line {n:,}"
    return f"<li><div class='where'>{where}</div><pre class='ctx'>{body}</pre></li>"


def _pattern_row(r: PatternRow, files: bool) -> str:
    esc = html.escape
    header, message = split_key_header(r.template)
    hdr = f"<span class='hdr'>{esc(header[:EXAMPLE_CHARS])} </span>" if header else ""
    examples = "".join(_example_html(name if files else None, e) for name, e in r.examples)
    cells = [
        f"<td>{esc(r.level or '')}</td>",
        f"<td class='n' data-v='{r.score:.6f}'>{r.score:.3f}</td>",
        f"<td class='n' data-v='{r.count}'>{r.count:,}</td>",
    ]
    if files:
        per_file = "".join(f"<li>{esc(name)}: {c:,}</li>" for name, c in r.files.items())
        cells.append(
            f"<td class='n' data-v='{len(r.files)}'><details class='files'><summary>"
            f"{len(r.files):,}</summary><ul>{per_file}</ul></details></td>"
        )
    cells.append(f"<td>{esc(r.first_seen)}</td>")
    keys = f" · {len(r.keys):,} keys" if len(r.keys) > 1 else ""
    cells.append(
        f"<td title='{esc(r.template)}'><details class='pattern'><summary><code>{hdr}"
        f"<span class='msg'>{esc(message[:EXAMPLE_CHARS])}</span></code></summary>"
        f"<p class='note'>examples, with {CONTEXT} lines of context{keys}</p>"
        f"<ol class='examples'>{examples}</ol></details></td>"
    )
    return f"<tr class='pattern'>{''.join(cells)}</tr>"


def patterns_table(rows: list[PatternRow], files: bool = True, top: int = TOP_PATTERNS) -> str:
    """Templates of LOOK lines, in ``rows`` order: the first ``top`` shown, the rest
    behind an "N more" disclosure (every row reachable). ``files``: a column of
    per-file counts (the cross-file table)."""
    head = "<th>level</th><th>score</th><th>lines</th>"
    head += "<th>files</th>" if files else ""
    head += "<th>first seen</th><th>pattern (click for example lines in context)</th>"
    shown = rows[:MAX_ROWS]

    def table(part: list[PatternRow]) -> str:
        body = "".join(_pattern_row(r, files) for r in part)
        return (
            f"<table class='patterns'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    out = table(shown[:top])
    if len(shown) > top:
        out += (
            f"<details class='more'><summary>{len(shown) - top:,} more patterns</summary>"
            f"{table(shown[top:])}</details>"
        )
    if len(rows) > len(shown):
        rest = sum(r.count for r in rows[len(shown) :])
        out += (
            f"<p class='note'>{len(rows) - len(shown):,} further patterns ({rest:,} lines, "
            "lower scores) not listed.</p>"
        )
    return out


def _other_note(aggs: list[dict[str, Any] | None]) -> str:
    other = sum((a or {}).get("other", 0) for a in aggs)
    if not other:
        return ""
    return (
        f"<p class='note'>{other:,} LOOK lines of further distinct keys are counted but "
        f"not listed (at most {MAX_KEYS:,} keys are kept per file).</p>"
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
    i: int, f: dict[str, Any], output_dir: str, summary: dict[str, Any], single: bool = False
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
    agg = f.get("patterns")
    if not f["look"]:
        parts.append("<p class='empty'>No LOOK lines in this file.</p>")
    elif agg and single:
        parts.append("<p>Its LOOK patterns: <a href='#patterns'>Patterns</a>, above.</p>")
    elif agg:
        parts.append("<h3>LOOK patterns in this file</h3>")
        parts.append(patterns_table(pattern_rows([(f["file"], agg)]), files=False))
        parts.append(_other_note([agg]))
    parts.append(triage_html(summary, f, output_dir))
    parts.append("</section>")
    return "".join(parts)


def render_report(
    summary: dict[str, Any], output_dir: str, rows: list[PatternRow] | None = None
) -> str:
    """The page; ``rows``: the run's templates, when already grouped (``finish_run``)."""
    t = summary["totals"]
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
        files = file_patterns(summary)
        rows = pattern_rows(files) if rows is None else rows
        parts.append(
            "<p><label><input type='checkbox' id='hide-hdr'> hide the header fields "
            "(timestamp, host, pid) of patterns</label></p>"
            "<section id='patterns'><h2>Patterns</h2><p class='note'>LOOK lines of all "
            "files by template: highest score first, then the rarest (likeliest new).</p>"
            + patterns_table(rows)
            + _other_note([a for _, a in files])
            + "</section>"
        )
    single = t["files_ok"] == 1  # its patterns are the Patterns table above
    for i, f in enumerate(summary["files"]):
        parts.append(_file_section(i, f, output_dir, summary, single))
    parts.append(f"<script>{_JS}</script></body></html>\n")
    return "".join(parts)


def write_report(
    summary: dict[str, Any], output_dir: str, rows: list[PatternRow] | None = None
) -> str:
    url = storage.join(output_dir, REPORT_NAME)
    storage.write_text(url, render_report(summary, output_dir, rows))
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
