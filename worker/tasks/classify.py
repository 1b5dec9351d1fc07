"""The ``classify`` workflow: plan → one task per unit (chunk, compressed file, member) → merge.

All three tasks run on the ``classify`` queue (a host with the Rust extension) and
call ``lookskip.bulk``; they pass paths, byte ranges and ids, never log lines. The
plan is written to ``<output>/.parts/<workflow>/plan.json`` so the merge reads it from
there instead of receiving thousands of unit descriptions as arguments.

Reliability comes from the app's settings (``acks_late`` + ``reject_on_worker_lost``):
a unit whose worker is killed is delivered again, and since a unit writes its part
files atomically (metadata last) a redone unit replaces, never adds to, what a
killed run left. The merge is the chord callback, so it starts only once every unit
has finished; it writes the outputs into a staging folder and puts them in place once
all are written (``lookskip.bulk.staging``).

Every task checks the paths its message names against the worker's allowed roots
(``lookskip.roots``, ``LOOKSKIP_ALLOWED_ROOTS``) before it opens anything: whoever can
send a message must not be able to read or write the worker's disk elsewhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from celery import chord, group

from lookskip import storage
from lookskip.bulk.baseline import make_triage
from lookskip.bulk.chunks import DEFAULT_CHUNK_BYTES, Unit
from lookskip.bulk.inputs import InputError
from lookskip.bulk.parts import local_target, run_unit
from lookskip.bulk.run import WHOLE_FILE, merge_all, plan
from lookskip.classify.jsonlog import json_fields_option
from lookskip.classify.scorer import DEFAULT_MAX_LINE_BYTES, load_scorer, pick_threshold
from lookskip.classify.triage import (
    NO_TRIAGE,
    Triage,
    load_baseline,
    require_rust,
    triage_run_info,
)
from lookskip.progress import RunProgress, exact_bytes_total, heartbeat
from lookskip.roots import check as check_path
from lookskip.roots import confine, worker_roots
from worker.app import app, job_store
from worker.workflows import stage, task_sig

# Limits: a 64 MiB range takes seconds, but a whole .gz or archive member is one unit
# whatever its size, so allow hours; both stay below the Redis visibility timeout
# (worker.config: longest limit + 1 h), or a running unit would be handed out twice.
UNIT_LIMITS = (7000, 7200)
MERGE_LIMITS = (3600, 3700)

_scorers: dict[tuple[Any, ...], Any] = {}
_baselines: dict[tuple[Any, ...], Any] = {}


def _scorer(
    model_path: str | None,
    max_line_bytes: int | None = None,
    json_fields: Sequence[str] | None = None,
    modes: dict[str, Any] | None = None,
) -> Any:
    """One loaded model per worker process (loading costs ~0.1-1 s, a unit may be
    faster; a transformer mode's export, seconds). ``modes``: ``load_scorer``'s mode
    options (``lookskip.classify.modes.mode_options``), None for TF-IDF."""
    from lookskip.settings import get_settings

    threads = get_settings().threads
    cap = int(max_line_bytes or DEFAULT_MAX_LINE_BYTES)
    fields = json_fields_option(json_fields)
    key = (
        model_path or "",
        os.getpid(),
        threads,
        cap,
        None if fields is None else tuple(fields),
        tuple(sorted((modes or {}).items())),
    )
    if key not in _scorers:
        _scorers.clear()
        _baselines.clear()
        _scorers[key] = load_scorer(
            model_path, threads, max_line_bytes=cap, json_fields=fields, **(modes or {})
        )
    return _scorers[key]


def _mode_params(params: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The TF-IDF model path and mode options of the workflow's (local command's)
    parameters: ``--model MODE|PATH``, ``--bert``, ``--bert-model`` …"""
    from lookskip.classify.modes import mode_options

    return mode_options(
        params.get("model_path"),
        tfidf_model=params.get("tfidf_model"),
        bert=bool(params.get("bert")),
        bert_model=params.get("bert_model"),
        tfidf_threshold=params.get("tfidf_threshold"),
        bert_threshold=params.get("bert_threshold"),
        score_cache=params.get("score_cache", True) is not False,
    )


def _triage(loaded: Any, spec: dict[str, Any] | None) -> Triage:
    """The unit's :class:`Triage` from the plan's ``spec`` (its baseline is a file the
    plan task saved, loaded once per process)."""
    if not spec:
        return NO_TRIAGE
    baseline = None
    if spec.get("baseline"):
        key = (id(loaded), spec["baseline"])
        if key not in _baselines:
            _baselines[key] = load_baseline(loaded, spec["baseline"])
        baseline = _baselines[key]
    triage = Triage(
        why=int(spec.get("why") or 0),
        baseline=baseline,
        only_new=bool(spec.get("only_new")),
        events=bool(spec.get("events")),
    )
    require_rust(loaded, triage)
    return triage


def _plan_triage(params: dict[str, Any], parts_dir: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the run's triage once, as ``lookskip classify`` does (``make_triage``):
    the spec every unit task gets (the baseline saved beside the parts) and what the
    summary records of it."""
    wanted = (
        params.get("why")
        or params.get("baseline_inputs")
        or params.get("baseline_file")
        or params.get("events")
    )
    if not wanted:
        return {}, {}
    roots = worker_roots()  # baseline inputs are read like inputs: within the roots
    if params.get("baseline_file"):
        check_path(params["baseline_file"], roots, "baseline file")
    # baseline keys are the TF-IDF model's keys whatever the mode
    loaded = _scorer(
        _mode_params(params)[0], params.get("max_line_bytes"), params.get("json_fields")
    )
    triage, errors = make_triage(
        loaded,
        why=bool(params.get("why")),
        baseline_inputs=params.get("baseline_inputs") or (),
        baseline_file=params.get("baseline_file"),
        only_new=bool(params.get("only_new")),
        events=bool(params.get("events")),
        include=params.get("include") or (),
        exclude=params.get("exclude") or (),
        expand=lambda inputs, **kw: confine(inputs, roots, **kw),
    )
    spec: dict[str, Any] = {"why": triage.why, "only_new": triage.only_new, "events": triage.events}
    if triage.baseline is not None:
        spec["baseline"] = storage.join(parts_dir, "baseline.lskb")
        with local_target(spec["baseline"]) as tmp:
            triage.baseline.save(tmp)
    info = triage_run_info(triage)
    if errors:
        info["baseline_errors"] = errors
    return spec, info


def _weight(u: Unit) -> int:
    """Rough uncompressed bytes of a unit (a compressed file is guessed at 4x its size)."""
    s = u.source
    if s.kind == "plain":
        return (s.size if u.end is None else u.end) - u.start
    return s.size if s.kind in ("tar", "zip", "stdin") else s.size * 4


def parts_dir_for(output: str, wf: str) -> str:
    return storage.join(output, ".parts", wf)


@stage("classify", parts=["units"], last_queue="classify")
def build_classify(wf: str, params: dict[str, Any]):
    """The workflow starts with the plan task; it replaces itself with the chord.
    With ``--ask-claude`` the ask task (``worker.tasks.ask``) comes first."""
    if params.get("ask_claude"):
        return task_sig(
            "lookskip.train.ask", f"budget=${params.get('budget')}", params=params, wf=wf
        )
    return task_sig(
        "lookskip.classify.plan", f"inputs={len(params['inputs'])}", params=params, wf=wf
    )


@app.task(name="lookskip.classify.plan", bind=True, soft_time_limit=600, time_limit=660)
def plan_task(self, *, params: dict[str, Any], wf: str) -> Any:
    """Expand the inputs, cut them into units, and send one task per unit plus the merge."""
    model_path, modes = _mode_params(params)
    if modes and (params.get("why") or params.get("ask_claude")):
        raise ValueError(f"--model {modes['mode']} takes neither --why nor --ask-claude")
    started = time.time()
    roots = worker_roots()
    check_path(params["output"], roots, "output")
    if modes and modes.get("bert_model"):
        check_path(modes["bert_model"], roots, "transformer export")
    exp = confine(
        params["inputs"],
        roots,
        include=params.get("include") or (),
        exclude=params.get("exclude") or (),
        allow_stdin=False,
        skip=[params["output"]],
    )
    chunk = params.get("chunk_bytes") or (params.get("chunk_mib") or 0) << 20
    if params.get("events"):  # an event may straddle any cut: a file is one unit
        chunk = WHOLE_FILE
    units = plan(exp.sources, int(chunk or DEFAULT_CHUNK_BYTES))
    output = params["output"]
    parts_dir = parts_dir_for(output, wf)
    triage, triage_info = _plan_triage(params, parts_dir)
    storage.write_json(
        storage.join(parts_dir, "plan.json"),
        {
            "units": [[u.to_dict() for u in us] for us in units],
            "input_errors": [e.to_dict() for e in exp.errors],
            "started": started,
            "run": {
                **triage_info,
                **(
                    {"scored_by": modes["mode"], "transformer": modes.get("bert_model")}
                    if modes
                    else {}
                ),
            },
        },
    )
    # Longest units first: the last unit to start then is a short one (makespan).
    flat = sorted((u for us in units for u in us), key=_weight, reverse=True)
    self.set_total(wf, "units", len(flat))
    if wf:  # what `enqueue classify --wait` measures its byte bar against
        job_store().set_work_total(wf, exact_bytes_total(exp.sources))
    self.progress(wf, 0, len(flat), f"classifying {len(exp.sources)} files in {len(flat)} units")
    common = {
        "parts_dir": parts_dir,
        "model_path": model_path,
        "modes": modes or None,
        "threshold": params.get("threshold"),
        "max_look": params.get("max_look"),
        "max_line_bytes": params.get("max_line_bytes"),
        "json_fields": params.get("json_fields") or None,
        "triage": triage or None,
        "wf": wf,
    }
    header = group(
        task_sig(
            "lookskip.classify.unit",
            f"{u.source.name}[{u.start}:{u.end or ''}]",
            unit=u.to_dict(),
            item=f"{i:06d}",
            **common,
        )
        for i, u in enumerate(flat)
    )
    callback = task_sig(
        "lookskip.classify.merge",
        f"output={output}",
        parts_dir=parts_dir,
        output=output,
        max_look=params.get("max_look"),
        report=params.get("report", True),
        wf=wf,
    )
    if not flat:  # nothing to classify: still write the summary (input errors)
        return self.replace(callback)
    return self.replace(chord(header, callback))


@app.task(
    name="lookskip.classify.unit",
    bind=True,
    soft_time_limit=UNIT_LIMITS[0],
    time_limit=UNIT_LIMITS[1],
)
def unit_task(
    self,
    *,
    unit: dict[str, Any],
    parts_dir: str,
    model_path: str | None,
    threshold: float | None,
    max_look: int | None,
    item: str,
    max_line_bytes: int | None = None,
    json_fields: list[str] | None = None,
    triage: dict[str, Any] | None = None,
    wf: str | None = None,
    modes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Classify one unit into its part files; an unreadable input is a result, not a failure.
    In a transformer mode the unit's new transformer scores go to the data dir's
    persistent score cache, shared by every worker and later run."""
    u = Unit.from_dict(unit)
    roots = worker_roots()  # a message may name any path: the plan's checks are not enough
    check_path(u.source.url, roots, "input")
    check_path(parts_dir, roots, "parts folder")
    if modes and modes.get("bert_model"):
        check_path(modes["bert_model"], roots, "transformer export")
    loaded = _scorer(model_path, max_line_bytes, json_fields, modes)
    unit_triage = _triage(loaded, triage)
    run = RunProgress()

    def publish(s: Any) -> None:  # bytes/lines read so far, for `enqueue classify --wait`
        if wf:
            job_store().set_work(wf, item, s.bytes, s.lines)

    with heartbeat(publish, run):
        res = run_unit(
            u,
            parts_dir,
            loaded.engine,
            pick_threshold(threshold, loaded.threshold),
            max_look,
            progress=run,
            triage=unit_triage,
        )
    loaded.save_scores()
    self.item_done(wf, "units", item)
    return {
        "file": u.source.name,
        "unit": u.index,
        "lines": res.lines,
        "look": res.look,
        "error": res.error,
    }


@app.task(
    name="lookskip.classify.merge",
    bind=True,
    soft_time_limit=MERGE_LIMITS[0],
    time_limit=MERGE_LIMITS[1],
)
def merge_task(
    self,
    *_header: Any,
    parts_dir: str,
    output: str,
    max_look: int | None,
    report: bool = True,
    wf: str | None = None,
) -> dict[str, Any]:
    """Write every output in order from the parts, then summary.json and report.html."""
    roots = worker_roots()
    check_path(output, roots, "output")
    check_path(parts_dir, roots, "parts folder")
    self.progress(wf, 0, 1, "merging")
    plan_url = storage.join(parts_dir, "plan.json")
    summary_url = storage.join(output, "summary.json")
    if not storage.exists(plan_url) and storage.exists(summary_url):
        done = storage.read_json(summary_url)  # redelivered after it had finished
        if done.get("run", {}).get("workflow") == wf:
            return {"output": output, "summary": summary_url, "totals": done["totals"]}
    doc = storage.read_json(plan_url)
    units = [[Unit.from_dict(d) for d in us] for us in doc["units"]]
    errors = [InputError(**e) for e in doc["input_errors"]]
    summary = merge_all(
        units,
        parts_dir,
        output,
        errors,
        float(doc["started"]),
        max_look=max_look,
        report=report,
        workflow=wf,
        **doc.get("run", {}),
    )
    return {"output": output, "summary": summary_url, "totals": summary["totals"]}
