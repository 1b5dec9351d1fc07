"""Quality on systems a model never saw, per system and macro-averaged, in one run.

Protocol: the 20 Claude-labeled datasets of the shared data, GroupKFold(5) by
dataset (each dataset scored by the model of the fold that held it out; the folds
are those of ``lookskip train``). BGL and Thunderbird are in no training set; their
ground-truth alerts are scored separately (``lookskip validate --model``). Side by side:

* ``keys``: this release's training (template keys, weighted rows, selection on
  macro F1), run now into a temporary directory, at the threshold it ships;
* ``before``: the previous release's out-of-fold figures, from its own
  ``eval_report.json`` (``--before-report``; by default read from git at
  ``--before-rev``), at its threshold of 0.5;
* ``grep``: ``grep -iE 'error|warn|fail|exception|fatal|critical'`` as the classifier;
* ``all LOOK``: flagging every line (a high F1 on LOOK-heavy systems, hence accuracy).

Then the share of the samples' lines holding a level/error word (error, fatal, critical,
warn, exception, fail as words: the LOOK floor's rule) that the shipped model
(``--model``) flags LOOK (goal ≥ 99.9%), and its recall of BGL's ground-truth alerts
beside grep's.

    uv run --no-sync python benchmarks/bench_unseen.py [--grid default] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

GREP = re.compile(r"(?i)error|warn|fail|exception|fatal|critical")


def fmt(x) -> str:
    if x is None:
        return ""
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.3f}"


def baseline(labels_dir: Path, predict) -> dict:
    """Per-dataset and macro metrics of a rule ``predict(line) -> bool`` on every label."""
    import numpy as np

    from lookskip.evaluate import grouped_metrics
    from lookskip.training.labels import load_labels

    data = load_labels(str(labels_dir))
    pred = np.fromiter((predict(line) for line in data.lines), dtype=bool, count=len(data.lines))
    return grouped_metrics(data.y, pred, data.systems)


def before_report(path: str | None, rev: str) -> dict | None:
    if path:
        return json.loads(Path(path).read_text())
    try:
        text = subprocess.run(
            ["git", "show", f"{rev}:data/models/eval_report.json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return json.loads(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", default="default")
    ap.add_argument("--n-jobs", type=int, default=-1)
    ap.add_argument("--model", default=str(ROOT / "data" / "models" / "look_skip_model.json.gz"))
    ap.add_argument("--before-rev", default="d2e3d57", help="the release before template keys")
    ap.add_argument("--before-report", help="its eval_report.json (else read from git)")
    args = ap.parse_args()

    from lookskip.evaluate import macro
    from lookskip.settings import Settings
    from lookskip.training.run import train_local

    labels = SHARED / "labels"
    with tempfile.TemporaryDirectory(prefix="lookskip-bench-unseen-") as tmp:
        settings = Settings(data_dir=tmp)
        report = train_local(
            str(labels), args.grid, 5, (), args.n_jobs, settings, models_dir=f"{tmp}/models"
        )
    keys = report["unseen"]
    grep = baseline(labels, lambda line: GREP.search(line) is not None)
    every = baseline(labels, lambda line: True)
    before = before_report(args.before_report, args.before_rev)
    before_per = (before or {}).get("per_dataset", {})
    names = sorted(keys["per_dataset"])
    print(f"protocol: {keys['protocol']}")
    t = report["threshold"]
    print(f"keys: grid {args.grid}, best {report['best_params']}, threshold {t['value']:.2f}")
    cols = ("n", "LOOK%", "F1 before", "F1 keys", "acc keys", "P keys", "R keys", "F1 grep",
            "acc grep", "F1 all", "acc all")  # fmt: skip
    head = f"{'dataset':<15}" + "".join(f"{c:>10}" for c in cols)
    print(head)
    print("-" * len(head))

    def row(name, n, look, b, k, g, a) -> None:
        cells = [n, look, b, k["look_f1"], k["accuracy"], k["look_precision"], k["look_recall"],
                 g["look_f1"], g["accuracy"], a["look_f1"], a["accuracy"]]  # fmt: skip
        print(f"{name:<15}" + "".join(f"{fmt(c):>10}" for c in cells))

    for name in names:
        look = report["class_balance"]["per_dataset"][name]["look_share"]
        b = before_per.get(name, {}).get("look_f1")
        k, g, a = keys["per_dataset"][name], grep["per_dataset"][name], every["per_dataset"][name]
        row(name, k["n"], look, b, k, g, a)
    b_macro = macro({n: before_per[n] for n in names if n in before_per}) if before_per else {}
    print("-" * len(head))
    row("macro", None, None, b_macro.get("look_f1"), keys["macro"], grep["macro"], every["macro"])
    b_pooled = (before or {}).get("overall", {}).get("look_f1")
    print(
        f"pooled LOOK F1: before {fmt(b_pooled)}, keys {keys['overall']['look_f1']:.3f} "
        f"(at 0.5: {report['best_cv_look_f1']:.3f}), grep {grep['overall']['look_f1']:.3f}, "
        f"all LOOK {every['overall']['look_f1']:.3f}"
    )
    tm = report["timings"]
    print(
        f"keys: {report['train_rows']:,} distinct (dataset, key, label) rows for "
        f"{report['train_size']:,} lines; grid search {tm['grid_search_seconds']:.1f} s, "
        f"refit {tm['refit_seconds']:.1f} s"
    )
    keyword_capture(args.model)
    bgl_recall(args.model)


def keyword_capture(model_path: str) -> None:
    import lookskip_rs

    from lookskip.model.key import template_key
    from lookskip.model.pipeline import LOOK_FLOOR_PATTERN
    from tests.fixtures_rust import read_log_lines

    words = re.compile(LOOK_FLOOR_PATTERN, re.ASCII)  # level/error words, as the floor
    clf = lookskip_rs.Classifier(model_path)
    total = look = 0
    for f in sorted((SHARED / "loghub").glob("*_2k.log")):
        lines = [ln for ln in read_log_lines(f) if words.search(template_key(ln))]
        if lines:
            total += len(lines)
            look += int((clf.predict_proba(lines) >= clf.threshold).sum())
    print(
        f"keyword lines flagged LOOK by {Path(model_path).name}: {look:,} of {total:,} "
        f"({look / total:.2%}; goal >= 99.9%)"
    )


def bgl_recall(model_path: str) -> None:
    from lookskip import validate as v

    report = v.validate(["BGL"], truth_dir=str(SHARED / "loghub"), model_path=model_path)
    (r,) = report["datasets"]
    truth = v.load_truth(r["truth"])
    from tests.fixtures_rust import read_log_lines

    lines = read_log_lines(SHARED / "loghub" / "BGL_2k.log")
    alerts = [i for i, c in truth.items() if c != "-"]
    grep_hits = sum(1 for i in alerts if GREP.search(lines[i - 1]))
    print(
        f"BGL ground-truth alerts flagged LOOK: model {r['matrix']['alert']['LOOK']} of "
        f"{r['alerts']} ({r['recall']:.1%}), normal lines flagged {r['normal_look_share']:.1%}; "
        f"grep {grep_hits} of {len(alerts)} ({grep_hits / len(alerts):.1%})"
    )


if __name__ == "__main__":
    main()
