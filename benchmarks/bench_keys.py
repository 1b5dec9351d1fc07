"""The template-key rules, measured: distinct keys and mixed keys, rule set by rule set.

For the 20 Claude-labeled datasets (BGL and Thunderbird have no labels here and are
not read) it prints, for the shipped ``KEY_RULES`` and for the variants that were
tried: the number of distinct (dataset, key) pairs and their share of the lines,
how many keys are labeled both LOOK and SKIP (a rule that masks what a label depends
on makes such keys), and how many lines carry the minority label of a mixed key.
Then the share of distinct keys over the samples' lines (the 20 logs, labeled or
not: what the scorer's cache sees). BGL and Thunderbird, the validation systems, are
left out of every figure here, since the rules are chosen on these.

    uv run --no-sync python benchmarks/bench_keys.py
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))

from lookskip.model.key import KEY_RULES, SQUEEZE_CHARS  # noqa: E402

MONTHS = ("month", "<MON>", r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")
DAYS = ("wday", "<DAY>", r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
KEEP_SHORT_NUMBERS = (
    "num",
    "<NUM>",
    r"[0-9]{4,}(?:\.[0-9]+)*|[0-9]+(?:\.[0-9]+)+|[0-9]+(?=[0-9]*[:/-])|(?<=[:/-])[0-9]+",
)


def keyer(rules, squeeze: bool):
    rx = re.compile("|".join(f"(?P<{n}>{p})" for n, _, p in rules), re.ASCII)
    ph = {n: p for n, p, _ in rules}
    spaces = re.compile(f"[{re.escape(SQUEEZE_CHARS)}]+")

    def key(line: str) -> str:
        k = rx.sub(lambda m: m.group(0) if ph[m.lastgroup] is None else ph[m.lastgroup], line)
        return spaces.sub(" ", k) if squeeze else k

    return key


def variants():
    no_code = KEY_RULES[1:]
    return {
        "shipped KEY_RULES": (KEY_RULES, True),
        "without the code rule (every number masked)": (no_code, True),
        "without the code rule, whitespace kept": (no_code, False),
        "shipped + month/day names masked": ((*KEY_RULES[:-1], MONTHS, DAYS, KEY_RULES[-1]), True),
        "1-3 digit numbers kept": ((*no_code[:-1], KEEP_SHORT_NUMBERS), True),
    }


def main() -> None:
    from lookskip.training.labels import load_labels

    data = load_labels(str(SHARED / "labels"))
    samples = []
    for f in sorted((SHARED / "loghub").glob("*_2k.log")):
        if f.name.startswith(("BGL_", "Thunderbird_")):
            continue
        text = f.read_bytes().decode("utf-8", "replace")
        samples += [ln.rstrip("\r") for ln in text.split("\n") if ln]
    n = len(data.lines)
    print(
        f"{n:,} labeled lines of {len(set(data.systems))} datasets; {len(samples):,} sample lines"
    )
    for name, (rules, squeeze) in variants().items():
        key = keyer(rules, squeeze)
        labels: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for line, label, system in zip(data.lines, data.labels, data.systems, strict=True):
            labels[(system, key(line))][label] += 1
        mixed = [c for c in labels.values() if len(c) > 1]
        minority = sum(min(c.values()) for c in mixed)
        distinct_samples = len({key(line) for line in samples})
        print(
            f"{name:<45} {len(labels):>6,} keys ({len(labels) / n:.1%}), "
            f"{len(mixed):>4} mixed, {minority:>4} minority-label lines; samples: "
            f"{distinct_samples:,} keys ({distinct_samples / len(samples):.1%})"
        )


if __name__ == "__main__":
    main()
