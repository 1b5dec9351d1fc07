"""Loading and validating labeled lines (``<labels_dir>/<Dataset>.jsonl``).

A labels file that is empty, not JSON, or has a row with a missing field or an
unknown label stops training with an error naming the file and the line: training
silently on part of the data would give a model that looks fine and is not.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lookskip import storage
from lookskip.model.key import key_rules_hash
from lookskip.model.pipeline import LABELS, encode_labels
from lookskip.training.base import FORMAT, default_base_rows, expand, is_base_rows, read_base_rows
from lookskip.training.errors import LabelError

REQUIRED_FIELDS = ("system", "line_number", "raw_line", "label", "reason")
# The labeling stage also writes one file with every row; reading it too would
# count each line twice.
AGGREGATE_FILE = "all_labeled.jsonl"


@dataclass
class LabeledData:
    """Labeled lines in file order, with their dataset (the CV group)."""

    lines: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256

    @property
    def y(self) -> np.ndarray:
        return encode_labels(self.labels)

    @property
    def groups(self) -> np.ndarray:
        return np.asarray(self.systems, dtype=object)

    @property
    def datasets(self) -> list[str]:
        return sorted(set(self.systems))

    def subset(self, mask: np.ndarray) -> LabeledData:
        idx = np.flatnonzero(mask)
        return LabeledData(
            [self.lines[i] for i in idx],
            [self.labels[i] for i in idx],
            [self.systems[i] for i in idx],
            dict(self.files),
        )

    def data_hash(self) -> str:
        return data_hash(self.files)


def data_hash(files: dict[str, str]) -> str:
    """One hash of the labels' contents (file names do not matter, only their bytes)."""
    h = hashlib.sha256()
    for digest in sorted(files.values()):
        h.update(digest.encode())
    return h.hexdigest()


def read_label_file(path: str) -> tuple[list[dict], str]:
    """Validated rows of one labels file and its sha256."""
    try:
        data = storage.read_bytes(path)
    except FileNotFoundError:
        raise LabelError(f"{path}: labels file not found") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabelError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    rows: list[dict] = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise LabelError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
        missing = [f for f in REQUIRED_FIELDS if f not in row]
        if missing:
            raise LabelError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
        if row["label"] not in LABELS:
            raise LabelError(f"{path}:{n}: unknown label {row['label']!r} (expected LOOK or SKIP)")
        if not isinstance(row["raw_line"], str) or not isinstance(row["system"], str):
            raise LabelError(f"{path}:{n}: raw_line and system must be strings")
        rows.append(row)
    if not rows:
        raise LabelError(f"{path}: empty labels file (no rows)")
    return rows, hashlib.sha256(data).hexdigest()


def label_files(labels_dir: str, datasets: Sequence[str] | None = None) -> list[str]:
    """The per-dataset labels files of ``labels_dir`` (optionally only ``datasets``)."""
    files = [
        p
        for p in storage.listdir(labels_dir, "*.jsonl")
        if not p.endswith("/" + AGGREGATE_FILE) and p != AGGREGATE_FILE
    ]
    if datasets:
        wanted = set(datasets)
        by_name = {p.rsplit("/", 1)[-1].removesuffix(".jsonl"): p for p in files}
        unknown = sorted(wanted - set(by_name))
        if unknown:
            raise LabelError(f"{labels_dir}: no labels for {', '.join(unknown)}")
        files = [by_name[name] for name in sorted(wanted)]
    if not files:
        raise LabelError(f"{labels_dir}: no labels files (*.jsonl); run `lookskip label` first")
    return files


def load_files(paths: Iterable[str]) -> LabeledData:
    """Labeled lines of labels files, base rows (``training.base``) and the answer
    store (``ask.store``), in that order whatever ``paths``' order.

    A dataset that has a labels file among ``paths`` keeps only that file's rows: its
    base rows are left out (the user's labels replace the shipped ones).
    """
    paths = list(paths)
    stores = [p for p in paths if is_answer_store(p)]
    bases = [p for p in paths if is_base_rows(p)]
    out = LabeledData()
    for path in paths:
        if path in stores or path in bases:
            continue
        rows, digest = read_label_file(path)
        out.files[path] = digest
        for row in rows:
            out.lines.append(row["raw_line"])
            out.labels.append(row["label"])
            out.systems.append(row["system"])
    own = set(out.systems)
    for path in stores:
        data = storage.read_bytes(path)
        out.files[path] = hashlib.sha256(data).hexdigest()
        from lookskip.ask.store import training_rows

        rows = [
            {"system": s, "key": k, "label": lab, "count": c}
            for s, k, lab, c in training_rows(json.loads(data))
        ]
        _extend(out, expand(rows))
    for path in bases:
        _, rows = read_base_rows(path)
        out.files[path] = storage.sha256(path)
        _extend(out, expand(rows, skip_systems=own))
    return out


