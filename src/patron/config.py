"""Settings of one Patron process, read from PATRON_* environment variables."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/patron.db"


class Settings(BaseSettings):
    """Everything a process needs to know; built once by the entry point, never at import."""

    model_config = SettingsConfigDict(env_prefix="PATRON_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = DEFAULT_DATABASE_URL
    # Largest request body accepted, in bytes; a bigger one is refused before it is parsed.
    max_body_bytes: int = 1_048_576
    # Slow clients: the request line and headers must arrive within `header_timeout_seconds`
    # (and be at most `max_url_bytes` / `max_header_bytes` long), the whole body within
    # `body_timeout_seconds` of the request's start; otherwise 408/414/431 and the
    # connection is closed.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_url_bytes: int = Field(default=8192, ge=256, le=1_048_576)
    max_header_bytes: int = Field(default=65536, ge=1024, le=1_048_576)
    # Failed logins of one till from one client address inside the window before that
    # till is refused from that address (security/throttle.py).
    auth_max_failures: int = Field(default=5, ge=1)
    auth_failure_window_seconds: int = Field(default=60, ge=1)
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names
    # the client a login is throttled under. Empty (default): the connection's peer.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # One JSON line per request on stderr (method, path, status, ms, request id).
    access_log: bool = True
    log_level: str = "INFO"
    # Connections per process: PostgreSQL's pool, or SQLite's idle readers kept open.
    db_pool_size: int = Field(default=10, ge=1)
    # API processes `patron run` serves with. Default: one per core on PostgreSQL; one on
    # SQLite, whose single writer does not scale across processes (docs/decisions.md).
    workers: int | None = Field(default=None, ge=1, le=64)
    # Answer every request with `X-Patron-Statements: N` (the statements it issued).
    statement_header: bool = False

    # Secrets at rest (webhook signing secrets) are encrypted with this key: 32 bytes,
    # base64. Without it, a key file is created on first use (keep it with the database).
    secret_key: str | None = None
    secret_key_file: Path = Path("var/secret.key")
    # Where customer images are kept (engagement/image_store.py): a directory (a path or a
    # file:// URL; default var/images, beside the default database and key file), or an
    # S3-compatible bucket, `s3://bucket/prefix?endpoint=https://host:9000&region=...`, with
    # credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN).
    image_store: str = "var/images"

    # Webhook delivery.
    worker_enabled: bool = True  # `patron run` also delivers; `patron worker` adds workers
    webhook_allow_private: bool = False  # deliver to loopback/private addresses (tests, labs)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_poll_seconds: float = Field(default=0.2, gt=0, le=10)
    webhook_lease_seconds: float = Field(default=60.0, gt=1)
    # Seconds to wait after each failed attempt; its sum (about 3 days) bounds the retries.
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 86400]
    )
    webhook_disable_after_seconds: float = Field(default=5 * 86400, gt=0)
    webhook_secret_grace_seconds: float = Field(default=86400, ge=0)
    # How often the worker looks for customers whose personal data is due for erasure.
    erasure_poll_seconds: float = Field(default=30.0, gt=0)
    # How often the delivery worker runs the scheduled jobs (scheduler.py): points expiry,
    # tier lapses, membership expiry reminders.
    scheduler_interval_seconds: float = Field(default=60.0, gt=0, le=86_400)

    # Failed credential checks of the user namespace (security/attempts.py): the consecutive
    # failures of an account / a client address before it waits, the first wait (doubling
    # with each further failure up to the cap), and the failures allowed per hour.
    credential_lock_threshold: int = Field(default=10, ge=1)
    credential_address_threshold: int = Field(default=30, ge=1)
    credential_lock_base_seconds: float = Field(default=30.0, gt=0)
    credential_lock_cap_seconds: float = Field(default=900.0, gt=0)
    credential_hourly_failures: int = Field(default=100, ge=1)

    # One-time codes and links to users (messages/): "file" writes them as JSON lines to
    # `messages_file` (development, tests); "smtp" sends email through `smtp_url`
    # (smtp://user:password@host:587, smtps://... for TLS from the start). Default: smtp when
    # `smtp_url` is set, else file. Links point at `public_url` (default http://host:port).
    message_sender: Literal["file", "smtp"] | None = None
    messages_file: Path = Path("var/messages.jsonl")
    smtp_url: str | None = None
    smtp_from: str = "Patron <no-reply@localhost>"
    public_url: str | None = None

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _schedule(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip().strip("[]")
            return [float(part) for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad one
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def api_processes(self) -> int:
        if self.workers is not None:
            return self.workers
        return 1 if self.is_sqlite else max(1, os.cpu_count() or 1)
