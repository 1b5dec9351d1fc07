"""The persistent transformer score cache (lookskip.transformer.scorecache): bounded,
keyed by the export's hash, and whole when several processes write it at once."""

from __future__ import annotations

import multiprocessing

from lookskip.transformer.scorecache import ScoreCache, cache_path, export_hash


def _writer(path: str, start: int, n: int) -> None:
    cache = ScoreCache(path)
    for i in range(start, start + n, 50):  # many small transactions, as units finish
        cache.add((f"input {j}", j / 1e4) for j in range(i, min(i + 50, start + n)))


def test_concurrent_writers_keep_every_score(tmp_path):
    path = str(tmp_path / "cache" / "transformer" / "abc.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, k * 1000, 1000)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    got = dict(ScoreCache(path).load())
    assert got == {f"input {j}": j / 1e4 for j in range(3000)}


def test_bounded_oldest_added_go_first_and_scores_never_change(tmp_path):
    cache = ScoreCache(str(tmp_path / "s.sqlite"), max_entries=100)
    assert cache.load() == [] and len(cache) == 0
    assert cache.add([(f"a{i}", 0.5) for i in range(80)]) == 80
    assert cache.add([("a50", 0.9), *((f"b{i}", 0.25) for i in range(40))]) == 40
    kept = dict(cache.load())
    assert len(kept) == 100 and "a19" not in kept and "a20" in kept and "b39" in kept
    assert kept["a50"] == 0.5  # a score once kept is never replaced


def test_keyed_by_what_decides_the_scores(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (export / name).write_text(name)
    h = export_hash(str(export))
    (export / "reference_outputs.json").write_text("[]")  # not part of the model
    assert export_hash(str(export)) == h
    (export / "model.safetensors").write_text("retrained")
    assert export_hash(str(export)) != h
    assert cache_path("/d/cache", h) == f"/d/cache/transformer/{h}.sqlite"
