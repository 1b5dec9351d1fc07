import gzip

import pytest

from lookskip import datasets as ds
from lookskip import storage


def test_default_registry_has_loghub_and_synthetic(data_dir):
    reg = ds.load_registry()
    assert len([d for d in reg.values() if d.source == "loghub"]) == 16
    assert len([d for d in reg.values() if d.source == "synthetic"]) == 6
    assert {d.name for d in reg.values() if d.ground_truth} == {"BGL", "Thunderbird"}


def test_select_rejects_unknown_names(data_dir):
    assert [d.name for d in ds.select("HDFS, BGL")] == ["HDFS", "BGL"]
    with pytest.raises(ds.DatasetError, match=r"unknown dataset.*Nope"):
        ds.select("HDFS,Nope")


def test_add_takes_first_lines_and_is_idempotent(data_dir, tmp_path):
    src = tmp_path / "app.log.gz"
    with gzip.open(src, "wt") as f:
        f.writelines(f"line {i}\n" for i in range(50))
    d, n = ds.add_dataset("MyApp", str(src), lines=20)
    d, n = ds.add_dataset("MyApp", str(src), lines=20)
    assert n == 20 and d.source == "file"
    sample = data_dir / "loghub" / "MyApp_2k.log"
    assert sample.read_text().splitlines() == [f"line {i}" for i in range(20)]
    assert list(ds.load_registry()).count("MyApp") == 1
    assert "HDFS" in ds.load_registry()  # the defaults are kept in the user's copy


def test_add_rejects_missing_and_empty(data_dir, tmp_path):
    with pytest.raises(ds.DatasetError, match="no such file"):
        ds.add_dataset("X", str(tmp_path / "missing.log"))
    (tmp_path / "empty.log").write_bytes(b"")
    with pytest.raises(ds.DatasetError, match="empty"):
        ds.add_dataset("X", str(tmp_path / "empty.log"))


def test_atomic_writer_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f.json"
    storage.write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), storage.atomic_writer(target, "wb") as f:
        f.write(b"partial")
        raise RuntimeError("killed")
    assert storage.read_json(target) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
