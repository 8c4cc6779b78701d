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

import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any, Protocol

import asyncpg
import orjson

from patron.db.sql import POSTGRESQL, SQLITE, Q

Row = Any  # sqlite3.Row or asyncpg.Record: both read by column name or position
SEQUENCES = (
    "org",
    "till",
    "customer",
    "card",
    "change",
    "event",
    "endpoint",
    "attempt",
    "ledger",
    "bill",
    "transfer",
    "goodwill",
    "grp",
    "coupon",
    "redemption",
    "change_request",
    "retro_request",
    "user_record",
    "merge",
)


class IntegrityError(Exception):
    """A write broke a unique or foreign key: a concurrent writer got there first."""


class Observer(Protocol):
    def __call__(self, dialect: str, text: str) -> None: ...


class Counter:
    """Statements issued on behalf of one request (for `X-Patron-Statements` and bench)."""

    __slots__ = ("statements",)

    def __init__(self) -> None:
        self.statements = 0


@dataclass(frozen=True, slots=True)
class Table:
    """A table written with `tx.insert`: its columns with their PostgreSQL types, and the
    column (if any) filled from a sequence in insertion order (history, events)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    sequence: tuple[str, str] | None = None

    @property
    def sqlite_insert(self) -> Q:
        names = [c for c, _ in self.columns] + ([self.sequence[0]] if self.sequence else [])
        return _sqlite_insert(self.name, tuple(names))

    def pg_fragment(self) -> str:
        """A data-modifying CTE inserting rows given as one array per column."""
        names = [c for c, _ in self.columns]
        select = [f"u.{c}::jsonb" if t == "jsonb" else f"u.{c}" for c, t in self.columns]
        arrays = [f":{{p}}{c}::{'text' if t == 'jsonb' else t}[]" for c, t in self.columns]
        if self.sequence is not None:
            names.append(self.sequence[0])
            select.append(f"nextval('{self.sequence[1]}_id_seq')")
        return (
            f"{{p}}x AS (INSERT INTO {self.name} ({', '.join(names)}) SELECT {', '.join(select)}"
            f" FROM unnest({', '.join(arrays)}) AS u({', '.join(c for c, _ in self.columns)}))"
        )


@lru_cache(maxsize=64)
def _exists(table: str, column: str) -> Q:
    return Q(f"SELECT 1 FROM {table} WHERE org_id = :org_id AND {column} = :key")


@lru_cache(maxsize=256)
def _sqlite_insert(table: str, names: tuple[str, ...]) -> Q:
    return Q(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})")


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

    async def insert(self, table: Table, rows: Sequence[Mapping[str, Any]], /) -> None:
        """Insert rows whose result nobody reads back (PostgreSQL sends them with the next
        statement that needs an answer, or with COMMIT: one round trip for many writes)."""
        raise NotImplementedError

    async def copy(self, table: Table, rows: Sequence[Mapping[str, Any]], /) -> None:
        """Rows of one org written in bulk: COPY on PostgreSQL, `insert` elsewhere."""
        await self.insert(table, rows)

    async def later(self, q: Q, /, **params: Any) -> None:
        """An UPDATE or DELETE whose row count nobody needs; on PostgreSQL it travels like
        `insert`."""
        raise NotImplementedError

    async def flush(self) -> None:
        """Send what `insert` and `later` hold back (PostgreSQL); a constraint they break
        is raised here as IntegrityError."""

    async def advisory_locks(self, keys: Sequence[int], /) -> None:
        """Take transaction-scoped advisory locks in the order given (PostgreSQL; SQLite's
        single writer needs none)."""

    async def lock_row(self, table: str, org_id: int, column: str, key: int, /) -> bool:
        """Hold one row for the transaction (PostgreSQL; SQLite's single writer holds the
        whole database); whether it exists."""
        raise NotImplementedError

    async def fragment(self, template: str, tables: set[str], params: Mapping[str, Any], /) -> None:
        """Hold back a write given as CTE fragments (PostgreSQL only): `{p}` prefixes each
        CTE name and parameter, so several fragments share one statement."""
        raise NotImplementedError


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

    async def insert(self, table: Table, rows: Sequence[Mapping[str, Any]], /) -> None:
        if not rows:
            return
        if table.sequence is not None:
            column, sequence = table.sequence
            ids = await self.ids(sequence, len(rows))
            rows = [{**r, column: i} for r, i in zip(rows, ids, strict=True)]
        await self.many(table.sqlite_insert, rows)

    async def later(self, q: Q, /, **params: Any) -> None:
        self._exec(q, params)

    async def lock_row(self, table: str, org_id: int, column: str, key: int, /) -> bool:
        return await self.val(_exists(table, column), org_id=org_id, key=key) is not None


_NEXTVAL = {name: Q(f"SELECT nextval('{name}_id_seq') FROM generate_series(1, :n)") for name in SEQUENCES}
# Ids whose order means nothing come from blocks kept per process; history and event ids
# come from their sequences as rows are written, so they follow commit order per customer.
BLOCK_SEQUENCES = frozenset(
    {
        "org",
        "till",
        "customer",
        "card",
        "endpoint",
        "attempt",
        "ledger",
        "bill",
        "transfer",
        "goodwill",
        "grp",
        "coupon",
        "redemption",
        "change_request",
        "retro_request",
        "user_record",
    }
)
BLOCK_SIZE = 64
_WRITE_TARGET = re.compile(r"^\s*(?:UPDATE|DELETE\s+FROM|INSERT\s+INTO)\s+(\w+)", re.I)
_PARAM_NAME = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class IdBlocks:
    """Blocks of sequence values per process (PostgreSQL sequences are never rolled back)."""

    def __init__(self) -> None:
        self._free: dict[str, list[int]] = {}

    def take(self, name: str, count: int) -> list[int] | None:
        free = self._free.get(name)
        if free is None or len(free) < count:
            return None
        taken, self._free[name] = free[:count], free[count:]
        return taken

    def add(self, name: str, values: list[int]) -> None:
        self._free.setdefault(name, []).extend(values)


class _Pending:
    """Writes held back for the next round trip: CTE fragments and their parameters."""

    __slots__ = ("fragments", "params", "tables")

    def __init__(self) -> None:
        self.fragments: list[str] = []
        self.params: dict[str, Any] = {}
        self.tables: set[str] = set()


_FLUSHES: dict[tuple[str, ...], Q] = {}


def _flush_statement(fragments: tuple[str, ...]) -> Q:
    q = _FLUSHES.get(fragments)
    if q is None:
        parts = ", ".join(f.format(p=f"f{i}_") for i, f in enumerate(fragments))
        q = Q(postgresql=f"WITH {parts} SELECT 1", sqlite="SELECT 1")
        if len(_FLUSHES) < 1024:
            _FLUSHES[fragments] = q
    return q


@lru_cache(maxsize=512)
def _later_fragment(text: str) -> str:
    """A plain UPDATE/DELETE as a CTE fragment whose parameters carry the fragment's prefix."""
    body = _PARAM_NAME.sub(lambda m: ":{p}" + m.group(1), text.replace("{", "{{").replace("}", "}}"))
    return "{p}x AS (" + body + ")"


