"""The dataset registry: a TOML data file, not Python source.

The packaged default (``data/datasets.toml``) lists the 16 loghub samples and the
6 synthetic ones. ``lookskip datasets add`` writes the user's copy in the data dir
(``<data_dir>/datasets.toml``), which — when present — is read instead, so a user's
registry survives upgrades of the package.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from lookskip import storage
from lookskip.samples import SAMPLE_MAX_LINE_BYTES, IngestError, check_text
from lookskip.settings import Settings, get_settings
from lookskip.shipped import shipped_file

SOURCES = ("loghub", "synthetic", "file")
SAMPLE_SUFFIX = "_2k.log"
MAX_NAME = 64  # the name becomes a file name (<name>_2k.log, <name>.jsonl)
NAME_RE = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME - 1}}}")


class DatasetError(ValueError):
    """A dataset name or registry entry that cannot be used."""


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str
    ground_truth: bool = False
    path: str | None = None  # where a "file" dataset was taken from

    @property
    def sample_name(self) -> str:
        """File name of the sample under ``<data_dir>/loghub/``."""
        return f"{self.name}{SAMPLE_SUFFIX}"


def _default_registry_text() -> str:
    shipped = shipped_file("datasets.toml")
    if shipped is None:
        raise FileNotFoundError("the shipped datasets.toml is missing (a broken install?)")
    return shipped.read_text(encoding="utf-8")


def registry_path(settings: Settings | None = None) -> str:
    return (settings or get_settings()).path("datasets.toml")


def load_registry(settings: Settings | None = None) -> dict[str, Dataset]:
    """All registered datasets by name, in file order."""
    user = registry_path(settings)
    text = storage.read_text(user) if storage.exists(user) else _default_registry_text()
    raw = tomllib.loads(text).get("datasets", {})
    out: dict[str, Dataset] = {}
    for name, entry in raw.items():
        source = entry.get("source")
        if source not in SOURCES:
            raise DatasetError(f"dataset {name!r}: source must be one of {SOURCES}, got {source!r}")
        out[name] = Dataset(name, source, bool(entry.get("ground_truth", False)), entry.get("path"))
    return out


def select(
    names: str | list[str] | None, settings: Settings | None = None, source: str | None = None
) -> list[Dataset]:
    """Datasets named in ``names`` (comma-separated or a list), or all; optionally one source.

    Unknown names raise a ``DatasetError`` listing the known ones, so a typo in
    ``--datasets`` fails before any work starts.
    """
    registry = load_registry(settings)
    if names:
        wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
        wanted = [n for n in wanted if n]
        unknown = [n for n in wanted if n not in registry]
        if unknown:
            raise DatasetError(
                f"unknown dataset(s): {', '.join(unknown)}; known: {', '.join(registry)}"
            )
        chosen = [registry[n] for n in wanted]
    else:
        chosen = list(registry.values())
    return [d for d in chosen if source is None or d.source == source]


def _toml_entry(d: Dataset) -> str:
    lines = [f"[datasets.{d.name}]", f'source = "{d.source}"']
    if d.ground_truth:
        lines.append("ground_truth = true")
    if d.path:
        lines.append(f"path = {d.path!r}".replace("'", '"'))
    return "\n".join(lines)


def check_name(name: str) -> None:
    """A dataset name is ASCII letters, digits and ``_``, at most ``MAX_NAME`` long."""
    if len(name) > MAX_NAME:
        raise DatasetError(f"dataset name is {len(name)} characters long (at most {MAX_NAME})")
    if not NAME_RE.fullmatch(name):
        raise DatasetError(
            f"dataset name {name!r} must be ASCII letters, digits and _ (not starting with a digit)"
        )


def _read_sample(path: str, lines: int) -> bytes:
    """The first ``lines`` lines of ``path`` (gzip by suffix), reading at most one line
    longer than the ingest limit, so a huge single-line file is refused, not loaded."""
    parts: list[bytes] = []
    with storage.open_file(path, "rb", compression="infer") as src:
        for _ in range(lines):
            raw = src.readline(SAMPLE_MAX_LINE_BYTES + 2)
            if not raw:
                break
            parts.append(raw if raw.endswith(b"\n") else raw + b"\n")
            if len(raw) > SAMPLE_MAX_LINE_BYTES + 1:  # (no newline within the limit: too long)
                break
    return b"".join(parts)


def add_dataset(
    name: str,
    path: str,
    lines: int = 2000,
    settings: Settings | None = None,
    force: bool = False,
) -> tuple[Dataset, int]:
    """Register a user's log as dataset ``name``: its first ``lines`` lines become the sample.

    The sample must pass ingest's checks (not empty, no NUL byte, UTF-8, lines within
    the limit). An existing entry is replaced only with ``force``, except re-adding a
    ``file`` dataset from the same path (idempotent). Returns the dataset and the
    number of lines written.
    """
    settings = settings or get_settings()
    check_name(name)
    if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
        raise DatasetError(f"--lines must be a whole number of at least 1, got {lines!r}")
    registry = load_registry(settings)
    old = registry.get(name)
    same = old is not None and old.source == "file" and old.path == str(path)
    if old is not None and not (force or same):
        what = f"the {old.source} dataset" + (f" from {old.path}" if old.path else "")
        raise DatasetError(f"{name} is already registered ({what}); use --force to replace it")
    fs, fpath = storage.fs_and_path(path)
    if not fs.exists(fpath):
        raise DatasetError(f"{path}: no such file")
    if fs.isdir(fpath):
        raise DatasetError(f"{path}: is a directory, not a log file")
    try:
        data = _read_sample(path, lines)
        taken = check_text(data)
    except IngestError as exc:
        raise DatasetError(f"{path}: {exc}") from None
    except (OSError, EOFError) as exc:  # unreadable, or a .gz that is not gzip / cut short
        raise DatasetError(f"{path}: cannot read it ({type(exc).__name__}: {exc})") from None
    sample = storage.join(settings.loghub_dir, f"{name}{SAMPLE_SUFFIX}")
    storage.write_bytes(sample, data)
    registry[name] = Dataset(name, "file", False, str(path))
    body = "\n\n".join(_toml_entry(d) for d in registry.values())
    storage.write_text(registry_path(settings), "# lookskip dataset registry\n\n" + body + "\n")
    return registry[name], taken
