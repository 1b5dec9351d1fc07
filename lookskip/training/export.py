"""The export step: a trained model to its exported file, with its reference outputs.

In ``training`` because the step reads the labeled lines (:mod:`lookskip.training.labels`)
to write reference outputs and check parity; the file format itself
(:mod:`lookskip.model.export`) stays below, reading nothing of training's.
"""

from __future__ import annotations

from typing import Any

from lookskip import storage
from lookskip.model.export import (
    PARITY_TOLERANCE,
    check_parity,
    export_model,
    load_trained,
    reference_outputs_path,
    write_reference_outputs,
)
from lookskip.training.labels import label_files, load_files


def labeled_data(labels_dir: str):
    """Every labeled line under ``labels_dir`` (what reference outputs and parity use)."""
    return load_files(label_files(labels_dir))


def export_files(
    model_path: str, output: str, labels_dir: str, reference: bool = True
) -> dict[str, Any]:
    """``lookskip export``'s and the export task's steps: the model file, and with
    ``reference`` the reference outputs of every labeled line beside it."""
    model = load_trained(model_path)
    export_model(model, output)
    result: dict[str, Any] = {
        "model_path": model_path,
        "output": output,
        "bytes": storage.size(output),
        "artifacts": [output],
    }
    if reference:
        data = labeled_data(labels_dir)
        ref_path = reference_outputs_path(output)
        result["reference_lines"] = write_reference_outputs(
            model, data.lines, ref_path, data.systems
        )
        result["reference_path"] = ref_path
        result["artifacts"].append(ref_path)
    return result


def parity_report(model_path: str, output: str, labels_dir: str) -> dict[str, Any]:
    """``check_parity`` on every labeled line, as a small dict (raises ParityError)."""
    data = labeled_data(labels_dir)
    diff = check_parity(load_trained(model_path), output, data.lines)
    return {"max_abs_diff": diff, "lines": len(data.lines), "tolerance": PARITY_TOLERANCE}
