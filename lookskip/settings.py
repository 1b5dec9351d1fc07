"""Settings from the environment and an optional ``lookskip.toml``.

One typed object (pydantic-settings) instead of ``os.environ`` lookups scattered
around: every stage, task and command reads the same values, and ``lookskip doctor``
can show them (secrets masked).

Precedence, highest first: keyword arguments, environment variables
(``LOOKSKIP_*``, plus the Anthropic SDK's own ``ANTHROPIC_API_KEY`` /
``ANTHROPIC_BASE_URL``), ``.env``, the TOML file named by ``LOOKSKIP_CONFIG``
(default ``./lookskip.toml``), then the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_LOGHUB_URL = "https://raw.githubusercontent.com/logpai/loghub/master"
LOCAL_DATA_DIR = "./data"


def user_data_dir() -> str:
    """The platform's per-user data dir for lookskip (``~/.local/share/lookskip`` on
    Linux, ``~/Library/Application Support/lookskip`` on macOS)."""
    import platformdirs

    return platformdirs.user_data_dir("lookskip", appauthor=False)


def default_data_dir() -> str:
    """``./data`` where it exists (a checkout, or a directory set up for lookskip), else
    the user-data dir: an installed ``lookskip`` run from any other directory neither
    scatters ``data/`` folders nor loses its labels and models to the cwd."""
    return LOCAL_DATA_DIR if Path(LOCAL_DATA_DIR).is_dir() else user_data_dir()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOOKSKIP_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -----------------------------------------------------------
    data_dir: str = Field(
        default_factory=lambda: default_data_dir(),
        description="Root of loghub/, labels/, batches/, models/ (default: ./data if it "
        "exists, else the platform's user-data dir).",
    )

    # --- ingestion ---------------------------------------------------------
    loghub_url: str = Field(DEFAULT_LOGHUB_URL, description="Base URL of the loghub repository.")

    # --- labeling ----------------------------------------------------------
    anthropic_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "LOOKSKIP_ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "LOOKSKIP_ANTHROPIC_BASE_URL")
    )
    label_model: str = "claude-haiku-4-5"
    window_size: int = Field(50, ge=1, le=500)
    max_tokens: int = 8192
    batch_max_requests: int = Field(100_000, description="Message Batches API limit per batch.")
    batch_max_bytes: int = Field(256 * 1024 * 1024, description="API limit on a batch's size.")
    poll_initial_s: float = 5.0
    poll_max_s: float = 300.0
    max_resubmits: int = 3
    api_max_retries: int = Field(4, ge=0, description="SDK retries on 429/5xx/connection errors.")
    api_timeout_s: float = Field(600.0, gt=0, description="SDK timeout per HTTP request.")
    system_prompt: str | None = Field(None, description="Override the labeling system prompt.")
    base_rows: str = Field(
        "",
        description="Base training rows: a path, 'none', or empty for the data dir's "
        "models/base_rows.jsonl.gz, else the shipped one.",
    )
    ask_per_request: int = Field(40, ge=1, le=200, description="Templates per ask-Claude request.")

    # --- job system --------------------------------------------------------
    broker_url: SecretStr = SecretStr("redis://localhost:6379/0")
    result_backend: SecretStr = SecretStr("redis://localhost:6379/0")
    flower_user: str = "admin"
    flower_password: SecretStr | None = None
    max_deliveries: int = Field(
        3, ge=1, description="A task started this many times without finishing fails for good."
    )
    reaper_interval_s: float = Field(
        30.0, ge=0, description="How often a worker looks for tasks held by dead workers; 0: never."
    )
    lock_url: SecretStr | None = Field(
        None,
        description="Redis for the state locks of an object-store data dir "
        "(default: the result backend).",
    )
    reaper_grace_s: float = Field(
        60.0, gt=0, description="The reaper hands back only tasks delivered this long ago."
    )
    allowed_roots: str | None = Field(
        None,
        description="Folders (comma-separated; URL prefixes too) where workers may read "
        "and write; default: the data dir and /data (lookskip.roots).",
    )

    # --- classification ----------------------------------------------------
    model_path: str | None = Field(None, description="Default model for `lookskip classify`.")
    threads: int = Field(0, description="Classifier threads; 0 means all cores.")
    device: str = Field("auto", description="BERT device: auto|cpu|metal|cuda.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("LOOKSKIP_CONFIG", "lookskip.toml"))
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
            file_secret_settings,
        )

    # Paths under the data dir, named once so every stage agrees on the layout.
    def path(self, *parts: str) -> str:
        return "/".join([self.data_dir.rstrip("/"), *parts])

    def data_dir_origin(self) -> str:
        """Why the data dir is this one, for ``--help`` readers and ``doctor``."""
        if "data_dir" in self.model_fields_set:
            return "LOOKSKIP_DATA_DIR or lookskip.toml"
        if self.data_dir == LOCAL_DATA_DIR:
            return "./data exists here"
        return "no ./data here: the user-data dir"

    @property
    def loghub_dir(self) -> str:
        return self.path("loghub")

    @property
    def labels_dir(self) -> str:
        return self.path("labels")

    @property
    def batches_dir(self) -> str:
        return self.path("batches")

    @property
    def models_dir(self) -> str:
        return self.path("models")

    @property
    def cache_dir(self) -> str:
        return self.path("cache")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
