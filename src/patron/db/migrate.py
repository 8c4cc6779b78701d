"""Apply the schema migrations (Alembic) to the configured database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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
