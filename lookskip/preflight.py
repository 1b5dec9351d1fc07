"""Check a stage's (or the whole pipeline's) parameters before any work starts.

Why: the pipeline runs ingest → label → train → export as one chain. A ``--folds``
that the chosen datasets cannot fill used to fail in train's plan task, after the
labeling had been paid for. Everything that can be decided from the parameters, the
dataset registry and the files already here is checked by :func:`check` once, before
the first task is sent (``worker.workflows.enqueue``) or the first step runs (the
local commands), so a bad run costs nothing.

Checks: with the data dir on an object store (workers on several hosts), no parameter
names a path on this host; known dataset names (``--datasets``, ``--holdout``), a
usable ``--source``, a known ``--grid``, ``--folds`` of at least 2 and at most the
number of training datasets (those train will see, minus ``--holdout``), which must be
at least 2; classify's thresholds in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lookskip.settings import Settings, get_settings

PIPELINE = ("ingest", "label", "train", "export")


class ParamError(ValueError):
    """A parameter that would make the run fail; the message names it."""


def csv(value: Any) -> list[str]:
    """``"a, b"`` / ``["a", "b"]`` / ``None`` -> ``["a", "b"]`` / ``[]``."""
    if value is None or value == "" or value == ():
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def stages_of(stage: str, params: dict[str, Any]) -> list[str]:
    """The stages a run of ``stage`` goes through (the pipeline from ``params["from"]``)."""
    if stage != "pipeline":
        return [stage]
    start = params.get("from") or PIPELINE[0]
    if start not in PIPELINE:
        raise ParamError(f"--from {start}: choose one of {', '.join(PIPELINE)}")
    return list(PIPELINE[PIPELINE.index(start) :])


def _datasets(params: dict[str, Any], settings: Settings) -> list[str]:
    from lookskip import datasets as ds

    names = csv(params.get("datasets"))
    if names:
        try:
            ds.select(names, settings)
        except ds.DatasetError as exc:
            raise ParamError(f"--datasets: {exc}") from None
    return names


def _labeled_here(labels_dir: str, names: Sequence[str]) -> list[str] | None:
    """Datasets with a labels file in ``labels_dir`` (None if it cannot be seen from here:
    a worker may see a data dir this machine does not)."""
    from lookskip import storage

    try:
        if not storage.exists(labels_dir):
            return None
        found = [
            p.rsplit("/", 1)[-1].removesuffix(".jsonl")
            for p in storage.listdir(labels_dir, "*.jsonl")
        ]
    except OSError:
        return None
    found = [n for n in found if n != "all_labeled"]  # the aggregate file is not a dataset
    return [n for n in found if n in names] if names else found


def _check_train(
    params: dict[str, Any], stages: list[str], names: list[str], settings: Settings
) -> None:
    from lookskip import datasets as ds
    from lookskip.training.plan import resolve_grid

    grid = params.get("grid") or "default"
    try:
        resolve_grid(grid)
    except ValueError as exc:
        raise ParamError(f"--grid: {exc}") from None
    raw_folds = params.get("folds")
    try:
        folds = 5 if raw_folds in (None, "") else int(raw_folds)
    except (TypeError, ValueError):
        raise ParamError(f"--folds must be a whole number, got {raw_folds!r}") from None
    if folds < 2:
        raise ParamError(f"--folds must be at least 2, got {folds}")
    if "label" in stages:  # the run labels them first: train sees what it labels
        pool: list[str] | None = names or list(ds.load_registry(settings))
        where = "the datasets this run labels"
    else:
        labels_dir = params.get("labels_dir") or settings.labels_dir
        pool = _labeled_here(labels_dir, names)
        where = f"the datasets with labels in {labels_dir}"
    holdout = csv(params.get("holdout"))
    if pool is None:  # labels not visible here: the plan task checks them
        return
    unknown = sorted(set(holdout) - set(pool))
    if unknown:
        raise ParamError(f"--holdout: no labels for {', '.join(unknown)} (not among {where})")
    training = sorted(set(pool) - set(holdout))
    if len(training) < 2:
        if "label" not in stages:
            return  # labels already here: the plan names what is wrong with them (bad files)
        raise ParamError(
            f"training needs at least 2 datasets (the cross-validation groups); {where} "
            f"leave {len(training)}" + (" after --holdout" if holdout else "")
        )
    if folds > len(training):
        raise ParamError(
            f"--folds {folds} needs at least {folds} training datasets; {where} give "
            f"{len(training)} ({', '.join(training)}): use --folds {len(training)} or fewer, "
            "or add datasets"
        )


#: Parameters that name files or folders the workers open.
PATH_PARAMS = (
    "source",
    "labels_dir",
    "models_dir",
    "model_path",
    "output",
    "inputs",
    "baseline_inputs",
    "baseline_file",
    "bert_model",
    "tfidf_model",
)
SOURCE_WORDS = ("registry", "loghub", "synthetic")


def _is_host_path(value: str) -> bool:
    return "://" not in value or value.startswith("file://")


def check_shared(params: dict[str, Any], settings: Settings) -> None:
    """With the data dir on an object store, refuse paths that only this host can see.

    Why: an object-store data dir means the workers may be on other hosts that share
    nothing but the broker and the bucket (docs/workers.md, "Several hosts"); a task handed a
    local path would fail there, or worse, read a different file of the same name.
    A local (or shared POSIX) data dir keeps accepting local paths.
    """
    from lookskip import storage
    from lookskip.classify.modes import is_mode

    if storage.is_local(settings.data_dir):
        return
    for key in PATH_PARAMS:
        value = params.get(key)
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if not isinstance(v, str) or not v or (key == "source" and v in SOURCE_WORDS):
                continue
            if key == "model_path" and is_mode(v):  # --model MODE names no file
                continue
            if _is_host_path(v):
                flag = {
                    "inputs": "input",
                    "model_path": "--model",
                    "baseline_inputs": "--baseline",
                }.get(key, "--" + key.replace("_", "-"))
                raise ParamError(
                    f"{flag} {v}: a path on this host, but the data dir is "
                    f"{settings.data_dir} and the workers may be on other hosts: put it in "
                    "the object store (s3://…) or use a URL every worker can read"
                )


def check(
    stage: str,
    params: dict[str, Any],
    settings: Settings | None = None,
    *,
    workers: bool = False,
) -> None:
    """Raise :class:`ParamError` if a run of ``stage`` with ``params`` cannot succeed.

    ``workers``: the run goes to the workers (``enqueue``), so paths must be theirs too.
    """
    settings = settings or get_settings()
    if workers:
        check_shared(params, settings)
    stages = stages_of(stage, params)
    names = _datasets(params, settings) if set(stages) & {"ingest", "label", "train"} else []
    if "ingest" in stages and params.get("source"):
        from lookskip.ingest import SourceError, parse_source

        try:
            parse_source(params["source"], settings)
        except SourceError as exc:
            raise ParamError(str(exc)) from None
    if "train" in stages:
        _check_train(params, stages, names, settings)
    if stage == "classify" and params.get("ask_claude"):
        budget = params.get("budget")
        if budget is None or not float(budget) > 0:
            raise ParamError("--ask-claude needs --budget USD (a positive number of dollars)")
    elif stage == "classify" and params.get("budget") is not None:
        raise ParamError("--budget goes with --ask-claude")
    if "classify" in stages:
        _check_thresholds(params)
        _check_mode(params)


#: classify's thresholds (parameter name -> its flag), each a probability.
THRESHOLD_PARAMS = {
    "threshold": "--threshold",
    "tfidf_threshold": "--tfidf-threshold",
    "bert_threshold": "--bert-threshold",
}


def _check_mode(params: dict[str, Any]) -> None:
    """``--model MODE`` with ``--bert`` and the options a transformer mode refuses."""
    from lookskip.classify.modes import mode_options

    try:
        _, modes = mode_options(
            params.get("model_path"),
            tfidf_model=params.get("tfidf_model"),
            bert=bool(params.get("bert")),
        )
    except ValueError as exc:
        raise ParamError(str(exc)) from None
    if modes and (params.get("why") or params.get("ask_claude")):
        raise ParamError(
            f"--model {modes['mode']} takes neither --ask-claude nor --why (they explain and "
            "refit the TF-IDF model: use --model tfidf)"
        )


def _check_thresholds(params: dict[str, Any]) -> None:
    from lookskip.classify.scorer import check_threshold

    for key, flag in THRESHOLD_PARAMS.items():
        if params.get(key) is not None:
            try:
                check_threshold(params[key], flag)
            except ValueError as exc:
                raise ParamError(str(exc)) from None
