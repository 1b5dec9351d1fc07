"""Write the label files from the parsed answers: per dataset, unlabeled, combined.

Files are rewritten whole (atomically) from the manifest and the parsed answers, never
appended to, so running the stage again cannot duplicate rows:

- ``labels/<Dataset>.jsonl``: one row per labeled line, in line order;
- ``labels/unlabeled.jsonl``: lines that got no label, with ``why``;
- ``labels/all_labeled.jsonl``: every ``labels/<Dataset>.jsonl`` concatenated, one row
  per (system, line_number).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lookskip import storage
from lookskip.datasets import SAMPLE_SUFFIX
from lookskip.labeling.batches import load_manifest
from lookskip.labeling.prompt import SampleError, read_sample
from lookskip.settings import Settings

COMBINED = "all_labeled.jsonl"
UNLABELED = "unlabeled.jsonl"
_NOT_DATASETS = {COMBINED, UNLABELED}


@dataclass
class Merged:
    dataset: str
    labeled: int = 0
    look: int = 0
    unlabeled: int = 0
    pending: int = 0  # windows still waiting for an answer: nothing written
    spread: int = 0  # lines outside the chosen windows labeled through their key
    error: str | None = None
    unlabeled_why: dict[str, int] = field(default_factory=dict)


def _parsed(settings: Settings, m: dict, key: str, cache: dict[str, dict]) -> dict:
    if key not in cache:
        path = m["batches"][key].get("parsed_path")
        cache[key] = (
            {
                r["custom_id"]: r
                for r in storage.read_jsonl(storage.join(settings.batches_dir, path))
            }
            if path
            else {}
        )
    return cache[key]


def _line_key(key: str) -> int | None:
    """A parsed file's line key, or None: a bad key costs that line, never the merge."""
    return int(key) if key.isascii() and key.isdigit() else None


def merge_dataset(
    name: str, settings: Settings, m: dict, cache: dict[str, dict]
) -> tuple[Merged, list[dict]]:
    """Write ``labels/<name>.jsonl``; returns the report and the unlabeled rows."""
    report = Merged(name)
    info = m["datasets"].get(name)
    if info is None:
        report.error = "not prepared for labeling"
        return report, []
    recs = [m["windows"].get(cid) for cid in info["custom_ids"]]
    report.pending = sum(1 for r in recs if r is None or r["state"] in ("queued", "retry"))
    if report.pending:
        return report, []
    sample = storage.join(settings.loghub_dir, f"{name}{SAMPLE_SUFFIX}")
    try:
        lines = read_sample(sample)
    except SampleError as exc:
        report.error = str(exc)
        return report, []
    if storage.sha256(sample) != info["sample_sha256"]:
        report.error = (
            "the sample changed since it was sent for labeling; run `lookskip label` again"
        )
        return report, []
    rows, unlabeled = [], []
    for cid, rec in zip(info["custom_ids"], recs, strict=True):
        got: dict[int, tuple[str, str]] = {}
        last_why: dict[int, str] = {}
        for attempt in rec["attempts"]:
            parsed = _parsed(settings, m, attempt["batch"], cache).get(cid)
            if parsed is None:
                continue
            for k, v in parsed["labels"].items():
                if (n := _line_key(k)) is not None:
                    got.setdefault(n, (v[0], v[1]))
            for k, why in parsed["unlabeled"].items():
                if (n := _line_key(k)) is not None:
                    last_why[n] = why
        for rel in range(1, rec["n"] + 1):
            number = rec["start"] + rel - 1
            raw = lines[number - 1] if number <= len(lines) else ""
            if rel in got:
                label, reason = got[rel]
                rows.append(
                    {
                        "system": name,
                        "line_number": number,
                        "raw_line": raw,
                        "label": label,
                        "reason": reason,
                    }
                )
                report.look += label == "LOOK"
            else:
                why = rec.get("why") or "no answer"
                detail = last_why.get(rel)
                if detail and detail not in why:
                    why = f"{why}; {detail}"
                unlabeled.append(
                    {"system": name, "line_number": number, "raw_line": raw, "why": why}
                )
                short = why.split(" (after")[0]
                report.unlabeled_why[short] = report.unlabeled_why.get(short, 0) + 1
    if info.get("selected"):
        spread = spread_rows(name, lines, rows)
        report.spread = len(spread)
        report.look += sum(r["label"] == "LOOK" for r in spread)
        rows = sorted(rows + spread, key=lambda r: r["line_number"])
    report.labeled, report.unlabeled = len(rows), len(unlabeled)
    target = storage.join(settings.labels_dir, f"{name}.jsonl")
    if rows:
        storage.write_jsonl(target, rows)
    elif storage.exists(target):  # nothing usable: do not leave stale labels behind
        fs, path = storage.fs_and_path(target)
        fs.rm(path)
    return report, unlabeled


