"""One settings object for the whole service (CLI, batch, models, API).

Why: paths, database URL and MLflow store are decided in one place, read from ``TIERING_*``
environment variables (or a ``.env`` file), built once and handed out; nothing creates folders or
connects anywhere at import time. Unsafe defaults refuse to run outside development.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Service settings; every field can be set as ``TIERING_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="TIERING_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    home: Path = Field(
        default=Path("tiering-data"), description="root for data, runs, store and models"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in home"
    )
    mlflow_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default SQLite in home"
    )
    runs_dir: Path | None = None
    api_rate_limit_per_minute: int = 600
    api_key_pepper: str = "dev-only-pepper"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production" and self.api_key_pepper == "dev-only-pepper":
            raise ValueError("TIERING_API_KEY_PEPPER must be set to a secret in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'store.db').resolve()}"

    @property
    def resolved_mlflow_uri(self) -> str:
        return self.mlflow_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def resolved_runs_dir(self) -> Path:
        return self.runs_dir or self.home / "runs"


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
