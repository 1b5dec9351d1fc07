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

    s = stage_settings()
    base = models_dir or s.models_dir
    return (
        model_path or storage.join(base, MODEL_JOBLIB),
        output or storage.join(base, MODEL_FILE),
        labels_dir or s.labels_dir,
    )


def _labeled_lines(labels_dir: str):
    from lookskip.training.labels import label_files, load_files

    return load_files(label_files(labels_dir))


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
    from lookskip import storage
    from lookskip.model.export import (
        export_model,
        load_trained,
        reference_outputs_path,
        write_reference_outputs,
    )

    model_path, output, labels_dir = _paths(model_path, output, labels_dir, models_dir)
    self.progress(wf, 0, 1, f"exporting {model_path}")
    trained = load_trained(model_path)
    export_model(trained, output)
    result: dict[str, Any] = {
        "model_path": model_path,
        "output": output,
        "bytes": storage.size(output),
        "artifacts": [output],
    }
    if isinstance(_previous, dict) and "best_params" in _previous:  # after train: keep its figures
        result["train"] = _previous
        result["artifacts"] = [*_previous.get("artifacts", []), *result["artifacts"]]
    if reference:
        data = _labeled_lines(labels_dir)
        ref_path = reference_outputs_path(output)
        result["reference_lines"] = write_reference_outputs(
            trained, data.lines, ref_path, data.systems
        )
        result["artifacts"] = [*result["artifacts"], ref_path]
    return result


@app.task(name="lookskip.export.parity", bind=True)
def parity(
    self, exported: dict[str, Any], *, wf: str | None = None, labels_dir: str | None = None
) -> dict[str, Any]:
    """Score every labeled line with sklearn and with the exported file; fail above 1e-9."""
    from lookskip.model.export import check_parity, load_trained

    labels_dir = labels_dir or stage_settings().labels_dir
    self.progress(wf, 0, 1, "parity check: numpy reference vs sklearn")
    data = _labeled_lines(labels_dir)
    diff = check_parity(load_trained(exported["model_path"]), exported["output"], data.lines)
    return {
        **exported,
        "parity": {"max_abs_diff": diff, "lines": len(data.lines), "tolerance": PARITY_TOLERANCE},
    }
