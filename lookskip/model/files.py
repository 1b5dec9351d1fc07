"""File names of a trained model in the models dir, defined once.

``train`` writes the joblib model and the report, ``export`` the portable file and
its reference outputs beside it; classify, the tasks and the CLI find them here.
"""

MODEL_FILE = "look_skip_model.json.gz"  # the exported model (docs/model-format.md)
MODEL_JOBLIB = "look_skip_model.joblib"  # the fitted scikit-learn pipeline
REPORT_NAME = "eval_report.json"
REFERENCE_OUTPUTS = "reference_outputs.jsonl.gz"  # lines + sklearn p_look; never committed
