"""Bulk classification figures: local vs distributed, scaling, memory, overhead.

Builds a >= 5M-line archive from the shared ``*_2k.log`` samples (digits permuted per
repetition, so numbers and timestamps differ and lines are not exact duplicates) as a
mix of plain files, ``.gz`` files and a ``.tar.gz``, in a temp folder, then prints:

* local lines/s (``lookskip classify`` path, all cores);
* distributed lines/s with 1 and 2 classifier workers (one core each) and the ratio;
* end-to-end time of each distributed run (split, units, merge, summary, report);
* peak RSS of each worker's pool process (the one that classifies);
* share of the work time spent outside the classifier.

Run: ``uv run --no-sync python benchmarks/bench_bulk.py [--lines N] [--keep]``.
Needs ``redis-server`` and the Rust extension. Big files are deleted at the end.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
DIGITS = b"0123456789"


def sample_block() -> tuple[bytes, int]:
    lines = []
    for p in sorted(glob.glob(str(SHARED / "loghub" / "*_2k.log"))):
        lines += [ln.rstrip(b"\r") for ln in Path(p).read_bytes().split(b"\n") if ln.strip()]
    return b"\n".join(lines) + b"\n", len(lines)


def perturbed(block: bytes, rng: random.Random) -> bytes:
    perm = bytes(rng.sample(DIGITS, 10))
    return block.translate(bytes.maketrans(DIGITS, perm))


def write_lines(f, block: bytes, per_block: int, n: int, rng: random.Random) -> int:
    """Write ``n`` lines (whole sample blocks, the last one cut) to ``f``."""
    done = 0
    while done < n:
        data = perturbed(block, rng)
        take = min(per_block, n - done)
        if take < per_block:
            cut = -1
            for _ in range(take):
                cut = data.index(b"\n", cut + 1)
            data = data[: cut + 1]
        f.write(data)
        done += take
    return done


class GzipWriter(io.RawIOBase):
    """Level-1 gzip, so building the archive does not dominate the benchmark."""

    def __init__(self, path: Path):
        self.f = path.open("wb")
        self.c = zlib.compressobj(1, zlib.DEFLATED, 31)

    def write(self, data: bytes) -> int:
        self.f.write(self.c.compress(data))
        return len(data)

    def close(self) -> None:
        if not self.f.closed:
            self.f.write(self.c.flush())
            self.f.close()


def build_archive(root: Path, total: int) -> dict[str, int]:
    block, per_block = sample_block()
    rng = random.Random(7)
    root.mkdir(parents=True, exist_ok=True)
    plan = {"plain": int(total * 0.6), "gz": int(total * 0.2)}
    plan["tar"] = total - plan["plain"] - plan["gz"]
    counts = {}
    for i in range(2):
        p = root / f"plain-{i}.log"
        with p.open("wb") as f:
            counts[p.name] = write_lines(f, block, per_block, plan["plain"] // 2, rng)
    for i in range(4):
        p = root / f"compressed-{i}.log.gz"
        w = GzipWriter(p)
        counts[p.name] = write_lines(w, block, per_block, plan["gz"] // 4, rng)
        w.close()
    tmp = root / "members"
    tmp.mkdir()
    for i in range(4):
        with (tmp / f"app-{i}.log").open("wb") as f:
            counts[f"bundle.tar.gz!var/log/app-{i}.log"] = write_lines(
                f, block, per_block, plan["tar"] // 4, rng
            )
    with tarfile.open(root / "bundle.tar.gz", "w:gz", compresslevel=1) as tf:
        for i in range(4):
            tf.add(tmp / f"app-{i}.log", arcname=f"var/log/app-{i}.log")
    shutil.rmtree(tmp)
    return counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sampler(threading.Thread):
    """Peak RSS of each worker's pool processes, sampled every 50 ms."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.pids, self.peak = pids, dict.fromkeys(pids, 0)
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            for name, pid in self.pids.items():
                try:
                    for c in psutil.Process(pid).children(recursive=True):
                        self.peak[name] = max(self.peak[name], c.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.05)


