"""Classify speed with the template-key cache, at controlled shares of distinct keys.

Each corpus has ``--lines`` lines drawn from the 22 shared samples. Its share of
distinct template keys is set by making new keys the way a new log does: a word of
a sample line is replaced by a new one (letters only, so no rule masks it), and
every line gets fresh digits (same length, so the key stays). For each share it
prints, measured side by side in one run on the same file:

* the library call, ``Classifier(threads=1).classify_file(FILE, output=…)``, with the
  key cache on and off (off = every line scored from its key), the cache hit rate,
  and with ``--threads 0`` (all cores);
* end to end, ``lookskip classify FILE --threads 1 --output DIR`` (process start,
  model load and every LOOK row written included);
* the scorer before template keys (``--old-wheel``: the previous release's
  ``lookskip_rs`` with its own model, run in a subprocess), when given;
* ``grep -ciE 'error|warn|fail|exception|fatal|critical'`` on the same file.

With ``--e2e-lines N`` (issue 24's figure: 4M lines, 540 MB), one corpus of ``N``
sample lines with fresh digits, end to end beside the classification alone: the
library call (1 thread, rows to a file), then ``lookskip classify`` with 1 and all
threads, rows to ``--output``, as JSON rows to stdout and as text rows to stdout
(stdout a file, ``> rows``), and ``grep -iE`` writing its matches to a file, all in
the same run; ``--lookskip NAME=CMD`` (repeatable) times other installs beside this
one (``--lookskip main=/work/main/.venv/bin/lookskip``: before and after a change).

Then the peak memory of ``lookskip classify`` on a ``--big-gb`` file of 100% distinct
keys (the cache is bounded; the figure must stay flat). Lines/s per core = lines /
CPU seconds of the process (its threads' CPU included).

``--report-cost`` measures instead what a run costs beyond classifying (#24): on a
file of ``--lines`` lines, ``--look-share`` of them LOOK (lines of the samples the
model flags), the library call alone (``Classifier(threads=1).classify_file(FILE,
output=…)``) against ``lookskip classify FILE --threads 1 --output DIR`` end to end
(process start, model load, summary.json and report.html included): this install's
``lookskip``, then each ``--lookskip NAME=CMD``'s (another checkout's, e.g. main's).

    uv run --no-sync python benchmarks/bench_cache.py [--lines 1000000] [--big-gb 2]
        [--old-wheel DIR --old-model FILE] [--e2e-lines 4000000 --lookskip NAME=CMD]
    uv run --no-sync python benchmarks/bench_cache.py --report-cost --lines 3000000 \
        [--lookskip main=/work/main/.venv/bin/lookskip]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_classify import sample_lines  # noqa: E402

SHARES = (0.001, 0.01, 0.05, 0.20, 1.0)
GREP = "error|warn|fail|exception|fatal|critical"
_DIGITS = re.compile(r"[0-9]+")
_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def new_word(i: int) -> str:
    """A letters-only word for variant ``i`` (base 26, prefixed so it is not English)."""
    out = []
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out.append(string.ascii_lowercase[r])
    return "zq" + "".join(reversed(out))


def variant(line: str, i: int, rng: random.Random) -> str:
    """``line`` with one of its words replaced by the new word ``i`` (appended if none)."""
    words = list(_WORD.finditer(line))
    if not words:
        return f"{line} {new_word(i)}"
    m = words[rng.randrange(len(words))]
    return line[: m.start()] + new_word(i) + line[m.end() :]


def fresh_digits(line: str, rng: random.Random) -> str:
    return _DIGITS.sub(
        lambda m: str(rng.randrange(10 ** len(m.group()))).zfill(len(m.group())), line
    )


def write_corpus(path: Path, n: int, share: float, seed: int = 11) -> None:
    rng = random.Random(seed)
    base = sample_lines()
    n_keys = max(1, round(n * share))
    if n_keys <= len(base):
        templates = rng.sample(base, n_keys)
    else:
        templates = [variant(base[i % len(base)], i, rng) for i in range(n_keys)]
    with path.open("w", encoding="utf-8") as f:
        if share >= 1.0:
            for t in templates[:n]:
                f.write(fresh_digits(t, rng) + "\n")
        else:
            for _ in range(n):
                f.write(fresh_digits(templates[rng.randrange(n_keys)], rng) + "\n")


def cpu_timed(fn):
    w, c = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - w, time.process_time() - c


def classify_timed(clf, path: Path, out: Path):
    """The library call, rows written: (result, wall s, CPU s of this process)."""
    return cpu_timed(lambda: clf.classify_file(str(path), output=str(out)))


def child_run(cmd: list[str], stdout=subprocess.DEVNULL, **kw) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=stdout, stderr=subprocess.DEVNULL, **kw)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss


def write_look_corpus(
    path: Path, n: int, look_share: float, model: str, templates: int = 0, seed: int = 7
) -> int:
    """``n`` lines, each a sample line (fresh digits) the model flags with probability
    ``look_share`` (one of ``templates`` such lines; 0: all), else one it does not;
    returns the LOOK templates' count."""
    import lookskip_rs

    rng = random.Random(seed)
    base = sample_lines()
    clf = lookskip_rs.Classifier(model, threads=1)
    probs = clf.predict_proba(base)
    look = [t for t, p in zip(base, probs, strict=True) if p >= clf.threshold]
    skip = [t for t, p in zip(base, probs, strict=True) if p < clf.threshold]
    if templates:
        look = rng.sample(look, min(templates, len(look)))
    with path.open("w", encoding="utf-8") as f:
        for _ in range(n):
            pool = look if rng.random() < look_share else skip
            f.write(fresh_digits(pool[rng.randrange(len(pool))], rng) + "\n")
    return len(look)