def _extend(out: LabeledData, lines: Iterable[tuple[str, str, str]]) -> None:
    for line, label, system in lines:
        out.lines.append(line)
        out.labels.append(label)
        out.systems.append(system)


def is_answer_store(path: str) -> bool:
    from lookskip.ask.store import STORE_FILE

    return path.rsplit("/", 1)[-1] == STORE_FILE


def training_files(
    labels_dir: str, datasets: Sequence[str] | None = None, settings=None
) -> list[str]:
    """What ``train`` learns from: the labels files of ``labels_dir`` (or only
    ``datasets``), the answer store, and the base rows (``LOOKSKIP_BASE_ROWS``; left
    out when ``datasets`` names the datasets to train on)."""
    from lookskip.ask.store import store_path
    from lookskip.settings import get_settings

    settings = settings or get_settings()
    extra = []
    store = store_path(settings)
    if storage.exists(store):
        extra.append(store)
    base = None if datasets else default_base_rows(settings)
    if base is not None:
        extra.append(base)
    try:
        files = label_files(labels_dir, datasets)
    except LabelError:
        if datasets or not extra:
            raise
        files = []
    return files + extra


def load_labels(labels_dir: str, datasets: Sequence[str] | None = None) -> LabeledData:
    """All labeled lines under ``labels_dir`` (sorted by file name, rows in file order)."""
    return load_files(label_files(labels_dir, datasets))


@dataclass
class KeyedRows:
    """Labeled lines collapsed to distinct (dataset, template key, label) rows.

    ``weight`` is how many lines each row stands for. A key labeled both ways keeps
    both rows with their counts, and a key seen in two datasets stays two rows (the
    dataset is the CV group). Fitting on these rows with ``sample_weight=weight``
    minimises the same loss as fitting on every line, on ~10% of the rows.
    """

    keys: list[str]
    y: np.ndarray  # int8, 1 = LOOK
    groups: np.ndarray  # dataset of each row (str)
    weight: np.ndarray  # int64 lines per row


def collapse_keys(data: LabeledData) -> KeyedRows:
    """Distinct (dataset, key, label) rows of ``data``, in first-seen order."""
    from lookskip.model.key import template_keys

    index: dict[tuple[str, str, str], int] = {}
    weight: list[int] = []
    keys = template_keys(data.lines)
    for key, label, system in zip(keys, data.labels, data.systems, strict=True):
        k = (system, key, label)
        i = index.setdefault(k, len(index))
        if i == len(weight):
            weight.append(0)
        weight[i] += 1
    rows = list(index)
    return KeyedRows(
        keys=[k for _, k, _ in rows],
        y=encode_labels([lab for _, _, lab in rows]),
        groups=np.asarray([s for s, _, _ in rows], dtype=str),
        weight=np.asarray(weight, dtype=np.int64),
    )


def write_base_rows(labels_dir: str, path: str) -> dict:
    """Collapse every labels file of ``labels_dir`` into base rows at ``path``."""
    data = load_files(label_files(labels_dir))
    rows = collapse_keys(data)
    order = sorted(
        range(len(rows.keys)), key=lambda i: (rows.groups[i], rows.keys[i], int(rows.y[i]))
    )
    head = {
        "format": FORMAT,
        "key_rules_hash": key_rules_hash(),
        "datasets": data.datasets,
        "rows": len(order),
        "lines": int(rows.weight.sum()),
    }
    out = [json.dumps(head)]
    for i in order:
        out.append(
            json.dumps(
                {
                    "system": str(rows.groups[i]),
                    "key": rows.keys[i],
                    "label": "LOOK" if rows.y[i] else "SKIP",
                    "count": int(rows.weight[i]),
                },
                ensure_ascii=False,
            )
        )
    data_bytes = gzip.compress(("\n".join(out) + "\n").encode("utf-8"), 9, mtime=0)
    storage.write_bytes(path, data_bytes)
    return {**head, "bytes": len(data_bytes), "path": path}
