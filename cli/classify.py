"""``lookskip classify``: find the LOOK lines of log files with the exported model."""

from __future__ import annotations

import contextlib
import os
import sys

import click
from rich.markup import escape
from rich.table import Table

from cli.ask import ask_options, check_ask_usage
from cli.common import THRESHOLD, console, fail, terminate_cleanly, user_errors
from cli.progress import byte_progress, quiet_option, watch_run
from lookskip.classify.scorer import DEFAULT_MAX_LINE_BYTES


@click.command()
@click.argument("files", nargs=-1, metavar="INPUT...")
@click.option(
    "--model",
    "model_path",
    default=None,
    metavar="MODE|PATH",
    help="A mode: tfidf (default), transformer, cascade or blend (docs/classifying.md), "
    "or the TF-IDF model file to use (mode tfidf). Default TF-IDF model: "
    "LOOKSKIP_MODEL_PATH, else the data dir's models/look_skip_model.json.gz if there is "
    "one, else the model lookskip ships with (`lookskip doctor` names it).",
)
@click.option(
    "--threshold",
    type=THRESHOLD,
    default=None,
    help="LOOK iff p_look >= this. Default: the model's tuned threshold.",
)
@click.option(
    "--max-look",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Keep at most N LOOK lines per file (all are still counted).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "text"]),
    default="jsonl",
    show_default=True,
    help="How LOOK lines are printed when there is no --output: jsonl = the "
    "rows --output writes ({file,line,prob,text}; cascade and blend add prob_tfidf), "
    "text = file:line:prob:text (prob to 4 decimals).",
)
@click.option(
    "--output",
    "output_dir",
    default=None,
    metavar="DIR",
    help="Write <file>.look.jsonl per input and summary.json to DIR instead of "
    "printing LOOK lines.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=None,
    help="Scoring threads; 0 = all cores. Default: LOOKSKIP_THREADS (0).",
)
@click.option(
    "--max-line-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_LINE_BYTES,
    show_default=True,
    help="Score only the first N bytes of longer lines (counted as truncated).",
)
@click.option(
    "--include",
    multiple=True,
    metavar="GLOB",
    help="In directories and archives, only files matching GLOB (path or name; repeatable).",
)
@click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Skip files matching GLOB (repeatable)."
)
@click.option(
    "--chunk-mib",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Read plain files in units of this size (the same units workers get).",
)
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="With --output, also write report.html (LOOK density, top patterns).",
)
@click.option(
    "--tfidf-model",
    default=None,
    metavar="PATH",
    help="The TF-IDF model file when --model names a mode (default: as for --model PATH).",
)
@click.option(
    "--bert",
    is_flag=True,
    help="The same as --model cascade (kept for older scripts).",
)
@click.option(
    "--bert-model",
    default=None,
    metavar="DIR",
    help="The transformer export the transformer, cascade and blend modes load. Default: "
    "<data_dir>/models/transformer/export if there is one, else the shipped transformer.",
)
@click.option(
    "--tfidf-threshold",
    type=THRESHOLD,
    default=0.2,
    show_default=True,
    help="Cascade: TF-IDF's (low, high-recall) threshold for the transformer's candidates.",
)
@click.option(
    "--bert-threshold",
    type=THRESHOLD,
    default=None,
    help="Transformer modes: the transformer's threshold (the transformer and cascade "
    "modes' default --threshold; blend's is the blend of both models'). Default: the "
    "export's.",
)
@click.option(
    "--score-cache/--no-score-cache",
    default=True,
    show_default=True,
    help="Transformer modes: keep transformer scores in the data dir "
    "(cache/transformer/), so a later run scores only inputs never seen before.",
)
@click.option(
    "--why",
    is_flag=True,
    help="Each LOOK row says why: the top contributions to its score "
    "(n-grams, features; jsonl 'why', text: a 'file-N-why:' line).",
)
@click.option(
    "--baseline",
    "baseline_inputs",
    multiple=True,
    metavar="GOOD",
    help="Inputs of known-good runs (files, dirs, archives; repeatable): each row gets "
    "'new' (its template key never occurs in them).",
)
@click.option(
    "--baseline-file",
    default=None,
    metavar="PATH",
    help="A baseline saved with --save-baseline (instead of, or added to, --baseline).",
)
@click.option(
    "--save-baseline",
    default=None,
    metavar="PATH",
    help="Save the --baseline keys to PATH (a small file for --baseline-file); "
    "INPUT may then be left out.",
)
@click.option("--only-new", is_flag=True, help="With a baseline: keep only the new LOOK rows.")
@click.option(
    "--events",
    is_flag=True,
    help="Join continuation lines (stack frames, Caused by:, indented or untimestamped "
    "lines) to their event: a row per LOOK event with 'event_end' and its text.",
)
@click.option(
    "--follow",
    is_flag=True,
    help="Follow one FILE as it grows (tail -F: survives rotation and truncation) and "
    "print LOOK rows as lines arrive; Ctrl-C stops.",
)
@click.option(
    "--json-field",
    "json_fields",
    multiple=True,
    metavar="NAME",
    help="A JSON-object line is scored on this field (repeatable, first present wins; "
    "default msg, message, log; 'none': score JSON lines whole).",
)
@click.option(
    "--summary",
    "summary_top",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    metavar="N",
    help="After the run, print the top N LOOK patterns (template, lines, files, level, "
    "score) on stderr, as report.html orders them; 0: off.",
)
@ask_options
@quiet_option
@user_errors(RuntimeError)
def classify(
    files,
    model_path,
    threshold,
    max_look,
    fmt,
    output_dir,
    threads,
    max_line_bytes,
    include,
    exclude,
    chunk_mib,
    report,
    tfidf_model=None,
    bert=False,
    bert_model=None,
    tfidf_threshold=0.2,
    bert_threshold=None,
    score_cache=True,
    why=False,
    baseline_inputs=(),
    baseline_file=None,
    save_baseline=None,
    only_new=False,
    events=False,
    follow=False,
    json_fields=(),
    summary_top=5,
    ask_claude=False,
    budget=None,
    dry_run=False,
    show_requests=False,
    now=False,
    send="raw",
    quiet=False,
) -> None:
    """Classify every line of INPUT... as LOOK or SKIP and report the LOOK lines.

    \b
    Modes (--model MODE; docs/classifying.md):
      tfidf        the TF-IDF model (default; over a million lines/s per core)
      transformer  the transformer (MiniLM on template keys, candle) for every line
      cascade      TF-IDF finds candidates (--tfidf-threshold), the transformer decides
      blend        the mean of the two models' probabilities
    Each distinct template is scored once, and transformer scores are kept in the data
    dir for later runs. Which mode wins where (docs/benchmarks.md): tfidf on quiet,
    LOOK-rare systems (4 Debian logs: macro LOOK F1 0.30, accuracy 0.97; transformer
    0.24 / 0.77) and on BGL/Thunderbird; transformer on labeled systems it never saw
    (0.93 / 0.90 vs tfidf's 0.89 / 0.86). The default is tfidf: best on two of three sets.

    INPUT may be plain text or gzip, xz, bzip2 or zstd (detected by content), `-`
    (stdin), a directory (recursive; --include/--exclude), a .tar archive (plain, .tgz,
    .tar.xz, .tar.bz2, .tar.zst …) or .zip (each member a file, named
    archive.tar.gz!member/path) or an fsspec URL. Rows name a file by the path as given
    (file:line opens in an editor); inputs matching no file exit 2. Lines are scored by the
    Rust extension (lookskip_rs) on all cores; without it (or with LOOKSKIP_NO_RUST=1)
    the numpy reference scores them, identically but far slower.

    With --output DIR: <file>.look.jsonl per file ({"file","line","prob","text"} in
    line order), summary.json (per file and totals, errors with reasons) and
    report.html (LOOK density along each file, most frequent LOOK patterns). A run
    writes into DIR/.lookskip-staging and replaces the previous run's files only once
    it has finished: a run stopped midway leaves the previous one as it was. Outputs
    are never classified again, even with DIR inside an INPUT directory.

    \b
    Examples:
      lookskip classify app.log                 LOOK lines as JSON lines on stdout
      lookskip classify --format text a.log b.log.gz
      lookskip classify /var/log --include '*.log' --output out/
      zcat big.gz | lookskip classify - --output out/
    For many files or huge ones, `lookskip enqueue classify` spreads the same work over
    Celery workers. A file that cannot be read is reported and the others go on
    (exit status 1).

    On a terminal, a run longer than a second shows its progress on stderr: bytes and
    lines read (within files, as they are read), rates, files done of found, ETA when
    the total size is known (plain files); off with --quiet or when stdout or stderr
    is not a terminal. LOOK lines on stdout never share a line with it.

    \b
    Triage:
      lookskip classify app.log --why --format text     why each line was flagged
      lookskip classify failed/ --baseline good1/ --baseline good2.tgz --only-new
      lookskip classify --baseline good/ --save-baseline good.lskb
      lookskip classify failed.log --baseline-file good.lskb --events --output out/
      lookskip classify --follow /var/log/app.log --why

    \b
    Ask Claude about what the model does not know (docs/ask-claude.md):
      lookskip classify /var/log --ask-claude --budget 0.05 --dry-run
      lookskip classify /var/log --ask-claude --budget 0.05 --output out/
    The answers are kept in the data dir (answers/answers.json) and the refit model
    (models/learned_model.json.gz) is used by every later run; rows it labeled say
    "source": "claude" with Claude's reason.
    """
    check_ask_usage(ask_claude, budget, dry_run, show_requests, now)
    from lookskip.classify.modes import mode_options

    try:
        model_path, modes = mode_options(
            model_path,
            tfidf_model=tfidf_model,
            bert=bert,
            bert_model=bert_model,
            tfidf_threshold=tfidf_threshold,
            bert_threshold=bert_threshold,
            score_cache=score_cache,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    mode = modes.get("mode", "tfidf")
    if mode != "tfidf" and (ask_claude or why):
        raise click.UsageError(
            f"--model {mode} takes neither --ask-claude nor --why (they explain and refit "
            "the TF-IDF model: use --model tfidf)"
        )
    if ask_claude:
        if not files or follow:
            raise click.UsageError("--ask-claude takes INPUT..., without --follow")
        from cli.ask import run_ask

        model_path = run_ask(
            files,
            model_path=model_path,
            budget=budget,
            dry_run=dry_run,
            show_requests=show_requests,
            now=now,
            send=send,
            include=include,
            exclude=exclude,
            threads=threads,
            max_line_bytes=max_line_bytes,
            output_dir=output_dir,
        )
        if model_path is None:
            return
    from lookskip.classify.jsonlog import json_fields_option

    fields = json_fields_option(json_fields)
    wants_triage = bool(why or baseline_inputs or baseline_file or events or only_new)
    if not files and not (save_baseline and (baseline_inputs or baseline_file)):
        raise click.UsageError("give at least one INPUT (or --baseline … --save-baseline PATH)")
    if only_new and not (baseline_inputs or baseline_file):
        raise click.UsageError("--only-new needs --baseline or --baseline-file")
    if follow and (len(files) != 1 or files[0] == "-" or output_dir or events):
        raise click.UsageError("--follow takes one FILE, without --output or --events")
    if wants_triage or save_baseline or follow or fields is not None or modes:
        from lookskip.classify.scorer import load_scorer

        loaded = load_scorer(
            model_path, threads, max_line_bytes=max_line_bytes, json_fields=fields, **modes
        )
        triage = _triage(
            loaded,
            why,
            baseline_inputs,
            baseline_file,
            save_baseline,
            only_new,
            events,
            include,
            exclude,
        )
        if not files:
            return
        if follow:
            _follow(files[0], loaded, triage, threshold, fmt)
            return
    else:
        loaded, triage = None, None
    from lookskip.classify.triage import NO_TRIAGE

    _classify_bulk(
        files,
        output_dir,
        model_path=model_path,
        threads=threads,
        threshold=threshold,
        max_look=max_look,
        include=include,
        exclude=exclude,
        chunk_bytes=chunk_mib << 20,
        max_line_bytes=max_line_bytes,
        report=report,
        fmt=fmt,
        loaded=loaded,
        triage=triage or NO_TRIAGE,
        quiet=quiet,
        summary_top=summary_top,
    )


def _print_top_patterns(rows: list[dict], top: int) -> None:
    """The top ``top`` LOOK patterns of the run on stderr (``rows``: the run's templates
    in brief, in the report's order; built from the aggregates the run collected)."""
    from lookskip.transformer.inputs import split_key_header

    if not top or not rows:
        return
    table = Table(
        "pattern", "lines", "files", "level", "score", title=f"top LOOK patterns (of {len(rows):,})"
    )
    for r in rows[:top]:
        message = split_key_header(r["template"])[1] or r["template"]  # timestamps dropped
        table.add_row(
            escape(message[:200]),
            f"{r['lines']:,}",
            str(len(r["files"])),
            r["level"] or "",
            f"{r['score']:.3f}",
        )
    console.print(table)


def _classify_bulk(
    files, output_dir, *, fmt: str, quiet: bool = False, summary_top: int = 0, **options
) -> None:
    """Every classify run but --follow: files, stdin, directories, archives,
    URLs, into --output or to stdout, through one unit loop (``lookskip.bulk.run``).
    Rows on stdout are written by the same writer as --output's (``lookskip.bulk.sink``)."""
    from lookskip.bulk.inputs import STDIN
    from lookskip.bulk.run import classify_inputs
    from lookskip.bulk.sink import StdoutRows
    from lookskip.progress import RunProgress

    if output_dir is None and STDIN in files and sys.stdout.isatty():
        quiet = True  # stdin's rows reach the terminal as they come: no bar among them
    run = RunProgress()
    bar, task = byte_progress("classifying", quiet=quiet)
    watch_run(bar, task, run)

    def on_start(loaded, exp) -> None:
        if not exp.sources and not exp.errors:
            raise _NothingMatched(_nothing_matched(files, options))
        if warning := fallback_warning(loaded):
            bar.note(warning)
        for e in exp.errors:
            what = e.error if e.error.startswith(e.name) else f"{e.name}: {e.error}"
            bar.note(f"[bold red]error:[/] {escape(what)}")

    def on_file(fr) -> None:
        if fr.errors:
            why = "; ".join(fr.errors)
            bar.note(f"[bold red]error:[/] {escape(fr.file)}: {escape(why)}")

    report = options.pop("report") and bool(output_dir)
    rows = None if output_dir else StdoutRows(sys.stdout, fmt, pause=bar.paused)
    try:
        with bar, terminate_cleanly():
            summary = classify_inputs(
                files,
                output_dir,
                report=report,
                on_start=on_start,
                progress=run,
                on_file=on_file,
                rows=rows,
                **options,
            )
    except _NothingMatched as exc:
        fail(str(exc), code=2)  # as a shell glob that matched nothing
    except BrokenPipeError:
        stdout_gone()  # `lookskip classify … | head`: the reader has what it wanted
    if options.get("loaded") is not None:
        _transformer_note(options["loaded"])
    t = summary["totals"]
    if output_dir or t["files"] > 1:
        console.print(run_table(t, options.get("triage")))
    _print_top_patterns(summary.get("patterns", []), summary_top)
    if output_dir:
        console.print(
            f"wrote {escape(output_dir)}/summary.json" + (" and report.html" if report else "")
        )
    if t["failed"]:
        fail(f"{t['failed']} of {t['files']} file(s) could not be classified")


def fallback_warning(loaded) -> str | None:
    """The one warning that the numpy reference scorer stands in for the extension."""
    if loaded.backend == "rust":
        return None
    return (
        f"[yellow]warning:[/] Rust extension lookskip_rs {loaded.fallback_reason}: "
        "using the numpy reference scorer (same results, much slower)"
    )


def run_table(t: dict, triage=None) -> Table:
    """The end-of-run table: files, lines, LOOK (new, events when counted), speed."""
    cols = ["files", "failed", "lines", "LOOK", "share", "truncated", "seconds", "lines/s"]
    vals = [
        str(t["files"]),
        str(t["failed"]),
        f"{t['lines']:,}",
        f"{t['look']:,}",
        f"{t['look_share']:.2%}",
        f"{t['truncated']:,}",
        f"{t['seconds']:.2f}",
        f"{t['lines_per_s']:,.0f}",
    ]
    if triage is not None and triage.events:
        cols.insert(4, "LOOK events")
        vals.insert(4, f"{t['look_events']:,}")
    if triage is not None and triage.baseline is not None:
        cols.insert(4, "new LOOK")
        vals.insert(4, f"{t['look_new']:,}")
    table = Table(*cols)
    table.add_row(*vals)
    return table


def stdout_gone() -> None:
    """Exit quietly once stdout's reader has gone (``| head``), as grep does; stdout is
    pointed at /dev/null so Python's own flush at exit cannot complain again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)  # 128 + SIGPIPE: what a shell reports for a writer its reader left


def _transformer_note(loaded) -> None:
    """Transformer modes: keep the run's new scores (persistent score cache) and say
    what the transformer did: inputs it scored, inputs answered without it."""
    stats = loaded.transformer_stats()
    if stats is None:
        return
    kept = loaded.save_scores()
    console.print(
        f"{loaded.mode}: the transformer scored {stats['scored']:,} new inputs "
        f"({stats['memo_hits']:,} known from this run or the score cache"
        + (f", {kept:,} added to the cache)" if loaded.score_cache is not None else ")")
    )
    if loaded.score_cache_error:
        console.print(
            f"[yellow]warning:[/] score cache not used: {escape(loaded.score_cache_error)}"
        )


class _NothingMatched(Exception):
    """Every input was an empty directory, or the globs left no file."""


def _nothing_matched(files, options: dict) -> str:
    globs = " ".join(
        f"--{flag} {g!r}" for flag in ("include", "exclude") for g in options.get(flag) or ()
    )
    return (
        f"no files matched in {' '.join(files)}"
        + (f" with {globs}" if globs else "")
        + ": nothing to classify (check the path"
        + (
            ", or the globs: they match a path under the directory or a file name)"
            if globs
            else ")"
        )
    )


def _triage(
    loaded,
    why: bool,
    baseline_inputs,
    baseline_file,
    save_baseline,
    only_new: bool,
    events: bool,
    include,
    exclude,
):
    """The run's :class:`~lookskip.classify.triage.Triage`: reads (and saves) the baseline."""
    from lookskip.bulk.baseline import make_triage

    triage, errors = make_triage(
        loaded,
        why=why,
        baseline_inputs=baseline_inputs,
        baseline_file=baseline_file,
        only_new=only_new,
        events=events,
        include=include,
        exclude=exclude,
    )
    for e in errors:
        console.print(f"[bold red]error:[/] baseline {escape(e)}")
    baseline = triage.baseline
    if baseline_inputs:
        console.print(
            f"baseline: {len(baseline):,} template keys from {baseline.lines:,} lines "
            f"of {len(baseline.sources)} file(s)"
        )
    if save_baseline:
        if baseline is None:
            raise click.UsageError("--save-baseline needs --baseline")
        baseline.save(save_baseline)
        console.print(f"wrote baseline {escape(save_baseline)}")
    return triage


def _follow(path: str, loaded, triage, threshold, fmt: str) -> None:
    """``--follow``: print LOOK rows as lines are appended, until Ctrl-C."""
    from lookskip.classify.follow import follow
    from lookskip.classify.rows import write_rows

    def show(rows) -> None:
        write_rows(sys.stdout, path, rows, fmt)
        sys.stdout.flush()

    console.print(f"following {escape(path)} (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        follow(path, loaded, show, threshold=threshold, triage=triage)
    _transformer_note(loaded)
