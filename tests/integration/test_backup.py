"""`patron backup` while `patron run` serves a steady load of registrations, then `patron
restore` into a new database: every registration acknowledged before the backup began is in
the restored database, which passes integrity_check and still lets the org's till in.
Also: the commands' refusals, and a backup of an older schema migrated forward on restore."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx

from patron.config import Settings
from patron.db.migrate import upgrade
from patron.main import create_app
from patron.readiness import code_head
from tests.ports import free_port
from tests.support import register_body

PATRON = [sys.executable, "-m", "patron.cli"]
CLIENTS = 4  # concurrent registering clients
BEFORE = 300  # registrations acknowledged before the backup starts, at least


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATRON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}",
        "PATRON_SECRET_KEY": base64.b64encode(b"backup-test-key-of-32-bytes-....").decode(),
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "unused.key"),
        "PATRON_IMAGE_STORE": str(tmp_path / "images"),
        "PATRON_ACCESS_LOG": "false",
        "PATRON_LOG_LEVEL": "WARNING",
        "PATRON_WORKERS": "1",
    }


async def _patron(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *PATRON, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _start_server(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    server = await asyncio.create_subprocess_exec(
        *PATRON, "run", "--port", str(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as http:
        while True:
            assert server.returncode is None, "patron run exited while starting"
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "patron run did not answer /health within 60 s"
            await asyncio.sleep(0.1)


async def test_a_backup_under_load_restores_every_write_acknowledged_before_it(tmp_path: Path) -> None:
    env = _env(tmp_path, "live.db")
    code, out, err = await _patron(env, "migrate")
    assert code == 0, err
    code, out, err = await _patron(env, "org", "create", "Backup", "--json")
    assert code == 0, err
    creds = json.loads(out)
    auth = (creds["username"], creds["password"])
    port = free_port()
    server = await _start_server(env, port)

    acknowledged: dict[int, str] = {}  # customer id -> mobile, in the order answered
    before: dict[int, str] = {}
    stop = asyncio.Event()
    enough = asyncio.Event()

    async def register(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            body = register_body()
            r = await http.post("/v2/customers", json=body)
            assert r.status_code == 200, r.text
            acknowledged[r.json()["createdId"]] = body["profiles"][0]["identifiers"][0]["value"]
            if len(acknowledged) >= BEFORE:
                enough.set()

    backup_file = tmp_path / "backup.db"
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", auth=auth, timeout=30) as http:
            load = [asyncio.create_task(register(http)) for _ in range(CLIENTS)]
            try:
                await asyncio.wait_for(enough.wait(), 120)
                before = dict(acknowledged)  # every answer received before the backup starts
                started = time.monotonic()
                # Small steps: the copy interleaves with the server's commits.
                code, out, err = await _patron(env, "backup", str(backup_file), "--pages-per-step", "16")
                took = time.monotonic() - started
                during = len(acknowledged) - len(before)
                await asyncio.sleep(1.0)  # the load goes on after the backup too
            finally:
                stop.set()
                await asyncio.gather(*load)
            assert code == 0, err
            assert (
                out.startswith(f"backed up {tmp_path / 'live.db'} to {backup_file}: ")
                and "integrity ok" in out
            )
            assert "100%" in err.splitlines()[-1]  # the progress, a line per tenth off a terminal
            assert (await http.get("/ready")).status_code == 200  # the server served throughout
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 30)
    after = len(acknowledged) - len(before) - during

    restored_env = _env(tmp_path, "restored.db")
    code, out, err = await _patron(restored_env, "restore", str(backup_file))
    assert code == 0, err
    assert out.startswith(f"restored {backup_file} into {tmp_path / 'restored.db'}: ")

    restored = tmp_path / "restored.db"
    with closing(sqlite3.connect(restored)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        ids = {
            r[0] for r in conn.execute("SELECT customer_id FROM customer WHERE org_id = ?", (creds["orgId"],))
        }
    missing = set(before) - ids
    assert not missing, f"{len(missing)} acknowledged before the backup are not in it: {sorted(missing)[:10]}"
    unacknowledged = ids - set(acknowledged)
    assert not unacknowledged, f"the backup holds customers never acknowledged: {sorted(unacknowledged)[:10]}"

    # An app on the restored database: the till authenticates and finds each customer by mobile.
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{restored}",
        secret_key=restored_env["PATRON_SECRET_KEY"],
        worker_enabled=False,
        image_store=str(tmp_path / "images"),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://patron.test", auth=auth) as http:
            for customer_id, mobile in before.items():
                r = await http.get(
                    "/v2/customers/lookup",
                    params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile},
                )
                assert r.status_code == 200, f"customer {customer_id}: {r.text}"
                assert r.json()["entity"] == customer_id
            r = await http.post("/v2/customers", json=register_body())
            assert r.status_code == 200, r.text  # the restored database takes writes
    print(
        f"backup under load: {len(before)} registrations acknowledged before the backup began, all restored;"
        f" {during} acknowledged while it ran ({took:.2f} s), {after} after it;"
        f" {len(ids)} in the backup in all"
    )


async def test_backup_and_restore_refuse_to_overwrite_without_force(tmp_path: Path) -> None:
    env = _env(tmp_path, "a.db")
    assert (await _patron(env, "migrate"))[0] == 0
    target = tmp_path / "copy.db"
    target.write_bytes(b"keep me")
    code, _, err = await _patron(env, "backup", str(target))
    assert code == 1 and f"{target} exists: give --force to replace it" in err
    assert target.read_bytes() == b"keep me"
    code, _, err = await _patron(env, "backup", str(target), "--force")
    assert code == 0, err
    left = [p.name for p in await asyncio.to_thread(tmp_path.iterdir)]
    assert "copy.db" in left and not [name for name in left if ".partial-" in name], left

    code, _, err = await _patron(env, "restore", str(target))  # into a.db, which exists
    assert code == 1 and "give --force" in err
    code, _, err = await _patron(env, "restore", str(target), "--force")
    assert code == 0, err

    code, _, err = await _patron(env, "restore", str(tmp_path / "absent.db"))
    assert code == 1 and "there is no backup at" in err


async def test_restore_migrates_an_older_backup_forward(tmp_path: Path) -> None:
    env = _env(tmp_path, "old.db")
    await asyncio.to_thread(upgrade, env["PATRON_DATABASE_URL"], "console_reads")
    code, out, err = await _patron(env, "backup", str(tmp_path / "old-backup.db"))
    assert code == 0, err
    assert "revision console_reads" in out
    code, out, err = await _patron(_env(tmp_path, "new.db"), "restore", str(tmp_path / "old-backup.db"))
    assert code == 0, err
    assert f"migrated from console_reads to {code_head()}" in out
    with closing(sqlite3.connect(tmp_path / "new.db")) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (code_head(),)


async def test_restore_refuses_a_backup_from_a_newer_patron(tmp_path: Path) -> None:
    env = _env(tmp_path, "future.db")
    await asyncio.to_thread(upgrade, env["PATRON_DATABASE_URL"])
    with closing(sqlite3.connect(tmp_path / "future.db")) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
        conn.commit()
    assert (await _patron(env, "backup", str(tmp_path / "future-backup.db")))[0] == 0
    code, _, err = await _patron(_env(tmp_path, "here.db"), "restore", str(tmp_path / "future-backup.db"))
    assert code == 1 and "revision from_the_future, which this Patron does not know" in err
    assert not (tmp_path / "here.db").exists()


async def test_postgresql_backups_are_pointed_to_postgresql_tools(tmp_path: Path) -> None:
    env = {
        **_env(tmp_path, "unused.db"),
        "PATRON_DATABASE_URL": "postgresql+asyncpg://patron@127.0.0.1/patron",
    }
    for command in ("backup", "restore"):
        code, _, err = await _patron(env, command, str(tmp_path / "x.db"))
        assert code == 2
        assert "pg_dump" in err and "WAL archiving" in err and "docs/operations.md" in err