def spread_rows(name: str, lines: list[str], rows: list[dict]) -> list[dict]:
    """Rows for the sample lines outside the chosen windows whose template key got one label.

    Only a selection labels part of a sample; a line is the same thing said again as
    a labeled line of its key, so it takes that label (``reason`` names the line it
    came from). A key labeled both ways spreads nothing.
    """
    from lookskip.labeling.select import propagate_labels
    from lookskip.model.key import template_keys

    keys = template_keys(lines)
    labeled = {r["line_number"] - 1: r["label"] for r in rows}
    first = {}
    for r in rows:
        first.setdefault((keys[r["line_number"] - 1], r["label"]), r["line_number"])
    spread, _ = propagate_labels(keys, labeled)
    return [
        {
            "system": name,
            "line_number": i + 1,
            "raw_line": lines[i],
            "label": lab,
            "reason": f"same template as labeled line {first[(keys[i], lab)]}",
            "source": "key",
        }
        for i, lab in sorted(spread.items())
        if i not in labeled
    ]


def rebuild_combined(settings: Settings) -> int:
    """Rewrite ``all_labeled.jsonl`` from the per-dataset files; returns its row count."""
    seen: set[tuple[str, int]] = set()

    def rows():
        for path in storage.listdir(settings.labels_dir, "*.jsonl"):
            if path.rsplit("/", 1)[-1] in _NOT_DATASETS:
                continue
            for row in storage.read_jsonl(path):
                key = (row["system"], row["line_number"])
                if key not in seen:
                    seen.add(key)
                    yield row

    return storage.write_jsonl(storage.join(settings.labels_dir, COMBINED), rows())


def merge_labels(names: list[str], settings: Settings) -> list[Merged]:
    """Write the label files of ``names`` (those fully answered), then the combined file.

    Under the data dir's ``labels`` lock (``lookskip.locking``): ``unlabeled.jsonl`` and
    ``all_labeled.jsonl`` are read-modify-write, and two label runs may merge at once.
    """
    from lookskip.locking import state_lock

    with state_lock(settings, "labels") as fence:
        m = load_manifest(settings)
        cache: dict[str, dict] = {}
        reports, new_unlabeled, written = [], [], set()
        for name in names:
            fence.check()
            report, unlabeled = merge_dataset(name, settings, m, cache)
            reports.append(report)
            if not report.pending and not report.error:
                written.add(name)
                new_unlabeled.extend(unlabeled)
        unl_path = storage.join(settings.labels_dir, UNLABELED)
        kept = (
            [r for r in storage.read_jsonl(unl_path) if r["system"] not in written]
            if storage.exists(unl_path)
            else []
        )
        all_unlabeled = sorted(
            [*kept, *new_unlabeled], key=lambda r: (r["system"], r["line_number"])
        )
        fence.check()
        if all_unlabeled or storage.exists(unl_path):
            storage.write_jsonl(unl_path, all_unlabeled)
        rebuild_combined(settings)
    return reports


def datasets_without_labels(names: list[str], settings: Settings) -> list[str]:
    """For ``--new-only``: the names that have no ``labels/<name>.jsonl`` yet."""
    return [n for n in names if not storage.exists(storage.join(settings.labels_dir, f"{n}.jsonl"))]
