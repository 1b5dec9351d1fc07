"""The transformer export scored from Python: ``load_bert`` and its :class:`InputCache`.

``lookskip classify --model transformer|cascade|blend`` scores in Rust
(:mod:`lookskip.classify.modes`, ``rust/src/modes.rs``), with no Python in the loop.
This module is the Python-side scorer of an export for what works on lists of lines
rather than files: evaluation benchmarks, the S3 export test, parity checks. It
applies the export's input transform (``lookskip_inputs``) as the Rust engine does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_BATCH_SIZE = 32


class CascadeError(RuntimeError):
    """The export cannot be scored (no export, extension without BERT)."""


def load_bert(export_dir: str, device: str = "auto", threads: int = 0) -> InputCache:
    """``lookskip_rs.BertClassifier`` for ``export_dir`` behind an :class:`InputCache`,
    or a clear error why not. An export in the object store is loaded through a
    temporary local copy.
    """
    from lookskip import storage

    with storage.local_dir(export_dir) as local:
        return _load_bert_local(export_dir, local, device, threads)


def _load_bert_local(export_dir: str, local: str, device: str, threads: int) -> InputCache:

    if not os.path.exists(os.path.join(local, "model.safetensors")):
        raise CascadeError(
            f"no BERT export in {export_dir}; run `lookskip train-transformer` "
            "and `lookskip export-transformer` (or pass --bert-model)"
        )
    try:
        import lookskip_rs
    except ImportError as exc:
        raise CascadeError(
            f"the Rust extension lookskip_rs is not built ({exc}); run scripts/setup"
        ) from exc
    if not hasattr(lookskip_rs, "BertClassifier"):
        raise CascadeError(
            "lookskip_rs was built without BERT (cargo feature `bert`); rebuild with scripts/setup"
        )
    bert = lookskip_rs.BertClassifier(local, device=device, threads=threads)
    with open(os.path.join(local, "config.json"), encoding="utf-8") as f:
        inputs = json.load(f).get("lookskip_inputs", "lines")
    return InputCache(bert, inputs)


class InputCache:
    """A BERT classifier that scores each distinct model input once.

    Most lines of a log repeat a template, so a run sees far fewer distinct inputs
    than lines; each is scored once and remembered (bounded by ``max_entries``; when
    full, the memory starts over — exact either way). An export trained on template
    keys (``lookskip_inputs: keys`` in its config.json) reads
    ``lookskip.transformer.inputs.model_input(line)``, so that transform is applied
    here, once for every path that scores lines with it.
    """

    def __init__(self, bert: Any, inputs: str = "lines", max_entries: int = 1 << 20):
        if inputs not in ("lines", "keys"):
            raise CascadeError(f"unknown lookskip_inputs {inputs!r} in the export (lines or keys)")
        self.bert, self.inputs, self.max_entries = bert, inputs, max_entries
        self.memo: dict[str, float] = {}
        self.scored = 0  # encoder calls (distinct inputs scored)

    @property
    def threshold(self) -> float:
        return float(self.bert.threshold)

    def predict_proba(self, lines: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE):
        if self.inputs == "keys":
            from lookskip.transformer.inputs import model_inputs

            texts = model_inputs(lines)
        else:
            texts = list(lines)
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            if len(self.memo) + len(todo) > self.max_entries:
                self.memo.clear()
            probs = self.bert.predict_proba(todo, batch_size=batch_size)
            self.memo.update(zip(todo, (float(p) for p in probs), strict=True))
            self.scored += len(todo)
        return np.fromiter((self.memo[t] for t in texts), dtype=np.float64, count=len(texts))
