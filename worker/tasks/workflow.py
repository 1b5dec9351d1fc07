"""The last task of every workflow: records its final result in the registry."""

from __future__ import annotations

from typing import Any

from worker.app import app, job_store


@app.task(name="lookskip.workflow.finish", bind=True)
def finish(self, result: Any = None, *, wf: str, stage: str) -> Any:
    """Store the workflow's result (artifacts and figures) so `lookskip status` shows it.

    It runs with the workflow's own id, so ``AsyncResult(<workflow id>)`` is the final
    result too.
    """
    summary = {"stage": stage, "result": result}
    job_store().finish(wf, summary)
    return summary
