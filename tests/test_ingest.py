"""Ingestion from real files and a real local HTTP server (no mocks)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip import ingest as ing
from lookskip import synthetic
from lookskip.settings import get_settings

LOGHUB = [
    "Android",
    "Apache",
    "BGL",
    "HDFS",
    "HPC",
    "Hadoop",
    "HealthApp",
    "Linux",
    "Mac",
    "OpenSSH",
    "OpenStack",
    "Proxifier",
    "Spark",
    "Thunderbird",
    "Windows",
    "Zookeeper",
]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def by_name(results: list[ing.IngestResult]) -> dict[str, ing.IngestResult]:
    return {r.dataset: r for r in results}


# --------------------------------------------------------------------------- local mirror


def test_flat_local_mirror_copies_every_dataset_with_matching_sha256(shared_data, data_dir):
    mirror = shared_data / "loghub"
    results = by_name(ing.ingest(None, str(mirror)))
    assert len(results) == 22
    assert {r.status for r in results.values()} == {"copied"}
    for name, r in results.items():
        target = data_dir / "loghub" / f"{name}_2k.log"
        assert r.sha256 == sha(target) == sha(mirror / f"{name}_2k.log")
        assert r.bytes == target.stat().st_size
        assert r.lines == len(target.read_bytes().splitlines())
    assert results["HDFS"].lines == 2000 and results["BGL"].lines == 2000  # BGL: no final \n
    # ground truth comes along for the datasets that have it, and only for them
    assert results["BGL"].truth == results["Thunderbird"].truth == "copied"
    assert results["HDFS"].truth is None
    for name in ("BGL", "Thunderbird"):
        csv = f"{name}_2k.log_structured.csv"
        assert sha(data_dir / "loghub" / csv) == sha(mirror / csv)
    assert not (data_dir / "loghub" / "HDFS_2k.log_structured.csv").exists()
    json.dumps([r.to_dict() for r in results.values()])  # a task can return it


def test_rerun_reports_unchanged_and_rewrites_nothing(shared_data, data_dir):
    mirror = str(shared_data / "loghub")
    ing.ingest("HDFS,BGL,JavaApp", mirror)
    files = sorted((data_dir / "loghub").rglob("*"))
    before = {p: p.stat().st_mtime_ns for p in files if p.is_file()}
    results = ing.ingest("HDFS,BGL,JavaApp", mirror)
    assert [(r.status, r.truth) for r in results] == [
        ("unchanged", None),
        ("unchanged", "unchanged"),
        ("unchanged", None),
    ]
    after = {p: p.stat().st_mtime_ns for p in files if p.is_file()}
    assert after == before  # neither samples nor their records were written again
    assert not list((data_dir / "loghub").glob(".tmp-*"))
    forced = ing.ingest("HDFS", mirror, force=True)
    assert forced[0].status == "copied"
    assert (data_dir / "loghub" / "HDFS_2k.log").stat().st_mtime_ns >= before[
        data_dir / "loghub" / "HDFS_2k.log"
    ]


def test_corrupted_local_copy_is_fetched_again(shared_data, data_dir):
    mirror = shared_data / "loghub"
    ing.ingest("Spark", str(mirror))
    target = data_dir / "loghub" / "Spark_2k.log"
    target.write_bytes(target.read_bytes()[:-100] + b"tampered\n")
    r = ing.ingest("Spark", str(mirror))[0]
    assert r.status == "copied" and sha(target) == sha(mirror / "Spark_2k.log")


def test_registry_default_keeps_intact_samples_and_refetches_corrupted(
    shared_data, data_dir, monkeypatch
):
    # the loghub URL may itself be a local mirror: no network needed
    monkeypatch.setenv("LOOKSKIP_LOGHUB_URL", str(shared_data / "loghub"))
    get_settings.cache_clear()
    first = by_name(ing.ingest("HDFS,BGL,WebServer"))
    assert [first[n].status for n in ("HDFS", "BGL", "WebServer")] == [
        "copied",
        "copied",
        "generated",
    ]
    assert first["WebServer"].source == f"synthetic:seed={synthetic.DEFAULT_SEED}"
    (data_dir / "loghub" / "HDFS_2k.log").write_text("garbage\n")
    again = by_name(ing.ingest("HDFS,BGL,WebServer"))
    assert [again[n].status for n in ("HDFS", "BGL", "WebServer")] == [
        "copied",
        "unchanged",
        "unchanged",
    ]
    assert sha(data_dir / "loghub" / "HDFS_2k.log") == sha(shared_data / "loghub" / "HDFS_2k.log")


def test_nested_layout_via_file_url_and_missing_datasets(shared_data, data_dir, tmp_path):
    mirror = tmp_path / "loghub-repo"
    for name in ("HDFS", "BGL"):
        (mirror / name).mkdir(parents=True)
        shutil.copy(shared_data / "loghub" / f"{name}_2k.log", mirror / name)
    shutil.copy(shared_data / "loghub" / "BGL_2k.log_structured.csv", mirror / "BGL")
    results = by_name(ing.ingest(None, mirror.as_uri()))  # file:///…
    assert results["HDFS"].status == results["BGL"].status == "copied"
    assert results["BGL"].truth == "copied"
    assert results["BGL"].source == (mirror / "BGL" / "BGL_2k.log").as_uri()
    # datasets the user did not name and the mirror lacks are listed, not failures
    assert {r.status for n, r in results.items() if n not in ("HDFS", "BGL")} == {"missing"}
    assert sha(data_dir / "loghub" / "HDFS_2k.log") == sha(mirror / "HDFS" / "HDFS_2k.log")
    # … but a dataset the user named is an error
    named = by_name(ing.ingest("HDFS,Spark", str(mirror)))
    assert named["HDFS"].status == "unchanged"
    assert named["Spark"].status == "failed" and "Spark_2k.log not found" in named["Spark"].error


def test_unusable_sources_are_one_clear_error(tmp_path, data_dir):
    with pytest.raises(ing.SourceError, match="no such directory"):
        ing.ingest(None, str(tmp_path / "nope"))
    (tmp_path / "empty-mirror").mkdir()
    with pytest.raises(ing.SourceError, match="has none of the datasets"):
        ing.ingest(None, str(tmp_path / "empty-mirror"))
    (tmp_path / "a-file").write_text("x\n")
    with pytest.raises(ing.SourceError, match="is a file; --source takes a directory"):
        ing.ingest(None, str(tmp_path / "a-file"))


def test_an_unusable_url_scheme_is_a_clear_error_not_a_resolver_one(data_dir):
    with pytest.raises(ing.SourceError, match=r"source ftp://.*cannot open it as a ftp directory"):
        ing.parse_source("ftp://no-such-host.invalid/loghub")
    with pytest.raises(ing.SourceError, match="cannot open it"):
        ing.parse_source("nosuchscheme://x/y")


# --------------------------------------------------------------------------- bad input

BAD = {
    "Apache": (b"", "empty file"),
    "Android": (
        b"03-17 16:13:38.811  1702  2395 D WindowManager: ok\n\x00\x01\x02\x03binary",
        "binary file (NUL byte at byte 51)",
    ),
    "BGL": (
        b"- 1117838570 ok line\n- 1117838571 caf\xe9 latin-1\n",
        "not UTF-8 text at byte 37 (line 2)",
    ),
    "Hadoop": (
        b"first line\n" + b"x" * (10 * 1024 * 1024) + b"\nlast\n",
        "line 2 is 10,485,760 bytes long (limit 1,048,576)",
    ),
}


def make_bad_mirror(shared_data: Path, root: Path) -> Path:
    root.mkdir()
    for name, (data, _) in BAD.items():
        (root / f"{name}_2k.log").write_bytes(data)
    shutil.copy(shared_data / "loghub" / "HDFS_2k.log", root)
    (root / "Linux_2k.log").mkdir()  # a directory where a file should be: "not found"
    return root


def test_bad_inputs_fail_alone_with_a_clear_reason(shared_data, data_dir, tmp_path):
    mirror = make_bad_mirror(shared_data, tmp_path / "bad")
    # a good BGL from before must survive a bad source
    ing.ingest("BGL", str(shared_data / "loghub"))
    good_bgl = sha(data_dir / "loghub" / "BGL_2k.log")
    names = ["HDFS", *BAD, "Spark", "Linux"]
    results = by_name(ing.ingest(names, str(mirror)))
    assert results["HDFS"].status == "copied"
    for name, (_, message) in BAD.items():
        assert results[name].status == "failed", name
        assert results[name].error == message
    for name in ("Spark", "Linux"):
        assert results[name].status == "failed"
        assert results[name].error == f"{name}_2k.log not found in {mirror}"
    for name in ("Apache", "Android", "Hadoop"):
        assert not (data_dir / "loghub" / f"{name}_2k.log").exists()
    assert sha(data_dir / "loghub" / "BGL_2k.log") == good_bgl
    assert not list((data_dir / "loghub").glob(".tmp-*"))


def test_check_text_accepts_what_loghub_has():
    assert ing.check_text(b"a\r\nb\r\n") == 2  # CRLF kept as is
    assert ing.check_text(b"no final newline") == 1
    assert ing.check_text("ünïcödé ✓\n".encode()) == 1
    with pytest.raises(ing.IngestError, match="line 1 is 11 bytes long"):
        ing.check_text(b"x" * 11, max_line=10)


# --------------------------------------------------------------------------- HTTP


class Mirror(ThreadingHTTPServer):
    """A real HTTP server over a directory, with scripted failures and a request log."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: Counter[str] = Counter()
        self.fail_first: dict[str, tuple[int, int]] = {}  # path -> (times, status)
        self.lock = threading.Lock()

        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(server.root), **kw)

            def do_GET(self):
                with server.lock:
                    server.requests[self.path] += 1
                    times, status = server.fail_first.get(self.path, (0, 0))
                    if times:
                        server.fail_first[self.path] = (times - 1, status)
                if times:
                    self.send_response(status)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                super().do_GET()

            def log_message(self, *args):  # keep pytest output clean
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def http_mirror(tmp_path, shared_data):
    root = tmp_path / "www"
    for name in ("HDFS", "BGL", "Spark"):  # loghub's own layout
        (root / name).mkdir(parents=True)
        shutil.copy(shared_data / "loghub" / f"{name}_2k.log", root / name)
    shutil.copy(shared_data / "loghub" / "BGL_2k.log_structured.csv", root / "BGL")
    shutil.copy(shared_data / "loghub" / "Zookeeper_2k.log", root)  # a flat one too
    server = Mirror(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_download_retries_404s_and_records(http_mirror, shared_data, data_dir):
    http_mirror.fail_first["/Spark/Spark_2k.log"] = (2, 500)  # transient: 500, 500, then 200
    names = "HDFS,BGL,Spark,Zookeeper,Apache"
    results = by_name(ing.ingest(names, http_mirror.url, backoff_s=0.01))
    for name in ("HDFS", "BGL", "Spark", "Zookeeper"):
        assert results[name].status == "downloaded", results[name].error
        assert sha(data_dir / "loghub" / f"{name}_2k.log") == sha(
            shared_data / "loghub" / f"{name}_2k.log"
        )
    assert http_mirror.requests["/Spark/Spark_2k.log"] == 3
    assert results["BGL"].truth == "downloaded"
    assert results["Zookeeper"].source == f"{http_mirror.url}/Zookeeper_2k.log"  # flat fallback
    assert results["Apache"].status == "failed"
    assert results["Apache"].error == (
        f"HTTP 404 for {http_mirror.url}/Apache/Apache_2k.log and {http_mirror.url}/Apache_2k.log"
    )
    record = json.loads((data_dir / "loghub" / ".ingest" / "HDFS_2k.log.json").read_text())
    assert record["source"] == f"{http_mirror.url}/HDFS/HDFS_2k.log"
    assert record["sha256"] == results["HDFS"].sha256

    # re-run: verified against the record, nothing downloaded again
    seen = sum(http_mirror.requests.values())
    again = by_name(ing.ingest("HDFS,BGL,Spark", http_mirror.url, backoff_s=0.01))
    assert {r.status for r in again.values()} == {"unchanged"}
    assert sum(http_mirror.requests.values()) == seen

    # a corrupted copy is downloaded again
    (data_dir / "loghub" / "HDFS_2k.log").write_bytes(b"corrupt\n")
    r = ing.ingest("HDFS", http_mirror.url, backoff_s=0.01)[0]
    assert r.status == "downloaded"
    assert sha(data_dir / "loghub" / "HDFS_2k.log") == sha(shared_data / "loghub" / "HDFS_2k.log")
    assert http_mirror.requests["/HDFS/HDFS_2k.log"] == 2


def test_http_gives_up_after_bounded_retries(http_mirror, data_dir):
    http_mirror.fail_first["/HDFS/HDFS_2k.log"] = (99, 503)
    results = by_name(ing.ingest("HDFS,BGL", http_mirror.url, retries=2, backoff_s=0.01))
    assert results["HDFS"].status == "failed"
    assert results["HDFS"].error == (
        f"{http_mirror.url}/HDFS/HDFS_2k.log: HTTP 503 (gave up after 3 attempts)"
    )
    assert http_mirror.requests["/HDFS/HDFS_2k.log"] == 3
    assert results["BGL"].status == "downloaded"  # the others go on


def test_unreachable_host_fails_fast_for_the_next_datasets(data_dir):
    # a port nobody listens on: connection refused, retried, then remembered
    with ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler) as s:
        port = s.server_address[1]
    results = ing.ingest("HDFS,Spark", f"http://127.0.0.1:{port}", retries=1, backoff_s=0.01)
    assert [r.status for r in results] == ["failed", "failed"]
    assert "ConnectError" in results[0].error and "gave up after 2 attempts" in results[0].error
    assert results[1].error.endswith("(host unreachable earlier)")


