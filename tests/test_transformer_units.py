"""The BERT stage's plain logic, without torch: splits, early stopping, export names."""

from __future__ import annotations

import json

import pytest

from lookskip.transformer import data
from lookskip.transformer.export import candle_name
from lookskip.transformer.train import MAX_EPOCHS, EarlyStopping, TrainConfig, look_metrics


def test_early_stopping_waits_patience_epochs_and_keeps_the_best():
    s = EarlyStopping(patience=3)
    assert s.step(1, 0.50) and not s.should_stop
    assert s.step(2, 0.60)
    assert not s.step(3, 0.55) and not s.should_stop
    assert not s.step(4, 0.60) and not s.should_stop  # equal is not better
    assert not s.step(5, 0.40) and s.should_stop
    assert s.best_epoch == 2 and s.best == 0.60
    assert s.history == [0.50, 0.60, 0.55, 0.60, 0.40]


def test_early_stopping_resets_on_improvement():
    s = EarlyStopping(patience=2)
    for epoch, f1 in enumerate([0.3, 0.2, 0.4, 0.39, 0.5], 1):
        s.step(epoch, f1)
    assert not s.should_stop and s.best_epoch == 5


def test_config_caps_epochs():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=MAX_EPOCHS + 1).validate()
    with pytest.raises(ValueError, match="max_length"):
        TrainConfig(max_length=4).validate()


def test_look_metrics():
    m = look_metrics([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])
    assert m["n"] == 5 and m["n_look"] == 3
    assert m["look_precision"] == pytest.approx(2 / 3)
    assert m["look_recall"] == pytest.approx(2 / 3)
    assert m["look_f1"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert look_metrics([0, 0], [0, 0])["look_f1"] == 0.0


def test_split_never_puts_a_dataset_on_both_sides(shared_data):
    ex = data.load_examples(
        str(shared_data / "labels"), ["Apache", "WebServer", "Microservices", "SecurityEvents"]
    )
    held = data.holdout_fold(ex, n_folds=4, fold=1)
    train, test = data.split(ex, held)
    assert held and {e.system for e in test} == set(held)
    assert not {e.system for e in train} & set(held)
    assert len(train) + len(test) == len(ex)
    # every fold together holds out every dataset exactly once
    folds = [data.holdout_fold(ex, n_folds=4, fold=k) for k in range(4)]
    assert sorted(n for f in folds for n in f) == sorted({e.system for e in ex})


def test_class_weights_balance_the_classes():
    ex = [data.Example("A", "x", 1)] + [data.Example("A", "y", 0)] * 3
    w_skip, w_look = data.class_weights(ex)
    assert w_look * 1 == pytest.approx(w_skip * 3)


def test_bad_labels_are_clear_errors(tmp_path):
    # one labels-file reader for both models (lookskip.training.labels): its messages
    bad = {"system": "Bad", "line_number": 1, "raw_line": "x", "label": "MAYBE", "reason": "r"}
    (tmp_path / "Bad.jsonl").write_text(json.dumps(bad) + "\n")
    with pytest.raises(data.LabelError, match="unknown label 'MAYBE'"):
        data.load_examples(str(tmp_path))
    no_line = {k: v for k, v in bad.items() if k != "raw_line"}
    (tmp_path / "Bad.jsonl").write_text(json.dumps(no_line) + "\n")
    with pytest.raises(data.LabelError, match=r"missing field\(s\) raw_line"):
        data.load_examples(str(tmp_path))
    (tmp_path / "Bad.jsonl").write_text("")
    with pytest.raises(data.LabelError, match="empty labels file"):
        data.load_examples(str(tmp_path))
    (tmp_path / "Bad.jsonl").write_text("{not json\n")
    with pytest.raises(data.LabelError, match="not valid JSON"):
        data.load_examples(str(tmp_path))
    with pytest.raises(data.LabelError, match="no labels for Nope"):
        data.load_examples(str(tmp_path), ["Nope"])
    with pytest.raises(data.LabelError, match="no labels files"):
        data.load_examples(str(tmp_path / "empty"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bert.embeddings.LayerNorm.gamma", "bert.embeddings.LayerNorm.weight"),
        (
            "bert.encoder.layer.0.output.LayerNorm.beta",
            "bert.encoder.layer.0.output.LayerNorm.bias",
        ),
        ("embeddings.word_embeddings.weight", "bert.embeddings.word_embeddings.weight"),
        ("classifier.weight", "classifier.weight"),
        ("bert.pooler.dense.bias", "bert.pooler.dense.bias"),
        ("bert.embeddings.position_ids", None),
    ],
)
def test_candle_names(name, expected):
    assert candle_name(name) == expected
