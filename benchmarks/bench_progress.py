"""Cost of progress reporting on classify lines/s (the issue's budget: under 1%).

On one corpus of ``--lines`` lines (the shared samples with fresh digits, so keys
repeat as in a real log), measured in turns (A B A B …, ``--rounds`` each; the best
of each is kept, so a noisy neighbour on a shared machine costs both sides alike):

* the Rust bulk unit call ``lookskip_rs.classify_unit`` (what ``lookskip classify
  --output`` runs per 64 MiB unit), without a counter vs with a ``ReadProgress``
  counter polled by a thread 4 times a second (what the progress bar does); CPU
  seconds of this process, one scoring thread;
* the library call ``Classifier.classify_file`` the same way;
* end to end, ``lookskip classify FILE --threads 1 --output DIR`` in a pseudo-terminal
  (the bar drawn) vs with ``--quiet`` (no bar): wall and CPU seconds of the child.

Since the extension shows the bar the read tally its reader keeps anyway, the Rust
side adds nothing per line; what is measured is the noise floor plus the display
thread (4 redraws a second).

    uv run --no-sync python benchmarks/bench_progress.py [--lines 1000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_classify import corpus  # noqa: E402

MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"


def cpu_s(fn) -> float:
    c = time.process_time()
    fn()
    return time.process_time() - c


class Poller:
    """A thread reading the counter 4 times a second, as the display does."""

    def __init__(self, counter):
        self.counter, self.stop, self.reads = counter, threading.Event(), 0
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.25):
            self.counter.snapshot()
            self.reads += 1

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join()


def in_pty(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``cmd`` with stdout/stderr on a pseudo-terminal (drained)."""
    import pty
    import resource

    master, slave = pty.openpty()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, cwd=ROOT)
    os.close(slave)
    while p.poll() is None:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                os.read(master, 65536)
            except OSError:
                break
    os.close(master)
    p.wait()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def overhead(base: float, with_: float) -> str:
    return f"{(with_ - base) / base:+.2%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import lookskip_rs

    clf = lookskip_rs.Classifier(str(MODEL), threads=1)
    with tempfile.TemporaryDirectory(prefix="bench-progress-") as tmp:
        path = Path(tmp) / "corpus.log"
        path.write_text("\n".join(corpus(args.lines)) + "\n", encoding="utf-8")
        mib = path.stat().st_size / 2**20
        rows = str(Path(tmp) / "rows")
        print(f"corpus: {args.lines:,} lines, {mib:,.0f} MiB; best of {args.rounds} rounds each")

        def unit(counter=None):
            kw = {"progress": counter} if counter is not None else {}
            return lookskip_rs.classify_unit(clf, "plain", str(path), rows, **kw)

        def whole(counter=None):
            kw = {"progress": counter} if counter is not None else {}
            return clf.classify_file(str(path), output=rows, **kw)

        for name, fn in (("classify_unit (bulk)", unit), ("classify_file (library)", whole)):
            fn()  # warm: page cache, key cache allocation
            off, on, reads = [], [], 0
            for _ in range(args.rounds):
                clf.clear_cache()
                off.append(cpu_s(fn))
                counter = lookskip_rs.ReadProgress()
                clf.clear_cache()
                with Poller(counter) as poll:
                    on.append(cpu_s(lambda c=counter, f=fn: f(c)))
                reads += poll.reads
                assert counter.bytes == path.stat().st_size
            a, b = min(off), min(on)
            print(
                f"{name}: {args.lines / a:,.0f} lines/s per core without progress, "
                f"{args.lines / b:,.0f} with a polled counter ({reads} polls): "
                f"overhead {overhead(a, b)}"
            )

        cmd = [sys.executable, "-m", "cli.main", "classify", str(path), "--threads", "1"]
        cmd += ["--model", str(MODEL), "--output", str(Path(tmp) / "out")]
        quiet, shown = [], []
        for _ in range(args.rounds):
            quiet.append(in_pty([*cmd, "--quiet"]))
            shown.append(in_pty(cmd))
        for i, what in ((0, "wall"), (1, "CPU")):
            a, b = min(r[i] for r in quiet), min(r[i] for r in shown)
            print(
                f"lookskip classify --output, end to end in a terminal ({what}): "
                f"{args.lines / a:,.0f} lines/s with --quiet, {args.lines / b:,.0f} with the "
                f"bar: overhead {overhead(a, b)} (process start and model load included)"
            )


if __name__ == "__main__":
    main()
