"""``enqueue classify --ask-claude``: one ask-and-refit task before the classification.

It runs on the ``train`` queue (the worker image with the labeling and training
extras: the SDK and scikit-learn), calls ``lookskip.ask.run`` (survey the inputs,
ask within the budget through the Message Batches API, file the answers in the data
dir's store, refit), then replaces itself with the classify workflow's plan task,
which scores every unit with the learned model.

A killed ask task is redelivered (``acks_late``) and pays nothing twice: the batch it
submitted is in the store's ``pending`` before it waits, so the redelivered task
collects it (``lookskip.ask.run``). The API key comes from the worker's environment;
task arguments carry paths, the budget and options, never the key or log lines.
"""

from __future__ import annotations

from typing import Any

from lookskip import storage
from worker.app import app
from worker.workflows import task_sig

ASK_LIMITS = (7000, 7200)


@app.task(
    name="lookskip.train.ask", bind=True, soft_time_limit=ASK_LIMITS[0], time_limit=ASK_LIMITS[1]
)
def ask_task(self, *, params: dict[str, Any], wf: str) -> Any:
    from lookskip.ask.run import ask, learn, plan_ask
    from lookskip.classify.scorer import default_model_path, load_scorer
    from lookskip.settings import get_settings

    settings = get_settings()
    base_model = params.get("model_path") or default_model_path()
    scorer = load_scorer(base_model, max_line_bytes=params.get("max_line_bytes"))
    self.progress(wf, 0, 1, "surveying the inputs")
    plan = plan_ask(
        scorer,
        params["inputs"],
        settings,
        float(params["budget"]),
        include=params.get("include") or (),
        exclude=params.get("exclude") or (),
        send=params.get("send") or "raw",
    )
    model = base_model
    summary: dict[str, Any] = {
        "budget_usd": params["budget"],
        "estimate_usd": plan.cost_estimate_usd,
        "requests": len(plan.requests),
        "templates": len(plan.survey.templates),
    }
    if plan.requests:
        self.progress(wf, 0, 1, f"asking Claude about {len(plan.chosen)} template(s)")
        report = ask(plan, settings)
        model = learn(report, settings, base_model)["model"]
        summary.update(
            cost_usd=report.cost_usd,
            answers=[
                {k: a[k] for k in ("template", "label", "reason", "system")} for a in report.answers
            ],
            problems=report.problems,
        )
    summary["model"] = model
    storage.write_json(storage.join(params["output"], "ask.json"), summary)
    nxt = {**params, "ask_claude": False, "model_path": model}
    return self.replace(
        task_sig("lookskip.classify.plan", f"inputs={len(params['inputs'])}", params=nxt, wf=wf)
    )
