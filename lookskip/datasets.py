"""The dataset registry: a TOML data file, not Python source.

The packaged default (``data/datasets.toml``) lists the 16 loghub samples and the
6 synthetic ones. ``lookskip datasets add`` writes the user's copy in the data dir
(``<data_dir>/datasets.toml``), which — when present — is read instead, so a user's
registry survives upgrades of the package.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lookskip import storage
from lookskip.settings import Settings, get_settings

SOURCES = ("loghub", "synthetic", "file")
SAMPLE_SUFFIX = "_2k.log"


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
    repo_copy = Path(__file__).resolve().parent.parent / "data" / "datasets.toml"
    if repo_copy.exists():  # running from a checkout
        return repo_copy.read_text(encoding="utf-8")
    return resources.files("lookskip").joinpath("_data/datasets.toml").read_text("utf-8")


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


def add_dataset(
    name: str, path: str, lines: int = 2000, settings: Settings | None = None
) -> tuple[Dataset, int]:
    """Register a user's log as dataset ``name``: its first ``lines`` lines become the sample.

    Returns the dataset and the number of lines written. Re-adding the same name
    replaces the sample (idempotent).
    """
    settings = settings or get_settings()
    if not name.isidentifier():
        raise DatasetError(f"dataset name {name!r} must be letters, digits and _ only")
    if not storage.exists(path):
        raise DatasetError(f"{path}: no such file")
    sample = storage.join(settings.loghub_dir, f"{name}{SAMPLE_SUFFIX}")
    taken = 0
    with (
        storage.open_file(path, "rb", compression="infer") as src,
        storage.atomic_writer(sample, "wb") as dst,
    ):
        for raw in src:
            dst.write(raw if raw.endswith(b"\n") else raw + b"\n")
            taken += 1
            if taken >= lines:
                break
    if taken == 0:
        raise DatasetError(f"{path}: the file is empty")
    registry = load_registry(settings)
    registry[name] = Dataset(name, "file", False, str(path))
    body = "\n\n".join(_toml_entry(d) for d in registry.values())
    storage.write_text(registry_path(settings), "# lookskip dataset registry\n\n" + body + "\n")
    return registry[name], taken
