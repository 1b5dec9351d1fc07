"""Shared pieces of the Rust classifier tests (tests/test_rust_*.py).

A small model is trained here with the real pipeline (scikit-learn + the project's
analyzers) and exported with the real exporter, so the parity tests compare the Rust
extension with scikit-learn itself, independent of whichever model is committed.
Everything is built once per test session (module-level cache).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
COMMITTED_MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"


def read_log_lines(path: Path) -> list[str]:
    """The lines of a log file as the model defines them (``\\n`` split, ``\\r\\n`` too)."""
    text = path.read_bytes().decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


@functools.cache
def labeled_rows() -> tuple[tuple[str, str], ...]:
    rows = []
    for f in sorted((SHARED / "labels").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append((r["raw_line"], r["label"]))
    return tuple(rows)


@functools.cache
def parity_lines() -> tuple[str, ...]:
    """Every distinct line of the labels and of the ``_2k.log`` samples."""
    seen: dict[str, None] = {}
    for line, _ in labeled_rows():
        seen.setdefault(line)
    for f in sorted((SHARED / "loghub").glob("*_2k.log")):
        for line in read_log_lines(f):
            seen.setdefault(line)
    return tuple(seen)


@functools.cache
def trained() -> tuple[str, object]:
    """``(exported model path, TrainedModel)`` of a small model fit on every 4th label."""
    from lookskip.model.export import model_document, write_document
    from lookskip.model.pipeline import TrainedModel, build_pipeline, encode_labels

    rows = labeled_rows()[::4]
    lines = [r[0] for r in rows]
    pipe = build_pipeline({"word_max_features": 4000, "char_max_features": 20000})
    pipe.fit(lines, encode_labels([r[1] for r in rows]))
    model = TrainedModel(pipeline=pipe, threshold=0.45, params={})
    path = os.path.join(tempfile.mkdtemp(prefix="lookskip-rust-test-"), "model.json.gz")
    write_document(model_document(model), path)
    return path, model


@functools.cache
def sklearn_probs() -> np.ndarray:
    _, model = trained()
    return np.asarray(model.predict_proba_look(list(parity_lines())), dtype=np.float64)


@functools.cache
def reference():
    from lookskip.model.reference import ReferenceModel

    return ReferenceModel.load(trained()[0])
