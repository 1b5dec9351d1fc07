"""``lookskip validate`` on labels built from BGL's real ground truth, with exact figures."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip import ingest
from lookskip import validate as v


def truth_rows(shared_data: Path, name: str) -> list[tuple[int, str]]:
    with open(shared_data / "loghub" / f"{name}_2k.log_structured.csv", newline="") as f:
        return [(int(r["LineId"]), r["Label"]) for r in csv.DictReader(f)]


def write_labels(path: Path, name: str, rows: list[tuple[int, str]], raw: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for line, label in rows:
            f.write(
                json.dumps(
                    {
                        "system": name,
                        "line_number": line,
                        "raw_line": raw[line - 1],
                        "label": label,
                        "reason": "test",
                    }
                )
                + "\n"
            )


@pytest.fixture
def bgl(shared_data, data_dir):
    """BGL ingested from the shared mirror (sample + ground truth), and its truth rows."""
    [r] = ingest.ingest("BGL", str(shared_data / "loghub"))
    assert r.truth == "copied"
    raw = (data_dir / "loghub" / "BGL_2k.log").read_text().split("\n")
    return truth_rows(shared_data, "BGL"), raw


def constructed_labels(rows):
    """Alerts: LOOK except the first 10 (SKIP), the next 5 missing and one 'maybe';
    normals: every 4th LOOK, the rest SKIP, the last 3 missing."""
    alerts = [n for n, lab in rows if lab != "-"]
    normals = [n for n, lab in rows if lab == "-"]
    labels = {n: "LOOK" for n in alerts}
    labels.update({n: "SKIP" for n in alerts[:10]})
    for n in alerts[10:15]:
        del labels[n]
    labels[alerts[15]] = "maybe"
    labels.update({n: ("LOOK" if i % 4 == 0 else "SKIP") for i, n in enumerate(normals)})
    for n in normals[-3:]:
        del labels[n]
    return sorted(labels.items()), alerts, normals


def test_figures_on_a_constructed_case(bgl, data_dir):
    rows, raw = bgl
    labels, alerts, normals = constructed_labels(rows)
    assert (len(rows), len(alerts), len(normals)) == (2000, 143, 1857)
    # lower-case labels count too: "look" is LOOK
    labels = [(n, lab.lower() if n == alerts[20] else lab) for n, lab in labels]
    write_labels(data_dir / "labels" / "BGL.jsonl", "BGL", labels, raw)

    r = v.validate("BGL")["datasets"][0]
    assert r["error"] is None
    assert r["truth"] == str(data_dir / "loghub" / "BGL_2k.log_structured.csv")
    normal_look = len(range(0, 1854, 4))  # every 4th of the 1854 labeled normals
    assert r["matrix"] == {
        "alert": {"LOOK": 143 - 10 - 5 - 1, "SKIP": 10, "unlabeled": 5 + 1},
        "normal": {"LOOK": normal_look, "SKIP": 1854 - normal_look, "unlabeled": 3},
    }
    assert r["recall"] == pytest.approx(127 / 143)
    assert r["normal_look_share"] == pytest.approx(464 / 1857)
    assert r["unlabeled"] == 9
    assert sum(sum(c.values()) for c in r["by_category"].values()) == 143
    assert r["by_category"]["KERNDTLB"]["LOOK"] + r["by_category"]["KERNDTLB"]["SKIP"] + r[
        "by_category"
    ]["KERNDTLB"]["unlabeled"] == sum(1 for _, lab in rows if lab == "KERNDTLB")
    assert (r["extra_labels"], r["duplicate_labels"], r["raw_line_mismatches"]) == (0, 0, 0)
    json.dumps(r)


def test_perfect_labels_and_thunderbird_without_alerts(shared_data, data_dir):
    ingest.ingest("BGL,Thunderbird", str(shared_data / "loghub"))
    for name in ("BGL", "Thunderbird"):
        rows = truth_rows(shared_data, name)
        raw = (data_dir / "loghub" / f"{name}_2k.log").read_text().split("\n")
        write_labels(
            data_dir / "labels" / f"{name}.jsonl",
            name,
            [(n, "SKIP" if lab == "-" else "LOOK") for n, lab in rows],
            raw,
        )
    report = v.validate()  # default: the registry's ground-truth datasets
    assert report["errors"] == 0
    bgl, tb = report["datasets"]
    assert (bgl["dataset"], bgl["recall"], bgl["normal_look_share"]) == ("BGL", 1.0, 0.0)
    # this 2K sample of Thunderbird has no alert line: recall is undefined, not 0 or 1
    assert (tb["dataset"], tb["alerts"], tb["recall"], tb["normal_look_share"]) == (
        "Thunderbird",
        0,
        None,
        0.0,
    )


def test_oddities_are_counted_not_fatal(bgl, data_dir):
    rows, raw = bgl
    labels = [(n, "SKIP") for n, _ in rows] + [(5, "LOOK"), (2001, "LOOK")]  # dup, out of range
    write_labels(data_dir / "labels" / "BGL.jsonl", "BGL", labels, [*raw, "x"])
    with open(data_dir / "labels" / "BGL.jsonl", "a") as f:  # a row whose raw_line is wrong
        f.write(json.dumps({"line_number": 7, "raw_line": "not the line", "label": "SKIP"}) + "\n")
    r = v.validate("BGL")["datasets"][0]
    assert (r["duplicate_labels"], r["extra_labels"], r["raw_line_mismatches"]) == (2, 1, 1)
    assert r["matrix"]["normal"]["LOOK"] == (1 if dict(rows)[5] == "-" else 0)


def test_truth_found_in_ingest_source_and_with_truth_option(bgl, shared_data, data_dir, tmp_path):
    rows, raw = bgl
    write_labels(data_dir / "labels" / "BGL.jsonl", "BGL", [(n, "LOOK") for n, _ in rows], raw)
    (data_dir / "loghub" / "BGL_2k.log_structured.csv").unlink()
    r = v.validate("BGL")["datasets"][0]  # via the ingest record: the shared mirror
    assert r["truth"] == str(shared_data / "loghub" / "BGL_2k.log_structured.csv")
    assert r["recall"] == 1.0 and r["normal_look_share"] == 1.0
    nested = tmp_path / "truth" / "BGL"
    nested.mkdir(parents=True)
    shutil.copy(shared_data / "loghub" / "BGL_2k.log_structured.csv", nested)
    r = v.validate("BGL", truth_dir=str(tmp_path / "truth"))["datasets"][0]
    assert r["truth"] == str(nested / "BGL_2k.log_structured.csv")


def test_missing_and_broken_inputs_are_errors_per_dataset(bgl, data_dir, tmp_path):
    rows, raw = bgl
    write_labels(data_dir / "labels" / "BGL.jsonl", "BGL", [(n, "LOOK") for n, _ in rows], raw)
    report = v.validate("BGL,Thunderbird,HDFS")
    assert report["errors"] == 2
    bgl_r, tb, hdfs = report["datasets"]
    assert bgl_r["error"] is None and bgl_r["recall"] == 1.0  # the others go on
    assert tb["error"].startswith("ground truth Thunderbird_2k.log_structured.csv not found in")
    assert "--truth DIR" in tb["error"]
    assert "HDFS_2k.log_structured.csv not found" in hdfs["error"]

    broken = tmp_path / "labels"
    broken.mkdir()
    (broken / "BGL.jsonl").write_text('{"line_number": 1, "label": "LOOK"}\nnot json\n')
    r = v.validate("BGL", labels_dir=str(broken))["datasets"][0]
    assert r["error"] == f"{broken / 'BGL.jsonl'} line 2: not a label row"

    no_label_col = tmp_path / "t"
    no_label_col.mkdir()
    (no_label_col / "BGL_2k.log_structured.csv").write_text("LineId,Content\n1,x\n")
    r = v.validate("BGL", truth_dir=str(no_label_col))["datasets"][0]
    assert "no LineId/Label columns" in r["error"]


def test_cli_prints_figures_and_exits_nonzero_only_on_errors(bgl, data_dir):
    rows, raw = bgl
    labels, _, _ = constructed_labels(rows)
    write_labels(data_dir / "labels" / "BGL.jsonl", "BGL", labels, raw)
    runner = CliRunner()
    ok = runner.invoke(cli, ["validate", "--datasets", "BGL"])
    assert ok.exit_code == 0, ok.output  # poor figures are not an error
    text = " ".join(ok.output.split())
    assert "88.8% (127/143)" in text  # recall
    assert "25.0% (464/1,857)" in text  # LOOK share on normal lines
    assert "BGL confusion matrix" in text and "KERNDTLB" in text
    as_json = runner.invoke(cli, ["validate", "--datasets", "BGL", "--json"])
    assert json.loads(as_json.stdout) == v.validate("BGL")
    bad = runner.invoke(cli, ["validate"])  # Thunderbird was not ingested: no ground truth
    assert bad.exit_code == 1
    flat = " ".join(bad.output.split())
    assert "Thunderbird: ground truth Thunderbird_2k.log_structured.csv not found" in flat
    assert "1 dataset(s) could not be validated" in flat
    assert "Traceback" not in bad.output


def test_any_model_is_validated_on_the_ground_truth(shared_data, data_dir):
    """--model: the model's own LOOK/SKIP of the sample lines against the alert truth."""
    model = Path(__file__).resolve().parent.parent / "data" / "models" / "look_skip_model.json.gz"
    report = v.validate(["BGL"], truth_dir=str(shared_data / "loghub"), model_path=str(model))
    (r,) = report["datasets"]
    assert r["error"] is None and r["labels"].startswith("model:")
    assert r["matrix"]["alert"]["unlabeled"] == r["matrix"]["normal"]["unlabeled"] == 0
    assert r["alerts"] + r["normals"] == r["lines"] == 2000
    assert r["recall"] == r["matrix"]["alert"]["LOOK"] / r["alerts"]
    res = CliRunner().invoke(
        cli,
        ["validate", "--datasets", "BGL", "--truth", str(shared_data / "loghub"),
         "--model", str(model), "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["datasets"][0]["recall"] == r["recall"]
