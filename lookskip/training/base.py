"""The base training set that ships with the model: weighted template-key rows.

Why it ships: without it a fresh install cannot learn at all (``retrain`` and the
ask-Claude refit need labels of at least two systems), and the labels it is made of
are Claude's answers for the 20 reference datasets, paid for once. What ships is
derived and small: one row per (dataset, template key, label) with the number of
lines it stands for, the form training already collapses labels into
(:func:`lookskip.training.labels.collapse_keys`; written by
:func:`lookskip.training.labels.write_base_rows`), never the raw lines. BGL and
Thunderbird are in no labels file, so in no base row.

The rows are keyed with the key rules of ``lookskip.model.key``; the file records
their hash, and a file made under other rules is refused (its keys would not be the
keys the model computes).

Format (``data/models/base_rows.jsonl.gz``): a first line ``{"format":
"lookskip-base-rows", "key_rules_hash", "datasets", "rows", "lines"}``, then one
``{"system", "key", "label", "count"}`` a line.

In training, the rows become labeled lines again (each key repeated ``count`` times;
a key is its own key), so the plan, the folds, the feature cache and the refit treat
them exactly like a labels file, and a dataset the user labeled themselves replaces
its base rows.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable

from lookskip import storage
from lookskip.model.key import key_rules_hash
from lookskip.training.errors import LabelError

FORMAT = "lookskip-base-rows"
BASE_ROWS_FILE = "base_rows.jsonl.gz"


def is_base_rows(path: str) -> bool:
    return path.rsplit("/", 1)[-1] == BASE_ROWS_FILE


def read_base_rows(path: str) -> tuple[dict, list[dict]]:
    """``(head, rows)`` of a base-rows file; a clear ``LabelError`` if unusable."""
    try:
        text = gzip.decompress(storage.read_bytes(path)).decode("utf-8")
    except FileNotFoundError:
        raise LabelError(f"{path}: base rows file not found") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: not a readable base rows file ({exc})") from None
    lines = [ln for ln in text.split("\n") if ln.strip()]
    try:
        head = json.loads(lines[0]) if lines else {}
        rows = [json.loads(ln) for ln in lines[1:]]
    except json.JSONDecodeError as exc:
        raise LabelError(f"{path}: not valid JSON ({exc.msg})") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise LabelError(f"{path}: not a {FORMAT} file")
    if head.get("key_rules_hash") != key_rules_hash():
        raise LabelError(
            f"{path}: made under other template-key rules "
            f"({head.get('key_rules_hash')} vs {key_rules_hash()}); rebuild it"
        )
    for n, row in enumerate(rows, 2):
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("key"), str)
            or not isinstance(row.get("system"), str)
            or row.get("label") not in ("LOOK", "SKIP")
            or not isinstance(row.get("count"), int)
            or row["count"] < 1
        ):
            raise LabelError(f"{path}:{n}: expected {{system, key, label, count >= 1}}")
    return head, rows


def expand(
    rows: Iterable[dict], skip_systems: Iterable[str] = ()
) -> Iterable[tuple[str, str, str]]:
    """``(line, label, system)`` per line a row stands for (its key, ``count`` times)."""
    skip = set(skip_systems)
    for row in rows:
        if row["system"] in skip:
            continue
        for _ in range(row["count"]):
            yield row["key"], row["label"], row["system"]


def default_base_rows(settings) -> str | None:
    """The base rows training uses: ``LOOKSKIP_BASE_ROWS`` (a path, or ``none``), else
    the data dir's ``models/base_rows.jsonl.gz``, else the shipped file."""
    choice = (settings.base_rows or "").strip()
    if choice.lower() == "none":
        return None
    if choice:
        return choice
    own = storage.join(settings.models_dir, BASE_ROWS_FILE)
    if storage.exists(own):
        return own
    from lookskip.shipped import shipped_file

    shipped = shipped_file(f"models/{BASE_ROWS_FILE}")  # the checkout's or the wheel's
    return str(shipped) if shipped else None
