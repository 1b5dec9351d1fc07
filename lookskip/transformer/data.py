"""Labels → training and held-out examples for the BERT stage.

The held-out side is chosen by *dataset*, as in TF-IDF training: lines of one log
system look alike, so a random line split would let the model memorise a system's
templates and report a flattering score. Either name the held-out datasets, or take
one fold of the same ``GroupKFold`` (dataset = group) that TF-IDF cross-validation
uses, so both models can be compared on the same unseen systems.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from lookskip.training.labels import LabelError

# The model's classes by index (1 = LOOK, the positive class). Not the labels' order
# (``lookskip.model.pipeline.LABELS`` = LOOK, SKIP): a class index is what torch needs.
CLASS_NAMES = ("SKIP", "LOOK")
CLASS_ID = {name: i for i, name in enumerate(CLASS_NAMES)}


@dataclass(frozen=True)
class Example:
    system: str
    text: str
    label: int  # 1 = LOOK
    count: int = 1  # labeled lines this example stands for (see ``dedup``)


def _examples(data) -> list[Example]:
    return [
        Example(system, line, CLASS_ID[label])
        for line, label, system in zip(data.lines, data.labels, data.systems, strict=True)
    ]


def read_labels(path: str) -> list[Example]:
    """Rows of one ``<Name>.jsonl`` labels file, read and checked by training's reader
    (``lookskip.training.labels``: one labels-file format, one set of error messages)."""
    from lookskip.training.labels import load_files

    return _examples(load_files([path]))


def load_examples(labels_dir: str, datasets: Iterable[str] | None = None) -> list[Example]:
    """All labeled lines under ``labels_dir`` (one file per dataset; the aggregate is skipped)."""
    from lookskip.training.labels import load_labels

    return _examples(load_labels(labels_dir, list(datasets) if datasets is not None else None))


def holdout_fold(examples: Sequence[Example], n_folds: int = 5, fold: int = 0) -> list[str]:
    """The datasets in fold ``fold`` of GroupKFold(n_folds) with the dataset as group.

    Uses scikit-learn's GroupKFold itself (a dependency of the transformer extra
    through sentence-transformers), so the split is the one TF-IDF reports.
    """
    from sklearn.model_selection import GroupKFold

    groups = [e.system for e in examples]
    n_groups = len(set(groups))
    if n_groups < 2:
        raise LabelError("need labels from at least 2 datasets to hold one out")
    n_folds = min(n_folds, n_groups)
    if not 0 <= fold < n_folds:
        raise LabelError(f"fold must be in 0..{n_folds - 1}")
    splits = list(GroupKFold(n_splits=n_folds).split(groups, groups=groups))
    _, test_idx = splits[fold]
    return sorted({groups[i] for i in test_idx})


def split(
    examples: Sequence[Example], holdout: Iterable[str]
) -> tuple[list[Example], list[Example]]:
    """(train, held-out): no dataset on both sides."""
    held = set(holdout)
    known = {e.system for e in examples}
    unknown = held - known
    if unknown:
        raise LabelError(f"held-out dataset(s) not in the labels: {', '.join(sorted(unknown))}")
    train = [e for e in examples if e.system not in held]
    test = [e for e in examples if e.system in held]
    if not train or not test:
        raise LabelError("the hold-out leaves no training or no held-out lines")
    return train, test


def dedup(
    examples: Iterable[Example], to_input: Callable[[str], str] | None = None
) -> list[Example]:
    """Distinct ``(system, to_input(text), label)`` examples, each with its line ``count``.

    With ``to_input`` = :func:`lookskip.transformer.inputs.model_input` the 30,811
    labeled lines of the 20 training datasets become ~3,000 examples: training
    passes over each template once per epoch instead of ~10 times (the compute is
    the binding constraint on CPU), and scoring a file scores each distinct input
    once. The system stays in the key so the dataset split and per-system metrics
    still work; a text labeled both ways stays two examples (the labels disagree,
    the counts say by how much). First-seen order, so the result is deterministic.
    """
    counts: Counter[tuple[str, str, int]] = Counter()
    for e in examples:
        text = to_input(e.text) if to_input else e.text
        counts[(e.system, text, e.label)] += e.count
    return [Example(s, t, y, n) for (s, t, y), n in counts.items()]


def sample_weights(examples: Sequence[Example]) -> list[float]:
    """Training weight of each example: ``1 + ln(count)`` (1.0 for a single line).

    A weighted loss, not repeats (repeating costs compute, a weight is free) and
    not the raw count: raw counts would let the few templates with thousands of
    lines (one HDFS or Zookeeper message) dominate the loss, which is what line
    sampling did before dedup, while the figure that transfers to an unseen system
    is how many *distinct* templates the model reads right. The log keeps some
    preference for the templates that make up most lines (a 1,000-line template
    weighs ~7.9, a single line 1.0).
    """
    return [1.0 + math.log(max(e.count, 1)) for e in examples]


def class_weights(
    examples: Sequence[Example], weights: Sequence[float] | None = None
) -> list[float]:
    """``n / (2 · count_c)`` per class (scikit-learn's "balanced"): LOOK is the rare class.

    With ``weights`` (one per example) the class totals are sums of weights, so the
    two classes weigh the same in a sample-weighted loss.
    """
    w = [1.0] * len(examples) if weights is None else list(weights)
    totals = [0.0] * len(CLASS_NAMES)
    for e, wi in zip(examples, w, strict=True):
        totals[e.label] += wi
    n = sum(totals)
    return [n / (len(CLASS_NAMES) * max(t, 1.0)) for t in totals]
