"""``lookskip classify --bert``: prints what ``lookskip.classify.cascade`` finds."""

from __future__ import annotations

import sys

from cli.common import console, fail


def run_cascade(
    files,
    *,
    model_path: str | None,
    bert_model: str | None,
    tfidf_threshold: float,
    bert_threshold: float | None,
    max_look: int | None,
    threads: int | None,
    max_line_bytes: int,
    fmt: str,
    why: bool = False,
) -> None:
    """TF-IDF at a low threshold, BERT on its LOOK lines: rows on stdout, a summary.

    ``why``: rows carry TF-IDF's explanation of the line (``why_model: tfidf``).
    """
    from rich.markup import escape
    from rich.table import Table

    from lookskip.bulk.inputs import simple_file_names
    from lookskip.classify.cascade import cascade_paths, open_cascade, summarize
    from lookskip.classify.rows import json_row, text_row
    from lookskip.classify.triage import explain_rows

    c = open_cascade(model_path, bert_model, bert_threshold, threads, max_line_bytes)
    if c.tfidf.backend != "rust":
        console.print(
            f"[yellow]warning:[/] Rust extension lookskip_rs {c.tfidf.fallback_reason}: "
            "using the numpy reference scorer for TF-IDF"
        )
    names = iter(simple_file_names(files))  # rows name files as `lookskip classify` does

    def on_file(res) -> None:
        name = next(names)
        if res.error:
            console.print(f"[bold red]error:[/] {escape(res.error)}")
            return
        texts = [row[3] for row in res.look_lines]
        extra = explain_rows(c.tfidf, texts) if why else [None] * len(texts)
        for (n, p_tfidf, p_bert, text), ex in zip(res.look_lines, extra, strict=True):
            sys.stdout.write(
                json_row(name, n, p_bert, text, ex, prob_tfidf=p_tfidf)
                if fmt == "jsonl"
                else text_row(name, n, p_bert, text, ex)
            )
        sys.stdout.flush()
        console.print(
            f"{escape(res.path)}: {res.lines:,} lines, TF-IDF LOOK {res.tfidf_look:,}"
            f" → BERT saw {res.bert_seen:,}, demoted {res.demoted:,}, LOOK "
            f"{res.look:,} ({res.tfidf_seconds:.2f}s + {res.bert_seconds:.2f}s)"
        )

    results = cascade_paths(
        c.tfidf,
        c.bert,
        files,
        on_file=on_file,
        tfidf_threshold=tfidf_threshold,
        bert_threshold=c.bert_threshold,
        max_look=max_look,
    )
    t = summarize(results, tfidf_threshold, c.bert_threshold)["totals"]
    table = Table("files", "failed", "lines", "BERT saw", "demoted", "LOOK", "seconds")
    table.add_row(
        str(t["files"]),
        str(t["failed"]),
        f"{t['lines']:,}",
        f"{t['bert_seen']:,}",
        f"{t['demoted']:,}",
        f"{t['look']:,}",
        f"{t['tfidf_seconds'] + t['bert_seconds']:.2f}",
    )
    console.print(table)
    if t["failed"]:
        fail(f"{t['failed']} of {t['files']} file(s) could not be classified")
