"""Every classify mode on systems the shipped models never trained on, per system and macro.

Modes (the rules of ``lookskip.classify.modes``, which the Rust engine twins):

* ``tfidf``: the shipped TF-IDF model's p_look (its keyword floor included);
* ``transformer``: the shipped transformer's p_look on each line's model input, the keyword
  floor applied (a line whose key matches the model file's ``look_floor`` is raised to the
  threshold);
* ``blend``: the mean of the two, floor applied;
* ``cascade``: LOOK iff TF-IDF >= 0.2 and the transformer >= the threshold (or the floor).

Unseen sets (none of them in any training set; none used to choose anything):

* ``validation``: the four modern Debian logs of ``../shared/data/validation`` (LOOK-rare),
  every line labeled;
* ``bgl-tb``: BGL and Thunderbird 2K samples, loghub's ground truth (an alert line should
  be LOOK; a normal line may still deserve a look, so accuracy here understates a model
  that flags warnings); the Claude labels of these two are not in the shared data;
* ``holdout``: the labeled datasets the shipped transformer held out for early stopping
  (its ``training.json`` ``held_out_datasets``). Unseen by its weights but used to pick its epoch,
  so slightly optimistic; TF-IDF shown on the same systems (its out-of-fold figures are in
  ``data/models/eval_report.json``). A nested 20-system CV of the transformer is
  ``bench_transformer_unseen.py`` (5 trainings).

Printed per set: per system LOOK P/R/F1 and accuracy for every mode at the shipped
thresholds and at 0.3/0.5/0.7/0.9; macro (mean over systems) F1 and accuracy; pooled F1.

    uv run --no-sync python benchmarks/bench_modes_unseen.py [--bert-model DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

from lookskip import shipped  # noqa: E402
from lookskip.classify.cascade import load_bert  # noqa: E402
from lookskip.classify.modes import DEFAULT_CANDIDATE_THRESHOLD, blend  # noqa: E402
from lookskip.classify.scorer import Scorer  # noqa: E402
from lookskip.model.key import template_key  # noqa: E402
from lookskip.model.reference import ReferenceModel  # noqa: E402

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


def validation_sets() -> dict[str, tuple[list[str], np.ndarray]]:
    out = {}
    for p in sorted((SHARED / "validation" / "labels").glob("*.jsonl")):
        rows = [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        y = np.array([r["label"] == "LOOK" for r in rows])
        out[p.stem] = ([r["raw_line"] for r in rows], y)
    return out


def bgl_tb_sets() -> dict[str, tuple[list[str], np.ndarray]]:
    out = {}
    for name in ("BGL", "Thunderbird"):
        log = SHARED / "loghub" / f"{name}_2k.log"
        truth = SHARED / "loghub" / f"{name}_2k.log_structured.csv"
        if not log.exists() or not truth.exists():
            continue
        lines = log.read_text(encoding="utf-8", errors="replace").split("\n")
        with truth.open(encoding="utf-8", errors="replace") as f:
            labels = [row["Label"] != "-" for row in csv.DictReader(f)]
        out[name] = (lines[: len(labels)], np.array(labels))
    return out


def holdout_sets(names: list[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    out = {}
    for name in names:
        p = SHARED / "labels" / f"{name}.jsonl"
        if name in ("BGL", "Thunderbird") or not p.exists():
            continue
        rows = [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        out[name] = ([r["raw_line"] for r in rows], np.array([r["label"] == "LOOK" for r in rows]))
    return out


def metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = int((pred & y).sum())
    fp = int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f1": f1, "acc": float((pred == y).mean()), "look": int(pred.sum())}


def mode_probs(p_t: np.ndarray, p_b: np.ndarray, floor: np.ndarray, thr_b: float):
    """p_look per mode. The floor raises a line to the mode's threshold at scoring time, so
    it is applied where the threshold is known (in ``predictions``)."""
    return {
        "tfidf": p_t,
        "transformer": p_b,
        "blend": blend(p_t, p_b),
        "cascade": np.where(p_t >= DEFAULT_CANDIDATE_THRESHOLD, p_b, 0.0),
    }


def predictions(probs: np.ndarray, floor: np.ndarray, thr: float) -> np.ndarray:
    return (probs >= thr) | floor


def oof_note(tfidf_path: str, names: list[str]) -> None:
    """The shipped TF-IDF trained on every labeled dataset, so its holdout rows above are
    not unseen; its out-of-fold figures (each system scored by the fold model that never
    saw it) are the fair side-by-side, from the model's eval_report.json."""
    report = Path(tfidf_path).parent / "eval_report.json"
    if not report.exists():
        return
    per = json.loads(report.read_text()).get("per_dataset", {})
    got = [(n, per[n]) for n in names if n in per]
    if not got:
        return
    cells = " ".join(f"{m['look_f1']:.2f}/{m['accuracy']:.2f}".rjust(12) for _, m in got)
    mf1 = float(np.mean([m["look_f1"] for _, m in got]))
    macc = float(np.mean([m["accuracy"] for _, m in got]))
    print(f"tfidf OOF   s=0.50   {cells}   {mf1:7.3f} {macc:8.3f}   (unseen: eval_report)")
    print("(tfidf rows above: the shipped model trained on these systems too, so seen)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bert-model", default=None, help="transformer export [shipped]")
    ap.add_argument("--model", default=None, help="TF-IDF model file [shipped]")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    bert_dir = args.bert_model or str(shipped.shipped_file("models/transformer/config.json").parent)
    tfidf_path = args.model or str(shipped.shipped_file("models/look_skip_model.json.gz"))
    tfidf = Scorer(tfidf_path, threads=0)
    ref = ReferenceModel.load(tfidf_path)
    floor_rx = ref._floor  # the model file's keyword floor, the rule every mode applies
    bert = load_bert(bert_dir, threads=0)
    cfg = json.loads((Path(bert_dir) / "config.json").read_text())
    thr_b = float(cfg.get("threshold", bert.threshold))
    training = {}
    tj = Path(bert_dir) / "training.json"
    if tj.exists():
        training = json.loads(tj.read_text())
    held = training.get("held_out_datasets") or []
    shipped_thr = {
        "tfidf": tfidf.threshold,
        "transformer": thr_b,
        "blend": blend(tfidf.threshold, thr_b),
        "cascade": thr_b,
    }
    print(
        f"TF-IDF {tfidf_path} (threshold {tfidf.threshold}); transformer {bert_dir} "
        f"(threshold {thr_b}); transformer holdout: {', '.join(held) or '?'}"
    )

    sets = {
        "validation": validation_sets(),
        "bgl-tb (alerts)": bgl_tb_sets(),
        "holdout": holdout_sets(held),
    }
    report: dict = {}
    for set_name, systems in sets.items():
        if not systems:
            print(f"\n{set_name}: not present")
            continue
        print(f"\n== {set_name} ==")
        res: dict = defaultdict(dict)
        for sys_name, (lines, y) in systems.items():
            p_t = np.asarray(tfidf.predict_proba(lines), dtype=float)
            p_b = np.asarray(bert.predict_proba(lines), dtype=float)
            floor = np.array([bool(floor_rx and floor_rx.search(template_key(x))) for x in lines])
            for mode, probs in mode_probs(p_t, p_b, floor, thr_b).items():
                for thr in ("shipped", *THRESHOLDS):
                    t = shipped_thr[mode] if thr == "shipped" else thr
                    res[(mode, thr)][sys_name] = metrics(y, predictions(probs, floor, t))
            res[("lines", 0)][sys_name] = {"lines": len(lines), "look": int(y.sum())}
        names = list(systems)
        head = "mode        thr      " + " ".join(f"{n[:12]:>12}" for n in names)
        print(head + "   macroF1 macroAcc  pooledF1")
        for (mode, thr), per in res.items():
            if mode == "lines":
                continue
            cells = " ".join(f"{per[n]['f1']:.2f}/{per[n]['acc']:.2f}".rjust(12) for n in names)
            mf1 = float(np.mean([per[n]["f1"] for n in names]))
            macc = float(np.mean([per[n]["acc"] for n in names]))
            tp = sum(per[n]["r"] * res[("lines", 0)][n]["look"] for n in names)
            flagged = sum(per[n]["look"] for n in names)
            looks = sum(res[("lines", 0)][n]["look"] for n in names)
            pooled = 2 * tp / (flagged + looks) if flagged + looks else 0.0
            label = f"{thr}" if thr != "shipped" else f"s={shipped_thr[mode]:.2f}"
            print(f"{mode:11s} {label:8s} {cells}   {mf1:7.3f} {macc:8.3f} {pooled:9.3f}")
            report.setdefault(set_name, {})[f"{mode}@{thr}"] = {
                "per_system": per,
                "macro_f1": mf1,
                "macro_acc": macc,
                "pooled_f1": pooled,
            }
        print("(cells: LOOK F1/accuracy per system)")
        if set_name == "holdout":
            oof_note(tfidf_path, names)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