def report_cost(args: argparse.Namespace, work: Path, lookskip: str) -> None:
    import lookskip_rs

    f = work / "look.log"
    n_look = write_look_corpus(f, args.lines, args.look_share, args.model, args.look_templates)
    clf = lookskip_rs.Classifier(args.model, threads=1)
    d, wall_lib, cpu_lib = classify_timed(clf, f, work / "out.jsonl")
    out = work / "e2e"
    cmd = [lookskip, "classify", str(f), "--threads", "1", "--output", str(out)]
    wall_e, cpu_e, _ = child_run(cmd)
    report = (out / "report.html").stat().st_size
    print(
        f"{f.stat().st_size / 1e6:.0f} MB, {d['lines']:,} lines, {d['look']:,} LOOK "
        f"({n_look} LOOK templates of the samples); command {lookskip}"
    )
    print(
        f"  classification alone (library, 1 thread, rows written): {wall_lib:.2f} s "
        f"({cpu_lib:.2f} s CPU)"
    )
    print(
        f"  end to end `lookskip classify --threads 1 --output`: {wall_e:.2f} s "
        f"({cpu_e:.2f} s CPU; +{wall_e - wall_lib:.2f} s wall, +{cpu_e - cpu_lib:.2f} s CPU: "
        f"start, model load, summary, report of {report / 1e6:.1f} MB)"
    )


