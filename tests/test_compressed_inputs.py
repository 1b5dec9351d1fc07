"""xz, bzip2 and zstd logs and tar archives are read as gzip is, by their magic bytes.

Real compressed files are made here (the standard library's lzma and bz2, the
zstandard package), each as two concatenated streams (what ``pzstd``/``pbzip2``/``cat
a.gz b.gz`` produce), and classified through ``lookskip classify`` with the Rust
extension and with the numpy fallback: every form gives the plain file's LOOK rows. A
compressed format not read here (lz4) is named, not reported as a binary file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import tarfile
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from cli.main import cli
from lookskip.rust import rust_module

LOG = b"".join(
    b"2024-05-01 10:00:%02d INFO request %d served in 12 ms\n" % (i % 60, i)
    if i % 9
    else b"2024-05-01 10:00:%02d ERROR request %d failed: connection refused\n" % (i % 60, i)
    for i in range(60)
)
COMPRESS = {
    "gz": gzip.compress,
    "xz": lzma.compress,
    "bz2": bz2.compress,
    "zst": zstandard.ZstdCompressor().compress,
}


def two_streams(kind: str, data: bytes) -> bytes:
    half = data.index(b"\n", len(data) // 2) + 1
    return COMPRESS[kind](data[:half]) + COMPRESS[kind](data[half:])


@pytest.fixture(params=["rust", "reference"])
def backend(request, monkeypatch) -> str:
    if request.param == "reference":
        monkeypatch.setenv("LOOKSKIP_NO_RUST", "1")
    elif rust_module()[0] is None:
        pytest.fail("lookskip_rs is not built (scripts/setup builds it)")
    return request.param


def classify(*args: str):
    return CliRunner().invoke(cli, ["classify", "--quiet", *args], catch_exceptions=False)


def rows(output: str) -> list[tuple[int, str]]:
    return [(r["line"], r["text"]) for r in map(json.loads, output.splitlines())]


@pytest.fixture
def plain_rows(tmp_path: Path) -> list[tuple[int, str]]:
    plain = tmp_path / "plain.log"
    plain.write_bytes(LOG)
    res = classify(str(plain))
    assert res.exit_code == 0, res.output
    got = rows(res.stdout)
    assert [n for n, _ in got] == list(range(1, 61, 9))  # the ERROR lines
    return got


@pytest.mark.parametrize("kind", ["xz", "bz2", "zst"])
def test_a_compressed_file_reads_like_the_plain_one(backend, kind, tmp_path, plain_rows):
    named = tmp_path / f"app.log.{kind}"
    named.write_bytes(two_streams(kind, LOG))
    unnamed = tmp_path / f"really-{kind}.log"  # by content, not by name
    unnamed.write_bytes(COMPRESS[kind](LOG))
    for path in (named, unnamed):
        res = classify(str(path))
        assert res.exit_code == 0, res.output
        assert rows(res.stdout) == plain_rows, path


def _tar(kind: str, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return COMPRESS[kind](buf.getvalue())


def test_directories_and_tar_archives_of_every_compression(backend, tmp_path, plain_rows):
    logs = tmp_path / "logs"
    logs.mkdir()
    names = []
    for kind in COMPRESS:
        (logs / f"app.log.{kind}").write_bytes(two_streams(kind, LOG))
        nested = {"var/log/app.log": LOG, f"var/log/old.log.{kind}": COMPRESS[kind](LOG)}
        (logs / f"bundle.tar.{kind}").write_bytes(_tar(kind, nested))
        names += [
            f"logs/app.log.{kind}",
            f"logs/bundle.tar.{kind}!var/log/app.log",
            f"logs/bundle.tar.{kind}!var/log/old.log.{kind}",
        ]
    res = classify(str(logs), "--output", str(tmp_path / "out"), "--no-report")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    files = {f["file"]: f for f in summary["files"]}
    assert sorted(files) == sorted(names)
    for name, f in files.items():
        assert not f.get("errors"), (name, f)
        assert (f["lines"], f["look"]) == (60, len(plain_rows)), name


def test_an_unknown_compression_is_named_not_called_binary(backend, tmp_path):
    lz4 = tmp_path / "logs" / "app.log.lz4"
    lz4.parent.mkdir()
    lz4.write_bytes(b"\x04\x22\x4d\x18" + bytes(range(256)) * 4)
    (tmp_path / "logs" / "ok.log").write_bytes(LOG)
    for target in (lz4, lz4.parent):  # one file, and inside a directory walk
        res = CliRunner().invoke(cli, ["classify", "--quiet", str(target)])
        assert res.exit_code == 1, res.output
        assert "lz4-compressed input: a format lookskip does not read" in res.output
        assert "binary file" not in res.output
