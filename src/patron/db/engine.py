"""The two engines behind one interface: `await db.read(fn, ...)`, `await db.write(fn, ...)`.

`fn(uow, ...)` is a use case: it gets a unit of work (db/uow.py) and returns its result.
A write commits once, with the events its use case recorded, before `write` returns; a
failure anywhere rolls the whole use case back and raises.

SQLite (the embedded default) has one writer at a time, so Patron gives each process one
writer connection and commits in groups: the write use cases that arrive while a commit
is on its way to disk run together in the next transaction, each inside a savepoint of
its own. One that fails rolls back to its savepoint and gets its own error; the others
are unaffected; none is answered before the COMMIT that holds it has returned with
`synchronous=FULL`, so an acknowledged write survives a crash or a power cut. The
statements run on the event loop's thread (microseconds each); only the two calls that
can wait, taking the write lock and COMMIT's fsync, go to a thread: two hops per group.
Processes sharing one database file take turns through an advisory file lock beside it,
so SQLite's own lock is never fought over. Readers use their own connections and, through
WAL, never wait for the writer.

PostgreSQL uses one asyncpg pool; concurrent writers are PostgreSQL's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import os
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg
import orjson

from patron.config import Settings
from patron.db.sql import register_sqlite_types
from patron.db.tx import Counter, IdBlocks, Observer, PgTx, SqliteIds, SqliteTx
from patron.db.uow import UnitOfWork

P = ParamSpec("P")
T = TypeVar("T")
UseCase = Callable[Concatenate[UnitOfWork, P], Awaitable[T]]

# The statements of the current request are counted here when the app asks for it.
statement_counter: contextvars.ContextVar[Counter | None] = contextvars.ContextVar(
    "statement_counter", default=None
)
MAX_GROUP = 128  # write use cases committed together at most


class Database:
    """The process's connections to one database; built by the entry point."""

    url: str

    def __init__(self) -> None:
        self.observers: list[Observer] = []
        # Set after a commit that wrote events, so an in-process worker delivers at once.
        self.outbox_signal = asyncio.Event()
        # Set when this process changed a webhook endpoint, so its worker reloads them.
        self.endpoints_changed = asyncio.Event()

    def _observe(self, dialect: str, text: str) -> None:
        for observer in self.observers:
            observer(dialect, text)

    @property
    def observe(self) -> Observer | None:
        return self._observe if self.observers else None

    async def start(self) -> None:
        """Open what must be opened before the first call (PostgreSQL's pool)."""

    async def read(self, fn: UseCase[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        raise NotImplementedError

    async def write(self, fn: UseCase[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        raise NotImplementedError

    def snapshot(self) -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        """A read-only unit of work on one snapshot, held open until the block ends: for a
        read that outlives one call, such as an answer streamed page by page."""
        raise NotImplementedError

    async def dispose(self) -> None:
        raise NotImplementedError

    def load(self) -> tuple[int, int, int]:
        """Connections in use, connections open, writes queued (metrics.py samples it)."""
        return 0, 0, 0

    def _after_commit(self, uow: UnitOfWork) -> None:
        if uow.wrote_events:
            self.outbox_signal.set()


# SQLite ------------------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    """The database file of a `sqlite+aiosqlite:///path` (or `sqlite:///path`) URL."""
    _, sep, rest = url.partition(":///")
    path = rest.split("?", 1)[0]
    if not sep or not path or path.startswith(":memory:"):
        raise ValueError("Patron's SQLite database is a file: sqlite+aiosqlite:///path/to/patron.db")
    return Path(path)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        isolation_level=None,  # Patron issues BEGIN itself
        check_same_thread=False,  # BEGIN and COMMIT may run on a helper thread
        detect_types=sqlite3.PARSE_DECLTYPES,
        cached_statements=512,
        timeout=10.0,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # an acknowledged commit survives a power cut
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


@dataclass(slots=True)
class _Pending:
    fn: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: asyncio.Future[Any]
    counter: Counter | None
    uow: UnitOfWork | None = None
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Gate:
    """Turns between processes writing one SQLite file: an flock on a file beside it."""

    path: Path
    fd: int = field(init=False)
    contended_at: float = 0.0

    def __post_init__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def try_take(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.contended_at = time.monotonic()
            return False
        return True

    def take(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def give(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)


class SqliteDatabase(Database):
    def __init__(self, url: str, *, readers: int = 8) -> None:
        super().__init__()
        register_sqlite_types()
        self.url = url
        self.path = sqlite_path(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _connect(self.path)
        self._gate = _Gate(self.path.with_name(self.path.name + ".writer-lock"))
        self._readers: list[sqlite3.Connection] = []
        self._max_idle_readers = readers
        self._queue: deque[_Pending] = deque()
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closed = False

    def load(self) -> tuple[int, int, int]:
        return 0, 0, len(self._queue)

    # Reads -------------------------------------------------------------------------------

    async def read(self, fn: UseCase[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        conn = self._readers.pop() if self._readers else _connect(self.path)
        tx = SqliteTx(conn, None, statement_counter.get(), self.observe)
        conn.execute("BEGIN")  # one snapshot for every statement of the use case
        try:
            return await fn(UnitOfWork(tx, writable=False), *args, **kwargs)
        finally:
            conn.execute("COMMIT")
            if len(self._readers) < self._max_idle_readers and not self._closed:
                self._readers.append(conn)
            else:
                conn.close()

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[UnitOfWork]:
        conn = self._readers.pop() if self._readers else _connect(self.path)
        conn.execute("BEGIN")
        try:
            yield UnitOfWork(SqliteTx(conn, None, statement_counter.get(), self.observe), writable=False)
        finally:
            conn.execute("COMMIT")
            if len(self._readers) < self._max_idle_readers and not self._closed:
                self._readers.append(conn)
            else:
                conn.close()

    # Writes ------------------------------------------------------------------------------

    async def write(self, fn: UseCase[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise RuntimeError("the database is closed")
        loop = asyncio.get_running_loop()
        pending = _Pending(fn, args, kwargs, loop.create_future(), statement_counter.get())
        self._queue.append(pending)
        if self._runner is None or self._runner.done():
            self._wake = asyncio.Event()
            self._runner = loop.create_task(self._run(), name="patron-sqlite-writer")
        assert self._wake is not None
        self._wake.set()
        return await asyncio.shield(pending.future)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if not self._queue:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            group = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_GROUP))]
            try:
                await self._commit_group(group)
            except BaseException as exc:  # the loop is closing: tell the waiters
                for p in group:
                    if not p.future.done():
                        p.future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError("shut down")
                        )
                raise

    async def _commit_group(self, group: list[_Pending]) -> None:
        conn = self._writer
        if not self._gate.try_take():
            await asyncio.to_thread(self._gate.take)
        try:
            conn.execute("BEGIN IMMEDIATE")
            ids = SqliteIds(conn)
            for p in group:
                await self._apply(conn, ids, p)
            if any(p.error is None for p in group):
                ids.persist()
                await asyncio.to_thread(conn.execute, "COMMIT")
            else:
                conn.execute("ROLLBACK")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for p in group:
                if p.error is None:
                    p.error = exc if isinstance(exc, Exception) else RuntimeError("shut down")
            if not isinstance(exc, Exception):
                raise
        finally:
            self._gate.give()
        for p in group:
            if p.error is None and p.uow is not None:
                self._after_commit(p.uow)
            if p.future.done():
                continue
            if p.error is not None:
                p.future.set_exception(p.error)
            else:
                p.future.set_result(p.result)
        if self._gate.contended_at and time.monotonic() - self._gate.contended_at < 1.0:
            # Another process is writing too: leave it a turn before taking the lock again.
            await asyncio.sleep(0)

    async def _apply(self, conn: sqlite3.Connection, ids: SqliteIds, p: _Pending) -> None:
        conn.execute("SAVEPOINT unit")
        uow = UnitOfWork(SqliteTx(conn, ids, p.counter, self.observe), writable=True)
        try:
            p.result = await p.fn(uow, *p.args, **p.kwargs)
            await uow.flush()
        except Exception as exc:
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            p.error = exc
            return
        conn.execute("RELEASE unit")
        p.uow = uow

    async def dispose(self) -> None:
        """Commit what is queued, then close every connection."""
        self._closed = True
        if self._runner is not None and not self._runner.done():
            assert self._wake is not None
            self._wake.set()
            await self._runner
        for conn in self._readers:
            conn.close()
        self._readers.clear()
        self._writer.close()
        self._gate.close()


# PostgreSQL --------------------------------------------------------------------------------


def postgres_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL (`postgresql+asyncpg://...`)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://...")
    return f"postgresql://{rest}"


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)  # jsonb's binary form: a version byte, then the text


def _jsonb_decode(data: bytes) -> Any:
    return orjson.loads(memoryview(data)[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs: a binary COPY (the import's) carries jsonb columns too, and parameters
    # and results skip a text round of their own.
    await conn.set_type_codec(
        "json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """Give a connection back clean. Patron keeps no session state (advisory locks are
    transaction-scoped, nothing LISTENs or holds cursors on pooled connections), so only an
    open transaction needs undoing; asyncpg's default reset costs a round trip per use."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class PostgresDatabase(Database):
    def __init__(self, url: str, *, pool_size: int) -> None:
        super().__init__()
        self.url = url
        self._dsn = postgres_dsn(url)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._blocks = IdBlocks()

    async def start(self) -> None:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                init=_init_connection,
                reset=_reset_connection,
                statement_cache_size=1024,
                # Every statement is prepared once per connection and keyed by org_id and
                # primary keys: a generic plan fits all, and planning each call cost more
                # than running the big batched writes.
                server_settings={"plan_cache_mode": "force_generic_plan"},
            )

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not started (await db.start())")
        return self._pool

    def load(self) -> tuple[int, int, int]:
        if self._pool is None:
            return 0, 0, 0
        size = self._pool.get_size()
        return size - self._pool.get_idle_size(), size, 0

    async def read(self, fn: UseCase[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self.pool.acquire() as conn:
            tx = PgTx(conn, statement_counter.get(), self.observe)
            return await fn(UnitOfWork(tx, writable=False), *args, **kwargs)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[UnitOfWork]:
        # One snapshot for every statement: REPEATABLE READ, read only.
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            yield UnitOfWork(PgTx(conn, statement_counter.get(), self.observe), writable=False)

    async def write(self, fn: UseCase[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self.pool.acquire() as conn:
            tx = PgTx(conn, statement_counter.get(), self.observe, self._blocks, transaction=True)
            uow = UnitOfWork(tx, writable=True)
            try:
                result = await fn(uow, *args, **kwargs)
                await uow.flush()
                await tx.commit()
            except BaseException:
                # A broken connection fails here too; the pool then discards it.
                with contextlib.suppress(Exception):
                    await tx.rollback()
                raise
        self._after_commit(uow)
        return result

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def create_database(settings: Settings) -> Database:
    """The database of a URL; `await db.start()` before use."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return SqliteDatabase(url, readers=settings.db_pool_size)
    return PostgresDatabase(url, pool_size=settings.db_pool_size)
