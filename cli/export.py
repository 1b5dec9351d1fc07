"""``lookskip export``: write the portable model file the Rust classifier loads."""

from __future__ import annotations

import click

from cli.common import out, user_errors
from lookskip.training.labels import LabelError


@click.command()
@click.option("--model", "model_path", default=None, metavar="PATH",
              help="Joblib model to export. Default: <data_dir>/models/look_skip_model.joblib.")
@click.option("--output", default=None, metavar="PATH",
              help="Model file (.json or .json.gz). "
                   "Default: <data_dir>/models/look_skip_model.json.gz.")
@click.option("--labels-dir", default=None, metavar="DIR",
              help="Labeled lines to write reference outputs for. Default: <data_dir>/labels.")
@click.option("--reference/--no-reference", default=True, show_default=True,
              help="Also write reference_outputs.jsonl.gz (lines + sklearn p_look) beside it.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Verify the numpy reference scorer reproduces sklearn within 1e-9.")
@user_errors(LabelError)
def export(model_path, output, labels_dir, reference, check) -> None:
    """Export the trained model as docs/model-format.md describes.

    \b
    The file holds everything a non-Python implementation needs (normalization
    rules, vocabularies, idf, feature scaling, coefficients, threshold). The
    reference outputs (log lines with sklearn's probabilities; not for committing)
    let another implementation test parity.
    """
    from lookskip import storage
    from lookskip.model.export import export_model, write_reference_outputs
    from lookskip.model.pipeline import TrainedModel, load_model
    from lookskip.settings import get_settings

    settings = get_settings()
    model_path = model_path or storage.join(settings.models_dir, "look_skip_model.joblib")
    output = output or storage.join(settings.models_dir, "look_skip_model.json.gz")
    model = load_model(model_path)
    if not isinstance(model, TrainedModel):
        raise click.UsageError(f"{model_path}: already an exported file; give a joblib model")
    export_model(model, output)
    out.print(f"wrote {output} ({storage.size(output) / 1e6:.2f} MB)")
    if not (reference or check):
        return
    from lookskip.training.labels import label_files, load_files

    labels_dir = labels_dir or settings.labels_dir
    data = load_files(label_files(labels_dir))
    if reference:
        ref_path = storage.join(output.rsplit("/", 1)[0] if "/" in output else ".",
                                "reference_outputs.jsonl.gz")
        n = write_reference_outputs(model, data.lines, ref_path, data.systems)
        out.print(f"wrote {ref_path} ({n} lines)")
    if check:
        import numpy as np

        from lookskip.model.reference import ReferenceModel

        ref = ReferenceModel.load(output)
        diff = float(np.max(np.abs(
            ref.predict_proba_look(data.lines) - model.predict_proba_look(data.lines))))
        if diff > 1e-9:
            raise ValueError(f"numpy reference differs from sklearn by {diff:.3g} (> 1e-9)")
        out.print(f"numpy reference matches sklearn: max |Δp| = {diff:.2e} "
                  f"on {len(data.lines)} lines")
