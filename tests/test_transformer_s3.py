"""The BERT stage with its data dir in the object store (moto's S3 server, real torch).

A worker on another host trains and exports into the bucket; the model directories are
read back through temporary local copies (transformers and the Rust BERT open paths):
the export's reference probabilities, computed by torch from the model read back from
the bucket, are reproduced by the Rust BERT loaded from the bucket.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import cli
from lookskip import storage
from lookskip.settings import get_settings

pytestmark = [pytest.mark.transformer, pytest.mark.integration]
DATASETS = ["Microservices", "SecurityEvents", "WebServer"]


def test_train_and_export_transformer_into_the_bucket(s3_service, shared_data, monkeypatch):
    pytest.importorskip("torch")
    import torch

    torch.set_num_threads(1)
    data = f"{s3_service.bucket('lookskip-bert')}/{uuid.uuid4().hex[:8]}"
    for name in DATASETS:
        s3_service.upload(shared_data / "labels" / f"{name}.jsonl", f"{data}/labels/{name}.jsonl")
    monkeypatch.setenv("LOOKSKIP_DATA_DIR", data)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        res = runner.invoke(
            cli,
            ["train-transformer", "--base-model", "tiny", "--epochs", "1", "--max-length", "32",
             "--batch-size", "64", "--datasets", ",".join(DATASETS), "--holdout", DATASETS[-1],
             "--device", "cpu"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        res = runner.invoke(cli, ["export-transformer", "--reference-lines", "4"])
        assert res.exit_code == 0, res.output
    finally:
        get_settings.cache_clear()
    export = f"{data}/models/transformer/export"
    for name in ("model.safetensors", "config.json", "tokenizer.json", "reference_outputs.json"):
        assert storage.exists(f"{export}/{name}"), name
    assert not os.path.exists(export)  # nothing was written to a local path of that name
    from lookskip.classify.cascade import load_bert

    ref = storage.read_json(f"{export}/reference_outputs.json")
    clf = load_bert(export, device="cpu")
    got = clf.predict_proba(ref["lines"])
    np.testing.assert_allclose(got, ref["probabilities"], atol=1e-4, rtol=0)
