"""``lookskip retrain``: select → label → train → evaluate → export, as one workflow.

The loop a user with a new system runs: the current model picks the windows of the
system's sample it is least sure of (``labeling.select``), Claude labels only those
(``labeling.pipeline.run_label``; labels spread by template key), the model is
retrained on every labels file (``training.run.train_local``) and exported
(``training.export.export_files``). Each step is the one its own command runs.

The figure it prints is the one that matters to that user: LOOK F1 on *their*
system, before and after, on the same lines — the lines Claude answered directly
(rows spread by key are never scored). *Before*: a model fitted on the other
datasets only (it never saw the system). *After*: the system's answered windows are
split alternately in two; a model fitted on the other datasets plus one half scores
the other half, and the reverse — so no line is scored by a model that saw its own
label. Both use the hyper-parameters and threshold the retraining selected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookskip.settings import Settings


@dataclass
class OwnScore:
    """LOOK F1 on one system's answered lines, before and after its own labels."""

    system: str
    lines: int
    look: int
    before_f1: float
    after_f1: float


@dataclass
class RetrainReport:
    selection: Any  # labeling.select.Selection
    label: Any = None  # labeling.pipeline.LabelRun
    trained: dict[str, Any] = field(default_factory=dict)
    exported: dict[str, Any] = field(default_factory=dict)
    scores: list[OwnScore] = field(default_factory=list)

    @property
    def cost_usd(self) -> float | None:
        return None if self.label is None else self.label.cost_usd


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int((y & pred).sum())
    return 2 * tp / (2 * tp + int((~y & pred).sum()) + int((y & ~pred).sum())) if tp else 0.0


def own_system_score(
    labels_dir: str,
    system: str,
    params: dict[str, Any],
    threshold: float,
    window_size: int,
    settings: Settings | None = None,
) -> OwnScore | None:
    """Before/after LOOK F1 on ``system``'s directly answered lines (see the module doc).

    None when the system has fewer than two answered windows (nothing to split).
    """
    from lookskip.model.key import template_keys
    from lookskip.model.pipeline import apply_floor, build_pipeline, floor_mask
    from lookskip.training.labels import (
        collapse_keys,
        load_files,
        read_label_file,
        training_files,
    )

    files = training_files(labels_dir, None, settings)
    mine = [p for p in files if p.rsplit("/", 1)[-1] == f"{system}.jsonl"]
    if not mine:
        return None
    rows = [r for r in read_label_file(mine[0])[0] if r.get("source") != "key"]
    windows = sorted({(r["line_number"] - 1) // window_size for r in rows})
    if len(windows) < 2:
        return None
    half = {w: i % 2 for i, w in enumerate(windows)}
    fold = np.asarray([half[(r["line_number"] - 1) // window_size] for r in rows])
    rest = load_files([p for p in files if p not in mine])
    others = collapse_keys(rest.subset(rest.groups != system))  # no base rows of it either
    keys = template_keys([r["raw_line"] for r in rows])
    y = np.asarray([r["label"] == "LOOK" for r in rows])

    def fit_predict(train_idx: np.ndarray, test_idx: np.ndarray) -> np.ndarray:
        counts: dict[tuple[str, bool], int] = {}
        for i in train_idx:
            counts[(keys[i], bool(y[i]))] = counts.get((keys[i], bool(y[i])), 0) + 1
        k = others.keys + [key for key, _ in counts]
        lab = np.concatenate([others.y, np.asarray([int(v) for _, v in counts], dtype=np.int8)])
        w = np.concatenate([others.weight, np.asarray(list(counts.values()), dtype=np.int64)])
        pipe = build_pipeline(params).fit(k, lab, clf__sample_weight=w)
        test_keys = [keys[i] for i in test_idx]
        p = apply_floor(pipe.predict_proba(test_keys)[:, 1], floor_mask(test_keys), threshold)
        return p >= threshold

    everything = np.arange(len(rows))
    before = fit_predict(np.asarray([], dtype=int), everything)
    after = np.zeros(len(rows), dtype=bool)
    for f in (0, 1):
        test = np.flatnonzero(fold == f)
        after[test] = fit_predict(np.flatnonzero(fold != f), test)
    return OwnScore(system, len(rows), int(y.sum()), _f1(y, before), _f1(y, after))


def check_trainable(settings: Settings, adding: Sequence[str]) -> None:
    """Refuse, before a request is paid for, a retrain that could not train: the
    labels, base rows and answers there are, plus ``adding``, must hold 2 datasets."""
    from lookskip.training.labels import LabelError, load_files, training_files

    try:
        systems = set(load_files(training_files(settings.labels_dir, None, settings)).systems)
    except LabelError:
        systems = set()
    if len(systems | set(adding)) < 2:
        raise ValueError(
            "need labels for at least 2 training datasets (the CV groups), and there are "
            "no base rows (LOOKSKIP_BASE_ROWS=none?): nothing was sent"
        )


def retrain(
    datasets: Sequence[Any],
    settings: Settings,
    scorer: Any,
    *,
    budget_usd: float | None = None,
    max_requests: int | None = None,
    grid: str = "default",
    n_jobs: int = -1,
    on_step: Callable[[str], None] | None = None,
    on_label_progress: Callable[[Any], None] | None = None,
    dry_run: bool = False,
) -> RetrainReport:
    """The whole loop for ``datasets`` (the user's systems, samples ingested)."""
    from lookskip import storage
    from lookskip.labeling.pipeline import run_label
    from lookskip.labeling.select import select_uncertain
    from lookskip.model.files import MODEL_FILE, MODEL_JOBLIB
    from lookskip.training.export import export_files
    from lookskip.training.run import train_local

    def step(text: str) -> None:
        if on_step:
            on_step(text)

    step("choosing windows")
    sel = select_uncertain(
        datasets, settings, scorer, max_requests=max_requests, budget_usd=budget_usd
    )
    report = RetrainReport(sel)
    if dry_run or not sel.requests:
        return report
    chosen = [d for d in datasets if d.name in sel.windows]
    check_trainable(settings, [d.name for d in chosen])
    step(f"labeling {sel.requests} window(s)")
    report.label = run_label(chosen, settings, starts=sel.starts(), on_progress=on_label_progress)
    step("training")
    report.trained = train_local(settings.labels_dir, grid, n_jobs=n_jobs, settings=settings)
    step("exporting")
    model_path = storage.join(settings.models_dir, MODEL_JOBLIB)
    report.exported = export_files(
        model_path, storage.join(settings.models_dir, MODEL_FILE), settings.labels_dir
    )
    step("scoring your systems")
    params = report.trained["best_params"]
    threshold = float(report.trained["threshold"]["value"])
    for d in chosen:
        s = own_system_score(
            settings.labels_dir, d.name, params, threshold, settings.window_size, settings
        )
        if s is not None:
            report.scores.append(s)
    return report
