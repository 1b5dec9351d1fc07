"""Shared fixtures.

Tests read the reference data through ``LOOKSKIP_SHARED_DATA`` (default
``../shared/data`` beside the project) and never copy it into the repository.
Each test that writes gets its own data dir, so tests cannot see each other's files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures_apisim import api_sim  # noqa: F401  (Batch-API simulator fixture)

from lookskip.settings import get_settings

pytest_plugins = ["fixtures_services"]  # redis_service, celery_workers (integration tests)

ROOT = Path(__file__).resolve().parent.parent
# Tests train on the small label sets they make, not on the shipped base rows (a test
# that wants them sets LOOKSKIP_BASE_ROWS itself); worker processes inherit this.
os.environ.setdefault("LOOKSKIP_BASE_ROWS", "none")
SHARED_DATA = Path(os.environ.get("LOOKSKIP_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "loghub").is_dir():
        pytest.fail(f"shared reference data not found at {SHARED_DATA} (set LOOKSKIP_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data dir that the settings point at for this test."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("LOOKSKIP_DATA_DIR", str(d))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    get_settings.cache_clear()
    yield d
    get_settings.cache_clear()
