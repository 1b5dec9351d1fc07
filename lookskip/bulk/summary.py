"""``summary.json``: one entry per file (done or not, with the reason) and the totals.

The summary is the record of a run: every input the user named appears in it,
either with its counts or with the error that stopped it, so a bad file is never
silently missing from the results.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from lookskip import storage
from lookskip.bulk.inputs import InputError
from lookskip.bulk.merge import FileSummary

SUMMARY_NAME = "summary.json"


def build_summary(
    files: Iterable[FileSummary],
    input_errors: Iterable[InputError],
    wall_seconds: float,
    **run: Any,
) -> dict[str, Any]:
    """Files (inputs that failed to expand included), totals, and the run's parameters."""
    entries = [f.to_dict() for f in files]
    entries += [
        FileSummary(file=e.name, path=e.name, kind="input", errors=[e.error]).to_dict()
        for e in input_errors
    ]
    for e in entries:  # one-string form, as `lookskip classify FILE --output` always wrote it
        e["error"] = "; ".join(e["errors"]) or None
    ok = [e for e in entries if not e["errors"]]
    lines = sum(e["lines"] for e in ok)
    look = sum(e["look"] for e in ok)
    seconds = sum(e["seconds"] for e in entries)
    score = sum(e["score_seconds"] for e in entries)
    totals = {
        "files": len(entries),
        "files_ok": len(ok),
        "files_failed": len(entries) - len(ok),
        "failed": len(entries) - len(ok),
        "lines": lines,
        "look": look,
        "look_share": look / lines if lines else 0.0,
        "written": sum(e["written"] for e in ok),
        "bytes": sum(e["bytes"] for e in entries),
        "truncated": sum(e["truncated"] for e in ok),
        "seconds": wall_seconds,
        "lines_per_s": lines / wall_seconds if wall_seconds > 0 else 0.0,
        "work_seconds": seconds,
        "score_seconds": score,
        "outside_classifier_share": (seconds - score) / seconds if seconds > 0 else 0.0,
        "errors": sum(len(e["errors"]) for e in entries),
        "look_new": sum(e.get("look_new", 0) for e in ok),
        "look_events": sum(e.get("look_events", 0) for e in ok),
    }
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **run,
        "run": run,
        "totals": totals,
        "files": entries,
        "manifest": manifest(entries),
    }


def manifest(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input -> output for every source read: ``input`` (the path or ``archive!member``
    it was read from), ``file`` (its name in rows) and ``output`` (its rows file,
    relative to the output dir; None when it failed).

    Why: two inputs may share a base name (``a/app.log``, ``b/app.log``) and names may
    hold ``!`` or ``%``, so an output's path alone does not say which input it came
    from (see :func:`lookskip.bulk.inputs.output_relpath`); this does, and it is what
    the next run uses to know which files in the folder were a run's outputs.
    """
    return [
        {"input": e["path"], "file": e["file"], "output": e["output"]}
        for e in entries
        if e["kind"] != "input"
    ]


def write_summary(output_dir: str, summary: dict[str, Any]) -> str:
    """Written compact (one line; ``jq .`` shows it indented): with the pattern
    aggregates of many keys, indenting costs seconds (Python's encoder, not C's)."""
    url = storage.join(output_dir, SUMMARY_NAME)
    storage.write_json(url, summary, indent=None)
    return url
