"""Label what the model does not know: uncertainty-chosen windows against random ones.

Offline, with the recorded Batch API answers as the oracle (the answers
``lookskip api-sim --replay`` serves): for each system held out in turn,

1. a model (the shipped hyper-parameters) is trained on the other labeled systems;
2. the held-out system's aligned 50-line windows are split alternately into a pool
   (windows 1, 3, 5 …) and a test set (2, 4, 6 …), the same for every choice, so
   every choice is scored on the same lines;
3. the base model scores the pool; ``lookskip.labeling.select.rank_windows`` picks k
   pool windows by the uncertainty of their template keys, and, in the same run, k
   pool windows are drawn at random (``--seeds`` draws, averaged);
4. each chosen window's recorded answer is parsed (``labeling.parse``); its labels
   spread to every pool line of the same key (``propagate_labels``) and join the
   training rows, weighted by line count; the model is refitted;
5. LOOK F1 on the test windows' lines, against the system's labels file (the same
   recorded answers, merged), for the base and the refitted model; the cost is
   summed from the answers' reported usage (Batch pricing).

Windows whose recorded answer is missing are skipped and counted.

    nice python benchmarks/bench_active_labeling.py [--systems Android,Linux] [--k 5,10,20]
        [--seeds 3]

BGL and Thunderbird are never used (they have no labels here and stay validation-only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

from lookskip.labeling.parse import answer_text, parse_answer  # noqa: E402
from lookskip.labeling.pricing import Usage, cost_usd  # noqa: E402
from lookskip.labeling.prompt import read_sample  # noqa: E402
from lookskip.labeling.select import propagate_labels, rank_windows  # noqa: E402
from lookskip.model.key import template_keys  # noqa: E402
from lookskip.model.pipeline import (  # noqa: E402
    apply_floor,
    build_pipeline,
    encode_labels,
    floor_mask,
)
from lookskip.training.labels import collapse_keys, load_labels  # noqa: E402

SHIPPED = ROOT / "data" / "models" / "eval_report.json"
DEFAULT_SYSTEMS = "Android,HealthApp,Linux,Mac,OpenStack,Spark"
WINDOW = 50
MODEL = "claude-haiku-4-5"


def recorded_answers() -> dict[str, dict]:
    out = {}
    with open(SHARED / "batches" / "batch_results.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("result", {}).get("type") == "succeeded":
                out[row["custom_id"]] = row["result"]["message"]
    return out


def truth_of(system: str) -> dict[int, int]:
    with open(SHARED / "labels" / f"{system}.jsonl", encoding="utf-8") as f:
        rows = [json.loads(x) for x in f]
    return {r["line_number"]: int(r["label"] == "LOOK") for r in rows}


class Fitter:
    """The shipped pipeline fitted on weighted (key, label) rows; scores with the floor."""

    def __init__(self, params: dict, threshold: float) -> None:
        self.params, self.threshold = params, threshold

    def fit(self, keys: list[str], y: np.ndarray, weight: np.ndarray) -> Fitter:
        self.pipe = build_pipeline(self.params).fit(keys, y, clf__sample_weight=weight)
        return self

    def p_look(self, keys: list[str]) -> np.ndarray:
        p = self.pipe.predict_proba(keys)[:, 1]
        return apply_floor(p, floor_mask(keys), self.threshold)


@dataclass
class HeldOut:
    system: str
    lines: list[str]
    keys: list[str]
    truth: dict[int, int]
    base: Fitter
    base_keys: list[str]
    base_y: np.ndarray
    base_w: np.ndarray
    answers: dict[str, dict]


def run(h: HeldOut, starts: list[int]) -> tuple[float, float, float, int, int, int]:
    """Label ``starts`` from the recorded answers, spread, refit, score the rest."""
    system, lines, keys, truth, base = h.system, h.lines, h.keys, h.truth, h.base
    params, threshold = h.base.params, h.base.threshold
    usage, labeled, skipped = Usage(), {}, 0
    for s in starts:
        msg = h.answers.get(f"{system}_{s}")
        if msg is None:
            skipped += 1
            continue
        n = min(WINDOW, len(lines) - s + 1)
        usage.add(msg.get("usage"))
        for rel, (lab, _) in parse_answer(answer_text(msg), n).labels.items():
            labeled[s + rel - 2] = lab
    pool = [i for i in range(len(lines)) if (i // WINDOW) % 2 == 0]
    at = {i: j for j, i in enumerate(pool)}
    spread, _ = propagate_labels([keys[i] for i in pool], {at[i]: v for i, v in labeled.items()})
    spread = {pool[j]: v for j, v in spread.items()}
    # the held-out system's new rows: distinct (key, label) weighted by lines
    counts: dict[tuple[str, str], int] = {}
    for i, lab in spread.items():
        counts[(keys[i], lab)] = counts.get((keys[i], lab), 0) + 1
    add_k = [k for k, _ in counts]
    add_y = encode_labels([lab for _, lab in counts])
    add_w = np.asarray(list(counts.values()), dtype=np.int64)
    model = Fitter(params, threshold).fit(
        h.base_keys + add_k,
        np.concatenate([h.base_y, add_y]),
        np.concatenate([h.base_w, add_w]),
    )
    rest = [i for i in range(len(lines)) if (i // WINDOW) % 2 == 1 and (i + 1) in truth]
    y = np.asarray([truth[i + 1] for i in rest], dtype=bool)
    rest_keys = [keys[i] for i in rest]
    before = f1(y, base.p_look(rest_keys) >= threshold)
    after = f1(y, model.p_look(rest_keys) >= threshold)
    cost = cost_usd(MODEL, usage) or 0.0
    return before, after, cost, len(labeled), len(spread) - len(labeled), skipped


def f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int((y & pred).sum())
    fp = int((~y & pred).sum())
    fn = int((y & ~pred).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--systems", default=DEFAULT_SYSTEMS)
    ap.add_argument("--k", default="5,10,20")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    report = json.loads(SHIPPED.read_text())
    params, threshold = report["best_params"], float(report["threshold"]["value"])
    data = load_labels(str(SHARED / "labels"))
    assert not {"BGL", "Thunderbird"} & set(data.systems)
    answers = recorded_answers()
    print(
        f"params {params}, threshold {threshold}; window {WINDOW} lines; "
        f"{len(answers)} recorded answers; k = {ks}; random: mean of {args.seeds} draws"
    )
    print(
        f"{'system':12s} {'k':>3s} {'base':>6s} {'uncert':>7s} {'random':>7s} "
        f"{'cost unc':>9s} {'cost rnd':>9s} {'lines lab':>9s} {'spread':>7s} {'skipped':>7s}"
    )
    gains: dict[int, list[tuple[float, float]]] = {k: [] for k in ks}
    t0 = time.perf_counter()
    for system in args.systems.split(","):
        others = data.subset(np.asarray(data.systems) != system)
        rows = collapse_keys(others)
        base_keys, base_y, base_w = rows.keys, rows.y, rows.weight
        base = Fitter(params, threshold).fit(base_keys, base_y, base_w)
        lines = read_sample(str(SHARED / "loghub" / f"{system}_2k.log"))
        keys = template_keys(lines)
        truth = truth_of(system)
        p = base.p_look(keys)
        n_windows = (len(lines) + WINDOW - 1) // WINDOW
        h = HeldOut(system, lines, keys, truth, base, base_keys, base_y, base_w, answers)

        for k in ks:
            test_starts = set(range(1 + WINDOW, len(lines) + 1, 2 * WINDOW))
            chosen = [
                w.start
                for w in rank_windows(keys, p, threshold, WINDOW, skip_starts=test_starts, limit=k)
            ]
            # fewer than k windows add value: fill with the next pool windows, as a user
            # asking for k windows would still pay for k
            for s in range(1, len(lines) + 1, 2 * WINDOW):
                if len(chosen) >= k:
                    break
                if s not in chosen:
                    chosen.append(s)
            b_u, a_u, c_u, lab_u, spr_u, sk_u = run(h, chosen)
            rnd = []
            for seed in range(args.seeds):
                pool = range(0, n_windows, 2)
                starts = sorted(random.Random(seed).sample(pool, min(k, len(pool))))
                rnd.append(run(h, [1 + s * WINDOW for s in starts]))
            a_r = float(np.mean([r[1] for r in rnd]))
            b_r = float(np.mean([r[0] for r in rnd]))
            c_r = float(np.mean([r[2] for r in rnd]))
            gains[k].append((a_u - b_u, a_r - b_r))
            print(
                f"{system:12s} {k:3d} {b_u:6.3f} {a_u:7.3f} {a_r:7.3f} "
                f"${c_u:8.4f} ${c_r:8.4f} {lab_u:9d} {spr_u:7d} {sk_u:7d}",
                flush=True,
            )
    print("-- mean LOOK F1 gain over the base model, on the test windows")
    for k in ks:
        gu = float(np.mean([g[0] for g in gains[k]]))
        gr = float(np.mean([g[1] for g in gains[k]]))
        print(f"k={k:3d}: uncertainty +{gu:.3f}  random +{gr:.3f}")
    print(f"wall {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
