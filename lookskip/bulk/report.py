"""Human output: ``report.html`` (self-contained) and the ``file:line:prob:text`` printer.

Per file the report shows where the LOOK lines are (density along the file, an
inline SVG drawn from the summary's density bins: no scripts, no external assets,
so it opens anywhere, offline) and which kinds of LOOK lines dominate (lines grouped
by their template key, :func:`lookskip.model.key.template_key`, the key the model
scores: counted, one example).

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

REPORT_NAME = "report.html"
PATTERN_SAMPLE = 5_000  # rows keyed per file at most
PATTERN_BUDGET = 30_000  # ... and over the whole report (many files: fewer per file)
TOP_PATTERNS = 15
EXAMPLE_CHARS = 300


def _rows(url: str, step: int = 1) -> Any:
    with storage.open_file(url, "rb") as f:
        for i, raw in enumerate(f):
            if i % step == 0 and raw.strip():
                yield json.loads(raw)


def top_patterns(
    url: str, written: int, top: int = TOP_PATTERNS, sample: int = PATTERN_SAMPLE
) -> tuple[list[dict[str, Any]], int]:
    """Most frequent template keys of an output file's LOOK lines, and the sampling step."""
    step = max(1, -(-written // sample))
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    texts = [row["text"] for row in _rows(url, step)]
    for key, text in zip(template_keys(texts), texts, strict=True):
        counts[key] += 1
        examples.setdefault(key, text)
    return [
        {"pattern": k, "count": c * step, "example": examples[k]}
        for k, c in counts.most_common(top)
    ], step


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


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;
font-size:13px;text-align:left;vertical-align:top}th{background:#f4f4f4}
code{font-size:12px;word-break:break-all}.err{color:#b00}section{margin-bottom:2.5em}"""


def render_report(summary: dict[str, Any], output_dir: str) -> str:
    t = summary["totals"]
    esc = html.escape
    sample = max(500, min(PATTERN_SAMPLE, PATTERN_BUDGET // max(1, t.get("files_ok", 1))))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>lookskip report</title>"
        f"<style>{_CSS}</style></head><body><h1>lookskip report</h1>",
        f"<p>{t['files_ok']} of {t['files']} files classified · {t['lines']:,} lines · "
        f"{t['look']:,} LOOK ({t['look_share']:.2%}) · {t['seconds']:.2f} s "
        f"({t['lines_per_s']:,.0f} lines/s)</p>",
        "<table><tr><th>file</th><th>lines</th><th>LOOK</th><th>share</th><th>error</th></tr>",
    ]
    for i, f in enumerate(summary["files"]):
        err = "; ".join(f["errors"])
        parts.append(
            f"<tr><td><a href='#f{i}'>{esc(f['file'])}</a></td><td>{f['lines']:,}</td>"
            f"<td>{f['look']:,}</td><td>{f['look_share']:.2%}</td>"
            f"<td class='err'>{esc(err)}</td></tr>"
        )
    parts.append("</table>")
    for i, f in enumerate(summary["files"]):
        parts.append(f"<section id='f{i}'><h2>{esc(f['file'])}</h2>")
        if f["errors"]:
            parts.append(
                f"<p class='err'>not classified: {esc('; '.join(f['errors']))}</p></section>"
            )
            continue
        parts.append(
            f"<p>{f['lines']:,} lines · {f['look']:,} LOOK ({f['look_share']:.2%}) · "
            f"{f['bytes']:,} bytes · {f['lines_per_s']:,.0f} lines/s</p>"
        )
        parts.append("<h3>LOOK density along the file</h3>" + density_svg(f.get("density", [])))
        url = storage.join(output_dir, f["output"]) if f.get("output") else None
        if url and f["written"] and storage.exists(url):
            patterns, step = top_patterns(url, f["written"], sample=sample)
            approx = "≈" if step > 1 else ""
            note = (
                f" (counted on every {step}th of {f['written']:,} LOOK lines)" if step > 1 else ""
            )
            parts.append(
                f"<h3>Most frequent LOOK patterns{note}</h3><table>"
                "<tr><th>count</th><th>pattern</th><th>example</th></tr>"
            )
            for p in patterns:
                parts.append(
                    f"<tr><td>{approx}{p['count']:,}</td><td><code>"
                    f"{esc(p['pattern'][:EXAMPLE_CHARS])}</code></td>"
                    f"<td><code>{esc(p['example'][:EXAMPLE_CHARS])}</code></td></tr>"
                )
            parts.append("</table>")
        parts.append(triage_html(summary, f, output_dir))
        parts.append("</section>")
    parts.append("</body></html>\n")
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
