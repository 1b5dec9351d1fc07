"""File names of a trained model in the models dir, defined once.

``train`` writes the joblib model and the report, ``export`` the portable file and
its reference outputs beside it; classify, the tasks and the CLI find them here.
"""

MODEL_FILE = "look_skip_model.json.gz"  # the exported model (docs/model-format.md)
#: The model refit on Claude's answers (``classify --ask-claude``): preferred over
#: MODEL_FILE when present, so a data dir's answers apply to every later run. A name of
#: its own, so a refit never overwrites a trained or shipped model file.
LEARNED_FILE = "learned_model.json.gz"
LEARNED_PREVIOUS = "learned_model.prev.json.gz"
MODEL_JOBLIB = "look_skip_model.joblib"  # the fitted scikit-learn pipeline
REPORT_NAME = "eval_report.json"
REFERENCE_OUTPUTS = "reference_outputs.jsonl.gz"  # lines + sklearn p_look; never committed
