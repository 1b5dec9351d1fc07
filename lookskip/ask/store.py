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
    from lookskip.model.key import key_rules_hash

    return {
        "version": STORE_VERSION,
        "key_rules_hash": key_rules_hash(),
        "answers": [],
        "pending": {},
    }


def _check(doc: dict, path: str) -> dict:
    from lookskip.model.key import key_rules_hash

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
    """File answer records; returns how many templates are new.

    A general template's record replaces an earlier one. Answers about one exact key
    are votes (``vote_items`` in ``lookskip.ask.run``): the key's label is the
    majority of its answers, LOOK on a tie (the labeling instructions lean to LOOK),
    counting the answer about the general template the key was asked under.
    """
    from lookskip.model.answers import WILDCARD

    answers = doc["answers"]
    index = {a["template"]: i for i, a in enumerate(answers)}
    new = 0
    # templates first, so a key's votes can count its template's answer
    for r in sorted(records, key=lambda r: bool(r.get("vote"))):
        i = index.get(r["template"])
        if WILDCARD in r["template"] or (i is None and not r.get("vote")):
            if i is None:
                index[r["template"]] = len(answers)
                answers.append(r)
                new += 1
            else:
                answers[i] = r
            continue
        if i is None:
            seed = next(
                (a for a in answers if any(k == r["template"] for k, _ in a.get("keys") or ())),
                None,
            )
            base = {**r, "votes": {"LOOK": 0, "SKIP": 0}, "examples": []}
            if seed is not None:
                base["votes"][seed["label"]] += 1
                base["examples"] = list(seed.get("examples") or [])[:1]
            index[r["template"]] = len(answers)
            answers.append(base)
            new += 1
            i = index[r["template"]]
        old = answers[i]
        votes = dict(old.get("votes") or {old["label"]: 1})
        votes[r["label"]] = votes.get(r["label"], 0) + 1
        label = "LOOK" if votes.get("LOOK", 0) >= votes.get("SKIP", 0) else "SKIP"
        reason = r["reason"] if r["label"] == label else old.get("reason", r["reason"])
        answers[i] = {
            **old,
            "label": label,
            "reason": reason,
            "votes": votes,
            "examples": (list(old.get("examples") or []) + r["examples"][:1])[:5],
            "cost_usd": _add(old.get("cost_usd"), r.get("cost_usd")),
            "asked_at": r.get("asked_at", old.get("asked_at")),
        }
    return new


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a + b, 6)


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
