"""The answer store: every template Claude has labeled for this data dir, kept for good.

A system's templates recur in every archive it writes, so each is asked about once
ever: every later run (with or without ``--ask-claude``), every worker sharing the
data dir, ``train`` and ``retrain`` read the store. One JSON document,
``<data_dir>/answers/answers.json``, written atomically under the data dir's state
lock (a file lock locally; Redis fencing and conditional writes on an object store:
``lookskip.locking``), like the labeling manifest.

A record per template: the template (``lookskip.model.answers`` syntax), label,
reason, the keys seen for it when asked (with line counts: the rows the refit
learns from), example lines, the system (input) it came from, model id, cost share
and time. ``pending`` holds a submitted batch not yet collected, so a run that is
killed while waiting polls it on the next run instead of paying again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from lookskip import storage
from lookskip.settings import Settings

STORE_VERSION = 1
STORE_FILE = "answers.json"


def store_path(settings: Settings) -> str:
    return settings.path("answers", STORE_FILE)


def _empty() -> dict:
    from lookskip.training.base import key_rules_hash

    return {
        "version": STORE_VERSION,
        "key_rules_hash": key_rules_hash(),
        "answers": [],
        "pending": {},
    }


def _check(doc: dict, path: str) -> dict:
    from lookskip.training.base import key_rules_hash

    if doc.get("version") != STORE_VERSION:
        raise ValueError(f"{path}: unknown answer store version {doc.get('version')!r}")
    if doc.get("key_rules_hash") != key_rules_hash():
        raise ValueError(
            f"{path}: answers were keyed under other template-key rules; "
            "move the file away to start a new store"
        )
    return doc


def load_store(settings: Settings) -> dict:
    """The store document (an empty one when there is none yet)."""
    path = store_path(settings)
    if not storage.exists(path):
        return _empty()
    return _check(storage.read_json(path), path)


@contextlib.contextmanager
def locked_store(settings: Settings) -> Iterator[Any]:
    """Load, yield for changes, save atomically — under the data dir's state lock."""
    from lookskip.locking import locked_json

    path = store_path(settings)
    with locked_json(settings, "answers", path, _empty) as doc:
        _check(doc, path)
        yield doc


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def answers_of(doc: dict):
    """The store's answers, compiled for matching (``lookskip.model.answers.Answers``)."""
    from lookskip.model.answers import Answers

    return Answers(doc.get("answers") or ())


def add_answers(doc: dict, records: list[dict]) -> int:
    """Add (or replace, by template) answer records; returns how many are new."""
    index = {a["template"]: i for i, a in enumerate(doc["answers"])}
    new = 0
    for r in records:
        i = index.get(r["template"])
        if i is None:
            index[r["template"]] = len(doc["answers"])
            doc["answers"].append(r)
            new += 1
        else:
            doc["answers"][i] = r
    return new


def training_rows(doc: dict) -> list[tuple[str, str, str, int]]:
    """``(system, key, label, count)`` per key seen for an answered template; a key
    that has an answer of its own (an exact-key template) takes that one only."""
    from lookskip.model.answers import WILDCARD

    answers = doc.get("answers") or ()
    exact = {a["template"] for a in answers if WILDCARD not in a["template"]}
    out = []
    for a in answers:
        system = a.get("system") or "answers"
        general = WILDCARD in a["template"]
        for key, count in a.get("keys") or ():
            if general and key in exact:
                continue
            out.append((system, key, a["label"], max(1, int(count))))
    return out