_NO_TRANSACTION, _BEGIN_OWED, _IN_TRANSACTION = 0, 1, 2
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL name: {name!r}")
    return name


class PgTx(Tx):
    """A PostgreSQL connection for one use case. A write's BEGIN is sent with its first
    statement's round trip where it can be (advisory locks), else just before it."""

    dialect = POSTGRESQL
    __slots__ = ("_blocks", "_conn", "_counter", "_observe", "_pending", "_state")

    def __init__(
        self,
        conn: asyncpg.Connection,
        counter: Counter | None,
        observe: Observer | None,
        blocks: IdBlocks | None = None,
        *,
        transaction: bool = False,
    ) -> None:
        self._conn = conn
        self._counter = counter
        self._observe = observe
        self._blocks = blocks
        self._pending: _Pending | None = None
        self._state = _BEGIN_OWED if transaction else _NO_TRANSACTION

    async def _begin(self) -> None:
        if self._state == _BEGIN_OWED:
            self._count("BEGIN")
            await self._conn.execute("BEGIN")
            self._state = _IN_TRANSACTION

    async def commit(self) -> None:
        await self.flush()
        if self._state == _IN_TRANSACTION:
            self._count("COMMIT")
            await self._conn.execute("COMMIT")
        self._state = _NO_TRANSACTION

    async def rollback(self) -> None:
        self._pending = None
        if self._state == _IN_TRANSACTION:
            self._state = _NO_TRANSACTION
            await self._conn.execute("ROLLBACK")

    async def advisory_locks(self, keys: Sequence[int], /) -> None:
        if not keys:
            return
        if self._pending is not None:
            await self.flush()
        # Integers only, formatted by Patron: safe as literals, so BEGIN rides along.
        locks = "SELECT " + ", ".join(f"pg_advisory_xact_lock({int(k)})" for k in keys)
        text = f"BEGIN; {locks}" if self._state == _BEGIN_OWED else locks
        self._count(text)
        await self._conn.execute(text)
        if self._state == _BEGIN_OWED:
            self._state = _IN_TRANSACTION

    async def lock_row(self, table: str, org_id: int, column: str, key: int, /) -> bool:
        if self._pending is not None:
            await self.flush()
        # Integers only, names from Patron's code: safe as literals, so BEGIN rides along.
        lock = (
            f"SELECT 1 FROM {_identifier(table)} WHERE org_id = {int(org_id)}"
            f" AND {_identifier(column)} = {int(key)} FOR UPDATE"
        )
        text = f"BEGIN; {lock}" if self._state == _BEGIN_OWED else lock
        self._count(text)
        status = await self._conn.execute(text)
        if self._state == _BEGIN_OWED:
            self._state = _IN_TRANSACTION
        return bool(status.endswith(" 1"))

    def _count(self, text: str) -> None:
        if self._counter is not None:
            self._counter.statements += 1
        if self._observe is not None:
            self._observe(POSTGRESQL, text)

    async def _prep(self, q: Q, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        if self._pending is not None:
            await self.flush()
        await self._begin()
        c = q.compiled(POSTGRESQL)
        self._count(c.text)
        return c.text, c.args(params)

    async def _call(self, method: Callable[..., Any], q: Q, params: Mapping[str, Any]) -> Any:
        text, args = await self._prep(q, params)
        try:
            return await method(text, *args)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None

    async def all(self, q: Q, /, **params: Any) -> list[Row]:
        return list(await self._call(self._conn.fetch, q, params))

    async def one(self, q: Q, /, **params: Any) -> Row | None:
        return await self._call(self._conn.fetchrow, q, params)

    async def val(self, q: Q, /, **params: Any) -> Any:
        return await self._call(self._conn.fetchval, q, params)

    async def run(self, q: Q, /, **params: Any) -> int:
        status: str = await self._call(self._conn.execute, q, params)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def many(self, q: Q, rows: Sequence[Mapping[str, Any]], /) -> None:
        if not rows:
            return
        if self._pending is not None:
            await self.flush()
        await self._begin()
        c = q.compiled(POSTGRESQL)
        self._count(c.text)
        try:
            await self._conn.executemany(c.text, [c.args(r) for r in rows])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None

    async def ids(self, name: str, count: int = 1) -> list[int]:
        if name not in SEQUENCES:
            raise ValueError(f"unknown id sequence {name!r}")
        if self._blocks is not None and name in BLOCK_SEQUENCES:
            taken = self._blocks.take(name, count)
            if taken is None:
                fetched = [int(r[0]) for r in await self.all(_NEXTVAL[name], n=max(count, BLOCK_SIZE))]
                self._blocks.add(name, fetched)
                taken = self._blocks.take(name, count)
            assert taken is not None
            return taken
        return [int(r[0]) for r in await self.all(_NEXTVAL[name], n=count)]

    def _hold(self, fragment: str, tables: set[str], params: dict[str, Any]) -> _Pending:
        pending = self._pending
        if pending is None:
            pending = self._pending = _Pending()
        prefix = f"f{len(pending.fragments)}_"
        pending.fragments.append(fragment)
        pending.tables |= tables
        pending.params.update({prefix + k: v for k, v in params.items()})
        return pending

    async def insert(self, table: Table, rows: Sequence[Mapping[str, Any]], /) -> None:
        if not rows:
            return
        if self._pending is not None and table.name in self._pending.tables:
            await self.flush()
        arrays: dict[str, Any] = {}
        for column, kind in table.columns:
            values = [r[column] for r in rows]
            if kind == "jsonb":
                values = [None if v is None else orjson.dumps(v).decode() for v in values]
            arrays[column] = values
        self._hold(table.pg_fragment(), {table.name}, arrays)

    async def copy(self, table: Table, rows: Sequence[Mapping[str, Any]], /) -> None:
        """Rows of one org written with a binary COPY, for bulk loads (the import): it skips
        the parameter arrays of `insert`, whose encoding costs more than the write. What is
        held back goes first (parents before children). A sequence column is filled from ids
        taken in the rows' order. One org per COPY, checked here: Citus routes each row by
        its org_id, and a load stays on one shard. jsonb columns go by the pool's binary
        jsonb codec (db/engine.py)."""
        if not rows:
            return
        orgs = {r["org_id"] for r in rows}
        if len(orgs) != 1:
            raise ValueError(f"a COPY writes one org's rows, not {sorted(orgs)}")
        await self.flush()
        await self._begin()
        names = [c for c, _ in table.columns]
        row_of = itemgetter(*names)  # every table has org_id and more: a tuple each
        records = [row_of(r) for r in rows]
        if table.sequence is not None:
            ids = await self.ids(table.sequence[1], len(records))
            names.append(table.sequence[0])
            records = [(*record, taken) for record, taken in zip(records, ids, strict=True)]
        self._count(f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT binary)")
        try:
            await self._conn.copy_records_to_table(table.name, records=records, columns=names)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None

    async def later(self, q: Q, /, **params: Any) -> None:
        text = q.postgresql
        assert text is not None
        match = _WRITE_TARGET.match(text)
        if match is None:
            raise ValueError("later() takes an INSERT, UPDATE or DELETE")
        table = match.group(1)
        if self._pending is not None and table in self._pending.tables:
            await self.flush()
        self._hold(_later_fragment(text), {table}, dict(params))

    async def fragment(self, template: str, tables: set[str], params: Mapping[str, Any], /) -> None:
        if self._pending is not None and self._pending.tables & tables:
            await self.flush()
        self._hold(template, tables, dict(params))

    async def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        await self._begin()
        c = _flush_statement(tuple(pending.fragments)).compiled(POSTGRESQL)
        self._count(c.text)
        try:
            await self._conn.execute(c.text, *c.args(pending.params))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from None
