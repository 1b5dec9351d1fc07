"""Per-key aggregates of LOOK lines, collected during the run; the report's patterns.

Why: the report and the terminal summary (``lookskip classify --summary N``) used to
re-read every written row in Python to find the frequent LOOK patterns (on a 540 MB
file with 1.4M LOOK rows, 3.5 s of a 6.6 s ``classify --output`` run). Now each
classify path aggregates as it scores: the Rust loop (``rust/src/patterns.rs``) and,
on the Python paths, :class:`PatternAggregator`, its twin (a parity test holds them
equal). For each distinct scored key of a LOOK line a unit keeps its count, its score
(a line's ``p_look`` is its key's), first/last line and the first bytes of those
lines (their timestamps), and up to three examples (the key's 1st, 3rd and 10th line
in the unit) with :data:`CONTEXT` lines before and after; plus an even sample of LOOK
lines' heads for the time chart. Memory is bounded: :data:`MAX_KEYS` keys per unit
(the LOOK lines of the others are counted as ``other``), texts cut to
:data:`TEXT_BYTES`. Context stops at a unit's edges (a 64 MiB chunk, by default).

:func:`merge_units` turns a file's unit aggregates into the compact form kept in
``summary.json`` (global line numbers, times parsed, a time histogram), and
:func:`pattern_rows` groups the keys of all files into templates, the way the
ask-Claude survey does (:func:`lookskip.templates.group_templates`: drain3 on the
distinct keys), so ``status unpacked liberror-perl`` and ``status unpacked
libgpg-error-dev`` are one row.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookskip.bulk.report_triage import look_time, parse_time
from lookskip.model.features import LEVEL_WORDS, level_pattern

# Keep these equal to rust/src/patterns.rs.
MAX_KEYS = 10_000
CONTEXT = 3
EXAMPLE_AT = (1, 3, 10)
TEXT_BYTES = 240
KEY_BYTES = 400
HEAD_BYTES = 80
TIME_SAMPLES = 2048
TIME_BINS = 60
EXAMPLES_SHOWN = 3

KeysOf = Callable[[list[str]], list[str]]


def _cut(raw: bytes, n: int) -> str:
    return raw[:n].decode("utf-8", "replace")


def scorer_keyer(engine: Any) -> KeysOf:
    """The scored key of each text, as ``engine`` keys it when it scores: the Rust
    classifier reads a JSON line's message (``scored_text``) then keys it; the numpy
    reference uses its model's own key rules."""
    from lookskip.model.key import template_keys

    model = getattr(engine, "model", None)
    if model is not None and hasattr(engine, "json_fields"):
        from lookskip.classify.jsonlog import scored_text

        fields = engine.json_fields
        return lambda texts: [model.template_key(scored_text(t, fields)) for t in texts]
    scored = getattr(engine, "scored_text", None)
    if scored is not None:
        return lambda texts: template_keys([scored(t) for t in texts])
    return template_keys


