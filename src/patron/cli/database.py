"""The database of a CLI command, opened only when its schema is the one this Patron has.

Only `patron migrate`, `patron run` and `patron worker` apply migrations. Every other
command checks the schema's Alembic revision first (one read of `alembic_version`) and,
against a database `patron migrate` has not brought up to date, stops with one line on
stderr saying so, instead of failing later on a missing table with a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from alembic.script import ScriptDirectory

from patron.config import Settings
from patron.db.engine import Database, create_database, sqlite_path
from patron.db.migrate import alembic_config, schema_revision
from patron.errors import PatronError

T = TypeVar("T")
RUN_MIGRATE = "run `patron migrate` first"


class SchemaNotReady(Exception):
    """The database is missing, empty, or at another revision than this Patron's."""


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def check_file(settings: Settings) -> None:
    """A SQLite database must exist before a command opens it (opening would create it)."""
    if settings.is_sqlite and not sqlite_path(settings.database_url).exists():
        path = sqlite_path(settings.database_url)
        raise SchemaNotReady(f"there is no database at {path}: {RUN_MIGRATE}")


async def check_schema(db: Database, settings: Settings) -> None:
    """The schema is at this Patron's head revision, or SchemaNotReady says what to do."""
    found = await db.read(schema_revision)
    if found is None:
        raise SchemaNotReady(f"the database has no Patron schema yet: {RUN_MIGRATE}")
    scripts = ScriptDirectory.from_config(alembic_config(settings.database_url))
    head = scripts.get_current_head()
    if found == head:
        return
    if found not in {s.revision for s in scripts.walk_revisions()}:
        raise SchemaNotReady(
            f"the database schema is at revision {found}, which this Patron does not know "
            "(a newer Patron migrated it): run that version"
        )
    raise SchemaNotReady(
        f"the database schema is at revision {found}, this Patron needs {head}: {RUN_MIGRATE}"
    )


def run_with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """`work(db)` on a started database whose schema is current. A database that is not, or
    a domain error, ends the command with one line on stderr and status 1."""

    async def main() -> T:
        check_file(settings)
        db = create_database(settings)
        try:
            await db.start()
            await check_schema(db, settings)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except SchemaNotReady as exc:
        fail(str(exc))
    except PatronError as exc:
        fail(exc.message)