def start_workers(n: int, env: dict[str, str], logdir: Path) -> dict[str, subprocess.Popen]:
    from worker.launch import answering, spawn_worker

    procs = {}
    for i in range(n):
        name = f"bench{i + 1}"
        procs[name] = spawn_worker(
            name, "classify", env=env, logfile=logdir / f"{name}.log", loglevel="WARNING"
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if set(procs) <= answering():
            return procs
    raise RuntimeError("benchmark workers did not start")


def stop_workers(procs: dict[str, subprocess.Popen]) -> None:
    for p in procs.values():
        p.terminate()
    for p in procs.values():
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def distributed_run(
    n: int, inputs: list[str], out: Path, env: dict[str, str], logdir: Path, chunk: int
) -> dict:
    from worker.app import job_store
    from worker.workflows import enqueue

    procs = start_workers(n, env, logdir)
    sampler = Sampler({k: p.pid for k, p in procs.items()})
    sampler.start()
    try:
        t0 = time.perf_counter()
        wf = enqueue(
            "classify",
            {"inputs": inputs, "output": str(out), "chunk_bytes": chunk, "model_path": str(MODEL)},
        )
        units_done_at = None
        while True:
            view = job_store().get(wf)
            if view and view.parts and units_done_at is None:
                u = view.parts[0]
                if u["total"] and u["done"] == u["total"]:
                    units_done_at = time.perf_counter()
            if view and view.done:
                break
            time.sleep(0.05)
        t_end = time.perf_counter()
        wall = t_end - t0
    finally:
        sampler.stop.set()
        sampler.join()
        stop_workers(procs)
    if view.state != "SUCCESS":
        raise RuntimeError(f"classify workflow failed: {view.failures}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "wall": wall,
        "summary": summary,
        "peak": sampler.peak,
        "merge": t_end - (units_done_at or t_end),
        "units": view.parts[0]["total"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--chunk-mib", type=int, default=64)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the generated archive")
    args = ap.parse_args()

    from lookskip.bulk.inputs import expand_inputs
    from lookskip.bulk.run import run_local
    from lookskip.classify.scorer import load_scorer

    work = Path(args.workdir or tempfile.mkdtemp(prefix="lookskip-bench-bulk-", dir="/tmp"))
    data = work / "archive"
    redis_dir = work / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    redis = None
    try:
        print(
            f"machine: {os.cpu_count()} cores, load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} before the run"
        )
        t = time.perf_counter()
        counts = build_archive(data, args.lines)
        total = sum(counts.values())
        size = sum(p.stat().st_size for p in data.iterdir())
        print(
            f"archive: {total:,} lines in {len(counts)} files (2 plain, 4 .gz, 1 .tar.gz "
            f"with 4 members), {size / 2**20:,.0f} MiB on disk, built in "
            f"{time.perf_counter() - t:.1f}s"
        )
        inputs = [str(data)]

        loaded = load_scorer(str(MODEL), threads=0)
        if loaded.backend != "rust":
            raise SystemExit("the Rust extension is not built: figures would be meaningless")
        exp = expand_inputs(inputs)
        t = time.perf_counter()
        local = run_local(
            exp.sources, exp.errors, str(work / "out-local"), loaded.engine, loaded.threshold
        )
        lt = time.perf_counter() - t
        lt_tot = local["totals"]
        assert lt_tot["lines"] == total, (lt_tot["lines"], total)
        print(
            f"local (all cores, threads={os.cpu_count()}): {total / lt:,.0f} lines/s "
            f"({lt:.2f}s end to end, summary+report included); outside the classifier: "
            f"{lt_tot['outside_classifier_share']:.1%} of the scan time (Python around "
            f"lookskip_rs.classify_unit), {1 - lt_tot['score_seconds'] / lt:.1%} of the "
            f"end-to-end time (planning, summary, report)"
        )
        import lookskip_rs

        t = time.perf_counter()
        floor_lines = sum(
            lookskip_rs.count_lines(str(p))[0]
            for p in sorted(data.iterdir())
            if not p.name.endswith(".tar.gz")
        )
        floor = time.perf_counter() - t
        print(
            f"I/O floor (lookskip_rs.count_lines: read + gunzip, no scoring) on the plain and "
            f".gz files: {floor_lines / floor:,.0f} lines/s, "
            f"{floor_lines / floor / (total / lt):.0f}x the local classify rate"
        )

        port = free_port()
        redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        os.environ.update({"LOOKSKIP_BROKER_URL": url, "LOOKSKIP_RESULT_BACKEND": url})
        from lookskip.settings import get_settings

        get_settings.cache_clear()
        env = dict(
            os.environ,
            LOOKSKIP_THREADS="1",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        time.sleep(0.3)
        runs = {}
        for n in (1, 2):
            out = work / f"out-dist-{n}"
            r = distributed_run(n, inputs, out, env, work, args.chunk_mib << 20)
            runs[n] = r
            tot = r["summary"]["totals"]
            assert tot["lines"] == total, (tot["lines"], total)
            same = all(
                (out / f["output"]).read_bytes() == (work / "out-local" / f["output"]).read_bytes()
                for f in local["files"]
                if f["output"]
            )
            peaks = ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in r["peak"].items())
            busy = tot["score_seconds"] / n
            print(
                f"distributed, {n} worker{'s' if n > 1 else ''} (1 core each): "
                f"{total / r['wall']:,.0f} lines/s; end to end {r['wall']:.2f}s "
                f"({r['units']} units; merge+summary+report after the last unit "
                f"{r['merge']:.2f}s); outside the classifier: "
                f"{tot['outside_classifier_share']:.1%} of the unit time, "
                f"{max(0.0, 1 - busy / r['wall']):.1%} of the end-to-end time per worker "
                f"(split, queueing, imbalance, merge, report); peak RSS per worker: {peaks}; "
                f"output identical to local: {'yes' if same else 'NO'}"
            )
        ratio = runs[1]["wall"] / runs[2]["wall"]
        print(
            f"scaling 1 -> 2 workers: {ratio:.2f}x (target >= 1.8x; load average now "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        peak = max(v for r in runs.values() for v in r["peak"].values())
        print(f"peak memory per worker: {peak / 2**20:.0f} MB (target < 300 MB)")
        share = max(r["summary"]["totals"]["outside_classifier_share"] for r in runs.values())
        print(
            f"share of time outside the classifier: local "
            f"{lt_tot['outside_classifier_share']:.1%}, distributed {share:.1%} "
            f"(target < 10%)"
        )
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(10)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
