"""Messages that say what to do next, and rows whose ``file:line`` opens in an editor."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli

ERROR_LINE = b"2024-05-01 10:00:02 ERROR failed to open /var/lib/app/db: Permission denied\n"
LOG = b"2024-05-01 10:00:01 INFO request served in 12 ms\n" + ERROR_LINE


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_a_typo_gets_the_nearest_command():
    res = run("clasify", "x.log")
    assert res.exit_code == 2
    assert "No such command 'clasify'. Did you mean 'classify'?" in res.output
    res = run("zzzz")
    assert res.exit_code == 2 and "Did you mean" not in res.output


def test_help_lists_classify_first():
    res = run("--help")
    commands = res.output.split("Commands:")[1].split()
    assert commands[0] == "classify"


def test_nothing_matched_exits_2_with_one_line(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run("classify", str(empty))
    assert res.exit_code == 2
    assert f"no files matched in {empty}: nothing to classify" in res.output
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_bytes(LOG)
    res = run("classify", str(logs), "--include", "*.gz")
    assert res.exit_code == 2
    assert "with --include '*.gz'" in res.output and "or the globs" in res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1


def test_rows_name_the_path_as_given(tmp_path: Path, monkeypatch):
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "sub" / "app.log").write_bytes(LOG)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("var/log/db.log")
        info.size = len(LOG)
        tf.addfile(info, io.BytesIO(LOG))
    (logs / "bundle.tgz").write_bytes(buf.getvalue())

    one = str(logs / "sub" / "app.log")
    res = run("classify", "--format", "text", one)  # one file: the one-file path
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"{one}:2:")

    monkeypatch.chdir(tmp_path)  # a relative directory stays relative
    res = run("classify", "logs/")
    assert res.exit_code == 0, res.output
    files = sorted(json.loads(ln)["file"] for ln in res.stdout.splitlines())
    assert files == ["logs/bundle.tgz!var/log/db.log", "logs/sub/app.log"]
    for name in files:
        assert Path(name.split("!")[0]).exists()

    res = run("classify", "--format", "text", str(logs), "--output", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    rows = [
        json.loads(ln)
        for f in (tmp_path / "out").rglob("*.look.jsonl")
        for ln in f.read_text().splitlines()
    ]
    assert sorted(r["file"] for r in rows) == [
        f"{logs}/bundle.tgz!var/log/db.log",
        f"{logs}/sub/app.log",
    ]
