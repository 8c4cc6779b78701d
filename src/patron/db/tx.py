"""One transaction's connection, as repositories see it: the same five calls on both engines.

    rows = await tx.all(Q, **params)      every row
    row = await tx.one(Q, **params)       the first row, or None
    value = await tx.val(Q, **params)     the first column of the first row, or None
    count = await tx.run(Q, **params)     rows changed
    await tx.many(Q, [params, ...])       the statement once per parameter set
    ids = await tx.ids("customer", n)     fresh ids of a sequence

On SQLite the calls run the driver directly on the caller's thread: a statement on a
warm page cache takes microseconds, far less than a hop to a thread and back, and the
writer connection is only ever used by one unit of work at a time (db/engine.py). On
PostgreSQL they are asyncpg calls on a pooled connection, prepared once per connection.
Driver integrity errors surface as `IntegrityError`, so services catch one type.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import asyncpg

from patron.db.sql import POSTGRESQL, SQLITE, Q

Row = Any  # sqlite3.Row or asyncpg.Record: both read by column name or position
SEQUENCES = ("org", "till", "customer", "card", "change", "event", "endpoint", "attempt")


class IntegrityError(Exception):
    """A write broke a unique or foreign key: a concurrent writer got there first."""


class Observer(Protocol):
    def __call__(self, dialect: str, text: str) -> None: ...


class Counter:
    """Statements issued on behalf of one request (for `X-Patron-Statements` and bench)."""

    __slots__ = ("statements",)

    def __init__(self) -> None:
        self.statements = 0


class Tx:
    dialect: str

    async def all(self, q: Q, /, **params: Any) -> list[Row]:
        raise NotImplementedError

    async def one(self, q: Q, /, **params: Any) -> Row | None:
        raise NotImplementedError

    async def val(self, q: Q, /, **params: Any) -> Any:
        raise NotImplementedError

    async def run(self, q: Q, /, **params: Any) -> int:
        raise NotImplementedError

    async def many(self, q: Q, rows: Sequence[Mapping[str, Any]], /) -> None:
        raise NotImplementedError

    async def ids(self, name: str, count: int = 1) -> list[int]:
        raise NotImplementedError

    async def id(self, name: str) -> int:
        return (await self.ids(name, 1))[0]


class SqliteIds:
    """Id counters for one SQLite write transaction.

    The transaction holds the database's write lock from BEGIN IMMEDIATE to COMMIT, so
    no other process moves a counter meanwhile: each counter is read once, handed out
    from memory, and written back once before COMMIT (`persist`). Ids given to a unit of
    work that rolls back to its savepoint are simply skipped.
    """

    __slots__ = ("_conn", "_next", "_read")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._next: dict[str, int] = {}
        self._read: set[str] = set()

    def take(self, name: str, count: int) -> list[int]:
        if name not in SEQUENCES:
            raise ValueError(f"unknown id sequence {name!r}")
        start = self._next.get(name)
        if start is None:
            row = self._conn.execute("SELECT value FROM id_sequence WHERE name = ?", (name,)).fetchone()
            start = int(row[0]) + 1
            self._read.add(name)
        self._next[name] = start + count
        return list(range(start, start + count))

    def persist(self) -> None:
        for name in self._read:
            self._conn.execute(
                "UPDATE id_sequence SET value = ? WHERE name = ?", (self._next[name] - 1, name)
            )


class SqliteTx(Tx):
    dialect = SQLITE
    __slots__ = ("_conn", "_counter", "_ids", "_observe")

    def __init__(
        self,
        conn: sqlite3.Connection,
        ids: SqliteIds | None,
        counter: Counter | None,
        observe: Observer | None,
    ) -> None:
        self._conn = conn
        self._ids = ids
        self._counter = counter
        self._observe = observe

    def _exec(self, q: Q, params: Mapping[str, Any]) -> sqlite3.Cursor:
        c = q.compiled(SQLITE)
        if self._counter is not None:
            self._counter.statements += 1
        if self._observe is not None:
            self._observe(SQLITE, c.text)
        try:
            return self._conn.execute(c.text, c.args(params))
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from None

    async def all(self, q: Q, /, **params: Any) -> list[Row]:
        return self._exec(q, params).fetchall()

    async def one(self, q: Q, /, **params: Any) -> Row | None:
        return self._exec(q, params).fetchone()

    async def val(self, q: Q, /, **params: Any) -> Any:
        row = self._exec(q, params).fetchone()
        return None if row is None else row[0]

    async def run(self, q: Q, /, **params: Any) -> int:
        return self._exec(q, params).rowcount

    async def many(self, q: Q, rows: Sequence[Mapping[str, Any]], /) -> None:
        if not rows:
            return
        c = q.compiled(SQLITE)
        if self._counter is not None:
            self._counter.statements += 1
        if self._observe is not None:
            self._observe(SQLITE, c.text)
        try:
            if len(rows) == 1:
                self._conn.execute(c.text, c.args(rows[0]))
            else:
                self._conn.executemany(c.text, [c.args(r) for r in rows])
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from None

    async def ids(self, name: str, count: int = 1) -> list[int]:
        if self._ids is None:
            raise RuntimeError("a read-only unit of work cannot take ids")
        return self._ids.take(name, count)


_NEXTVAL = {name: Q(f"SELECT nextval('{name}_id_seq') FROM generate_series(1, :n)") for name in SEQUENCES}


class PgTx(Tx):
    dialect = POSTGRESQL
    __slots__ = ("_conn", "_counter", "_observe")

    def __init__(self, conn: asyncpg.Connection, counter: Counter | None, observe: Observer | None) -> None:
        self._conn = conn
        self._counter = counter
        self._observe = observe

    def _prep(self, q: Q, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        c = q.compiled(POSTGRESQL)
        if self._counter is not None:
            self._counter.statements += 1
        if self._observe is not None:
            self._observe(POSTGRESQL, c.text)
        return c.text, c.args(params)

    async def all(self, q: Q, /, **params: Any) -> list[Row]:
        text, args = self._prep(q, params)
        try:
            return list(await self._conn.fetch(text, *args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None

    async def one(self, q: Q, /, **params: Any) -> Row | None:
        text, args = self._prep(q, params)
        try:
            return await self._conn.fetchrow(text, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None

    async def val(self, q: Q, /, **params: Any) -> Any:
        text, args = self._prep(q, params)
        try:
            return await self._conn.fetchval(text, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None

    async def run(self, q: Q, /, **params: Any) -> int:
        text, args = self._prep(q, params)
        try:
            status = await self._conn.execute(text, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def many(self, q: Q, rows: Sequence[Mapping[str, Any]], /) -> None:
        if not rows:
            return
        c = q.compiled(POSTGRESQL)
        if self._counter is not None:
            self._counter.statements += 1
        if self._observe is not None:
            self._observe(POSTGRESQL, c.text)
        try:
            await self._conn.executemany(c.text, [c.args(r) for r in rows])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None

    async def ids(self, name: str, count: int = 1) -> list[int]:
        if name not in SEQUENCES:
            raise ValueError(f"unknown id sequence {name!r}")
        return [int(r[0]) for r in await self.all(_NEXTVAL[name], n=count)]


Hook = Callable[[], None]
