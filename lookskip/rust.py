"""Whether the Rust extension is used: one switch for every path that can use it.

``lookskip_rs`` is built by ``scripts/setup``. ``LOOKSKIP_NO_RUST=1`` turns it off
(to test or to compare); callers then use the numpy/Python definitions, which give
the same results, slower.
"""

from __future__ import annotations

import os
from typing import Any

NO_RUST_ENV = "LOOKSKIP_NO_RUST"


def rust_module() -> tuple[Any | None, str | None]:
    """``(lookskip_rs, None)``, or ``(None, why it is not used)``."""
    if os.environ.get(NO_RUST_ENV, "").strip() not in ("", "0"):
        return None, f"disabled by {NO_RUST_ENV}"
    try:
        import lookskip_rs
    except ImportError as exc:
        return None, f"not built ({exc}); run scripts/setup"
    return lookskip_rs, None