# --------------------------------------------------------------------------- synthetic


def test_synthetic_source_generates_and_is_idempotent(data_dir):
    results = ing.ingest(None, "synthetic")
    assert [r.dataset for r in results] == list(synthetic.GENERATORS)
    assert {r.status for r in results} == {"generated"}
    for r in results:
        assert (data_dir / "loghub" / f"{r.dataset}_2k.log").read_text() == synthetic.generate(
            r.dataset
        )
    assert {r.status for r in ing.ingest(None, "synthetic")} == {"unchanged"}
    other_seed = ing.ingest("JavaApp", "synthetic", seed=7)[0]
    assert other_seed.status == "generated" and other_seed.source == "synthetic:seed=7"
    wrong = by_name(ing.ingest("BGL,WebServer", "synthetic"))
    assert (
        wrong["BGL"].status == "failed" and "BGL is not a synthetic dataset" in wrong["BGL"].error
    )
    assert wrong["WebServer"].status == "unchanged"
    loghub_only = ing.ingest_dataset("JavaApp", "loghub")
    assert loghub_only.status == "failed" and "not on loghub" in loghub_only.error


# --------------------------------------------------------------------------- CLI


def test_cli_reports_per_dataset_and_exit_status(shared_data, data_dir, tmp_path):
    mirror = make_bad_mirror(shared_data, tmp_path / "bad")
    runner = CliRunner()
    bad = runner.invoke(cli, ["ingest", "--source", str(mirror), "--datasets", "HDFS,Apache"])
    assert bad.exit_code == 1
    assert "Apache failed: empty file" in flat(bad.output)
    assert "1 dataset(s) failed: Apache" in flat(bad.output)
    assert "Traceback" not in bad.output
    good = runner.invoke(cli, ["ingest", "--source", str(mirror), "--datasets", "HDFS", "--json"])
    assert good.exit_code == 0, good.output
    payload = json.loads(good.stdout)
    assert payload["results"][0]["status"] == "unchanged"
    assert payload["summary"] == {"datasets": 1, "failed": 0, "by_status": {"unchanged": 1}}
    missing = runner.invoke(cli, ["ingest", "--source", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no such directory" in flat(missing.output)
    unknown = runner.invoke(cli, ["ingest", "--datasets", "Nope"])
    assert unknown.exit_code == 1 and "unknown dataset(s): Nope" in flat(unknown.output)


def test_installed_command_runs(shared_data, data_dir):
    exe = Path(sys.executable).with_name("lookskip")
    proc = subprocess.run(
        [
            str(exe),
            "ingest",
            "--source",
            str(shared_data / "loghub"),
            "--datasets",
            "HDFS,Thunderbird",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 copied" in proc.stdout
    assert (data_dir / "loghub" / "Thunderbird_2k.log_structured.csv").exists()


def test_one_dataset_as_a_worker_task_runs_it(shared_data, data_dir, tmp_path):
    """``ingest_dataset`` by name, result through JSON and back (what a Celery task does)."""
    r = ing.ingest_dataset("HDFS", str(shared_data / "loghub"))
    back = ing.IngestResult(**json.loads(json.dumps(r.to_dict())))
    assert back == r and back.status == "copied" and back.ok
    missing = ing.ingest_dataset("Spark", str(tmp_path), required=False)
    assert missing.status == "missing" and missing.ok
    assert not ing.ingest_dataset("Spark", str(tmp_path)).ok


def test_a_users_own_dataset_is_checked_not_refetched(data_dir, tmp_path):
    from lookskip import datasets as ds

    log = tmp_path / "app.log"
    log.write_text("".join(f"2025-01-01 line {i}\n" for i in range(30)))
    ds.add_dataset("MyApp", str(log), lines=20)
    r = ing.ingest_dataset("MyApp")
    assert (r.status, r.lines, r.source) == ("unchanged", 20, str(log))
    (data_dir / "loghub" / "MyApp_2k.log").unlink()
    r = ing.ingest_dataset("MyApp")
    assert r.status == "failed" and "lookskip datasets add MyApp" in r.error


def test_only_a_folder_source_is_a_path_the_workers_roots_govern():
    """`enqueue pipeline --source synthetic` on a worker: the roots check (worker/tasks/
    ingest.py) looks at folders only; `synthetic` is not ./synthetic (the smoke test's
    pipeline phase was refused as `synthetic is outside the folders workers may use`)."""
    from lookskip.ingest import source_dir

    for named in (None, "", "registry", "loghub", "synthetic", "https://mirror/x/"):
        assert source_dir(named) is None, named
    assert source_dir("/data/samples/") == "/data/samples"
    assert source_dir("s3://bucket/samples") == "s3://bucket/samples"
