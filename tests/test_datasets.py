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
    d, n = ds.add_dataset("MyApp", str(src), lines=20)  # same name, same file: a refresh
    assert n == 20 and d.source == "file"
    sample = data_dir / "loghub" / "MyApp_2k.log"
    assert sample.read_text().splitlines() == [f"line {i}" for i in range(20)]
    assert list(ds.load_registry()).count("MyApp") == 1
    assert "HDFS" in ds.load_registry()  # the defaults are kept in the user's copy


def test_add_checks_the_sample_like_ingest(data_dir, tmp_path):
    """Binary, non-UTF-8 and over-long lines are refused, and nothing is registered."""
    (tmp_path / "bin.log").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    with pytest.raises(ds.DatasetError, match=r"binary file \(NUL byte"):
        ds.add_dataset("Bin", str(tmp_path / "bin.log"))
    (tmp_path / "latin1.log").write_bytes(b"ok\ncaf\xe9 failed\n")
    with pytest.raises(ds.DatasetError, match="not UTF-8"):
        ds.add_dataset("Latin", str(tmp_path / "latin1.log"))
    (tmp_path / "long.log").write_bytes(b"x" * (3 << 20) + b"\n")
    with pytest.raises(ds.DatasetError, match="bytes long"):
        ds.add_dataset("Long", str(tmp_path / "long.log"))
    reg = ds.load_registry()
    assert not {"Bin", "Latin", "Long"} & set(reg)
    assert not [
        p for p in ("Bin", "Latin", "Long") if (data_dir / "loghub" / f"{p}_2k.log").exists()
    ]


def test_add_refuses_to_replace_a_registered_dataset_without_force(data_dir, tmp_path):
    log = tmp_path / "x.log"
    log.write_text("line one\nline two\n")
    with pytest.raises(ds.DatasetError, match=r"HDFS is already registered.*--force"):
        ds.add_dataset("HDFS", str(log))
    assert ds.load_registry()["HDFS"].source == "loghub"
    d, n = ds.add_dataset("HDFS", str(log), force=True)
    assert d.source == "file" and n == 2
    other = tmp_path / "y.log"
    other.write_text("other\n")
    ds.add_dataset("Mine", str(log))
    with pytest.raises(ds.DatasetError, match="Mine is already registered"):
        ds.add_dataset("Mine", str(other))


@pytest.mark.parametrize("lines", [0, -5])
def test_add_refuses_a_line_count_below_one(data_dir, tmp_path, lines):
    (tmp_path / "x.log").write_text("a\nb\n")
    with pytest.raises(ds.DatasetError, match="at least 1"):
        ds.add_dataset("X", str(tmp_path / "x.log"), lines=lines)


def test_add_validates_the_name_with_a_clear_message(data_dir, tmp_path):
    (tmp_path / "x.log").write_text("a\n")
    with pytest.raises(ds.DatasetError, match="300 characters long"):
        ds.add_dataset("A" * 300, str(tmp_path / "x.log"))
    for bad in ("1abc", "a-b", "naïve", ""):
        with pytest.raises(ds.DatasetError, match="ASCII letters"):
            ds.add_dataset(bad, str(tmp_path / "x.log"))
    with pytest.raises(ds.DatasetError, match="is a directory"):
        ds.add_dataset("Dir", str(tmp_path))


def test_datasets_add_cli_messages(data_dir, tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    (tmp_path / "x.log").write_text("a\nb\n")
    r = CliRunner().invoke(cli, ["datasets", "add", "Ok1", "/bin/ls"])
    assert r.exit_code != 0 and "binary file" in r.output, r.output
    r = CliRunner().invoke(cli, ["datasets", "add", "X", str(tmp_path / "x.log"), "--lines", "0"])
    assert r.exit_code == 2 and "--lines" in r.output
    r = CliRunner().invoke(cli, ["datasets", "add", "HDFS", str(tmp_path / "x.log")])
    assert r.exit_code != 0 and "--force" in r.output
    r = CliRunner().invoke(cli, ["datasets", "add", "A" * 300, str(tmp_path / "x.log")])
    assert r.exit_code != 0 and "Errno" not in r.output and "at most 64" in r.output


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
