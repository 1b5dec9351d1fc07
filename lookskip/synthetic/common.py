"""Shared pieces of the synthetic generators: the seeded RNG, the simulated clock,
timestamp and id formats, and the event mixer every system uses."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta

MIN_LINES, MAX_LINES = 420, 600  # target is drawn in [MIN_LINES, MAX_LINES - 20]

Event = list[str]


def _rng(name: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class Clock:
    """Simulated time that only moves forward, by random steps."""

    def __init__(self, rng: random.Random, start: datetime):
        self.rng = rng
        self.now = start
        self.start = start

    def tick(self, lo_ms: int = 5, hi_ms: int = 4000) -> datetime:
        self.now += timedelta(milliseconds=self.rng.randint(lo_ms, hi_ms))
        return self.now

    @property
    def uptime(self) -> float:
        """Seconds since boot, as the kernel prints them."""
        return 3.0 + (self.now - self.start).total_seconds()


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1)


def _mon(t: datetime) -> str:
    """``%b`` without the locale: the generator must not depend on the machine."""
    return _MONTHS[t.month - 1]


def _syslog_ts(t: datetime) -> str:
    return f"{_mon(t)} {t.day:2d} {t:%H:%M:%S}"


def _epoch(t: datetime) -> float:
    """Seconds since the epoch for a naive UTC time (``.timestamp()`` would use local time)."""
    return (t - _EPOCH).total_seconds()


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _ip(rng: random.Random, private: bool = False) -> str:
    if private:
        return f"10.{rng.randint(0, 3)}.{rng.randint(0, 12)}.{rng.randint(2, 250)}"
    return (
        f"{rng.choice([23, 45, 61, 77, 89, 103, 118, 141, 176, 185, 194, 203])}."
        f"{rng.randint(1, 254)}.{rng.randint(0, 254)}.{rng.randint(1, 254)}"
    )


def _build(
    rng: random.Random,
    start: list[str],
    events: list[tuple[int, Callable[[], Event]]],
    end: Callable[[], Event] | None = None,
) -> str:
    """Draw weighted events until the target length; never exceed ``MAX_LINES``."""
    lines = list(start)
    target = rng.randint(MIN_LINES, MAX_LINES - 20)
    weights = [w for w, _ in events]
    makers = [m for _, m in events]
    once = list(makers)  # every kind of event shows up at least once (rarely later than ~70)
    rng.shuffle(once)
    while len(lines) < target:
        make = once.pop() if once and rng.random() < 0.15 else rng.choices(makers, weights)[0]
        event = make()
        if len(lines) + len(event) <= MAX_LINES - 5:
            lines.extend(event)
    if end:
        lines.extend(end())
    return "\n".join(lines) + "\n"


# =========================================================================== JavaApp
