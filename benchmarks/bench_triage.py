"""Triage figures (issue #16): what --why, --baseline and --events cost, --follow's
latency, and how much of a log is new against its own first half.

1. **Speed**, on one corpus (``--lines`` lines drawn from the shared samples with
   fresh digits, 1% distinct keys, as ``bench_cache.py`` makes them), the library
   call ``Classifier(threads=1).classify_file(FILE, output=…)`` plain, with
   ``why=5``, with a baseline (built from another corpus of the same samples, so
   some rows are new), with ``events=True``, and all three; measured side by side in
   one run, each ``--repeat`` times interleaved (best kept). Lines/s per core =
   lines / CPU seconds of this process.
2. **Follow latency**: a writer process appends timestamped lines at 10K and 100K
   lines/s (a flush every millisecond) for ``--seconds`` s while
   :func:`lookskip.classify.follow.follow` follows the file: 1% of the lines are
   ERROR lines, scored at the model's threshold (their rows are timed), then with
   threshold 0 (every line becomes a row: the worst case); latency = time the row
   reaches the row callback - time the writer wrote the line. Median and p99.
3. **New share**: each shared ``*_2k.log`` sample split in two halves; the first
   half is the baseline, the second classified: the share of its LOOK rows whose
   template key is new.

With ``--other-ext SITE_PACKAGES`` (a directory holding another build of
``lookskip_rs``, e.g. the main branch's venv) the plain run is also timed with that
build, both in child processes, alternating: the price of the triage code paths
when no triage is asked for.

    uv run --no-sync python -u benchmarks/bench_triage.py [--lines 500000] [--seconds 5]
        [--other-ext ../main/.venv/lib/python3.12/site-packages]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_cache import write_corpus  # noqa: E402
from benchmarks.bench_classify import SHARED  # noqa: E402

MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"

WRITER = r"""
import sys, time
path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
errors = float(sys.argv[4])  # share of lines that are ERROR lines (LOOK)
body = " INFO worker 17 served request in 3 ms from pool member 4"
bad = " ERROR worker 17 lost connection to database: connection refused"
every = int(1 / errors) if errors > 0 else 0
with open(path, "a", buffering=1 << 20) as f:
    start = time.time()
    n = 0
    while True:
        now = time.time()
        if now - start >= seconds:
            break
        due = int((now - start) * rate)
        while n < due:
            f.write(f"{time.time():.6f}{bad if every and n % every == 0 else body}\n")
            n += 1
        f.flush()
        time.sleep(0.001)
