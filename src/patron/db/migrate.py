"""Apply the schema migrations (Alembic) to the configured database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from patron.db.engine import ensure_sqlite_directory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; a database already there is left untouched."""
    ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), revision)
