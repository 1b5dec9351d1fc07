"""The LOOK floor: level/error words (``level_pattern``) against the old substring rule.

The shipped model is scored three times, identical but for its two keyword rules:
``before`` the substring rule ``(?i)error|fatal|critical|warn|exception|fail``
(``liberror-perl`` is an error) as both ``look_floor`` and the ``has_level`` feature's
pattern; ``floor`` the word rule (``lookskip.model.features.level_pattern``) as the floor
only; ``+feature`` the word rule for both. The shipped model is trained with the word
rule for both (retrained when the rule changed; its out-of-fold figures are in
``data/models/eval_report.json``), so ``+feature`` is the model as shipped. Three places:

* the 20 labeled datasets: keyword-line capture (every line with a level/error word
  must stay LOOK: 100%), the labeled-LOOK lines that lose the floor and whether the
  model still flags them, LOOK precision/recall before and after;
* ``validation/`` (evaluation only): per system, LOOK lines, precision and recall before
  and after, and the false-LOOK families (template keys) the change removes or keeps;
* a log directory of this machine (default ``/var/log``; ``--logs DIR``): LOOK lines per
  file before and after, and the families that stopped being LOOK.

    uv run --no-sync python benchmarks/bench_floor.py [--logs /var/log] [--max-lines N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

SUBSTRING_FLOOR = r"(?i)error|fatal|critical|warn|exception|fail"  # before this release


def _variants() -> dict[str, tuple[str, str]]:
    from lookskip.model.pipeline import LOOK_FLOOR_PATTERN

    return {
        "before": (SUBSTRING_FLOOR, SUBSTRING_FLOOR),
        "floor": (LOOK_FLOOR_PATTERN, SUBSTRING_FLOOR),
        "+feature": (LOOK_FLOOR_PATTERN, LOOK_FLOOR_PATTERN),
    }


def variant(doc: dict, floor: str, level: str) -> dict:
    """``doc`` with this ``look_floor`` and this ``has_level`` pattern (``LEVEL``)."""
    hand = doc["handcrafted"]
    return {
        **doc,
        "look_floor": floor,
        "handcrafted": {**hand, "patterns": {**hand["patterns"], "LEVEL": level}},
    }


def scorers(model: str, tmp: Path, variants: dict[str, tuple[str, str]]):
    """A scorer per variant name -> (look_floor, LEVEL) of one model file."""
    from lookskip.classify.scorer import Scorer
    from lookskip.model.export import read_document, write_document

    doc = read_document(model)
    out = {}
    for name, (floor, level) in variants.items():
        path = tmp / f"{name}.json.gz"
        write_document(variant(doc, floor, level), str(path))
        out[name] = Scorer(str(path))
    return out


def predict(scorer, lines: list[str]):
    import numpy as np

    return np.asarray(scorer.predict_proba(lines)) >= scorer.threshold


def read_labels(path: Path) -> tuple[list[str], list[bool]]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    return [r["raw_line"] for r in rows], [r["label"] == "LOOK" for r in rows]


def pr(pred, gold) -> str:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    npred, ngold = sum(pred), sum(gold)
    prec = tp / npred if npred else 0.0
    rec = tp / ngold if ngold else 0.0
    return f"{npred:6,} LOOK  P {prec:.3f}  R {rec:.3f}"


def labeled_datasets(scored: dict) -> None:
    from lookskip.model.key import template_keys
    from lookskip.model.pipeline import LOOK_FLOOR_PATTERN

    word = re.compile(LOOK_FLOOR_PATTERN, re.ASCII)
    sub = re.compile(SUBSTRING_FLOOR, re.ASCII)
    lines: list[str] = []
    gold: list[bool] = []
    for path in sorted((SHARED / "labels").glob("*.jsonl")):
        ln, g = read_labels(path)
        lines += ln
        gold += g
    keys = template_keys(lines)
    pred = {name: predict(sc, lines) for name, sc in scored.items()}
    has_word = [word.search(k) is not None for k in keys]
    only_sub = [sub.search(k) is not None and not w for k, w in zip(keys, has_word, strict=True)]
    n_word = sum(has_word)
    print(f"20 labeled datasets: {len(lines):,} lines, {sum(gold):,} labeled LOOK")
    print(f"  lines with a level/error word: {n_word:,}; with a substring only: {sum(only_sub)}")
    for name, p in pred.items():
        kept = sum(1 for w, x in zip(has_word, p, strict=True) if w and x)
        lost = [x for o, g, x in zip(only_sub, gold, p, strict=True) if o and g]
        print(
            f"  {name:7s} {pr(p, gold)}  word-line capture {kept / n_word:.2%}; "
            f"substring-only labeled LOOK still LOOK {sum(lost)}/{len(lost)}"
        )


def validation(scored: dict) -> None:
    from lookskip.model.key import template_keys

    root = SHARED / "validation" / "labels"
    if not root.is_dir():
        print("validation: not present")
        return
    print("validation (evaluation only):")
    first, last = next(iter(scored)), list(scored)[-1]
    removed, kept = Counter(), Counter()
    for path in sorted(root.glob("*.jsonl")):
        lines, gold = read_labels(path)
        pred = {name: predict(sc, lines) for name, sc in scored.items()}
        print(f"  {path.stem:13s} {len(lines):5,} lines, {sum(gold):4} labeled LOOK")
        for name, p in pred.items():
            print(f"    {name:7s} {pr(p, gold)}")
        for k, g, b, a in zip(template_keys(lines), gold, pred[first], pred[last], strict=True):
            if b and not g:
                (kept if a else removed)[f"{path.stem}: {k[:90]}"] += 1
    print(f"  false-LOOK lines {last!r} removed: {sum(removed.values())}; families:")
    for k, n in removed.most_common(8):
        print(f"    {n:4}  {k}")
    print(f"  false-LOOK lines left: {sum(kept.values())}; largest families:")
    for k, n in kept.most_common(8):
        print(f"    {n:4}  {k}")


def read_log(path: Path, max_lines: int) -> list[str] | None:
    """The lines of a text or gzip log; None for binary or unreadable files."""
    try:
        with path.open("rb") as f:
            head = f.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as f:
            data = f.read(64 << 20)
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    text = data.decode("utf-8", "replace").split("\n")
    return [ln.removesuffix("\r") for ln in text if ln][:max_lines]


def machine_logs(scored: dict, logs: Path, max_lines: int) -> None:
    from lookskip.model.key import template_keys

    print(f"{logs} of this machine: LOOK lines per file, " + " -> ".join(scored))
    first, last = next(iter(scored)), list(scored)[-1]
    totals = Counter()
    gone = Counter()
    for path in sorted(p for p in logs.rglob("*") if p.is_file()):
        lines = read_log(path, max_lines)
        if not lines:
            continue
        pred = {name: predict(sc, lines) for name, sc in scored.items()}
        counts = [int(p.sum()) for p in pred.values()]
        totals.update({name: c for name, c in zip(pred, counts, strict=True)})
        totals["lines"] += len(lines)
        if any(counts):
            name = str(path.relative_to(logs))
            print(f"  {name:28s} {len(lines):7,} lines  " + " -> ".join(f"{c:5,}" for c in counts))
        for k, b, a in zip(template_keys(lines), pred[first], pred[last], strict=True):
            if b and not a:
                gone[f"{path.name}: {k[:90]}"] += 1
    print(
        f"  total {totals['lines']:,} lines: LOOK " + " -> ".join(f"{totals[n]:,}" for n in scored)
    )
    print(f"  families no longer LOOK ({first} -> {last}):")
    for k, n in gone.most_common(12):
        print(f"    {n:5}  {k}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logs", default="/var/log", help="a log directory of this machine")
    ap.add_argument("--max-lines", type=int, default=200_000, help="per log file")
    args = ap.parse_args()
    from lookskip.shipped import shipped_file

    model = shipped_file("models/look_skip_model.json.gz")
    with tempfile.TemporaryDirectory() as tmp:
        scored = scorers(str(model), Path(tmp), _variants())
        print(f"model {model} ({scored['before'].backend})")
        print("  before: substring floor and has_level; floor: word floor only;")
        print("  +feature: word floor and has_level (the shipped model, trained so)")
        labeled_datasets(scored)
        validation(scored)
        if Path(args.logs).is_dir():
            machine_logs(scored, Path(args.logs), args.max_lines)


if __name__ == "__main__":
    main()
