"""Transformer scores kept across runs: ``<data_dir>/cache/transformer/<model hash>.sqlite``.

A system's templates recur in every archive it writes, so a transformer input scored
once is worth keeping: the next run (or another worker sharing the data dir) loads
the scores into the Rust engine's memo (``Classifier.load_transformer_scores``) and
scores only inputs it has never seen, then adds those
(``Classifier.take_transformer_scores``). The file is keyed by the export's hash
(config, tokenizer and weights), so a retrained model never reads another's scores.

Why sqlite: concurrent runs and workers write the same file, and sqlite's locking
(WAL, a busy timeout) keeps it whole without a lock of our own. Bounded: past
``max_entries`` the oldest-added scores are dropped (a score never changes, so
"oldest added" is the only order that matters). A cache that cannot be opened or
written (read-only data dir, an object-store data dir) is skipped with a reason: it
only saves time, never changes a row.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable

DEFAULT_MAX_ENTRIES = 200_000
_HASHED = ("config.json", "tokenizer.json", "model.safetensors")


def export_hash(export_dir: str) -> str:
    """A short hash of what decides the transformer's scores (config, tokenizer, weights)."""
    h = hashlib.sha256()
    for name in _HASHED:
        path = os.path.join(export_dir, name)
        h.update(name.encode() + b"\0")
        if os.path.exists(path):
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def cache_path(cache_dir: str, model_hash: str) -> str:
    return os.path.join(cache_dir, "transformer", f"{model_hash}.sqlite")


class ScoreCache:
    """The persistent scores of one transformer export (see the module docs)."""

    def __init__(self, path: str, max_entries: int = DEFAULT_MAX_ENTRIES):
        self.path = path
        self.max_entries = max_entries

    def _connect(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS scores (input TEXT PRIMARY KEY, p REAL NOT NULL)")
        return db

    def load(self) -> list[tuple[str, float]]:
        """Every kept score, oldest first."""
        if not os.path.exists(self.path):
            return []
        db = self._connect()
        try:
            return list(db.execute("SELECT input, p FROM scores ORDER BY rowid"))
        finally:
            db.close()

    def add(self, entries: Iterable[tuple[str, float]]) -> int:
        """Keep ``entries`` (inputs already kept are left as they are), then drop the
        oldest beyond ``max_entries``; returns how many rows were added."""
        rows = list(entries)
        if not rows:
            return 0
        db = self._connect()
        try:
            with db:
                before = db.total_changes
                db.executemany("INSERT OR IGNORE INTO scores (input, p) VALUES (?, ?)", rows)
                added = db.total_changes - before
                db.execute(
                    "DELETE FROM scores WHERE rowid <= (SELECT max(rowid) FROM scores) - ?",
                    (self.max_entries,),
                )
            return added
        finally:
            db.close()

    def __len__(self) -> int:
        if not os.path.exists(self.path):
            return 0
        db = self._connect()
        try:
            return int(db.execute("SELECT count(*) FROM scores").fetchone()[0])
        finally:
            db.close()
