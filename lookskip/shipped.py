"""Files that ship with lookskip: the dataset registry and ``data/models`` (the model
and what is committed beside it).

They live in the checkout under ``data/`` and, in an installed wheel, as package data
under ``lookskip/_data/`` (pyproject's hatch ``sources``), so ``lookskip classify``
works from any directory, not only inside the checkout. One function finds them either
way, so no caller guesses at the layout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT_DATA = Path(__file__).resolve().parent.parent / "data"


def shipped_file(relpath: str) -> Path | None:
    """The shipped file ``relpath`` (relative to ``data/``, e.g. ``models/x.json.gz``):
    the checkout's copy when running from one (editable install), else the installed
    package data; None if neither has it."""
    repo_copy = _CHECKOUT_DATA / relpath
    if repo_copy.is_file():
        return repo_copy
    packaged = Path(str(resources.files("lookskip").joinpath("_data", relpath)))
    return packaged if packaged.is_file() else None
