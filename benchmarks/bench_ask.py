"""Ask Claude about templates vs window labeling, on systems the model never saw.

Protocol (one run). Each system is held out: its base rows are removed, and a model
is fitted on the others' base rows with the shipped model's hyper-parameters and
threshold ("model alone"). Then, at each budget (the ``--dry-run`` estimate):

* ``ask``: the whole ``classify --ask-claude`` loop on the system's log
  (``lookskip.ask.run``: survey → choose → Batch API → store → refit), answered by
  the Batch-API simulator's oracle (``api-sim --oracle``: each shown line gets its
  label from the labels file), over HTTP with the official SDK;
* ``windows``: ``label --select uncertain`` at the same spend: the 50-line windows
  the model is least sure of, labeled (the oracle's labels of their lines), spread
  by key, then a refit on the other systems' rows + those.

Scored on **every line** of the held-out system (the lines shown to Claude
included, as a user's run includes them), LOOK F1 and accuracy, per system and
macro. Systems: the 20 labeled datasets (their labels are the oracle), and the four
``validation/`` logs (evaluation only: their labels answer the oracle's questions
and score the result; nothing is kept). BGL and Thunderbird are not used.

    uv run --no-sync python benchmarks/bench_ask.py [--systems Dpkg,HDFS] [--budgets 0.01,0.02,0.05]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))


def metrics(y, pred) -> tuple[float, float]:
    tp = int((y & pred).sum())
    fp = int((~y & pred).sum())
    fn = int((y & ~pred).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else (1.0 if not (fp or fn) else 0.0)
    return f1, float((y == pred).mean())


def systems_available() -> dict[str, Path]:
    out = {p.stem: p for p in sorted((SHARED / "labels").glob("*.jsonl"))}
    out.update({p.stem: p for p in sorted((SHARED / "validation" / "labels").glob("*.jsonl"))})
    return out


def fit_export(keys, y, weight, params, threshold, path: str, answers=()) -> None:
    from lookskip.model.export import export_model
    from lookskip.model.pipeline import TrainedModel, build_pipeline

    pipe = build_pipeline(params).fit(keys, y, clf__sample_weight=weight)
    export_model(TrainedModel(pipe, threshold, params, answers=list(answers)), path)


def show(name: str, res: dict, info: dict) -> None:
    cols = "  ".join(f"{k} {f1:.3f}/{acc:.3f}" for k, (f1, acc) in res.items())
    print(f"{name:15s} {info['lines']:5d} lines {info['look']:5d} LOOK  {cols}", flush=True)


def run_system_args(job: tuple) -> tuple:
    return run_system(*job)


def run_system(name: str, labels_path: str, budgets: list, windows: bool, tmp_dir: str) -> tuple:
    """One held-out system: the model alone, then ask and windows at each budget."""
    import numpy as np

    from lookskip.apisim.server import SimOptions, serve_in_thread
    from lookskip.ask.learn import current_params, refit
    from lookskip.ask.run import AskError, ask, plan_ask
    from lookskip.ask.store import answers_of, load_store
    from lookskip.classify.scorer import Scorer
    from lookskip.labeling import pricing
    from lookskip.labeling.prompt import Window, build_request
    from lookskip.labeling.select import propagate_labels, rank_windows
    from lookskip.model.key import key_rules_hash, template_keys
    from lookskip.settings import Settings
    from lookskip.training.base import FORMAT, read_base_rows

    shipped = str(ROOT / "data" / "models" / "look_skip_model.json.gz")
    params, threshold = current_params(shipped)
    _, base_rows = read_base_rows(str(ROOT / "data" / "models" / "base_rows.jsonl.gz"))
    sim = serve_in_thread(SimOptions(delay=0.05, oracle=(labels_path,)))
    tmp = Path(tmp_dir)
    rows = [json.loads(x) for x in Path(labels_path).read_text("utf-8").splitlines() if x.strip()]
    lines = [r["raw_line"] for r in rows]
    y = np.asarray([r["label"] == "LOOK" for r in rows])
    d = tmp / name
    d.mkdir()
    log = d / f"{name}.log"
    log.write_text("".join(x + "\n" for x in lines), "utf-8")
    keep = [r for r in base_rows if r["system"] != name]
    base_path = d / "base_rows.jsonl.gz"
    head = {"format": FORMAT, "key_rules_hash": key_rules_hash()}
    base_path.write_bytes(
        gzip.compress(("\n".join(json.dumps(x) for x in [head, *keep]) + "\n").encode())
    )
    bkeys = [r["key"] for r in keep]
    by = np.asarray([r["label"] == "LOOK" for r in keep], dtype=np.int8)
    bw = np.asarray([r["count"] for r in keep])
    model0 = str(d / "alone.json.gz")
    t0 = time.perf_counter()
    fit_export(bkeys, by, bw, params, threshold, model0)
    fit_s = time.perf_counter() - t0
    scorer = Scorer(model0, threads=1)
    p0 = np.asarray(scorer.predict_proba(lines))
    res = {"alone": metrics(y, p0 >= threshold)}
    info: dict = {"lines": len(lines), "look": int(y.sum()), "fit_s": fit_s}
    keys = template_keys(lines)
    for b in budgets:
        settings = Settings(
            data_dir=str(d / f"ask{b}"),
            base_rows=str(base_path),
            anthropic_api_key="sim",
            anthropic_base_url=sim.url,
            poll_initial_s=0.05,
            poll_max_s=0.2,
        )
        try:
            plan = plan_ask(scorer, [str(log)], settings, b)
        except AskError as exc:
            print(f"# {name} ${b}: {exc}")
            continue
        rep = ask(plan, settings)
        fitted = refit(settings, load_store(settings), model0, str(d / f"ask{b}.json.gz"))
        p = np.asarray(Scorer(fitted["model"], threads=1).predict_proba(lines))
        res[f"ask ${b}"] = metrics(y, p >= threshold)
        ans = answers_of(load_store(settings))
        covered = sum(ans.find(k) is not None for k in keys)
        info[f"ask ${b}"] = {
            "templates": len(plan.survey.templates),
            "asked": len(rep.answers),
            "requests": len(plan.requests),
            "estimate": plan.cost_estimate_usd,
            "cost": rep.cost_usd,
            "covered": covered,
            "survey_s": plan.survey.seconds,
            "refit_s": fitted["seconds"],
        }
        if not windows:
            continue
        # window labeling at the same spend: uncertainty-ranked aligned windows
        chosen, spent = [], 0.0
        for w in rank_windows(keys, p0, threshold, 50):
            win = Window(name, w.start, tuple(lines[w.start - 1 : w.start + 49]), len(lines))
            req = build_request(win, "claude-haiku-4-5", 8192)
            cost = pricing.cost_usd(
                "claude-haiku-4-5",
                pricing.Usage(
                    pricing.estimate_input_tokens(req),
                    pricing.estimate_output_tokens(w.n_lines),
                ),
            )
            if spent + cost > b + 1e-12:
                break
            chosen.append(w.start)
            spent += cost
        labeled = {
            i: ("LOOK" if y[i] else "SKIP")
            for s in chosen
            for i in range(s - 1, min(len(lines), s + 49))
        }
        spread, _ = propagate_labels(keys, labeled)
        counts: dict[tuple[str, bool], int] = {}
        for i, lab in spread.items():
            counts[(keys[i], lab == "LOOK")] = counts.get((keys[i], lab == "LOOK"), 0) + 1
        wk = bkeys + [k for k, _ in counts]
        wy = np.concatenate([by, np.asarray([int(v) for _, v in counts], dtype=np.int8)])
        ww = np.concatenate([bw, np.asarray(list(counts.values()), dtype=np.int64)])
        wpath = str(d / f"win{b}.json.gz")
        fit_export(wk, wy, ww, params, threshold, wpath)
        pw = np.asarray(Scorer(wpath, threads=1).predict_proba(lines))
        res[f"windows ${b}"] = metrics(y, pw >= threshold)
        info[f"windows ${b}"] = {"windows": len(chosen), "estimate": round(spent, 6)}
    sim.stop()
    return name, res, info


def survey_figures(names: list[str], avail: dict[str, Path]) -> None:
    """Keys and templates per 1,000 lines of each system, and the survey's speed on a
    1M-line file made of the samples' lines (numbers perturbed, so keys repeat as in a
    real archive and lines do not)."""
    import random

    from lookskip.ask.survey import survey
    from lookskip.classify.scorer import Scorer
    from lookskip.model.answers import Answers

    scorer = Scorer(str(ROOT / "data" / "models" / "look_skip_model.json.gz"), threads=1)
    print("## survey: distinct keys and templates per 1,000 lines")
    tmp = Path(tempfile.mkdtemp(prefix="bench-survey-"))
    pool: list[str] = []
    for name in names:
        lines = [json.loads(x)["raw_line"] for x in avail[name].read_text("utf-8").splitlines()]
        pool += lines
        log = tmp / f"{name}.log"
        log.write_text("".join(x + "\n" for x in lines), "utf-8")
        sv = survey(scorer, [str(log)], stored=Answers())
        print(
            f"  {name:15s} {sv.lines:5d} lines  keys/1k {1000 * sv.keys / sv.lines:6.1f}  "
            f"templates/1k {1000 * len(sv.templates) / sv.lines:6.1f}"
        )
    rnd = random.Random(0)
    big = tmp / "big.log"
    with big.open("w", encoding="utf-8") as f:
        for _ in range(1_000_000):
            line = rnd.choice(pool)
            f.write("".join(str(rnd.randint(0, 9)) if c.isdigit() else c for c in line) + "\n")
    t0 = time.perf_counter()
    sv = survey(scorer, [str(big)], stored=Answers())
    dt = time.perf_counter() - t0
    print(
        f"  1M sample lines (digits perturbed): {sv.keys:,} keys, {len(sv.templates):,} "
        f"templates, survey {dt:.2f}s = {sv.lines / dt:,.0f} lines/s (one process)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--systems", default="", help="comma-separated (default: all 24)")
    ap.add_argument("--budgets", default="0.01,0.02,0.05")
    ap.add_argument("--no-windows", action="store_true", help="skip the window comparison")
    ap.add_argument("--jobs", type=int, default=1, help="systems held out in parallel")
    ap.add_argument("--survey-only", action="store_true", help="only the survey figures")
    args = ap.parse_args()

    from lookskip.ask.learn import current_params

    params, threshold = current_params(str(ROOT / "data" / "models" / "look_skip_model.json.gz"))
    budgets = [float(b) for b in args.budgets.split(",") if b]
    avail = systems_available()
    names = [s for s in args.systems.split(",") if s] or list(avail)
    survey_figures(names, avail)
    if args.survey_only:
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-ask-"))
    print(f"# {len(names)} systems held out one at a time; budgets {budgets}; oracle over HTTP")
    print(f"# model: the shipped params {params}, threshold {threshold}")
    t_all = time.perf_counter()
    jobs = [(n, str(avail[n]), budgets, not args.no_windows, str(tmp)) for n in names]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    extra: dict[str, dict] = {}
    if args.jobs > 1:
        from multiprocessing import get_context

        with get_context("spawn").Pool(args.jobs) as pool:
            for name, res, info in pool.imap(run_system_args, jobs):
                results[name], extra[name] = res, info
                show(name, res, info)
    else:
        for job in jobs:
            name, res, info = run_system(*job)
            results[name], extra[name] = res, info
            show(name, res, info)
    print()
    modes = list(next(iter(results.values())).keys()) if results else []
    groups = {
        "20 labeled systems": [n for n in results if (SHARED / "labels" / f"{n}.jsonl").exists()],
        "validation (4 modern logs)": [
            n for n in results if (SHARED / "validation" / "labels" / f"{n}.jsonl").exists()
        ],
    }
    for group, members in groups.items():
        if not members:
            continue
        print(f"## {group}: macro LOOK F1 / accuracy over {len(members)} systems")
        for m in modes:
            vals = [results[n][m] for n in members if m in results[n]]
            if vals:
                f1 = sum(v[0] for v in vals) / len(vals)
                acc = sum(v[1] for v in vals) / len(vals)
                print(f"  {m:15s} {f1:.3f} / {acc:.3f}  ({len(vals)} systems)")
    print()
    print("## per system: templates, asked, requests, est/actual $, lines covered by answers")
    for n, info in extra.items():
        for k, v in info.items():
            if k.startswith("ask"):
                print(
                    f"  {n:15s} {k:9s} templates {v['templates']:4d} asked {v['asked']:4d} "
                    f"requests {v['requests']:2d} est ${v['estimate']:.4f} "
                    f"cost ${v['cost'] or 0:.4f} covered {v['covered']:5d}/{info['lines']} "
                    f"survey {v['survey_s']:.2f}s refit {v['refit_s']:.1f}s"
                )
    print(f"\n# total {time.perf_counter() - t_all:.0f}s; work dir {tmp}")


if __name__ == "__main__":
    main()