class PatternAggregator:
    """The Python twin of ``rust/src/patterns.rs`` (same rules, same output)."""

    def __init__(self, keys_of: KeysOf):
        self.keys_of = keys_of
        self.keys: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}
        self.other = 0
        self.times: list[list[Any]] = []
        self.time_step = 1
        self.looks = 0
        self.recent: deque[str] = deque(maxlen=CONTEXT)
        self.waiting: list[tuple[int, int]] = []

    def observe(
        self, lines: Sequence[bytes], probs: Any, threshold: float, first_line: int
    ) -> None:
        """Take a scored block of lines; ``first_line``: the 1-based number of its first."""
        hits = np.flatnonzero(np.asarray(probs) >= threshold).tolist()
        keys = self.keys_of([lines[i].decode("utf-8", "replace") for i in hits]) if hits else []
        pos = 0
        for i, key in zip(hits, keys, strict=True):
            self._feed(lines, pos, i + 1)
            pos = i + 1
            self._look(lines, i, first_line + i, float(probs[i]), key)
        self._feed(lines, pos, len(lines))
        for raw in lines[-CONTEXT:]:
            self.recent.append(_cut(raw, TEXT_BYTES))

    def _feed(self, lines: Sequence[bytes], a: int, b: int) -> None:
        """Lines ``a..b`` to the examples still waiting for their after-lines."""
        while self.waiting and a < b:
            text = _cut(lines[a], TEXT_BYTES)
            still = []
            for k, e in self.waiting:
                after = self.keys[k]["examples"][e]["after"]
                after.append(text)
                if len(after) < CONTEXT:
                    still.append((k, e))
            self.waiting = still
            a += 1

    def _look(self, lines: Sequence[bytes], i: int, line: int, p: float, key: str) -> None:
        raw = lines[i]
        if self.looks % self.time_step == 0:
            self.times.append([line, _cut(raw, HEAD_BYTES)])
            if len(self.times) >= 2 * TIME_SAMPLES:
                self.times = self.times[::2]
                self.time_step *= 2
        self.looks += 1
        k = self.index.get(key)
        if k is None:
            if len(self.keys) >= MAX_KEYS:
                self.other += 1
                return
            k = self.index[key] = len(self.keys)
            self.keys.append(
                {
                    "key": _cut(key.encode("utf-8", "surrogatepass"), KEY_BYTES),
                    "count": 0,
                    "p": p,
                    "first": line,
                    "last": line,
                    "first_head": _cut(raw, HEAD_BYTES),
                    "last_head": "",
                    "examples": [],
                }
            )
        s = self.keys[k]
        s["count"] += 1
        s["last"] = line
        s["last_head"] = _cut(raw, HEAD_BYTES)
        if s["count"] in EXAMPLE_AT:
            keep = min(CONTEXT - i, len(self.recent)) if i < CONTEXT else 0
            before = list(self.recent)[len(self.recent) - keep :] if keep else []
            before += [_cut(b, TEXT_BYTES) for b in lines[max(0, i - CONTEXT) : i]]
            s["examples"].append(
                {"line": line, "text": _cut(raw, TEXT_BYTES), "before": before, "after": []}
            )
            self.waiting.append((k, len(s["examples"]) - 1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "other": self.other,
            "times": self.times,
            "time_step": self.time_step,
        }


def _time(head: str) -> tuple[str, float] | None:
    stamp = look_time(head)
    if stamp is None:
        return None
    t = parse_time(stamp)
    return None if t is None else (stamp, t)


def merge_units(parts: Iterable[tuple[int, dict[str, Any] | None]]) -> dict[str, Any] | None:
    """A file's aggregates from its units' (``(line offset, unit aggregates)``, in
    order): keys merged (line numbers made global, examples of the first units
    first), heads read as times, and the LOOK-over-time histogram. Compact: this is
    what ``summary.json`` keeps per file. None when no unit collected any."""
    keys: dict[str, dict[str, Any]] = {}
    other = 0
    samples: list[tuple[float, int]] = []  # (time, weight)
    first_time: list[Any] | None = None
    last_time: list[Any] | None = None
    seen = False
    for offset, agg in parts:
        if not agg:
            continue
        seen = True
        other += agg["other"]
        for line, head in agg["times"]:
            if (t := _time(head)) is not None:
                samples.append((t[1], agg["time_step"]))
                if first_time is None:
                    first_time = [line + offset, t[0]]
        for s in agg["keys"]:
            k = keys.get(s["key"])
            examples = [{**e, "line": e["line"] + offset} for e in s["examples"]]
            if k is None:
                if len(keys) >= MAX_KEYS:
                    other += s["count"]
                    continue
                keys[s["key"]] = {
                    "key": s["key"],
                    "count": s["count"],
                    "p": s["p"],
                    "first": s["first"] + offset,
                    "last": s["last"] + offset,
                    "first_head": s["first_head"],  # read as a time by pattern_rows
                    "last_head": s["last_head"],
                    "examples": examples[:EXAMPLES_SHOWN],
                }
            else:
                k["count"] += s["count"]
                k["last"] = s["last"] + offset
                k["last_head"] = s["last_head"]
                k["examples"] = (k["examples"] + examples)[:EXAMPLES_SHOWN]
    if not seen:
        return None
    # the file's last LOOK time: from the keys seen last (a head is read only then)
    for k in sorted(keys.values(), key=lambda k: -k["last"]):
        if (last := _time(k["last_head"])) is not None:
            last_time = [k["last"], last[0]]
            break
    out = sorted(keys.values(), key=lambda k: (-k["count"], k["first"]))
    for k in out:
        del k["last_head"]
    return {
        "keys": out,
        "other": other,
        "times": time_histogram(samples),
        "first_time": first_time,
        "last_time": last_time,
    }


def time_histogram(samples: list[tuple[float, int]], bins: int = TIME_BINS) -> dict | None:
    """LOOK lines per time slice, first to last sampled LOOK time (``samples``:
    ``(seconds, lines it stands for)``); None with fewer than two distinct times."""
    if len(samples) < 2:
        return None
    lo = min(t for t, _ in samples)
    hi = max(t for t, _ in samples)
    if hi <= lo:
        return None
    counts = [0] * bins
    for t, w in samples:
        counts[min(bins - 1, int((t - lo) / (hi - lo) * bins))] += w
    return {"lo": lo, "hi": hi, "bins": counts}


# --- rows of the report and of the terminal summary ---------------------------------

_LEVEL = re.compile(level_pattern())
_LEVEL_WORD = re.compile("|".join(sorted(LEVEL_WORDS, key=len, reverse=True)), re.IGNORECASE)
#: A level word's name, most severe first (a template shows its most severe one).
LEVELS = ("fatal", "critical", "error", "exception", "fail", "warn")


def level_of(text: str) -> str | None:
    """The level word of a key (``features.level_pattern``: ``ERROR``, ``Failed``,
    ``IOException``; not ``liberror-perl``), by name: ``error``, ``warn``, ``fail`` …"""
    m = _LEVEL.search(text)
    if m is None:
        return None
    w = _LEVEL_WORD.search(m.group(0))
    word = (w.group(0) if w else m.group(0)).lower()
    return next((name for name in LEVELS if word.startswith(name)), word)


@dataclass
class PatternRow:
    """One template of LOOK lines across the files of a run."""

    template: str
    keys: list[str]
    count: int
    score: float  # the keys' p_look, weighted by their lines
    level: str | None
    files: dict[str, int]  # lines per file, most first
    first_seen: str  # the earliest LOOK time as written, else ``file:line``
    examples: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def brief(self) -> dict[str, Any]:
        """The row without its keys and examples (``summary.json``'s ``patterns``)."""
        return {
            "template": self.template,
            "lines": self.count,
            "score": self.score,
            "level": self.level,
            "files": self.files,
            "first_seen": self.first_seen,
        }


def _sort_key(r: PatternRow) -> tuple[float, int, str]:
    return (-round(r.score, 2), r.count, r.template)


def pattern_rows(files: Iterable[tuple[str, dict[str, Any] | None]]) -> list[PatternRow]:
    """The LOOK templates of ``(file name, merged aggregates)``, in report order.

    Keys are grouped as the ask-Claude survey groups them
    (:func:`lookskip.templates.group_templates`). Order: the model's score first
    (highest, to 0.01), then new-ness, read as rarity: of two templates scored alike,
    the one with fewer lines comes first, since a pattern seen a few times in a run
    is likelier news than one repeated all day.
    """
    from lookskip.templates import KeySeen, group_templates

    per_key: dict[str, dict[str, Any]] = {}
    for name, agg in files:
        for k in (agg or {}).get("keys", ()):
            t = per_key.get(k["key"])
            if t is None:
                t = per_key[k["key"]] = {"count": 0, "p": k["p"], "files": {}, "examples": []}
                t["firsts"] = []
            t["count"] += k["count"]
            t["files"][name] = t["files"].get(name, 0) + k["count"]
            t["examples"] += [(name, e) for e in k["examples"]]
            t["firsts"].append((name, k["first"], k["first_head"]))
    seen = [KeySeen(key, v["count"], [], v["p"]) for key, v in per_key.items()]
    rows = []
    for tpl in group_templates(seen):
        files_count: dict[str, int] = {}
        for ks in tpl.keys:
            for name, c in per_key[ks.key]["files"].items():
                files_count[name] = files_count.get(name, 0) + c
        # the template's own words, and its head keys' (a level word may be a <*>)
        levels = {level_of(t) for t in [tpl.template, *(k.key for k in tpl.keys[:5])]} - {None}
        rows.append(
            PatternRow(
                template=tpl.template,
                keys=[ks.key for ks in tpl.keys],
                count=tpl.count,
                score=tpl.p_look,
                level=next((lv for lv in LEVELS if lv in levels), min(levels, default=None)),
                files=dict(sorted(files_count.items(), key=lambda kv: (-kv[1], kv[0]))),
                first_seen=_first_seen([per_key[ks.key]["firsts"] for ks in tpl.keys]),
                examples=_round_robin([per_key[ks.key]["examples"] for ks in tpl.keys]),
            )
        )
    rows.sort(key=_sort_key)
    return rows


def _first_seen(firsts: list[list[tuple[str, int, str]]]) -> str:
    """The earliest LOOK time of a template as written (its keys' first lines: ``(file,
    line, head)``), else ``file:line`` of its first line. Only the first line in each
    file is read as a time: heads are parsed per template, not per key."""
    per_file: dict[str, tuple[int, str]] = {}
    for name, line, head in (f for fs in firsts for f in fs):
        if name not in per_file or line < per_file[name][0]:
            per_file[name] = (line, head)
    times = [(t[1], t[0]) for _, head in per_file.values() if (t := _time(head)) is not None]
    if times:
        return min(times)[1]
    name, (line, _) = next(iter(per_file.items()))
    return f"{name}:{line}"


def _round_robin(lists: list[list[Any]], n: int = EXAMPLES_SHOWN) -> list[Any]:
    """Up to ``n`` items, one from each list in turn: examples of different keys of
    a template show more of it than three lines of one key."""
    out: list[Any] = []
    depth = 0
    while len(out) < n and any(depth < len(x) for x in lists):
        out += [x[depth] for x in lists if depth < len(x)][: n - len(out)]
        depth += 1
    return out


def file_patterns(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """``(file name, aggregates)`` of a run's classified files."""
    return [(f["file"], f.get("patterns")) for f in summary["files"] if not f["errors"]]
