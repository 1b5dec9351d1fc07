"""The LOOK threshold: what a run may be given, and which one it uses.

Its own module, below the scorer and every classify path, so a path that only needs
the rule (``classify.local``) does not import the scorer that imports it.
"""

from __future__ import annotations

import math
from typing import Any

THRESHOLD_RULE = "must be a number from 0 to 1 (p_look is a probability)"


def check_threshold(value: Any, name: str = "--threshold") -> float:
    """``value`` as a threshold, or ``ValueError`` naming ``name``.

    Why: a row is LOOK iff ``p_look >= threshold`` and ``p_look`` is a probability, so a
    threshold outside [0, 1] (or nan) silently makes every line LOOK or none.
    """
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = math.nan
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"{name} {value}: {THRESHOLD_RULE}")
    return t


def pick_threshold(given: Any, default: float, name: str = "--threshold") -> float:
    """The threshold a run uses: ``given`` (checked), else the model's ``default``."""
    return float(default) if given is None else check_threshold(given, name)
