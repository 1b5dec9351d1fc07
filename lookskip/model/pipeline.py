"""The scikit-learn pipeline of the LOOK/SKIP model, and loading a trained model.

template key (``lookskip.model.key``) → word TF-IDF (1..3-grams) ⊕ char TF-IDF
(3..6-grams) ⊕ standardised handcrafted features, all of the key → LogisticRegression.
Keying is the pipeline's first step and is idempotent, so the pipeline takes raw
lines or keys alike: training feeds it each distinct (key, label) once, weighted.
Every transform is a module-level function of ``lookskip.model`` (picklable by reference,
exportable by name), so the exported file can carry the whole model without pickles.

Labels are encoded as ``1 = LOOK`` and ``0 = SKIP``: LogisticRegression's
positive class is ``classes_[1]``, so its coefficients and ``predict_proba[:, 1]``
are LOOK's, which is what the export and the Rust side expect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookskip.model.analyzers import char_ngrams, word_ngrams
from lookskip.model.features import FEATURE_NAMES, FEATURE_PATTERNS, features_matrix
from lookskip.model.key import template_keys

POSITIVE = "LOOK"
NEGATIVE = "SKIP"
LABELS = (POSITIVE, NEGATIVE)

# TF-IDF options shared by the pipeline, the fold cache and the export.
TFIDF_OPTIONS: dict[str, Any] = {"sublinear_tf": True, "norm": "l2", "smooth_idf": True}
# newton-cg: deterministic, does not penalise the intercept, and converges in ~10
# Newton steps whatever C is; on a fold (24K lines, 12K columns incl. the 17 scaled
# handcrafted ones) it took 9 CPU-s at C=8 where lbfgs took 34 (255 iterations) and
# liblinear 17, with the same predictions.
LOGREG_OPTIONS: dict[str, Any] = {"solver": "newton-cg", "max_iter": 200}

# The model's hyper-parameters and their defaults; grid values override these.
DEFAULT_PARAMS: dict[str, Any] = {
    "C": 2.0,
    "class_weight": None,
    "word_max_features": 20000,
    "char_max_features": 100000,
}


# The seed's promise, kept: a line that says error, fatal, critical, warn, exception or
# fail is LOOK whatever its score (its p_look is raised to the threshold). The words
# are the `has_level` feature's, so the floor is a function of the key too. Measured:
# without it the shipped model let 2.6% of the samples' 8,469 such lines through as
# SKIP (OpenStack 30 of 52, Mac 66 of 358). Words, not substrings (`level_pattern`):
# the substring rule made every dpkg line of `liberror-perl` LOOK
# (benchmarks/bench_floor.py measures the change).
LOOK_FLOOR_PATTERN = FEATURE_PATTERNS["LEVEL"]
LOOK_FLOOR_FEATURE = FEATURE_NAMES.index("has_level")
_FLOOR = re.compile(LOOK_FLOOR_PATTERN, re.ASCII)


def floor_mask(keys: Sequence[str]) -> np.ndarray:
    """Which keys the LOOK floor holds up."""
    return np.fromiter((_FLOOR.search(k) is not None for k in keys), dtype=bool, count=len(keys))


def apply_floor(p_look: np.ndarray, mask: np.ndarray, threshold: float) -> np.ndarray:
    """``p_look`` raised to ``threshold`` where ``mask`` holds (LOOK at any threshold ≤ it)."""
    return np.where(mask, np.maximum(p_look, threshold), p_look)


def apply_answers(p_look: np.ndarray, keys: Sequence[str], answers: Any) -> np.ndarray:
    """``p_look`` with 1.0/0.0 where one of ``answers`` (dicts or ``Answers``) matches."""
    if not answers:
        return p_look
    from lookskip.model.answers import Answers

    compiled = answers if isinstance(answers, Answers) else Answers(answers)
    out = np.array(p_look, dtype=np.float64)
    for i, k in enumerate(keys):
        a = compiled.find(k)
        if a is not None:
            out[i] = 1.0 if a.look else 0.0
    return out


def encode_labels(labels: Sequence[str]) -> np.ndarray:
    """``LOOK`` → 1, ``SKIP`` → 0 (int8), so LOOK is LogisticRegression's positive class."""
    return np.fromiter((lab == POSITIVE for lab in labels), dtype=np.int8, count=len(labels))


