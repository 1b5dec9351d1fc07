"""Compare LOOK/SKIP labels with loghub's anomaly ground truth.

BGL and Thunderbird come with a ``Label`` column in ``<Name>_2k.log_structured.csv``:
``-`` for a normal line, an alert category (``KERNDTLB``, ``APPREAD`` …) otherwise.
Every alert should be LOOK, so the recall of LOOK on alert lines measures what
the labeler misses; the LOOK share on normal lines is *not* an error rate (a
normal line may well deserve a look: a warning, a state change), but shows how
much it flags. Lines without a usable label count as ``unlabeled`` in the
confusion matrix and in the denominators: a line the labeler never answered is
a missed alert just the same.

With a model instead of labels (``model=``, ``lookskip validate --model``) the same
figures score the model's own LOOK/SKIP on the sample lines: BGL and Thunderbird are
in no training set, so this is a model's recall of real alerts on systems it never
saw, printed for any model.

The result is a plain dict (JSON-serialisable) so a worker task can return it.
Only missing or unreadable inputs are errors; poor figures are not.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from lookskip import datasets as ds
from lookskip import storage
from lookskip.ingest import TRUTH_SUFFIX, read_record
from lookskip.settings import Settings, get_settings

KINDS = ("LOOK", "SKIP", "unlabeled")


class ValidateError(Exception):
    """An input of one dataset is missing or unreadable."""


def truth_name(name: str) -> str:
    return f"{name}{ds.SAMPLE_SUFFIX}{TRUTH_SUFFIX}"


def truth_dirs(name: str, settings: Settings, truth_dir: str | None = None) -> list[str]:
    """Where to look for the ground truth, in order: ``--truth``, the data dir, and
    the local directory the sample was ingested from (from its ingest record)."""
    dirs = [truth_dir] if truth_dir else []
    dirs.append(settings.loghub_dir)
    record = read_record(settings, f"{name}{ds.SAMPLE_SUFFIX}") or {}
    src = str(record.get("source") or "")
    if src and not src.startswith(("http://", "https://", "synthetic:")):
        parent = src.rsplit("/", 1)[0]
        dirs.append(parent)
        if parent.rstrip("/").endswith(f"/{name}"):  # nested layout: <dir>/<Name>/<file>
            dirs.append(parent.rstrip("/").rsplit("/", 1)[0])
    return list(dict.fromkeys(dirs))


def find_truth(name: str, settings: Settings, truth_dir: str | None = None) -> str:
    file = truth_name(name)
    dirs = truth_dirs(name, settings, truth_dir)
    for d in dirs:
        for path in (storage.join(d, file), storage.join(d, name, file)):
            if storage.exists(path):
                return path
    raise ValidateError(
        f"ground truth {file} not found in {', '.join(dirs)} "
        "(ingest it from a source that has it, or pass --truth DIR)"
    )


def load_truth(path: str) -> dict[int, str]:
    """Line number (1-based, ``LineId``) → ``Label`` value (``-`` = normal)."""
    text = storage.read_bytes(path).decode("utf-8", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = reader.fieldnames or []
    if "Label" not in fields or "LineId" not in fields:
        raise ValidateError(f"{path}: no LineId/Label columns (has: {', '.join(fields)})")
    out: dict[int, str] = {}
    for row in reader:
        try:
            out[int(row["LineId"])] = (row["Label"] or "-").strip()
        except (TypeError, ValueError):
            raise ValidateError(f"{path}: bad LineId {row.get('LineId')!r}") from None
    if not out:
        raise ValidateError(f"{path}: no rows")
    return out


def load_labels(path: str) -> tuple[dict[int, dict], int]:
    """Line number → label row (the last one wins), and how many rows repeated a line."""
    if not storage.exists(path):
        raise ValidateError(
            f"labels {path} not found (run `lookskip label` first, or pass --labels-dir)"
        )
    rows: dict[int, dict] = {}
    duplicates = 0
    text = storage.read_bytes(path).decode("utf-8", errors="replace")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            number = int(row["line_number"])
        except (ValueError, KeyError, TypeError):
            raise ValidateError(f"{path} line {n}: not a label row") from None
        duplicates += number in rows
        rows[number] = row
    return rows, duplicates


def _kind(row: dict | None) -> str:
    label = str((row or {}).get("label") or "").strip().upper()
    return label if label in ("LOOK", "SKIP") else "unlabeled"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _sample_lines(name: str, settings: Settings) -> list[str] | None:
    path = storage.join(settings.loghub_dir, f"{name}{ds.SAMPLE_SUFFIX}")
    return _read_lines(path) if storage.exists(path) else None


def model_labels(model, truth_path: str, name: str, settings: Settings) -> dict[int, dict]:
    """Label rows of the sample's lines as ``model`` (a loaded scorer) classifies them.

    The sample is read beside the ground truth (loghub ships them together), else
    from the data dir.
    """
    beside = truth_path.removesuffix(TRUTH_SUFFIX)
    path = beside if storage.exists(beside) else None
    lines = _read_lines(path) if path else _sample_lines(name, settings)
    if lines is None:
        raise ValidateError(f"sample {name}{ds.SAMPLE_SUFFIX} not found beside {truth_path}")
    if lines and lines[-1] == "":
        lines.pop()
    p = model.predict_proba(lines)
    return {
        i: {"label": "LOOK" if pv >= model.threshold else "SKIP", "raw_line": line}
        for i, (line, pv) in enumerate(zip(lines, p, strict=True), 1)
    }


def _read_lines(path: str) -> list[str]:
    return storage.read_bytes(path).decode("utf-8", errors="replace").split("\n")


def validate_dataset(
    name: str,
    settings: Settings | None = None,
    *,
    labels_dir: str | None = None,
    truth_dir: str | None = None,
    model=None,
) -> dict:
    """Figures for one dataset; ``error`` is set (and figures absent) if an input is missing.

    ``model``: a loaded scorer (``lookskip.classify.scorer.load_scorer``) whose labels are
    checked instead of a labels file.
    """
    settings = settings or get_settings()
    labels_path = storage.join(labels_dir or settings.labels_dir, f"{name}.jsonl")
    if model is not None:
        labels_path = f"model:{model.model_path}"
    out: dict = {"dataset": name, "labels": labels_path, "truth": None, "error": None}
    try:
        out["truth"] = find_truth(name, settings, truth_dir)
        truth = load_truth(out["truth"])
        if model is not None:
            labels, duplicates = model_labels(model, out["truth"], name, settings), 0
        else:
            labels, duplicates = load_labels(labels_path)
    except (ValidateError, OSError, UnicodeError) as exc:
        out["error"] = str(exc)
        return out

    matrix = {cls: dict.fromkeys(KINDS, 0) for cls in ("alert", "normal")}
    by_category: dict[str, dict[str, int]] = {}
    for line, category in sorted(truth.items()):
        kind = _kind(labels.get(line))
        cls = "normal" if category == "-" else "alert"
        matrix[cls][kind] += 1
        if cls == "alert":
            by_category.setdefault(category, dict.fromkeys(KINDS, 0))[kind] += 1

    sample = _sample_lines(name, settings)
    mismatches = None
    if sample is not None:
        mismatches = sum(
            1
            for line, row in labels.items()
            if "raw_line" in row
            and 1 <= line <= len(sample)
            and str(row["raw_line"]).strip() != sample[line - 1].strip()
        )
    alerts, normals = sum(matrix["alert"].values()), sum(matrix["normal"].values())
    out.update(
        {
            "lines": len(truth),
            "alerts": alerts,
            "normals": normals,
            "matrix": matrix,
            "recall": _ratio(matrix["alert"]["LOOK"], alerts),
            "normal_look_share": _ratio(matrix["normal"]["LOOK"], normals),
            "unlabeled": matrix["alert"]["unlabeled"] + matrix["normal"]["unlabeled"],
            "by_category": dict(sorted(by_category.items())),
            "extra_labels": sum(1 for line in labels if line not in truth),
            "duplicate_labels": duplicates,
            "raw_line_mismatches": mismatches,
        }
    )
    return out


def default_datasets(settings: Settings) -> list[str]:
    return [d.name for d in ds.load_registry(settings).values() if d.ground_truth]


def validate(
    names: str | Iterable[str] | None = None,
    settings: Settings | None = None,
    *,
    labels_dir: str | None = None,
    truth_dir: str | None = None,
    model_path: str | None = None,
) -> dict:
    """Validate the named datasets (default: those with ground truth in the registry):
    their labels, or with ``model_path`` that model's LOOK/SKIP."""
    settings = settings or get_settings()
    model = None
    if model_path is not None:
        from lookskip.classify.scorer import load_scorer

        model = load_scorer(model_path)
    if names is not None and not isinstance(names, str):
        names = list(names)
    chosen = [d.name for d in ds.select(names, settings)] if names else default_datasets(settings)
    results = [
        validate_dataset(n, settings, labels_dir=labels_dir, truth_dir=truth_dir, model=model)
        for n in chosen
    ]
    return {"datasets": results, "errors": sum(1 for r in results if r["error"])}
