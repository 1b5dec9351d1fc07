"""``lookskip export``: write the portable model file the Rust classifier loads."""

from __future__ import annotations

import click

from cli.common import out, user_errors
from lookskip.model.files import MODEL_FILE, MODEL_JOBLIB
from lookskip.training.labels import LabelError


@click.command()
@click.option(
    "--model",
    "model_path",
    default=None,
    metavar="PATH",
    help="Joblib model to export. Default: <data_dir>/models/look_skip_model.joblib.",
)
@click.option(
    "--output",
    default=None,
    metavar="PATH",
    help="Model file (.json or .json.gz). Default: <data_dir>/models/look_skip_model.json.gz.",
)
@click.option(
    "--labels-dir",
    default=None,
    metavar="DIR",
    help="Labeled lines to write reference outputs for. Default: <data_dir>/labels.",
)
@click.option(
    "--reference/--no-reference",
    default=True,
    show_default=True,
    help="Also write reference_outputs.jsonl.gz (lines + sklearn p_look) beside it.",
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Verify the numpy reference scorer reproduces sklearn within 1e-9.",
)
@user_errors(LabelError)
def export(model_path, output, labels_dir, reference, check) -> None:
    """Export the trained model as docs/model-format.md describes.

    \b
    The file holds everything a non-Python implementation needs (template-key
    rules, vocabularies, idf, feature scaling, coefficients, threshold). The
    reference outputs (log lines with sklearn's probabilities; not for committing)
    let another implementation test parity.
    """
    from lookskip import storage
    from lookskip.settings import get_settings
    from lookskip.training.export import export_files, parity_report

    settings = get_settings()
    model_path = model_path or storage.join(settings.models_dir, MODEL_JOBLIB)
    output = output or storage.join(settings.models_dir, MODEL_FILE)
    labels_dir = labels_dir or settings.labels_dir
    try:
        result = export_files(model_path, output, labels_dir, reference=reference)
    except LabelError:
        raise
    except ValueError as e:  # not a joblib model
        raise click.UsageError(str(e)) from None
    out.print(f"wrote {output} ({result['bytes'] / 1e6:.2f} MB)")
    if reference:
        out.print(f"wrote {result['reference_path']} ({result['reference_lines']} lines)")
    if check:
        p = parity_report(model_path, output, labels_dir)
        out.print(
            f"numpy reference matches sklearn: max |Δp| = {p['max_abs_diff']:.2e} "
            f"on {p['lines']} lines"
        )