def make_vectorizer(block: str, max_features: int | None):
    """The TF-IDF vectorizer of one block (``word`` or ``char``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = {"word": word_ngrams, "char": char_ngrams}[block]
    return TfidfVectorizer(
        analyzer=analyzer,
        lowercase=False,
        max_features=max_features,
        dtype=np.float64,
        **TFIDF_OPTIONS,
    )


def make_logreg(C: float, class_weight: str | None):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight=class_weight, **LOGREG_OPTIONS)


def build_pipeline(params: dict[str, Any] | None = None):
    """The full sklearn pipeline for ``params`` (missing keys take ``DEFAULT_PARAMS``).

    Step names (``features__word__max_features``, ``clf__C`` …) are what a plain
    ``GridSearchCV`` over this pipeline uses; see ``sklearn_param_grid``.
    """
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    p = {**DEFAULT_PARAMS, **(params or {})}
    hand = Pipeline(
        [
            ("extract", FunctionTransformer(features_matrix)),
            ("scale", StandardScaler()),
        ]
    )
    features = FeatureUnion(
        [
            ("word", make_vectorizer("word", p["word_max_features"])),
            ("char", make_vectorizer("char", p["char_max_features"])),
            ("hand", hand),
        ]
    )
    return Pipeline(
        [
            ("key", FunctionTransformer(template_keys)),
            ("features", features),
            ("clf", make_logreg(p["C"], p["class_weight"])),
        ]
    )


SKLEARN_PARAM_NAMES = {
    "C": "clf__C",
    "class_weight": "clf__class_weight",
    "word_max_features": "features__word__max_features",
    "char_max_features": "features__char__max_features",
}


def to_sklearn_params(params: dict[str, Any]) -> dict[str, Any]:
    return {SKLEARN_PARAM_NAMES[k]: v for k, v in params.items()}


def from_sklearn_params(params: dict[str, Any]) -> dict[str, Any]:
    back = {v: k for k, v in SKLEARN_PARAM_NAMES.items()}
    return {back[k]: v for k, v in params.items()}


@dataclass
class TrainedModel:
    """A fitted pipeline with its tuned threshold: what ``models/look_skip_model.joblib`` holds.

    A plain pipeline's ``predict`` thresholds at 0.5; the tuned threshold is part of
    the model, so it travels with it (and into the export).
    """

    pipeline: Any
    threshold: float = 0.5
    params: dict[str, Any] = field(default_factory=dict)
    trained: dict[str, Any] = field(default_factory=dict)
    #: Claude's answers about templates (``lookskip.model.answers``), applied first.
    answers: list[dict[str, str]] = field(default_factory=list)

    def predict_proba_look(self, lines: Sequence[str]) -> np.ndarray:
        lines = list(lines)
        keys = template_keys(lines)
        p = apply_floor(self.pipeline.predict_proba(lines)[:, 1], floor_mask(keys), self.threshold)
        return apply_answers(p, keys, getattr(self, "answers", None))

    def predict(self, lines: Sequence[str]) -> list[str]:
        p = self.predict_proba_look(lines)
        return [POSITIVE if v >= self.threshold else NEGATIVE for v in p]


def save_joblib(model: TrainedModel, path: str) -> None:
    import io

    import joblib

    from lookskip import storage

    buf = io.BytesIO()
    joblib.dump(model, buf, compress=3)
    storage.write_bytes(path, buf.getvalue())


def load_model(path: str):
    """A scorer for ``path``: a joblib ``TrainedModel`` or an exported ``.json(.gz)`` file.

    Both answer ``predict_proba_look(lines)`` and carry ``threshold``.
    """
    from lookskip import storage

    if not storage.exists(path):
        raise FileNotFoundError(f"model not found: {path}")
    if path.endswith((".json", ".json.gz")):
        from lookskip.model.reference import ReferenceModel

        return ReferenceModel.load(path)
    import io

    import joblib

    try:
        obj = joblib.load(io.BytesIO(storage.read_bytes(path)))
    except Exception as exc:  # a corrupt or foreign file: say which
        raise ValueError(f"{path}: not a lookskip joblib model ({exc})") from exc
    if isinstance(obj, TrainedModel):
        return obj
    if hasattr(obj, "predict_proba"):  # a bare pipeline
        return TrainedModel(pipeline=obj)
    raise ValueError(f"{path}: not a lookskip model (got {type(obj).__name__})")
