"""What only Python can read reaches the Rust reader as blocks (issue 24).

Zip members and object-store URLs are read by Python (zipfile, fsspec), but their lines
are split, scored and written by the same Rust code as a local file's:
``lookskip_rs.classify_unit(kind="blocks", blocks=<iterator of bytes>)``. These tests
hold the blocks path to the local one (rows and totals, at any cut of the blocks), check
that an error raised by the iterator ends the unit with its message and the count of
lines before it, and that a zip member classified this way, triage included, equals
the Python reference loop (``scan_unit``) and the same bytes on disk.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import lookskip_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookskip.bulk.chunks import Unit
from lookskip.bulk.inputs import expand_inputs
from lookskip.bulk.scan import classify_unit_to, scan_unit
from lookskip.classify.scorer import load_scorer
from lookskip.classify.triage import Triage

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
LOG = (
    b"2024-05-01 10:00:01 INFO request served in 12 ms\r\n"
    b"2024-05-01 10:00:02 ERROR failed to open /var/lib/app/db: Permission denied\n"
    b"kernel: Out of memory: Killed process 4242 (java)\n"
    + b"x" * 300
    + b" ERROR overlong line\n"
    + "d\u00e9j\u00e0 vu \xff WARN disk 91% full\n".encode("utf-8", "surrogateescape")
    + b"sshd[12]: Failed password for root from 10.0.0.1 port 22\n"
    b"last line without a newline: FATAL"
)


@pytest.fixture(scope="module")
def clf():
    return lookskip_rs.Classifier(str(MODEL), threads=1, max_line_bytes=256)


def _unit(clf, tmp_path: Path, **kw) -> tuple[dict, bytes]:
    rows = tmp_path / "rows"
    d = lookskip_rs.classify_unit(clf, rows_path=str(rows), threshold=0.0, **kw)
    return d, rows.read_bytes()


ROW = b'{"line":'  # rows' prefix: each row is then a JSON object
TOTALS = ("lines", "look", "written", "bytes", "truncated", "density", "bucket", "error")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(0, len(LOG)), max_size=8))
def test_blocks_cut_anywhere_give_the_local_files_rows(clf, tmp_path, cuts):
    path = tmp_path / "app.log"
    path.write_bytes(LOG)
    local, local_rows = _unit(clf, tmp_path, kind="plain", path=str(path), size=len(LOG))
    edges = [0, *sorted(cuts), len(LOG)]
    blocks = iter([LOG[a:b] for a, b in itertools.pairwise(edges)])  # empty ones too
    got, rows = _unit(clf, tmp_path, kind="blocks", path="", blocks=blocks)
    assert rows == local_rows and rows.count(b"\n") == 7
    assert {k: got[k] for k in TOTALS} == {k: local[k] for k in TOTALS}
    assert got["truncated"] == 1 and got["error"] is None


def test_an_error_from_the_blocks_ends_the_unit_with_its_message(clf, tmp_path):
    def blocks():
        yield LOG[:200]
        yield LOG[200:260]
        raise OSError("corrupt archive: bad CRC-32 for member app.log")

    d, rows = _unit(clf, tmp_path, kind="blocks", path="", blocks=blocks())
    assert d["lines"] == 3  # the three whole lines of the first 260 bytes
    assert d["error"] == "corrupt archive: bad CRC-32 for member app.log, after 3 complete lines"
    assert rows.count(b"\n") == d["written"]  # as for a local gzip cut short


def test_blocks_that_start_a_stream_refuse_binary_data(clf, tmp_path):
    data = b"ELF\x00\x01\x02 binary\n" * 10
    d, rows = _unit(clf, tmp_path, kind="blocks", path="", blocks=iter([data]))
    assert "binary" in d["error"] and d["lines"] == 0 and rows == b""
    # a later range of a file does not start it: its bytes are not probed again
    d, _ = _unit(clf, tmp_path, kind="blocks", path="", start=100, blocks=iter([data]))
    assert d["error"] is None and d["lines"] == 10


def test_a_non_bytes_block_is_an_error_not_a_crash(clf, tmp_path):
    d, _ = _unit(clf, tmp_path, kind="blocks", path="", blocks=iter([LOG[:100], "text"]))
    assert d["error"] == "'str' object is not an instance of 'bytes', after 1 complete lines"
    with pytest.raises(ValueError, match="blocks"):
        lookskip_rs.classify_unit(clf, kind="blocks", path="", rows_path=str(tmp_path / "r"))


def test_a_zip_member_equals_the_python_loop_and_the_file_on_disk(tmp_path):
    """Through ``classify_unit_to``: the zip member goes the blocks path (with why
    too: it was once spooled to a temp file for that); the references are
    ``scan_unit`` and the plain file."""
    body = LOG * 50
    (tmp_path / "app.log").write_bytes(body)
    with zipfile.ZipFile(tmp_path / "logs.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.log", body)
    scorer = load_scorer(str(MODEL), threads=1, max_line_bytes=256)
    [member] = expand_inputs([str(tmp_path / "logs.zip")]).sources
    [plain] = expand_inputs([str(tmp_path / "app.log")]).sources
    out = {}
    for name, src in (("zip", member), ("plain", plain)):
        path = tmp_path / f"{name}.rows"
        res = classify_unit_to(Unit(src, 0), scorer.engine, 0.5, str(path), prefix=ROW)
        assert res.error is None and res.lines == body.count(b"\n") + 1 and res.truncated == 50
        out[name] = (path.read_bytes(), res.look, res.bytes, res.patterns)
    assert out["zip"] == out["plain"]
    python = []
    ref = scan_unit(Unit(member, 0), scorer.engine, 0.5, python.append, prefix=ROW)
    assert ref.look == out["zip"][1] and ref.bytes == out["zip"][2]
    rust_rows = [json.loads(r) for r in out["zip"][0].splitlines()]
    py_rows = [json.loads(r) for r in b"".join(python).splitlines()]
    assert [(r["line"], r["text"]) for r in rust_rows] == [(q["line"], q["text"]) for q in py_rows]
    assert [r["prob"] for r in rust_rows] == pytest.approx([q["prob"] for q in py_rows], abs=1e-6)
    why = tmp_path / "why.rows"
    res = classify_unit_to(
        Unit(member, 0), scorer.engine, 0.5, str(why), prefix=ROW, triage=Triage(why=3)
    )
    assert res.error is None and res.look == out["zip"][1]
    assert all('"why":[' in r for r in why.read_text().splitlines())
