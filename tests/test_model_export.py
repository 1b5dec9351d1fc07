"""The exported file is complete: a numpy scorer reading only it reproduces sklearn."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from lookskip.model.export import export_model, model_document, read_document, write_document
from lookskip.model.pipeline import TrainedModel, build_pipeline, load_model, save_joblib
from lookskip.model.reference import ReferenceModel
from lookskip.training.labels import load_labels

QUICK = {"C": 4.0, "class_weight": "balanced", "word_max_features": 3000, "char_max_features": 8000}


@pytest.fixture(scope="module")
def labels(shared_data):
    return load_labels(str(shared_data / "labels"))


@pytest.fixture(scope="module")
def model(labels):
    # trained on a slice of every dataset (fast), scored below on every line
    idx = np.arange(0, len(labels.lines), 6)
    pipe = build_pipeline(QUICK).fit([labels.lines[i] for i in idx], labels.y[idx])
    return TrainedModel(pipe, threshold=0.42, params=QUICK, trained={"data_hash": "test"})


def test_reference_matches_sklearn_on_every_labeled_line(model, labels, tmp_path):
    path = str(tmp_path / "m.json.gz")
    export_model(model, path)
    ref = ReferenceModel.load(path)
    extra = ["", "\t", "é中文 ERROR \ufffd", "x" * 5000, "0xDEADBEEF 10.0.0.1:80 ::1 a1b2c3"]
    lines = labels.lines + extra
    p_ref = ref.predict_proba_look(lines)
    p_sk = model.predict_proba_look(lines)
    assert np.max(np.abs(p_ref - p_sk)) <= 1e-9
    assert ref.predict(lines) == model.predict(lines)
    assert 0 < sum(p >= 0.42 for p in p_sk) < len(lines)


def test_export_round_trips(model, tmp_path):
    gz, plain = str(tmp_path / "m.json.gz"), str(tmp_path / "m.json")
    doc = export_model(model, gz)
    write_document(doc, plain)
    assert read_document(gz) == doc == read_document(plain)
    assert json.loads(gzip.decompress((tmp_path / "m.json.gz").read_bytes())) == doc
    assert doc["format"] == "lookskip-tfidf" and doc["format_version"] == 2
    assert doc["key"]["rules"][0][1] is None  # the "keep" rule travels as null
    assert doc["threshold"] == 0.42 and doc["positive_label"] == "LOOK"
    word = model.pipeline.named_steps["features"].transformer_list[0][1]
    assert doc["word"]["vocabulary"] == word.get_feature_names_out().tolist()
    assert doc["word"]["idf"] == word.idf_.tolist()
    coef = model.pipeline.named_steps["clf"].coef_.ravel().tolist()
    assert doc["coef"]["word"] + doc["coef"]["char"] + doc["coef"]["handcrafted"] == coef
    assert doc["trained"]["params"] == QUICK
    # the same model exports to the same document (bar the export time)
    again = model_document(model)
    again["trained"]["exported_at"] = doc["trained"]["exported_at"]
    assert again == doc
    # joblib round trip keeps the threshold with the pipeline
    save_joblib(model, str(tmp_path / "m.joblib"))
    back = load_model(str(tmp_path / "m.joblib"))
    assert back.threshold == 0.42 and back.params == QUICK
    assert load_model(gz).threshold == 0.42


def test_bad_model_files_are_clear_errors(tmp_path):
    (tmp_path / "bad.json.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_document(str(tmp_path / "bad.json.gz"))
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a lookskip-tfidf model"):
        read_document(str(tmp_path / "other.json"))
    # a model of the format before template keys: refused, saying what to do
    (tmp_path / "old.json").write_text('{"format": "lookskip-tfidf", "format_version": 1}')
    for load in (read_document, ReferenceModel.load):
        with pytest.raises(ValueError, match="retrain and export"):
            load(str(tmp_path / "old.json"))
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a lookskip joblib model"):
        load_model(str(tmp_path / "junk.joblib"))
    with pytest.raises(FileNotFoundError):
        load_model(str(tmp_path / "missing.json.gz"))
