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


class _Reference:
    def __init__(self, model: Any):
        self.model = model

    def predict_proba(self, lines: list[bytes]) -> Any:
        return self.model.predict_proba_look(
            [ln.decode("utf-8", "replace") if isinstance(ln, bytes) else ln for ln in lines])


def default_model_path() -> str:
    s = get_settings()
    return s.model_path or storage.join(s.models_dir, "look_skip_model.json.gz")


def load_scorer(model_path: str | None = None, threads: int | None = None,
                allow_reference: bool = True) -> LoadedScorer:
    """Load the model for scoring; ``threads`` 0/None means all cores."""
    path = model_path or default_model_path()
    if not storage.exists(path):
        raise FileNotFoundError(f"model not found: {path} (train and export one, or --model)")
    threads = get_settings().threads if threads is None else threads
    try:
        import lookskip_rs
    except ImportError:
        if not allow_reference:
            raise RuntimeError("the Rust extension lookskip_rs is not built "
                               "(run `make setup` or `maturin develop -r` in rust/)") from None
        from lookskip.model.reference import ReferenceModel

        ref = ReferenceModel.load(path)
        return LoadedScorer(_Reference(ref), ref.threshold, "reference", path)
    clf = lookskip_rs.Classifier(path, threads or 0)
    threshold = getattr(clf, "threshold", None)
    if threshold is None:
        from lookskip.model.reference import ReferenceModel

        threshold = ReferenceModel.load(path).threshold
    return LoadedScorer(clf, float(threshold), "rust", path)
