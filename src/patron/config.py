"""Settings of one Patron process, read from PATRON_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/patron.db"


class Settings(BaseSettings):
    """Everything a process needs to know; built once by the entry point, never at import."""

    model_config = SettingsConfigDict(env_prefix="PATRON_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = DEFAULT_DATABASE_URL
    # Largest request body accepted, in bytes; a bigger one is refused before it is parsed.
    max_body_bytes: int = 1_048_576
    # Failed logins for one username inside the window before that username is throttled.
    auth_max_failures: int = 5
    auth_failure_window_seconds: int = 60
    # How long a verified credential is trusted without a new Argon2 check.
    auth_cache_seconds: int = 60
    sql_echo: bool = False
    # One JSON line per request on stderr (method, path, status, ms, request id).
    access_log: bool = True
    log_level: str = "INFO"
    db_pool_size: int = Field(default=10, ge=1)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """Return the database file of a SQLite URL (None for in-memory or other engines)."""
        if not self.is_sqlite:
            return None
        _, _, rest = self.database_url.partition(":///")
        if not rest or rest.startswith(":memory:"):
            return None
        return Path(rest.split("?", 1)[0])
