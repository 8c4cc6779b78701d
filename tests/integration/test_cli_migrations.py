"""Only `patron migrate`, `patron run` and `patron worker` change the schema. Every other
command, against a database `patron migrate` has not brought up to date, stops with one
line on stderr telling the user to run it, and changes nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from patron.db.migrate import alembic_config

PATRON = [sys.executable, "-m", "patron.cli"]
RUN_MIGRATE = "run `patron migrate` first"
HEAD = ScriptDirectory.from_config(alembic_config("sqlite:///unused")).get_current_head()

# Every command that opens the database, except those that migrate it.
COMMANDS = [
    ["org", "create", "Acme", "--json"],
    ["till", "create", "--org", "1000", "--json"],
    ["config", "get", "--org", "1000"],
    ["demo", "load", "--org", "1000", "--customers", "1"],
    ["webhooks", "list", "--org", "1000"],
    ["webhooks", "dead-letters", "--org", "1000", "--endpoint", "1"],
    ["events", "tail", "--org", "1000"],
]


def env_for(url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PATRON_DATABASE_URL": url, "PATRON_SECRET_KEY_FILE": str(tmp_path / "secret.key")}


def patron(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PATRON, *args], env=env, capture_output=True, text=True, timeout=120)


def assert_refused(out: subprocess.CompletedProcess[str], reason: str) -> None:
    """Status 1, nothing on stdout, and one line on stderr: the reason and what to do."""
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: "), out.stderr
    assert reason in out.stderr and "Traceback" not in out.stderr, out.stderr


def sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(statement).fetchall()


def revision(path: Path) -> object:
    found = sql(path, "SELECT version_num FROM alembic_version")
    return found[0][0] if found else None


def tables(path: Path) -> set[str]:
    return {str(r[0]) for r in sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_no_command_but_migrate_creates_a_database(tmp_path: Path) -> None:
    path = tmp_path / "var" / "patron.db"
    env = env_for(f"sqlite+aiosqlite:///{path}", tmp_path)
    out = patron(env, "org", "create", "Acme", "--json")
    assert_refused(out, f"there is no database at {path}: {RUN_MIGRATE}")
    assert not path.exists() and not path.parent.exists()
    assert patron(env, "migrate").returncode == 0
    assert "alembic_version" in tables(path)
    created = patron(env, "org", "create", "Acme", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["orgId"] == 1000


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_commands_refuse_an_unmigrated_database_and_leave_it_alone(
    tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # a database file with no schema in it
    out = patron(env_for(f"sqlite+aiosqlite:///{path}", tmp_path), *command)
    assert_refused(out, f"the database has no Patron schema yet: {RUN_MIGRATE}")
    assert tables(path) == set()


def test_a_schema_behind_or_ahead_of_this_patron_is_named(tmp_path: Path) -> None:
    path = tmp_path / "patron.db"
    env = env_for(f"sqlite+aiosqlite:///{path}", tmp_path)
    assert patron(env, "migrate").returncode == 0
    head = revision(path)
    sql(path, "UPDATE alembic_version SET version_num = '0001'")
    assert head != "0001"
    assert_refused(
        patron(env, "config", "get", "--org", "1000"),
        f"the database schema is at revision 0001, this Patron needs {head}: {RUN_MIGRATE}",
    )
    sql(path, "UPDATE alembic_version SET version_num = 'from_the_future'")
    assert_refused(
        patron(env, "config", "get", "--org", "1000"), "revision from_the_future, which this Patron does"
    )


def test_the_worker_migrates(tmp_path: Path) -> None:
    path = tmp_path / "patron.db"
    env = env_for(f"sqlite+aiosqlite:///{path}", tmp_path)
    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen([*PATRON, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + 60
        while not (path.exists() and "alembic_version" in tables(path) and revision(path) == HEAD):
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "patron worker did not migrate"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    created = patron(env, "org", "create", "Acme", "--json")
    assert created.returncode == 0, created.stderr


async def test_postgresql_without_the_schema_is_refused_too(postgres_url: str, tmp_path: Path) -> None:
    name = f"cli_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    env = env_for(postgres_url.rsplit("/", 1)[0] + "/" + name, tmp_path)
    assert_refused(patron(env, "org", "create", "Acme", "--json"), f"no Patron schema yet: {RUN_MIGRATE}")
    assert patron(env, "migrate").returncode == 0
    created = patron(env, "org", "create", "Acme", "--json")
    assert created.returncode == 0, created.stderr


def test_the_console_migration_makes_each_orgs_first_till_an_operator(tmp_path: Path) -> None:
    from patron.db.migrate import upgrade

    path = tmp_path / "roles.db"
    upgrade(f"sqlite+aiosqlite:///{path}", "user_security")
    with closing(sqlite3.connect(path)) as conn, conn:
        for org in (1000, 1001):
            conn.execute(
                "INSERT INTO org (org_id, name, config, created_at, updated_at)"
                " VALUES (?, 'o', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                (org,),
            )
        for org, till in ((1000, 1000), (1001, 1001), (1000, 1002), (1001, 1003)):
            conn.execute(
                "INSERT INTO till (org_id, till_id, code, name, password_hash, store_code, store_name,"
                " is_active, created_at) VALUES (?, ?, ?, 'n', 'x', 's', 's', 1, '2026-01-01 00:00:00')",
                (org, till, f"till{till}"),
            )
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert dict(sql(path, "SELECT till_id, role FROM till")) == {
        1000: "operator",
        1001: "operator",
        1002: "till",
        1003: "till",
    }
    assert "console_session" in tables(path)
