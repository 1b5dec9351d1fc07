"""Export a trained pipeline as the portable model file of ``docs/model-format.md``.

The Rust classifier (and ``reference.py``) load only this file, so it carries every
number and pattern the transforms need; nothing is pickled. Floats are written with
Python's shortest round-trip ``repr`` so the file reproduces the coefficients bit for
bit. The gzip header has no timestamp, so exporting the same model twice gives the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from lookskip import storage
from lookskip.classify.events import EVENT_RULE
from lookskip.model.analyzers import CHAR_NGRAM_RANGE, WORD_NGRAM_RANGE, WORD_TOKEN_PATTERN
from lookskip.model.features import FEATURE_NAMES, FEATURE_PATTERNS, STRUCT_PUNCT_CHARS
from lookskip.model.files import REFERENCE_OUTPUTS
from lookskip.model.format import FORMAT, FORMAT_VERSION, check_version
from lookskip.model.key import KEY_RULES, SQUEEZE_CHARS
from lookskip.model.pipeline import LOOK_FLOOR_PATTERN, POSITIVE, TrainedModel


def _floats(a: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def _block(vectorizer: Any, ngram_range: tuple[int, int], **extra: Any) -> dict[str, Any]:
    vocab = vectorizer.vocabulary_
    terms = [""] * len(vocab)
    for term, idx in vocab.items():
        terms[idx] = term
    return {
        "ngram_range": list(ngram_range),
        **extra,
        "lowercase": "ascii",
        "vocabulary": terms,
        "idf": _floats(vectorizer.idf_),
        "sublinear_tf": bool(vectorizer.sublinear_tf),
        "norm": vectorizer.norm,
    }


def model_document(model: TrainedModel) -> dict[str, Any]:
    """The export document (a JSON-ready dict) of a fitted ``TrainedModel``."""
    features = model.pipeline.named_steps["features"]
    clf = model.pipeline.named_steps["clf"]
    parts = dict(features.transformer_list)
    word, char, hand = parts["word"], parts["char"], parts["hand"]
    scaler = hand.named_steps["scale"]
    if list(clf.classes_) != [0, 1]:
        raise ValueError(f"classifier classes must be [0 (SKIP), 1 (LOOK)], got {clf.classes_}")
    coef = np.asarray(clf.coef_, dtype=np.float64).ravel()
    n_word, n_char = len(word.vocabulary_), len(char.vocabulary_)
    if coef.size != n_word + n_char + len(FEATURE_NAMES):
        raise ValueError("coefficient count does not match the feature blocks")
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "positive_label": POSITIVE,
        "threshold": float(model.threshold),
        "look_floor": LOOK_FLOOR_PATTERN,
        "key": {"rules": [list(rule) for rule in KEY_RULES], "squeeze_chars": SQUEEZE_CHARS},
        "events": dict(EVENT_RULE),
        "word": _block(word, WORD_NGRAM_RANGE, token_pattern=WORD_TOKEN_PATTERN),
        "char": _block(char, CHAR_NGRAM_RANGE),
        "handcrafted": {
            "names": list(FEATURE_NAMES),
            "patterns": dict(FEATURE_PATTERNS),
            "struct_punct_chars": STRUCT_PUNCT_CHARS,
            "mean": _floats(scaler.mean_),
            "scale": _floats(scaler.scale_),
        },
        "coef": {
            "word": _floats(coef[:n_word]),
            "char": _floats(coef[n_word : n_word + n_char]),
            "handcrafted": _floats(coef[n_word + n_char :]),
        },
        "intercept": float(np.asarray(clf.intercept_).ravel()[0]),
        "trained": {
            "params": model.params,
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **model.trained,
        },
    }
    answers = getattr(model, "answers", None)
    if answers:  # only then: a model without answers exports as before
        doc["answers"] = [dict(a) for a in answers]
    return doc


def dump_document(doc: dict[str, Any]) -> bytes:
    """The bytes of the model file: compact JSON, gzip-compressed when asked."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_document(doc: dict[str, Any], path: str) -> int:
    """Write ``doc`` atomically (gzip when ``path`` ends in ``.gz``); returns bytes written."""
    data = dump_document(doc)
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    storage.write_bytes(path, data)
    return len(data)


def read_document(path: str) -> dict[str, Any]:
    data = storage.read_bytes(path)
    if path.endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt gzip model file ({exc})") from exc
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON model file ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} model file")
    check_version(doc, path)
    return doc


def export_model(model: TrainedModel, path: str) -> dict[str, Any]:
    """Write the portable file of ``model`` at ``path``; returns the document."""
    doc = model_document(model)
    write_document(doc, path)
    return doc


def write_reference_outputs(
    model: TrainedModel, lines: Sequence[str], path: str, systems: Sequence[str] | None = None
) -> int:
    """Lines with sklearn's ``p_look`` and label, for parity tests of other implementations.

    Not committed: it holds log lines. One JSON object a line: ``{"line", "p_look",
    "label"}`` (plus ``"system"`` when given).
    """
    p = model.predict_proba_look(lines)
    rows = []
    for i, (line, pv) in enumerate(zip(lines, p, strict=True)):
        row: dict[str, Any] = {
            "line": line,
            "p_look": float(pv),
            "label": POSITIVE if pv >= model.threshold else "SKIP",
        }
        if systems is not None:
            row["system"] = systems[i]
        rows.append(row)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    storage.write_bytes(path, data)
    return len(rows)


# --- the steps ``lookskip export`` and the export tasks share ---------------------------

PARITY_TOLERANCE = 1e-9


class ParityError(ValueError):
    """The exported file does not reproduce the model it came from."""


def load_trained(model_path: str) -> TrainedModel:
    """The fitted model at ``model_path`` (a joblib file, not an exported one)."""
    from lookskip.model.pipeline import load_model

    model = load_model(model_path)
    if not isinstance(model, TrainedModel):
        raise ValueError(f"{model_path}: already an exported file; give a joblib model")
    return model


def reference_outputs_path(model_file: str) -> str:
    """Where the reference outputs of the model file ``model_file`` go: beside it."""
    folder = model_file.rsplit("/", 1)[0] if "/" in model_file else "."
    return storage.join(folder, REFERENCE_OUTPUTS)


def check_parity(
    model: TrainedModel, model_file: str, lines: Sequence[str], tolerance: float = PARITY_TOLERANCE
) -> float:
    """Max |p_reference − p_sklearn| over ``lines``; raises ParityError above ``tolerance``.

    Why: the numpy reference reads only the exported file, so agreement proves the file
    carries everything the Rust classifier needs to reproduce the model.
    """
    from lookskip.model.reference import ReferenceModel

    if not len(lines):
        return 0.0
    p_ref = ReferenceModel.load(model_file).predict_proba_look(lines)
    diff = float(np.max(np.abs(p_ref - model.predict_proba_look(lines))))
    if diff > tolerance:
        raise ParityError(
            f"numpy reference differs from sklearn by {diff:.3g} "
            f"(> {tolerance:g}) on {len(lines)} lines"
        )
    return diff