OLD_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
import lookskip_rs
clf = lookskip_rs.Classifier(sys.argv[2], threads=1)
c = time.process_time()
d = clf.classify_file(sys.argv[3], output=sys.argv[4])
print(d["lines"], time.process_time() - c)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--big-gb", type=float, default=2.0, help="0 skips the memory run")
    ap.add_argument(
        "--shares",
        default=",".join(str(x) for x in SHARES),
        help="distinct-key shares to measure (comma list; empty: only the memory run)",
    )
    ap.add_argument("--model", default=str(ROOT / "data" / "models" / "look_skip_model.json.gz"))
    ap.add_argument("--old-wheel", help="unpacked lookskip_rs of the release before keys")
    ap.add_argument("--old-model", help="that release's model file")
    ap.add_argument("--tmp", default=tempfile.gettempdir())
    ap.add_argument("--report-cost", action="store_true", help="see the module doc")
    ap.add_argument("--look-share", type=float, default=0.25, help="with --report-cost")
    ap.add_argument(
        "--look-templates",
        type=int,
        default=0,
        help="with --report-cost: LOOK lines of "
        "this many sample lines (0: every sample line the model flags)",
    )
    ap.add_argument("--e2e-lines", type=int, default=0, help="end-to-end corpus (0: none)")
    ap.add_argument("--e2e-share", type=float, default=0.001, help="its distinct-key share")
    ap.add_argument(
        "--lookskip",
        action="append",
        default=[],
        metavar="NAME=CMD",
        help="another lookskip to time end to end beside this one (repeatable)",
    )
    args = ap.parse_args()

    import lookskip_rs

    work = Path(tempfile.mkdtemp(prefix="lookskip-bench-cache-", dir=args.tmp))
    beside = Path(sys.executable).parent / "lookskip"  # this interpreter's install
    lookskip = str(beside) if beside.exists() else shutil.which("lookskip") or "lookskip"
    if args.report_cost:  # this install's, then each --lookskip's, on one file each
        try:
            for cmd in [lookskip] + [x.split("=", 1)[-1] for x in args.lookskip]:
                report_cost(args, work, cmd)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    print(f"model {args.model}; {args.lines:,} lines per corpus; CPU lines/s = lines / CPU s")
    try:
        if args.e2e_lines:
            installs = [("this", lookskip)] + [tuple(x.split("=", 1)) for x in args.lookskip]
            end_to_end(args, work, installs)
        for share in [float(x) for x in args.shares.split(",") if x.strip()]:
            f = work / f"corpus-{share}.log"
            write_corpus(f, args.lines, share)
            mb = f.stat().st_size / 1e6
            out = work / "out.jsonl"
            rates = {}
            for cache_mib in (64, 0):
                clf = lookskip_rs.Classifier(args.model, threads=1, cache_mib=cache_mib)
                d, wall, cpu = classify_timed(clf, f, out)
                rates[cache_mib] = (d["lines"] / cpu, d["lines"] / wall)
                if cache_mib:
                    st = clf.cache_stats()
                    looks = d["look"]
                    hit = st["hits"] / max(1, st["hits"] + st["misses"])
                    distinct = st["misses"] / d["lines"]
            all_clf = lookskip_rs.Classifier(args.model, threads=0)
            d, wall_all, _ = classify_timed(all_clf, f, out)
            e2e_dir = work / "e2e"
            wall_e, cpu_e, _ = child_run(
                [lookskip, "classify", str(f), "--threads", "1", "--output", str(e2e_dir)]
            )
            t = time.perf_counter()
            subprocess.run(["grep", "-ciE", GREP, str(f)], check=False, stdout=subprocess.DEVNULL)
            grep_wall = time.perf_counter() - t
            n = d["lines"]
            print(
                f"distinct {share:>6.1%} (measured {distinct:.2%}, hit rate {hit:.1%}), "
                f"{mb:.0f} MB, LOOK {looks / n:.1%}:"
            )
            print(
                f"  library 1 thread: cache on {rates[64][0]:>11,.0f} lines/s CPU "
                f"({rates[64][1]:,.0f} wall), off {rates[0][0]:>9,.0f} CPU; "
                f"ratio {rates[64][0] / rates[0][0]:.1f}x"
            )
            print(f"  library all threads: {n / wall_all:,.0f} lines/s wall")
            print(
                f"  end to end `lookskip classify --threads 1 --output`: "
                f"{n / cpu_e:,.0f} lines/s CPU, {n / wall_e:,.0f} wall ({wall_e:.2f} s)"
            )
            if args.old_wheel and args.old_model:
                res = subprocess.run(
                    [sys.executable, "-c", OLD_SCRIPT, args.old_wheel, args.old_model, str(f),
                     str(work / "old.jsonl")],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                lines_old, cpu_old = res.stdout.split()
                old_rate = int(lines_old) / float(cpu_old)
                print(
                    f"  scorer before keys (library, 1 thread): {old_rate:,.0f} lines/s CPU; "
                    f"cache on / before: {rates[64][0] / old_rate:.1f}x"
                )
            print(f"  grep -ciE: {n / grep_wall:,.0f} lines/s wall")
            f.unlink()
        if args.big_gb > 0:
            big = work / "big.log"
            per = args.lines
            n_lines = 0
            with big.open("w", encoding="utf-8"):
                pass
            seed = 0
            while big.stat().st_size < args.big_gb * 1e9:
                part = work / "part.log"
                write_corpus(part, per, 1.0, seed=1000 + seed)
                # a new seed draws new words too: shift the variant numbers per part
                with big.open("a", encoding="utf-8") as out_f, part.open(encoding="utf-8") as p:
                    for line in p:
                        out_f.write(f"{line[:-1]} zz{new_word(seed)}\n")
                        n_lines += 1
                part.unlink()
                seed += 1
            wall_b, _, rss = child_run(
                [lookskip, "classify", str(big), "--threads", "0", "--output", str(work / "b")]
            )
            summary = json.loads((work / "b" / "summary.json").read_text())
            print(
                f"big file {big.stat().st_size / 2**30:.2f} GiB, {n_lines:,} lines of ~100% "
                f"distinct keys: {wall_b:.1f} s wall, {n_lines / wall_b:,.0f} lines/s, "
                f"peak RSS {rss / 1024:.0f} MB (lookskip classify, all threads; "
                f"{summary['totals']['look']:,} LOOK)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def end_to_end(args, work: Path, installs: list[tuple[str, str]]) -> None:
    """``lookskip classify`` end to end on one corpus, beside the classifier alone and
    grep writing its matches (see the module doc)."""
    import lookskip_rs

    f = work / "e2e.log"
    write_corpus(f, args.e2e_lines, args.e2e_share)
    mb = f.stat().st_size / 1e6
    clf = lookskip_rs.Classifier(args.model, threads=1)
    d, alone, _ = classify_timed(clf, f, work / "alone.jsonl")
    n = d["lines"]
    print(f"end to end: {n:,} lines, {mb:.0f} MB, {d['look']:,} LOOK rows")
    print(f"  classification alone (library, 1 thread, rows to a file): {alone:.2f} s")
    rows = work / "rows"
    for name, cmd in installs:
        for threads in ("1", "0"):
            label = "1 thread" if threads == "1" else "all threads"
            base = [cmd, "classify", str(f), "--model", args.model, "--threads", threads]
            out_dir = work / f"e2e-{name}"
            wall_o, _, _ = child_run([*base, "--output", str(out_dir)])
            shutil.rmtree(out_dir, ignore_errors=True)
            walls = []
            for fmt in ("jsonl", "text"):
                with rows.open("wb") as sink:
                    walls.append(child_run([*base, "--format", fmt], stdout=sink)[0])
            print(
                f"  {name} {label}: --output {wall_o:.2f} s ({wall_o / alone:.2f}x alone), "
                f"JSON to stdout {walls[0]:.2f} s ({walls[0] / wall_o:.2f}x --output), "
                f"text to stdout {walls[1]:.2f} s ({walls[1] / wall_o:.2f}x)"
            )
    with rows.open("wb") as sink:
        t = time.perf_counter()
        subprocess.run(["grep", "-iE", GREP, str(f)], check=False, stdout=sink)
        grep_wall = time.perf_counter() - t
    matches = sum(1 for _ in rows.open("rb"))
    print(f"  grep -iE writing its {matches:,} matches to a file: {grep_wall:.2f} s")
    rows.unlink()
    f.unlink()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
