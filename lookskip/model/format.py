"""The exported model file's format name and version, and the check every reader makes.

Its own module, below the writer (:mod:`lookskip.model.export`) and the readers
(:mod:`lookskip.model.reference`), so a reader never imports the writer.
"""

from __future__ import annotations

from typing import Any

FORMAT = "lookskip-tfidf"
FORMAT_VERSION = 2
# Version 1 scored raw lines (char n-grams and features of the line, words of its
# normalized form); a line's score was not a function of its template key.
OLD_FORMAT_HELP = (
    "format_version 1 (scores raw lines, before template keys) is no longer read: "
    "retrain and export (`lookskip train && lookskip export`) or use the shipped model"
)


def check_version(doc: dict[str, Any], path: str) -> None:
    """Refuse a model file of another format version, saying what to do."""
    if doc.get("format_version") == 1:
        raise ValueError(f"{path}: {OLD_FORMAT_HELP}")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: format_version {doc.get('format_version')} is not supported "
            f"(this version reads {FORMAT_VERSION})"
        )
