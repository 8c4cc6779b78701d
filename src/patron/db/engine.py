"""Engines and sessions for the two supported engines.

SQLite (the embedded default) allows one writer at a time. Patron gives it exactly one
writer connection, whose transactions begin IMMEDIATE, so concurrent writes queue in the
pool instead of failing with "database is locked"; reads use a pool of their own and see
the last committed state through WAL. PostgreSQL uses one pool for both.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from patron.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions on its own: Patron issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit that was acknowledged survives a power cut.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_engine(url: str, *, writer: bool, pool_size: int, echo: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,  # errors and logs never show identifier values
        pool_size=1 if writer else pool_size,
        max_overflow=0,
        pool_timeout=60,
    )
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


@dataclass
class Database:
    """The process's engines and session factories; built by the entry point."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    write_sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    # Set after a commit that wrote events, so an in-process worker delivers at once.
    outbox_signal: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when this process changed a webhook endpoint, so its worker reloads them at once.
    endpoints_changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def dialect_of(session: AsyncSession) -> str:
    """The engine name ("sqlite", "postgresql") a session talks to."""
    return session.sync_session.get_bind().dialect.name


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite database file if it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_database(settings: Settings) -> Database:
    url = settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        ensure_sqlite_directory(url)
        writer = _sqlite_engine(url, writer=True, pool_size=1, echo=settings.sql_echo)
        reader = _sqlite_engine(url, writer=False, pool_size=settings.db_pool_size, echo=settings.sql_echo)
    else:
        writer = create_async_engine(
            url,
            echo=settings.sql_echo,
            hide_parameters=True,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_pre_ping=True,
        )
        reader = writer
    return Database(
        url=url,
        writer=writer,
        reader=reader,
        write_sessions=async_sessionmaker(writer, expire_on_commit=False, autoflush=False),
        read_sessions=async_sessionmaker(reader, expire_on_commit=False, autoflush=False),
    )
