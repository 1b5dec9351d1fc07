"""Byte-range chunks: every line is owned by exactly one chunk, at every awkward boundary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookskip.bulk.chunks import count_lines, owned_blocks, plan_units
from lookskip.bulk.inputs import Source
from lookskip.classify.linecut import split_lines


def reference_lines(data: bytes, cap: int = 1 << 30) -> list[bytes]:
    """What the Rust line reader gives, line by line: split on \\n, drop a \\r right
    before a \\n, keep the first ``cap`` bytes of a longer line (its \\r then stays)."""
    out = []
    rest = data
    while rest:
        i = rest.find(b"\n")
        line, rest, terminated = (rest, b"", False) if i < 0 else (rest[:i], rest[i + 1 :], True)
        if len(line) > cap:
            line = line[:cap]
        elif terminated and line.endswith(b"\r"):
            line = line[:-1]
        out.append(line)
    return out


def chunked_lines(
    data: bytes, chunk: int, block: int = 7, cap: int = 1 << 30
) -> tuple[list[bytes], list[int]]:
    src = Source(name="x", url="x", kind="plain", size=len(data))
    lines: list[bytes] = []
    counts = []
    for unit in plan_units(src, chunk):
        f = io.BytesIO(data)
        blocks = list(owned_blocks(f, unit.start, unit.end, block=block))
        counts.append(sum(count_lines(b) for b in blocks))
        for b in blocks:
            lines.extend(split_lines(b, cap)[0])
    return lines, counts


AWKWARD = [
    b"",
    b"\n",
    b"\n\n\n",
    b"one line without newline",
    b"a\nb\nc\n",
    b"a\nb\nc",
    b"crlf\r\nlines\r\nhere\r\n",
    b"crlf split\r\n\r\nx\r",
    b"bare \r inside\rline\r\n\r",
    b"bad utf8 \xff\xfe\n\xe2\x82\nok \xe2\x82\xac\n",
    b"x" * 100 + b"\n" + b"y" * 3 + b"\n",
]


@pytest.mark.parametrize("data", AWKWARD)
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 64, 1000])
def test_awkward_files_every_chunk_size(data: bytes, chunk: int) -> None:
    lines, counts = chunked_lines(data, chunk)
    assert lines == reference_lines(data)
    assert sum(counts) == len(reference_lines(data))


def test_boundary_at_every_byte_of_a_file() -> None:
    """Two chunks, with the boundary placed at every offset (inside a line, on \\n, after)."""
    data = b"first line\r\nsecond\n\nfourth line is longer\nlast-no-newline"
    want = reference_lines(data)
    for cut in range(1, len(data)):
        got = []
        for start, end in ((0, cut), (cut, None)):
            for b in owned_blocks(io.BytesIO(data), start, end, block=4):
                got.extend(split_lines(b)[0])
        assert got == want, cut


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"a", b"bc", b"\n", b"\r\n", b"\r", b"\xff", b"\xe2\x82\xac", b" "]),
        max_size=60,
    ).map(b"".join),
    st.integers(1, 40),
    st.integers(1, 16),
)
def test_property_chunks_partition_the_lines(data: bytes, chunk: int, block: int) -> None:
    lines, _ = chunked_lines(data, chunk, block)
    assert lines == reference_lines(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"a", b"bcd", b"\n", b"\r\n", b"\r", b"\xe2\x82\xac"]), max_size=40
    ).map(b"".join),
    st.integers(1, 6),
)
def test_property_long_lines_are_cut_like_the_rust_reader(data: bytes, cap: int) -> None:
    lines, _counts = chunked_lines(data, 64, 64, cap)
    assert lines == reference_lines(data, cap)
    _whole, cut = split_lines(data, cap)
    pieces = data.split(b"\n")[: -1 if data.endswith(b"\n") else None] if data else []
    assert cut == sum(1 for piece in pieces if len(piece) > cap)


def test_single_10mb_line_spanning_many_chunks(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    line = b"E" * (10 << 20)
    path.write_bytes(b"before\n" + line + b"\nafter\n")
    src = Source(name="long.log", url=str(path), kind="plain", size=path.stat().st_size)
    units = plan_units(src, 1 << 20)
    assert len(units) == 11
    owners = []
    for u in units:
        with path.open("rb") as f:
            blocks = list(owned_blocks(f, u.start, u.end))
        owners.append(sum(count_lines(b) for b in blocks))
        if u.index == 0:
            lines = [x for b in blocks for x in split_lines(b)[0]]
            assert [len(x) for x in lines] == [6, 64 << 10]  # cut to the 64 KiB cap
    # chunk 0 owns "before" and the long line; the chunk holding its end owns "after"
    assert owners[0] == 2 and sum(owners) == 3 and owners.count(0) == 9


def test_plan_units_small_and_compressed_files_are_one_unit() -> None:
    assert len(plan_units(Source("a", "a", "plain", size=10), 64)) == 1
    assert len(plan_units(Source("a", "a", "gz", size=10**9), 64)) == 1
    units = plan_units(Source("a", "a", "plain", size=130), 64)
    assert [(u.start, u.end) for u in units] == [(0, 64), (64, 128), (128, None)]
    with pytest.raises(ValueError):
        plan_units(Source("a", "a", "plain", size=1), 0)


@pytest.fixture(scope="module")
def scorer():
    from lookskip.classify.scorer import load_scorer

    model = Path(__file__).resolve().parent.parent / "data" / "models" / "look_skip_model.json.gz"
    return load_scorer(str(model), threads=1)


AWKWARD_FILES = {
    "empty": b"",
    "no_final_newline": b"alpha\nbeta\ngamma without newline",
    "crlf": b"one\r\ntwo\r\n\r\nfour\r\n",
    "ten_mb_line": b"start\n" + b"E" * (10 << 20) + b"\nend\n",
    "invalid_utf8": b"ok\n\xff\xfe bad \xe2\x82\nfine \xe2\x82\xac\n",
}


@pytest.mark.parametrize("name", sorted(AWKWARD_FILES))
def test_scored_units_number_every_line_once(tmp_path, scorer, name):
    """Through the real scorer (Rust unit reader when built): every line is a row once,
    with its global number and its text, whatever the chunk size."""
    import json

    from lookskip.bulk.merge import merge_units
    from lookskip.bulk.parts import run_unit

    data = AWKWARD_FILES[name]
    path = tmp_path / f"{name}.log"
    path.write_bytes(data)
    want = [ln.decode("utf-8", "replace") for ln in reference_lines(data, 64 << 10)]
    src = Source(name=path.name, url=str(path), kind="plain", size=len(data))
    for chunk in (1 << 20, 3 << 20, 64 << 20) if len(data) > 1 << 20 else (3, 7, 64, 64 << 20):
        units = plan_units(src, chunk)
        parts = tmp_path / f"parts-{chunk}"
        for u in units:
            assert run_unit(u, str(parts), scorer.engine, 0.0).error is None
        fr = merge_units(units, str(parts), str(tmp_path / f"out-{chunk}"))
        rows = [
            json.loads(r)
            for r in (tmp_path / f"out-{chunk}" / f"{name}.log.look.jsonl").read_text().splitlines()
        ]
        assert fr.lines == len(want) and not fr.errors
        assert [r["line"] for r in rows] == list(range(1, len(want) + 1)), chunk
        assert [r["text"] for r in rows] == want, chunk
