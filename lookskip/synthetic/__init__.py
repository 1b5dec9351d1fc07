"""Seeded generator of the six synthetic, error-heavy datasets.

loghub samples are mostly routine noise; a classifier trained on them alone sees
few real failures. These datasets add realistic incidents in common formats:
multi-line Java and Python stack traces (``at …(X.java:42)``, ``Caused by:``),
kernel oopses, OOM kills and segfaults, database deadlocks and pool exhaustion,
HTTP 5xx bursts, circuit breakers and retries, brute-force logins and sudo abuse —
mixed with the routine lines around them, and many failures that never say
"ERROR" (a 503 in an access log, an OOM kill, ``Failed password``).

Deterministic: everything comes from one ``random.Random`` seeded from
``(seed, dataset name)`` and a simulated clock, never from the wall clock, so the
same seed gives byte-identical files (and the same sha256) on every machine.

Each system's generator is a module of this package (``java``, ``kernel``,
``database``, ``web``, ``microservices``, ``security``) over the shared pieces in
``common``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lookskip.synthetic.common import _rng
from lookskip.synthetic.database import _database_errors
from lookskip.synthetic.java import _java_app
from lookskip.synthetic.kernel import _kernel_errors
from lookskip.synthetic.microservices import _microservices
from lookskip.synthetic.security import _security_events
from lookskip.synthetic.web import _web_server

DEFAULT_SEED = 20250310

GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "JavaApp": _java_app,
    "KernelErrors": _kernel_errors,
    "DatabaseErrors": _database_errors,
    "WebServer": _web_server,
    "Microservices": _microservices,
    "SecurityEvents": _security_events,
}


def generate(name: str, seed: int = DEFAULT_SEED) -> str:
    """The synthetic sample ``name`` for ``seed`` (same inputs, same text, byte for byte)."""
    try:
        make = GENERATORS[name]
    except KeyError:
        raise ValueError(
            f"{name} is not a synthetic dataset; known: {', '.join(GENERATORS)}"
        ) from None
    return make(_rng(name, seed))
