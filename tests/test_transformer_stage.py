"""The BERT stage end to end with a tiny config-initialised BERT (real torch, real Rust).

One module-scoped run of ``lookskip train-transformer --base-model tiny`` on four
small labeled datasets (2 epochs) and ``export-transformer`` feeds every test:
training outputs, export names, Rust/candle parity with torch, and the cascade.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip.settings import get_settings

pytestmark = pytest.mark.transformer

TRAIN_SETS = ["Microservices", "SecurityEvents", "WebServer", "DatabaseErrors"]
HELD_OUT = "Apache"


@contextlib.contextmanager
def data_dir_env(d: Path):
    """LOOKSKIP_DATA_DIR set to ``d`` for the block (a module-scoped fixture cannot
    use monkeypatch), restored after."""
    old = os.environ.get("LOOKSKIP_DATA_DIR")
    os.environ["LOOKSKIP_DATA_DIR"] = str(d)
    get_settings.cache_clear()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LOOKSKIP_DATA_DIR", None)
        else:
            os.environ["LOOKSKIP_DATA_DIR"] = old
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_data) -> Path:
    """A data dir holding a trained tiny BERT and its export."""
    import torch

    torch.set_num_threads(1)  # the test machine is small and shared: no thread contention
    d = tmp_path_factory.mktemp("bert") / "data"
    d.mkdir()
    os.symlink(shared_data / "labels", d / "labels")
    with data_dir_env(d):
        runner = CliRunner()
        res = runner.invoke(
            cli,
            [
                "train-transformer",
                "--base-model",
                "tiny",
                "--epochs",
                "2",
                "--max-length",
                "48",
                "--batch-size",
                "32",
                "--datasets",
                ",".join([*TRAIN_SETS, HELD_OUT]),
                "--holdout",
                HELD_OUT,
                "--device",
                "cpu",
            ],
        )
        assert res.exit_code == 0, res.output
        assert "best epoch" in res.output
        res = runner.invoke(cli, ["export-transformer", "--reference-lines", "8"])
        assert res.exit_code == 0, res.output
        assert "exported" in res.output
    return d


def _export(trained: Path) -> Path:
    return trained / "models" / "transformer" / "export"


def test_training_writes_model_and_report(trained):
    model = trained / "models" / "transformer"
    for name in ("model.safetensors", "config.json", "tokenizer.json", "training.json"):
        assert (model / name).is_file(), name
    report = json.loads((trained / "models" / "eval_transformer.json").read_text())
    assert report["held_out_datasets"] == [HELD_OUT]
    assert report["train_size"] == sum(
        1 for s in TRAIN_SETS for _ in (trained / "labels" / f"{s}.jsonl").open()
    )
    assert report["epochs_run"] == 2 and len(report["history"]) == 2
    assert 1 <= report["best_epoch"] <= 2
    overall = report["overall"]
    assert overall["n"] == 2000 and set(report["per_dataset"]) == {HELD_OUT}
    for key in ("accuracy", "look_precision", "look_recall", "look_f1"):
        assert 0.0 <= overall[key] <= 1.0
    # the best epoch's F1 is the one reported
    best = report["history"][report["best_epoch"] - 1]["held_out_look_f1"]
    assert overall["look_f1"] == pytest.approx(best)
    w_skip, w_look = report["class_weights"]
    assert w_look < w_skip  # LOOK is the majority in these synthetic sets


def test_export_has_candle_names(trained):
    from safetensors import safe_open

    exp = _export(trained)
    for name in ("model.safetensors", "config.json", "tokenizer.json", "reference_outputs.json"):
        assert (exp / name).is_file(), name
    with safe_open(str(exp / "model.safetensors"), "np") as f:
        names = set(f.keys())
        dtypes = {str(f.get_tensor(n).dtype) for n in names}
    assert dtypes == {"float32"}
    assert all(n.startswith(("bert.", "classifier.")) for n in names)
    assert not any(n.endswith((".gamma", ".beta", "position_ids")) for n in names)
    for n in (
        "bert.embeddings.word_embeddings.weight",
        "bert.embeddings.LayerNorm.weight",
        "bert.encoder.layer.1.attention.self.query.weight",
        "bert.encoder.layer.1.output.LayerNorm.bias",
        "bert.pooler.dense.weight",
        "classifier.weight",
        "classifier.bias",
    ):
        assert n in names, n
    config = json.loads((exp / "config.json").read_text())
    assert config["model_type"] == "bert" and config["max_length"] == 48
    assert config["num_hidden_layers"] == 2
    ref = json.loads((exp / "reference_outputs.json").read_text())
    assert len(ref["lines"]) == len(ref["probabilities"]) > 20
    assert "" in ref["lines"]  # adversarial lines are part of the reference
    assert all(0.0 <= p <= 1.0 for p in ref["probabilities"])


def _bert_module():
    rs = pytest.importorskip("lookskip_rs", reason="Rust extension not built (scripts/setup)")
    if not hasattr(rs, "BertClassifier"):
        pytest.fail("lookskip_rs was built without the `bert` feature; rebuild with scripts/setup")
    return rs


def test_rust_candle_matches_torch(trained):
    rs = _bert_module()
    exp = _export(trained)
    ref = json.loads((exp / "reference_outputs.json").read_text())
    clf = rs.BertClassifier(str(exp), device="cpu")
    assert clf.device == "cpu" and clf.max_length == 48
    for batch_size in (1, 7, 64):
        got = clf.predict_proba(ref["lines"], batch_size=batch_size)
        assert isinstance(got, np.ndarray) and got.shape == (len(ref["lines"]),)
        np.testing.assert_allclose(got, ref["probabilities"], atol=1e-4, rtol=0)
    # bytes are decoded lossily, like the TF-IDF classifier does
    lines = [b"ERROR \xff\xfe disk failure", "ERROR \ufffd\ufffd disk failure"]
    p = clf.predict_proba(lines)
    assert p[0] == pytest.approx(p[1], abs=1e-6)
    assert clf.predict_proba([]).shape == (0,)


def test_float16_export_is_half_the_size_and_candle_matches_its_reference(trained, tmp_path):
    """A float16 export stores every tensor in half precision; its reference outputs are
    torch's on the same rounded weights, so candle (which widens them on load) matches
    them as tightly as a float32 export matches its own."""
    from safetensors import safe_open

    rs = _bert_module()
    with data_dir_env(trained):
        res = CliRunner().invoke(
            cli,
            [
                "export-transformer",
                "--out",
                str(tmp_path / "half"),
                "--dtype",
                "float16",
                "--threshold",
                "0.4",
                "--reference-lines",
                "5",
            ],
        )
    assert res.exit_code == 0, res.output
    half = tmp_path / "half"
    with safe_open(str(half / "model.safetensors"), "np") as f:
        names = set(f.keys())
        assert {str(f.get_tensor(n).dtype) for n in names} == {"float16"}
    full = (_export(trained) / "model.safetensors").stat().st_size
    assert (half / "model.safetensors").stat().st_size < 0.55 * full
    config = json.loads((half / "config.json").read_text())
    assert config["threshold"] == 0.4 and config["lookskip_dtype"] == "float16"
    provenance = json.loads((half / "training.json").read_text())
    assert provenance["held_out_datasets"] == [HELD_OUT]
    ref = json.loads((half / "reference_outputs.json").read_text())
    clf = rs.BertClassifier(str(half), device="cpu")
    assert clf.threshold == pytest.approx(0.4)
    got = clf.predict_proba(ref["lines"], batch_size=16)
    np.testing.assert_allclose(got, ref["probabilities"], atol=1e-4, rtol=0)


def test_rust_errors_are_clear(trained, tmp_path):
    rs = _bert_module()
    with pytest.raises(ValueError, match=r"config\.json"):
        rs.BertClassifier(str(tmp_path))
    with pytest.raises(ValueError, match="unknown device"):
        rs.BertClassifier(str(_export(trained)), device="tpu")


def _write_log(path: Path, shared_data: Path, n: int = 300) -> list[str]:
    lines = (shared_data / "loghub" / f"{HELD_OUT}_2k.log").read_text().splitlines()[:n]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return lines


def test_cascade_mode_on_a_lines_export_scores_only_tfidf_candidates(trained, shared_data):
    """An export trained on raw lines (``lookskip_inputs: lines``): the engine keys its
    cache by line and feeds the transformer the line itself."""
    rs = _bert_module()
    tfidf_model = Path(__file__).resolve().parent.parent / "data/models/look_skip_model.json.gz"
    lines = (shared_data / "loghub" / f"{HELD_OUT}_2k.log").read_text().splitlines()[:300]
    bert = rs.BertClassifier(str(_export(trained)), device="cpu", threads=1)
    assert bert.inputs == "lines"
    p_tfidf = rs.Classifier(str(tfidf_model), threads=1).predict_proba(lines)
    cas = rs.Classifier(str(tfidf_model), threads=1, mode="cascade", bert=bert)
    got = cas.predict_proba(lines)
    candidates = p_tfidf >= 0.2
    assert candidates.sum() > 0
    distinct = list(dict.fromkeys(ln for ln, c in zip(lines, candidates, strict=True) if c))
    assert cas.transformer_stats()["scored"] == len(distinct)
    q = dict(zip(distinct, bert.predict_proba(distinct), strict=True))
    thr = cas.threshold
    for ln, c, p in zip(lines, candidates, got, strict=True):
        if c:  # the transformer decides (the keyword floor may raise it to the threshold)
            assert p == pytest.approx(q[ln], abs=1e-6) or (p == thr and q[ln] < thr)
        else:
            assert p < thr or p == thr


def test_classify_bert_cli_reports_counts(trained, shared_data, tmp_path, monkeypatch):
    _bert_module()
    monkeypatch.setenv("LOOKSKIP_DATA_DIR", str(trained))
    monkeypatch.setenv("LOOKSKIP_DEVICE", "cpu")
    get_settings.cache_clear()
    log = tmp_path / "a.log.gz"
    _write_log(log, shared_data, 200)
    tfidf_model = Path(__file__).resolve().parent.parent / "data/models/look_skip_model.json.gz"
    res = CliRunner().invoke(
        cli,
        [
            "classify",
            "--bert",
            "--model",
            str(tfidf_model),
            "--tfidf-threshold",
            "0.1",
            str(log),
            str(tmp_path / "no"),
        ],
    )
    get_settings.cache_clear()
    assert res.exit_code == 1, res.output  # the missing file fails, the other goes on
    assert "cascade: the transformer scored" in res.output
    rows = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert all(
        list(r) == ["file", "line", "prob", "prob_tfidf", "text"]
        and r["prob"] >= 0.5
        and r["prob_tfidf"] >= 0.1
        for r in rows
    )
    res = CliRunner().invoke(
        cli,
        [
            "classify",
            "--bert",
            "--bert-model",
            str(tmp_path),
            "--model",
            str(tfidf_model),
            str(log),
        ],
    )
    assert res.exit_code == 1 and "no transformer export" in res.output


def test_input_cache_scores_each_distinct_input_once_and_applies_the_key_transform(
    trained, shared_data
):
    rs = _bert_module()
    from lookskip.classify.cascade import InputCache, load_bert
    from lookskip.transformer.inputs import model_input

    export = _export(trained)
    assert json.loads((export / "config.json").read_text())["lookskip_inputs"] == "lines"
    assert load_bert(str(export), device="cpu").inputs == "lines"
    raw = rs.BertClassifier(str(export), device="cpu")
    lines = (shared_data / "loghub" / "Apache_2k.log").read_text("utf-8").splitlines()[:400]
    cache = InputCache(raw, "keys")
    got = cache.predict_proba(lines)
    inputs = [model_input(ln) for ln in lines]
    distinct = list(dict.fromkeys(inputs))
    assert cache.scored == len(distinct) < len(lines) / 10
    want = dict(zip(distinct, raw.predict_proba(distinct), strict=True))
    assert got == pytest.approx([want[t] for t in inputs], abs=1e-6)
    again = cache.predict_proba(lines[::-1])
    assert cache.scored == len(distinct)  # nothing new to score
    assert again == pytest.approx(got[::-1], abs=1e-6)
    with pytest.raises(Exception, match="unknown lookskip_inputs"):
        InputCache(raw, "tokens")


def test_a_keys_model_is_exported_and_scored_on_its_model_inputs(tmp_path, shared_data):
    """Train once on template-key inputs: the export says so, its reference lines are
    the model inputs, candle matches torch on them, and load_bert applies the transform."""
    rs = _bert_module()
    import torch

    from lookskip.classify.cascade import load_bert
    from lookskip.transformer.inputs import model_input

    torch.set_num_threads(1)
    d = tmp_path / "data"
    d.mkdir()
    os.symlink(shared_data / "labels", d / "labels")
    with data_dir_env(d):
        runner = CliRunner()
        args = ["train-transformer", "--base-model", "tiny", "--epochs", "1", "--inputs", "keys"]
        args += ["--max-length", "48", "--datasets", "WebServer,Apache", "--holdout", "Apache"]
        res = runner.invoke(cli, [*args, "--device", "cpu"])
        assert res.exit_code == 0, res.output
        res = runner.invoke(cli, ["export-transformer", "--reference-lines", "8"])
        assert res.exit_code == 0, res.output
    export = d / "models" / "transformer" / "export"
    assert json.loads((export / "config.json").read_text())["lookskip_inputs"] == "keys"
    ref = json.loads((export / "reference_outputs.json").read_text())
    assert all(model_input(t) == t for t in ref["lines"])  # inputs are fixed points
    raw = rs.BertClassifier(str(export), device="cpu")
    assert list(raw.predict_proba(ref["lines"])) == pytest.approx(ref["probabilities"], abs=1e-4)
    bert = load_bert(str(export), device="cpu")
    line = "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6"
    assert bert.predict_proba([line])[0] == pytest.approx(
        raw.predict_proba([model_input(line)])[0], abs=1e-6
    )
