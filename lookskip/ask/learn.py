"""Learn from every answer: refit the model on base rows + the user's labels + the
answer store, and carry the answers in the model file.

The refit uses the current model's hyper-parameters and threshold (no grid: the
grid was searched when those were chosen; a refit is seconds), so what changes is
only what the answers taught. The refit model goes to
``<data_dir>/models/learned_model.json.gz`` (the previous one is kept beside it as
``learned_model.prev.json.gz``), which every later run and every worker sharing the
data dir prefers to the trained model (``classify.scorer.default_model_path``).

Answers reach lines in two ways: the model file's ``answers`` label every key that
matches an answered template exactly as Claude said (``model.answers``), and the
refit's TF-IDF weights move toward those answers for lines of *other* templates
that look alike.
"""

from __future__ import annotations

import time
from typing import Any

from lookskip import storage
from lookskip.settings import Settings

#: A template with fewer literal tokens than this applies to its exact keys only: a
#: template such as `<*> <*> started` would label lines of any system.
MIN_LITERAL_TOKENS = 2


def model_answers(doc: dict) -> list[dict[str, str]]:
    """The answers a model file carries: a template that is specific enough applies to
    every key it matches; a too-general one only to the keys it was asked about."""
    from lookskip.model.answers import WILDCARD, literal_tokens

    out: list[dict[str, str]] = []
    for a in doc.get("answers") or ():
        if WILDCARD not in a["template"] or literal_tokens(a["template"]) >= MIN_LITERAL_TOKENS:
            out.append({"template": a["template"], "label": a["label"], "reason": a["reason"]})
        else:
            out.extend(
                {"template": key, "label": a["label"], "reason": a["reason"]}
                for key, _ in a.get("keys") or ()
            )
    return out


def current_params(model_path: str) -> tuple[dict[str, Any], float]:
    """Hyper-parameters and threshold of the exported model at ``model_path``."""
    from lookskip.model.export import read_document
    from lookskip.model.pipeline import DEFAULT_PARAMS

    doc = read_document(model_path)
    params = {**DEFAULT_PARAMS, **((doc.get("trained") or {}).get("params") or {})}
    return params, float(doc["threshold"])


def refit(
    settings: Settings, store_doc: dict, base_model: str, output: str | None = None
) -> dict[str, Any]:
    """Fit on everything known, export with the store's answers; returns a summary."""
    from lookskip.model.export import export_model
    from lookskip.model.files import LEARNED_FILE, LEARNED_PREVIOUS
    from lookskip.model.pipeline import TrainedModel, build_pipeline
    from lookskip.training.labels import collapse_keys, load_files, training_files

    started = time.perf_counter()
    params, threshold = current_params(base_model)
    files = training_files(settings.labels_dir, None, settings)
    data = load_files(files)
    rows = collapse_keys(data)
    if len(set(rows.y.tolist())) < 2:
        raise ValueError("the training rows hold only one class; LOOK and SKIP are both needed")
    pipe = build_pipeline(params).fit(rows.keys, rows.y, clf__sample_weight=rows.weight)
    output = output or storage.join(settings.models_dir, LEARNED_FILE)
    if storage.exists(output):
        storage.write_bytes(
            storage.join(output.rsplit("/", 1)[0], LEARNED_PREVIOUS), storage.read_bytes(output)
        )
    answers = model_answers(store_doc)
    model = TrainedModel(
        pipe,
        threshold,
        params,
        trained={
            "refit": "ask-claude",
            "data_hash": data.data_hash(),
            "train_size": len(data.lines),
            "datasets": data.datasets,
            "answers": len(answers),
        },
        answers=answers,
    )
    export_model(model, output)
    return {
        "model": output,
        "rows": len(rows.keys),
        "lines": len(data.lines),
        "answers": len(answers),
        "seconds": round(time.perf_counter() - started, 3),
    }
