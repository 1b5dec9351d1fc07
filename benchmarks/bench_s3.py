"""Bulk classify with the data on an S3 server vs on local disk, and a classifier lost mid-job.

Builds an archive from the shared ``*_2k.log`` samples (as ``bench_bulk.py`` does: plain
files cut into byte ranges, ``.gz`` files, a ``.tar.gz``), puts one copy on local disk and
one on moto's S3 server (a real HTTP S3 endpoint on a loopback port), and prints:

* distributed lines/s with 1 and 2 classifier workers, inputs and outputs on local disk
  vs on S3, and the S3/local ratio (on a small shared machine the ratio is what counts);
* the object store's overhead per unit (wall time and summed unit time, S3 minus local);
* with 2 workers on S3: one worker is frozen mid-job (SIGSTOP of its whole process
  group: it holds its unit, answers nobody and refreshes nothing, which is what the
  others see of a host cut off from the network); the time from the freeze to the job's
  completion (the reaper hands its unit back), and whether the output equals the
  undisturbed run's (nothing lost, nothing doubled).

Run: ``uv run --no-sync python benchmarks/bench_s3.py [--lines N] [--chunk-mib M]``.
Needs ``redis-server``, the Rust extension and the ``s3``/``s3-server`` extras.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_bulk import MODEL, build_archive, free_port  # noqa: E402

REAPER = {"LOOKSKIP_REAPER_INTERVAL_S": "1", "LOOKSKIP_REAPER_GRACE_S": "4"}


def start_workers(n: int, env: dict[str, str], logdir: Path) -> dict[str, subprocess.Popen]:
    from worker.launch import answering, spawn_worker

    procs = {}
    for i in range(n):
        name = f"s3bench{i + 1}"
        procs[name] = spawn_worker(
            name,
            "classify",
            env={**env, "TMPDIR": str(Path(tempfile.mkdtemp(prefix=f"{name}-", dir=logdir)))},
            logfile=logdir / f"{name}.log",
            loglevel="WARNING",
            new_session=True,  # its own process group: frozen or killed with its pool
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if set(procs) <= answering():
            return procs
        time.sleep(0.2)
    raise RuntimeError("benchmark workers did not start")


def stop_workers(procs: dict[str, subprocess.Popen]) -> None:
    for p in procs.values():
        try:
            os.killpg(p.pid, signal.SIGCONT)
        except ProcessLookupError:
            continue
        p.terminate()
    for p in procs.values():
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


def _holding_worker(wf: str) -> str | None:
    """A worker node that is running a unit of ``wf`` now (and has finished one before)."""
    from worker.app import app

    active = app.control.inspect(timeout=1.0).active() or {}
    for node, tasks in active.items():
        if any(t["name"] == "lookskip.classify.unit" for t in tasks):
            return node.split("@")[0]
    return None


def run(
    n: int,
    inputs: str,
    out: str,
    env: dict[str, str],
    logdir: Path,
    chunk: int,
    freeze: bool = False,
) -> dict:
    from worker.app import job_store
    from worker.workflows import enqueue

    procs = start_workers(n, env, logdir)
    frozen_at = frozen = planned_at = units_at = None
    try:
        t0 = time.perf_counter()
        wf = enqueue(
            "classify",
            {"inputs": [inputs], "output": out, "chunk_bytes": chunk, "model_path": str(MODEL)},
        )
        while True:
            view = job_store().get(wf)
            if view and view.done:
                break
            u = view.parts[0] if view and view.parts else None
            if u and u["total"] and planned_at is None:
                planned_at = time.perf_counter()
            if u and u["total"] and u["done"] >= u["total"] and units_at is None:
                units_at = time.perf_counter()
            if freeze and frozen is None and view and view.parts and view.parts[0]["done"] >= 1:
                frozen = _holding_worker(wf)
                if frozen:
                    os.killpg(procs[frozen].pid, signal.SIGSTOP)
                    frozen_at = time.perf_counter()
            time.sleep(0.05)
        end = time.perf_counter()
        wall = end - t0
    finally:
        stop_workers(procs)
    if view.state != "SUCCESS":
        raise RuntimeError(f"classify workflow failed: {view.failures}")
    return {
        "wall": wall,
        "units": view.parts[0]["total"],
        "done": view.parts[0]["done"],
        "wf": wf,
        "after_freeze": None if frozen_at is None else end - frozen_at,
        "plan": (planned_at or end) - t0,
        "merge": end - (units_at or end),
    }


def outputs(out: str, inputs: str) -> dict[str, bytes]:
    """The LOOK files under ``out``, rows' ``file`` relative to ``inputs``: rows name a
    file as it was given (``/tmp/…/logs/a.log`` or ``s3://bench/logs/a.log``)."""
    from lookskip import storage

    fs, path = storage.fs_and_path(out)
    given = b'"file":' + json.dumps(inputs.rstrip("/") + "/").encode()[:-1]
    return {
        p[len(path) :]: fs.cat_file(p).replace(given, b'"file":"')
        for p in sorted(fs.find(path))
        if p.endswith(".look.jsonl")
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--chunk-mib", type=int, default=8)
    args = ap.parse_args()

    from fixtures_services import RedisService, S3Service

    work = Path(tempfile.mkdtemp(prefix="lookskip-bench-s3-", dir="/tmp"))
    s3 = S3Service(port=free_port(), log=work / "moto.log")
    redis = RedisService(kind="local", port=free_port(), workdir=work)
    try:
        print(
            f"machine: {os.cpu_count()} cores, load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} before the run"
        )
        data = work / "logs"
        counts = build_archive(data, args.lines)
        total = sum(counts.values())
        size = sum(p.stat().st_size for p in data.iterdir())
        s3.start()
        redis.start()
        os.environ.update(s3.env)
        bucket = s3.bucket("bench")
        t = time.perf_counter()
        s3.upload(data, f"{bucket}/logs")
        print(
            f"archive: {total:,} lines, {size / 2**20:,.0f} MiB in {len(list(data.iterdir()))} "
            f"files; uploaded to moto's S3 server in {time.perf_counter() - t:.1f}s"
        )
        url = redis.url
        os.environ.update({"LOOKSKIP_BROKER_URL": url, "LOOKSKIP_RESULT_BACKEND": url})
        from lookskip.settings import get_settings

        get_settings.cache_clear()
        env = dict(
            os.environ,
            LOOKSKIP_THREADS="1",
            LOOKSKIP_ALLOWED_ROOTS=f"{work},{bucket}",  # the local copy and the bucket
            **REAPER,
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        chunk = args.chunk_mib << 20
        runs: dict[tuple[str, int], dict] = {}
        where = {"local": (str(data), str(work / "out-local-{n}")), "s3": (f"{bucket}/logs", "")}
        for n in (1, 2):
            for store in ("local", "s3"):
                inputs, out = where[store]
                out = out.format(n=n) if store == "local" else f"{bucket}/out-{n}"
                r = run(n, inputs, out, env, work, chunk)
                summary = json.loads(_read(f"{out}/summary.json"))
                assert summary["totals"]["lines"] == total, summary["totals"]
                r["unit_seconds"] = sum(f["seconds"] for f in summary["files"])
                r["out"] = out
                runs[store, n] = r
                print(
                    f"{store:5s} data, {n} classifier{'s' if n > 1 else ' '}: "
                    f"{total / r['wall']:>9,.0f} lines/s ({r['wall']:.2f}s end to end, "
                    f"{r['units']} units; plan {r['plan']:.2f}s, units "
                    f"{r['wall'] - r['plan'] - r['merge']:.2f}s, merge+summary+report "
                    f"{r['merge']:.2f}s)"
                )
        for n in (1, 2):
            lo, hi = runs["local", n], runs["s3", n]
            same = outputs(lo["out"], where["local"][0]) == outputs(hi["out"], where["s3"][0])
            print(
                f"S3/local throughput, {n} classifier{'s' if n > 1 else ''}: "
                f"{lo['wall'] / hi['wall']:.2f} (outputs identical: {same})"
            )
        for store in ("local", "s3"):
            r1, r2 = runs[store, 1], runs[store, 2]
            print(f"2 vs 1 classifiers, {store} data: {r1['wall'] / r2['wall']:.2f}x")
        lo, hi = runs["local", 1], runs["s3", 1]
        print(
            f"object-store overhead per unit (1 classifier, {lo['units']} units): "
            f"{(hi['wall'] - lo['wall']) / lo['units'] * 1000:,.0f} ms wall, "
            f"{(hi['unit_seconds'] - lo['unit_seconds']) / lo['units'] * 1000:,.0f} ms of "
            "unit time (read + score + write the part)"
        )
        r = run(2, f"{bucket}/logs", f"{bucket}/out-freeze", env, work, chunk, freeze=True)
        logs = where["s3"][0]
        same = outputs(f"{bucket}/out-freeze", logs) == outputs(runs["s3", 2]["out"], logs)
        if r["after_freeze"] is None:
            print("disconnect: no worker was caught holding a unit (the job was too short)")
        else:
            print(
                f"disconnect (SIGSTOP of one classifier's process group while it held a unit; "
                f"reaper {REAPER['LOOKSKIP_REAPER_INTERVAL_S']} s / "
                f"{REAPER['LOOKSKIP_REAPER_GRACE_S']} s): the job completed "
                f"{r['after_freeze']:.1f}s after it, on the other classifier; units "
                f"{r['done']}/{r['units']}; output identical to the undisturbed run: {same}"
            )
    finally:
        redis.stop()
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)


def _read(url: str) -> bytes:
    from lookskip import storage

    return storage.read_bytes(url)


if __name__ == "__main__":
    main()