print(n)
"""


CHILD = r"""
import sys, time
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
import lookskip_rs
clf = lookskip_rs.Classifier(sys.argv[2], threads=1)
c = time.process_time()
d = clf.classify_file(sys.argv[3], output=sys.argv[4])
print(d["lines"], time.process_time() - c, lookskip_rs.__file__)
"""


def plain_side_by_side(corpus: Path, out: str, other: str, repeat: int) -> None:
    """Plain classify CPU with this build and another, alternating child processes."""
    best = {"this build": float("inf"), "other build": float("inf")}
    lines = 0
    for _ in range(repeat):
        for name, path in (("this build", ""), ("other build", other)):
            r = subprocess.run(
                [sys.executable, "-c", CHILD, path, str(MODEL), str(corpus), out],
                capture_output=True,
                text=True,
                check=True,
            )
            n, s, _ = r.stdout.split()
            lines = int(n)
            best[name] = min(best[name], float(s))
    ratio = best["this build"] / best["other build"]
    print(
        f"  plain, this build vs --other-ext: {lines / best['this build']:,.0f} vs "
        f"{lines / best['other build']:,.0f} lines/s per core (CPU ratio {ratio:.3f})"
    )


def cpu(fn):
    c = time.process_time()
    v = fn()
    return v, time.process_time() - c


def speed(lines: int, repeat: int, other: str | None) -> None:
    import lookskip_rs

    clf = lookskip_rs.Classifier(str(MODEL), threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        corpus, other = Path(tmp) / "corpus.log", Path(tmp) / "other.log"
        write_corpus(corpus, lines, 0.01, seed=11)
        write_corpus(other, lines // 4, 0.01, seed=12)
        baseline = lookskip_rs.Baseline(clf)
        with other.open("rb") as f:
            baseline.add_lines(clf, [ln.rstrip(b"\n") for ln in f])
        out = str(Path(tmp) / "rows.jsonl")
        runs = {
            "plain": {},
            "--why": {"why": 5},
            "--baseline": {"baseline": baseline},
            "--events": {"events": True},
            "--why --baseline --events": {"why": 5, "baseline": baseline, "events": True},
        }
        best: dict[str, tuple[float, dict]] = {}
        for _ in range(repeat):
            for name, kw in runs.items():
                clf.clear_cache()
                d, s = cpu(lambda kw=kw: clf.classify_file(str(corpus), output=out, **kw))
                if name not in best or s < best[name][0]:
                    best[name] = (s, d)
        base = best["plain"][0]
        print(f"classify, 1 thread, {lines:,} lines (1% distinct keys), best of {repeat}:")
        for name, (s, d) in best.items():
            extra = ""
            if "--baseline" in name:
                extra += f", {d['look_new']:,} new"
            if "--events" in name:
                extra += f", {d['look_events']:,} LOOK events"
            print(
                f"  {name:28s} {d['lines'] / s:>11,.0f} lines/s per core"
                f"  ({s / base:.2f}x plain CPU; {d['look']:,} LOOK lines{extra})"
            )
        if other:
            plain_side_by_side(corpus, out, other, repeat)


def follow_latency(rate: float, seconds: float, all_rows: bool) -> None:
    """``all_rows``: threshold 0, every line a row (the worst case); else the model's
    threshold with 1% ERROR lines, latency of those LOOK rows."""
    from lookskip.classify.follow import follow
    from lookskip.classify.scorer import load_scorer

    scorer = load_scorer(str(MODEL), threads=1)
    lat: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "live.log"
        path.write_text("")
        done = threading.Event()

        def on_rows(rows) -> None:
            now = time.time()
            for _, _, text, _ in rows:
                lat.append(now - float(text[:17]))

        t = threading.Thread(
            target=follow,
            args=(str(path), scorer, on_rows),
            kwargs={"threshold": 0.0 if all_rows else None, "stop": done.is_set},
        )
        t.start()
        time.sleep(0.2)
        writer = subprocess.run(
            [
                sys.executable,
                "-c",
                WRITER,
                str(path),
                str(rate),
                str(seconds),
                "0" if all_rows else "0.01",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        time.sleep(0.5)
        done.set()
        t.join()
    written = int(writer.stdout)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    what = "every line a row" if all_rows else "1% ERROR lines, their rows"
    print(
        f"  --follow at {rate:>9,.0f} lines/s ({what}): {len(lat):,} rows of {written:,} lines,"
        f" latency median {statistics.median(lat) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms,"
        f" max {lat[-1] * 1e3:.1f} ms"
    )


def new_share() -> None:
    import lookskip_rs

    from lookskip.classify.linecut import split_lines

    clf = lookskip_rs.Classifier(str(MODEL), threads=1)
    look = new = 0
    per = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in sorted((SHARED / "loghub").glob("*_2k.log")):
            lines, _ = split_lines(f.read_bytes())  # as classify cuts them (\r\n too)
            half = len(lines) // 2
            baseline = lookskip_rs.Baseline(clf)
            baseline.add_lines(clf, lines[:half])
            second = Path(tmp) / f.name
            second.write_bytes(b"\n".join(lines[half:]) + b"\n")
            d = clf.classify_file(str(second), baseline=baseline)
            look += d["look"]
            new += d["look_new"]
            per.append(f"{f.name.split('_')[0]} {d['look_new']}/{d['look']}")
    print(
        f"new against the first half: {new:,} of {look:,} LOOK rows of the second halves"
        f" ({new / max(look, 1):.1%}) over {len(per)} samples"
    )
    print("  " + ", ".join(per))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rates", default="10000,100000")
    ap.add_argument("--other-ext", default=None, metavar="SITE_PACKAGES")
    ap.add_argument("--only", choices=["speed", "follow", "new"], default=None)
    args = ap.parse_args()
    random.seed(0)
    if args.only in (None, "speed"):
        speed(args.lines, args.repeat, args.other_ext)
    if args.only in (None, "follow"):
        print(f"follow latency (a writer process appends for {args.seconds:g} s):")
        for all_rows in (False, True):
            for rate in args.rates.split(","):
                follow_latency(float(rate), args.seconds, all_rows)
    if args.only in (None, "new"):
        new_share()


if __name__ == "__main__":
    main()
