"""Labels files: good ones load, bad ones stop training with an error naming file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip.training.labels import LabelError, load_labels

ROW = {
    "system": "Demo",
    "line_number": 1,
    "raw_line": "ERROR disk full",
    "label": "LOOK",
    "reason": "error",
}


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_loads_rows_in_file_order_and_skips_the_aggregate_file(tmp_path):
    _write(tmp_path / "B.jsonl", [{**ROW, "system": "B", "label": "SKIP"}, {**ROW, "system": "B"}])
    _write(tmp_path / "A.jsonl", [{**ROW, "system": "A"}])
    _write(tmp_path / "all_labeled.jsonl", [{**ROW, "system": "A"}, {**ROW, "system": "B"}])
    data = load_labels(str(tmp_path))
    assert data.systems == ["A", "B", "B"]
    assert data.y.tolist() == [1, 0, 1]
    assert len(data.files) == 2 and len(data.data_hash()) == 64


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [ROW, {k: v for k, v in ROW.items() if k != "label"}],
            r"Bad\.jsonl:2: missing field\(s\) label",
        ),
        ([{**ROW, "label": "MAYBE"}], r"Bad\.jsonl:1: unknown label 'MAYBE'"),
        ([], r"Bad\.jsonl: empty labels file"),
        ([ROW, "{not json"], r"Bad\.jsonl:2: not valid JSON"),
        ([ROW, "[1, 2]"], r"Bad\.jsonl:2: expected a JSON object"),
    ],
)
def test_bad_labels_file_names_file_and_line(tmp_path, rows, message):
    _write(tmp_path / "Good.jsonl", [ROW])
    _write(tmp_path / "Bad.jsonl", rows)
    with pytest.raises(LabelError, match=message):
        load_labels(str(tmp_path))


def test_invalid_utf8_is_a_clear_error(tmp_path):
    (tmp_path / "Bin.jsonl").write_bytes(b'{"system": "\xff\xfe"}\n')
    with pytest.raises(LabelError, match=r"Bin\.jsonl: not UTF-8"):
        load_labels(str(tmp_path))


def test_empty_or_missing_dir_is_a_clear_error(tmp_path):
    with pytest.raises(LabelError, match="no labels files"):
        load_labels(str(tmp_path / "nowhere"))


def test_train_command_reports_a_bad_file_in_one_line(tmp_path, data_dir):
    _write(tmp_path / "Bad.jsonl", [{k: v for k, v in ROW.items() if k != "raw_line"}])
    result = CliRunner().invoke(cli, ["train", "--labels-dir", str(tmp_path), "--grid", "quick"])
    assert result.exit_code == 1
    assert "Bad.jsonl:1: missing field(s) raw_line" in result.output
    assert "Traceback" not in result.output


def test_train_rejects_unknown_holdout(shared_data, data_dir):
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--labels-dir",
            str(shared_data / "labels"),
            "--holdout",
            "NoSuchSystem",
            "--grid",
            "quick",
        ],
    )
    assert result.exit_code == 1
    assert "--holdout: no labels for NoSuchSystem" in result.output
