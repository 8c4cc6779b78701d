"""`patron backup FILE` and `patron restore FILE`: a SQLite database copied while it serves,
and a copy put back.

Backup reads the live database through SQLite's online backup API inside one read
transaction: the copy is the database as of the moment that transaction began (every write
committed before it, whether still in the WAL or already checkpointed, and nothing after),
however long the copy takes and however busy the server is. Writers are never blocked; the
WAL only grows until the copy ends. The copy is written to a temporary file beside FILE,
switched out of WAL mode (one standalone file), checked with `PRAGMA integrity_check`,
synced, and only then renamed to FILE.

Restore checks the backup (integrity, and an Alembic revision this Patron knows), copies
it into the database PATRON_DATABASE_URL names through the same API (so the target's WAL
and shared-memory files stay consistent), holding the writers' lock beside the target,
then migrates it forward if it is older than this Patron.

PostgreSQL is backed up with PostgreSQL's own tools (pg_dump, base backups with WAL
archiving): both commands say so and exit with status 2 (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from alembic.script import ScriptDirectory

from patron.config import Settings
from patron.db.engine import sqlite_path
from patron.db.migrate import MIGRATIONS, upgrade

STEP_PAGES = 4096  # pages copied per step of the backup API (16 MiB at 4 KiB pages)
POSTGRES_EXIT = 2
POSTGRES_ADVICE = (
    "PATRON_DATABASE_URL names a PostgreSQL database: back it up and restore it with "
    "PostgreSQL's own tools, pg_dump/pg_restore for logical copies, or base backups "
    "(pg_basebackup) with WAL archiving for point-in-time recovery; then run `patron migrate`. "
    "docs/operations.md gives the commands."
)

Force = Annotated[bool, typer.Option("--force", help="Replace an existing file or database.")]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _sqlite_target(settings: Settings) -> Path:
    if not settings.is_sqlite:
        _fail(POSTGRES_ADVICE, POSTGRES_EXIT)
    return sqlite_path(settings.database_url)


class _Progress:
    """Copy progress on stderr for databases larger than one step: a rewritten line on a
    terminal, a line per tenth otherwise."""

    def __init__(self, page_size: int, step: int = STEP_PAGES) -> None:
        self.page_size = page_size
        self.step = step
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.shown_tenth = -1

    def __call__(self, status: int, remaining: int, total: int) -> None:
        if total <= self.step:
            return
        done = total - remaining
        tenth = done * 10 // total
        if not self.tty and tenth == self.shown_tenth:
            return
        self.shown_tenth = tenth
        elapsed = max(time.monotonic() - self.started, 1e-6)
        mib = done * self.page_size / 2**20
        line = (
            f"{done * 100 // total:3d}%  {mib:,.1f} of {total * self.page_size / 2**20:,.1f} MiB"
            f"  {mib / elapsed:,.1f} MiB/s"
        )
        sys.stderr.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and remaining == 0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, step: int) -> None:
    """Copy `source` into `target` page by page, from one snapshot of the source."""
    page_size = int(source.execute("PRAGMA page_size").fetchone()[0])
    # The backup API reuses an open read transaction of its source and keeps it between steps,
    # so every step reads the same snapshot and commits of the server never restart the copy.
    source.execute("BEGIN")
    try:
        source.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # the snapshot starts here
        source.backup(target, pages=step, progress=_Progress(page_size, step))
    finally:
        source.execute("COMMIT")


def _check(conn: sqlite3.Connection, what: str) -> None:
    found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if found != ["ok"]:
        _fail(f"{what} fails PRAGMA integrity_check: " + "; ".join(found[:5]))


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def _tables(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
    )


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:,.1f} MiB"


def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write.")],
    force: Force = False,
    pages_per_step: Annotated[
        int, typer.Option(min=1, help="Pages copied per step of SQLite's backup API.")
    ] = STEP_PAGES,
) -> None:
    """Copy the SQLite database to FILE while it serves (a consistent snapshot)."""
    settings = Settings()
    source_path = _sqlite_target(settings)
    if not source_path.exists():
        _fail(f"there is no database at {source_path}")
    if file.exists() and not force:
        _fail(f"{file} exists: give --force to replace it")
    if file.resolve() == source_path.resolve():
        _fail("the backup file cannot be the database itself")
    started = time.monotonic()
    partial = file.with_name(f".{file.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, isolation_level=None, timeout=30.0)
    try:
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            _copy(source, target, pages_per_step)
            target.execute("PRAGMA journal_mode=DELETE")  # one standalone file, no -wal or -shm
            _check(target, "the copy")
            tables, revision = _tables(target), _revision(target)
        finally:
            target.close()
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, file)
        _fsync_directory(file.parent)
    finally:
        source.close()
        partial.unlink(missing_ok=True)
    typer.echo(
        f"backed up {source_path} to {file}: {_size(file)}, {tables} tables, revision {revision},"
        f" integrity ok, {time.monotonic() - started:.2f} s"
    )


def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by `patron backup`.")],
    force: Force = False,
) -> None:
    """Restore a backup into the SQLite database PATRON_DATABASE_URL names, then migrate it
    forward. Stop every Patron process using that database first."""
    settings = Settings()
    target_path = _sqlite_target(settings)
    if not file.is_file():
        _fail(f"there is no backup at {file}")
    if target_path.exists() and target_path.stat().st_size > 0 and not force:
        _fail(
            f"{target_path} exists: stop every Patron process using it, then give --force to"
            " replace its contents with the backup"
        )
    started = time.monotonic()
    source = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        _check(source, f"the backup {file}")
        revision = _revision(source)
        scripts = ScriptDirectory(str(MIGRATIONS))
        if revision is None:
            _fail(f"{file} holds no Patron schema (no alembic_version)")
        if revision not in {s.revision for s in scripts.walk_revisions()}:
            _fail(
                f"{file} is at revision {revision}, which this Patron does not know (a newer Patron made it)"
            )
        target_path.parent.mkdir(parents=True, exist_ok=True)
        gate = os.open(
            target_path.with_name(target_path.name + ".writer-lock"), os.O_RDWR | os.O_CREAT, 0o600
        )
        try:
            fcntl.flock(gate, fcntl.LOCK_EX)  # writers of a server still running wait for the restore
            target = sqlite3.connect(target_path, isolation_level=None, timeout=30.0)
            try:
                target.execute("PRAGMA journal_mode=WAL")
                target.execute("PRAGMA synchronous=FULL")
                page_size = int(source.execute("PRAGMA page_size").fetchone()[0])
                source.backup(target, pages=STEP_PAGES, progress=_Progress(page_size))
                target.execute("PRAGMA journal_mode=WAL")
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                _check(target, f"the restored database {target_path}")
                tables = _tables(target)
            finally:
                target.close()
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(gate, fcntl.LOCK_UN)
            os.close(gate)
    finally:
        source.close()
    head = scripts.get_current_head()
    migrated = ""
    if revision != head:
        upgrade(settings.database_url)
        migrated = f", migrated from {revision} to {head}"
    typer.echo(
        f"restored {file} into {target_path}: {_size(target_path)}, {tables} tables,"
        f" revision {revision}{migrated}, integrity ok, {time.monotonic() - started:.2f} s"
    )
