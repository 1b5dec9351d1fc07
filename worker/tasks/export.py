"""Export as tasks (the same core steps as ``lookskip export``, lookskip/model/export.py):
write the portable model file (+ reference outputs), then check that the numpy reference
scorer, which reads only that file, reproduces sklearn within 1e-9 on every labeled line.
"""

from __future__ import annotations

from typing import Any

from lookskip.model.export import PARITY_TOLERANCE, ParityError
from lookskip.model.files import MODEL_FILE, MODEL_JOBLIB
from worker.app import app, stage_settings

__all__ = ["PARITY_TOLERANCE", "ParityError", "model", "parity"]


def _paths(
    model_path: str | None, output: str | None, labels_dir: str | None, models_dir: str | None
) -> tuple[str, str, str]:
    from lookskip import storage
    from lookskip.roots import check, worker_roots

    s = stage_settings()
    base = models_dir or s.models_dir
    paths = (
        model_path or storage.join(base, MODEL_JOBLIB),
        output or storage.join(base, MODEL_FILE),
        labels_dir or s.labels_dir,
    )
    roots = worker_roots()  # a joblib file is a pickle: never load one from anywhere
    for path, what in zip(paths, ("model", "output", "labels folder"), strict=True):
        check(path, roots, what)
    return paths


@app.task(name="lookskip.export.model", bind=True)
def model(
    self,
    _previous: Any = None,
    *,
    wf: str | None = None,
    model_path: str | None = None,
    output: str | None = None,
    labels_dir: str | None = None,
    models_dir: str | None = None,
    reference: bool = True,
) -> dict[str, Any]:
    """Write the model file (atomically) and, if asked, the reference outputs beside it."""
    from lookskip.training.export import export_files

    model_path, output, labels_dir = _paths(model_path, output, labels_dir, models_dir)
    self.progress(wf, 0, 1, f"exporting {model_path}")
    result = export_files(model_path, output, labels_dir, reference=reference)
    result.pop("reference_path", None)
    if isinstance(_previous, dict) and "best_params" in _previous:  # after train: keep its figures
        result["train"] = _previous
        result["artifacts"] = [*_previous.get("artifacts", []), *result["artifacts"]]
    return result


@app.task(name="lookskip.export.parity", bind=True)
def parity(
    self, exported: dict[str, Any], *, wf: str | None = None, labels_dir: str | None = None
) -> dict[str, Any]:
    """Score every labeled line with sklearn and with the exported file; fail above 1e-9."""
    from lookskip.training.export import parity_report

    labels_dir = labels_dir or stage_settings().labels_dir
    self.progress(wf, 0, 1, "parity check: numpy reference vs sklearn")
    return {
        **exported,
        "parity": parity_report(exported["model_path"], exported["output"], labels_dir),
    }
