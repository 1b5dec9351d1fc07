"""``lookskip classify``: find the LOOK lines of log files with the exported model."""

from __future__ import annotations

import json
import sys

import click
from rich.markup import escape
from rich.table import Table

from cli.common import console, fail, user_errors


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--model", "model_path", default=None, metavar="PATH",
              help="Exported model file. Default: <data_dir>/models/look_skip_model.json.gz "
                   "(or LOOKSKIP_MODEL_PATH).")
@click.option("--threshold", type=float, default=None,
              help="LOOK iff p_look >= this. Default: the model's tuned threshold.")
@click.option("--max-look", type=click.IntRange(min=0), default=None, metavar="N",
              help="Keep at most N LOOK lines per file (all are still counted).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "text"]), default="jsonl",
              show_default=True, help="How LOOK lines are printed when there is no --output.")
@click.option("--output", "output_dir", default=None, metavar="DIR",
              help="Write <file>.look.jsonl per input and summary.json to DIR instead of "
                   "printing LOOK lines.")
@click.option("--threads", type=click.IntRange(min=0), default=None,
              help="Scoring threads; 0 = all cores. Default: LOOKSKIP_THREADS (0).")
@click.option("--max-line-bytes", type=click.IntRange(min=1), default=64 * 1024,
              show_default=True, help="Score only the first N bytes of longer lines "
                                      "(counted as truncated).")
@user_errors(RuntimeError)
def classify(files, model_path, threshold, max_look, fmt, output_dir, threads,
             max_line_bytes) -> None:
    """Classify every line of FILE... as LOOK or SKIP and report the LOOK lines.

    FILE may be plain text or gzip (detected by content); `-` reads stdin. Lines are
    scored by the Rust extension (lookskip_rs) on all cores; without it (or with
    LOOKSKIP_NO_RUST=1) the numpy reference scores them, identically but far slower.

    \b
    Examples:
      lookskip classify app.log                 LOOK lines as JSON lines on stdout
      lookskip classify --format text a.log b.log.gz
      zcat big.gz | lookskip classify - --output out/
    A file that cannot be read is reported and the others go on (exit status 1).
    """
    from lookskip.classify.local import (
        LocalClassifier,
        classify_paths,
        default_model_path,
        summarize,
    )
    from lookskip.settings import get_settings

    threads = get_settings().threads if threads is None else threads
    clf = LocalClassifier(model_path or default_model_path(), threads=threads,
                          max_line_bytes=max_line_bytes)
    if clf.backend != "rust":
        console.print(f"[yellow]warning:[/] Rust extension lookskip_rs {clf.fallback_reason}: "
                      "using the numpy reference scorer (same results, much slower)")

    def report(res) -> None:
        if res.error:
            console.print(f"[bold red]error:[/] {escape(res.error)}")
            return
        if output_dir is None:
            write_rows(res, fmt)
        console.print(f"{escape(res.path)}: {res.lines:,} lines, {res.look:,} LOOK"
                      + (f", {res.truncated:,} truncated" if res.truncated else "")
                      + f" ({res.seconds:.2f}s)")

    results = classify_paths(clf, files, threshold=threshold, max_look=max_look,
                             output_dir=output_dir, on_file=report)
    summary = summarize(clf, results, threshold, max_look)
    t = summary["totals"]
    if len(results) > 1 or output_dir:
        table = Table("files", "failed", "lines", "LOOK", "truncated", "seconds")
        table.add_row(str(t["files"]), str(t["failed"]), f"{t['lines']:,}", f"{t['look']:,}",
                      f"{t['truncated']:,}", f"{t['seconds']:.2f}")
        console.print(table)
    if output_dir:
        console.print(f"wrote {escape(output_dir)}/summary.json")
    if t["failed"]:
        fail(f"{t['failed']} of {t['files']} file(s) could not be classified")


def write_rows(res, fmt: str) -> None:
    w = sys.stdout.write
    for n, p, text in res.look_lines:
        if fmt == "jsonl":
            w(json.dumps({"file": res.path, "line_number": n, "p_look": round(p, 6),
                          "line": text}, ensure_ascii=False) + "\n")
        else:
            w(f"{res.path}:{n}\t{p:.3f}\t{text}\n")
    sys.stdout.flush()
