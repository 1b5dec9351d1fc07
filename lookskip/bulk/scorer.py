"""The line scorer behind bulk classification: the Rust extension, else the numpy reference.

Both load the same exported model file and give the same probabilities (the Rust
issue's parity contract), so the choice changes speed, not results. The reference
is orders of magnitude slower; callers warn when they fall back to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lookskip import storage
from lookskip.settings import get_settings


@dataclass
class LoadedScorer:
    scorer: Any  # has predict_proba(list[bytes | str]) -> array of p(LOOK)
    threshold: float
    kind: str  # "rust" or "reference"
    model_path: str
    fallback_reason: str | None = None


class _Reference:
    def __init__(self, model: Any, max_line_bytes: int):
        self.model = model
        self.max_line_bytes = max_line_bytes

    def predict_proba(self, lines: list[bytes]) -> Any:
        return self.model.predict_proba_look(
            [ln.decode("utf-8", "replace") if isinstance(ln, bytes) else ln for ln in lines]
        )


def default_model_path() -> str:
    s = get_settings()
    return s.model_path or storage.join(s.models_dir, "look_skip_model.json.gz")


def load_scorer(
    model_path: str | None = None,
    threads: int | None = None,
    allow_reference: bool = True,
    max_line_bytes: int = 64 << 10,
) -> LoadedScorer:
    """Load the model for scoring; ``threads`` 0/None means all cores.

    The Rust extension unless it is missing or ``LOOKSKIP_NO_RUST=1`` (the same switch
    as ``lookskip.classify.local``); then the numpy reference, if ``allow_reference``.
    """
    from lookskip.classify.local import rust_module

    path = model_path or default_model_path()
    if not storage.exists(path):
        raise FileNotFoundError(f"model not found: {path} (train and export one, or --model)")
    threads = get_settings().threads if threads is None else threads
    module, why = rust_module()
    if module is None:
        if not allow_reference:
            raise RuntimeError(f"the Rust extension lookskip_rs is unavailable: {why}")
        from lookskip.model.reference import ReferenceModel

        ref = ReferenceModel.load(path)
        return LoadedScorer(_Reference(ref, max_line_bytes), ref.threshold, "reference", path, why)
    clf = module.Classifier(path, threads=threads or 0, max_line_bytes=max_line_bytes)
    return LoadedScorer(clf, float(clf.threshold), "rust", path)
