"""Labels → training and held-out examples for the BERT stage.

The held-out side is chosen by *dataset*, as in TF-IDF training: lines of one log
system look alike, so a random line split would let the model memorise a system's
templates and report a flattering score. Either name the held-out datasets, or take
one fold of the same ``GroupKFold`` (dataset = group) that TF-IDF cross-validation
uses, so both models can be compared on the same unseen systems.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lookskip import storage

LABELS = ("SKIP", "LOOK")  # class index 1 = LOOK, the positive class
LABEL_ID = {name: i for i, name in enumerate(LABELS)}
AGGREGATE_FILE = "all_labeled.jsonl"


class LabelsError(ValueError):
    """A labels file or selection that cannot be used for training."""


@dataclass(frozen=True)
class Example:
    system: str
    text: str
    label: int  # 1 = LOOK


def read_labels(path: str) -> list[Example]:
    """Rows of one ``<Name>.jsonl`` labels file; a bad row is a clear error naming it."""
    out: list[Example] = []
    try:
        rows = list(storage.read_jsonl(path))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LabelsError(f"{path}: not a JSON-lines labels file ({exc})") from exc
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "raw_line" not in row or "label" not in row:
            raise LabelsError(f"{path}: row {i} lacks 'raw_line' or 'label'")
        label = row["label"]
        if label not in LABEL_ID:
            raise LabelsError(f"{path}: row {i} has unknown label {label!r} (LOOK or SKIP)")
        system = str(row.get("system") or _stem(path))
        out.append(Example(system, str(row["raw_line"]), LABEL_ID[label]))
    if not out:
        raise LabelsError(f"{path}: no labeled rows")
    return out


def load_examples(labels_dir: str, datasets: Iterable[str] | None = None) -> list[Example]:
    """All labeled lines under ``labels_dir`` (one file per dataset; the aggregate is skipped)."""
    files = [
        p for p in storage.listdir(labels_dir, "*.jsonl") if not p.endswith("/" + AGGREGATE_FILE)
    ]
    if datasets is not None:
        wanted = set(datasets)
        files = [p for p in files if _stem(p) in wanted]
        missing = wanted - {_stem(p) for p in files}
        if missing:
            raise LabelsError(
                f"no labels for dataset(s): {', '.join(sorted(missing))} in {labels_dir}"
            )
    if not files:
        raise LabelsError(f"no labels files (*.jsonl) in {labels_dir}; run `lookskip label`")
    out: list[Example] = []
    for path in files:
        out.extend(read_labels(path))
    return out


def holdout_fold(examples: Sequence[Example], n_folds: int = 5, fold: int = 0) -> list[str]:
    """The datasets in fold ``fold`` of GroupKFold(n_folds) with the dataset as group.

    Uses scikit-learn's GroupKFold itself (a dependency of the transformer extra
    through sentence-transformers), so the split is the one TF-IDF reports.
    """
    from sklearn.model_selection import GroupKFold

    groups = [e.system for e in examples]
    n_groups = len(set(groups))
    if n_groups < 2:
        raise LabelsError("need labels from at least 2 datasets to hold one out")
    n_folds = min(n_folds, n_groups)
    if not 0 <= fold < n_folds:
        raise LabelsError(f"fold must be in 0..{n_folds - 1}")
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
        raise LabelsError(f"held-out dataset(s) not in the labels: {', '.join(sorted(unknown))}")
    train = [e for e in examples if e.system not in held]
    test = [e for e in examples if e.system in held]
    if not train or not test:
        raise LabelsError("the hold-out leaves no training or no held-out lines")
    return train, test


def class_weights(examples: Sequence[Example]) -> list[float]:
    """``n / (2 · count_c)`` per class (scikit-learn's "balanced"): LOOK is the rare class."""
    counts = Counter(e.label for e in examples)
    n = len(examples)
    return [n / (len(LABELS) * max(counts.get(c, 0), 1)) for c in range(len(LABELS))]


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[: -len(".jsonl")] if name.endswith(".jsonl") else name
