"""Apply the schema migrations (Alembic) to the configured database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from patron.db.sql import Q
from patron.db.uow import UnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    return config


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite database file if it does not exist yet."""
    if url.startswith("sqlite"):
        _, _, rest = url.partition(":///")
        path = rest.split("?", 1)[0]
        if path and not path.startswith(":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; a database already there is left untouched."""
    ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), revision)


_VERSION = Q("SELECT version_num FROM alembic_version")


async def schema_revision(uow: UnitOfWork) -> str | None:
    """The database's Alembic revision, or None when it was never migrated."""
    try:
        return await uow.tx.val(_VERSION)  # type: ignore[no-any-return]
    except (sqlite3.OperationalError, asyncpg.UndefinedTableError):
        return None  # no alembic_version table
