"""Export a fine-tuned BERT for candle: weights, config, tokenizer, reference outputs.

candle-transformers' ``BertModel`` loads tensors named like Hugging Face's
``BertModel`` under a ``bert.`` prefix (``bert.embeddings.word_embeddings.weight``,
``bert.encoder.layer.0.attention.self.query.weight`` …, LayerNorms as
``weight``/``bias``); the Rust side adds ``bert.pooler.dense`` and ``classifier``.
Old checkpoints name LayerNorm parameters ``gamma``/``beta`` and some lack the
``bert.`` prefix, so the export rewrites names into the one layout the Rust side
expects, drops buffers that are not weights (``position_ids``), and stores every
tensor as contiguous float32 (or float16: ``dtype="float16"`` halves the file, and the
Rust side widens it to float32 on load). ``reference_outputs.json`` holds torch's P(LOOK)
for sample lines, computed with the weights exactly as stored (a float16 export is scored
by torch with its weights rounded to float16 and widened back), so it is the parity check
for any other implementation whatever the dtype.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

from lookskip import storage
from lookskip.transformer.model import load_trained, predict_proba_torch

EXPORT_SUBDIR = "export"
FORMAT = "lookskip-bert"
FORMAT_VERSION = 1
HEAD_PREFIXES = ("classifier.",)

# Lines that stress the tokenizer and padding, scored beside the sample lines.
ADVERSARIAL_LINES = [
    "",
    "   ",
    "ERROR",
    "12345678901234567890",
    "\tindented\twith\ttabs",
    "naïve café — ünïcödé 日本語 ошибка 🚀 failure",
    "ERROR " + "x" * 5000,
    " ".join(["token"] * 600) + " FATAL",
    "java.lang.NullPointerException at com.foo.Bar.baz(Bar.java:42)",
    "\ufffd\ufffd invalid bytes decoded lossily",
]


def candle_name(name: str) -> str | None:
    """The tensor name candle expects, or ``None`` for tensors that are not weights."""
    if name.endswith("position_ids") or name.endswith("token_type_ids"):
        return None
    name = re.sub(r"\.gamma$", ".weight", name)
    name = re.sub(r"\.beta$", ".bias", name)
    if not name.startswith("bert.") and not name.startswith(HEAD_PREFIXES):
        name = "bert." + name
    return name


DTYPES = ("float32", "float16")


def candle_state_dict(state: dict[str, Any], dtype: str = "float32") -> dict[str, Any]:
    """Tensors renamed for candle, contiguous, in ``dtype``."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r} (one of {', '.join(DTYPES)})")
    out: dict[str, Any] = {}
    for name, tensor in state.items():
        new = candle_name(name)
        if new is None:
            continue
        if new in out:
            raise ValueError(f"two tensors map to {new!r}")
        t = tensor.detach().to("cpu").float()
        out[new] = (t.half() if dtype == "float16" else t).contiguous()
    required = (
        "bert.embeddings.word_embeddings.weight",
        "bert.pooler.dense.weight",
        "classifier.weight",
    )
    missing = [r for r in required if r not in out]
    if missing:
        raise ValueError(f"model lacks {', '.join(missing)}: not a BertForSequenceClassification")
    return out


def export(
    model_dir: str,
    out_dir: str,
    sample_lines: Sequence[str],
    batch_size: int = 32,
    dtype: str = "float32",
    threshold: float | None = None,
) -> dict[str, Any]:
    """Write the candle export of ``model_dir`` into ``out_dir``; returns a summary.

    ``threshold``: the export's LOOK threshold (default: the training's, 0.5)."""
    from safetensors.torch import save as save_safetensors

    model, tokenizer, info = load_trained(model_dir)
    tensors = candle_state_dict(model.state_dict(), dtype)
    if dtype == "float16":
        model = model.half().float()  # torch scores the weights as stored
    config = model.config.to_dict()
    config.update(
        {
            "model_type": "bert",
            "lookskip_format": FORMAT,
            "lookskip_format_version": FORMAT_VERSION,
            "max_length": int(info.get("max_length", 128)),
            "threshold": float(info.get("threshold", 0.5) if threshold is None else threshold),
            "lookskip_dtype": dtype,
            # "keys": the model reads inputs.model_input(line), not the line; every
            # scorer of this export applies it (lookskip.classify.cascade.load_bert)
            "lookskip_inputs": str((info.get("config") or {}).get("inputs", "lines")),
        }
    )
    lines = list(dict.fromkeys([*sample_lines, *ADVERSARIAL_LINES]))
    if config["lookskip_inputs"] == "keys":
        from lookskip.transformer.inputs import model_inputs

        # parity is checked on what the encoder reads: the model inputs themselves
        lines = list(dict.fromkeys(model_inputs(lines)))
    probs = predict_proba_torch(model, tokenizer, lines, batch_size=batch_size)
    storage.makedirs(out_dir)
    storage.write_bytes(
        storage.join(out_dir, "model.safetensors"),
        save_safetensors(tensors, metadata={"format": "pt"}),
    )
    storage.write_json(storage.join(out_dir, "config.json"), config)
    storage.write_text(storage.join(out_dir, "tokenizer.json"), tokenizer.to_str())
    # Provenance beside the weights: how they were trained (config, held-out systems,
    # epochs, held-out figures), so a shipped export says where it came from.
    storage.write_json(storage.join(out_dir, "training.json"), {**info, "exported_dtype": dtype})
    storage.write_json(
        storage.join(out_dir, "reference_outputs.json"),
        {
            "positive_label": "LOOK",
            "batch_size": batch_size,
            "max_length": config["max_length"],
            "lines": lines,
            "probabilities": [float(p) for p in probs],
        },
        indent=None,
    )
    return {
        "out_dir": out_dir,
        "tensors": len(tensors),
        "reference_lines": len(lines),
        "parameters": int(sum(t.numel() for t in tensors.values())),
        "bytes": storage.size(storage.join(out_dir, "model.safetensors")),
    }


def sample_lines_from_labels(labels_dir: str, per_dataset: int = 20) -> list[str]:
    """A few lines of each labeled dataset (LOOK and SKIP alike) for the reference outputs."""
    from lookskip.transformer.data import load_examples

    by_system: dict[str, list[str]] = {}
    for e in load_examples(labels_dir):
        by_system.setdefault(e.system, []).append(e.text)
    out: list[str] = []
    for system in sorted(by_system):
        texts = by_system[system]
        step = max(1, len(texts) // per_dataset)
        out.extend(texts[::step][:per_dataset])
    return out


def read_reference(export_dir: str) -> dict[str, Any]:
    return json.loads(storage.read_text(os.path.join(export_dir, "reference_outputs.json")))
