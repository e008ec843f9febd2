"""Settings from the environment (or a `.env` file). Invalid values stop the process at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "figures.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        description="Database the API reads (SQLite file or PostgreSQL, read-only role).",
    )
    loader_database_url: str | None = Field(
        default=None,
        description="Database migrations and the loader write to (owner role); defaults to DATABASE_URL.",
    )
    seed_dir: Path = Field(default=PROJECT_ROOT / "seed", description="Directory of the seed dataset.")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^/?#\s]+$",
        description=(
            "Where people reach this API (scheme and host, no path): the base of the absolute URLs the HTML pages "
            "show (curl lines, Cite this, JSON-LD). Never taken from a request's Host header."
        ),
    )
    cors_allow_origins: list[str] = Field(default=["*"], description="Origins allowed to GET (CORS).")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    access_log: Literal["json", "text", "off"] = Field(
        default="json",
        description="Access log: one JSON line per request with its X-Request-ID (json), uvicorn's (text), none.",
    )
    response_cache: bool = Field(
        default=True,
        description="Keep rendered responses in memory, invalidated by every reload (false: render every request).",
    )
    fast_path: bool = Field(
        default=True,
        description=(
            "Answer the common /v1/metrics JSON pages (value range, country, id order) under FastAPI's routing, with "
            "the same bytes (app/api/fastpath.py); false: every request through the routes."
        ),
    )
    cache_max_age: int = Field(default=300, ge=0, description="Cache-Control max-age, seconds.")
    stale_if_error_s: int = Field(
        default=86400,
        ge=0,
        description="Cache-Control stale-if-error: seconds past max-age a cache may reuse an answer on errors.",
    )
    statement_timeout_ms: int = Field(default=5000, ge=1, description="Longest a query may run.")
    pool_size: int = Field(default=5, ge=1)
    pool_max_overflow: int = Field(default=5, ge=0)
    pool_timeout_s: float = Field(default=5.0, gt=0, description="Longest a request waits for a connection.")
    connect_timeout_s: int = Field(default=5, ge=1)
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After sent with 503 responses.")
    max_concurrent_requests: int = Field(
        default=200,
        ge=1,
        description="Requests the app works on at once; one more gets 503 problem+json at once (not queued).",
    )
    public_base_url: str | None = Field(
        default=None,
        description="Where the API is published (https://host[/prefix]): absolute links in the data package and "
        "JSON-LD ids. Unset: relative links. Never taken from the Host header.",
    )

    @field_validator("database_url", "loader_database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("sqlite:", "sqlite+pysqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _absolute_base(cls, value: str | None) -> str | None:
        if not value:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("must be an absolute http(s) URL without query or fragment, e.g. https://data.example.org")
        return value.rstrip("/")

    @property
    def writer_url(self) -> str:
        return self.loader_database_url or self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
