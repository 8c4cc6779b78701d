"""`/ready`: 200 while the database answers, its schema is at this Patron's head and a
delivery worker's heartbeat is fresh; 503 naming each failing check otherwise. `/health`
stays the liveness answer it was."""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from patron.config import Settings
from patron.db.base import utcnow
from patron.db.migrate import upgrade
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.main import create_app
from patron.readiness import code_head
from patron.webhooks import heartbeat
from tests.conftest import Harness

_AGE_EVERY_BEAT = Q("UPDATE worker_heartbeat SET beat_at = :old")
_BEATS = Q("SELECT worker_id, started_at, beat_at FROM worker_heartbeat")


async def test_a_harness_app_with_its_worker_is_ready(harness: Harness) -> None:
    # Ready once the worker's first beat is in (it beats as it starts, with the app).
    deadline = time.monotonic() + heartbeat.INTERVAL_SECONDS
    while (r := await harness.http.get("/ready")).status_code != 200:
        assert time.monotonic() < deadline, r.text
        await asyncio.sleep(0.1)
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "worker": "ok"}}
    assert (await harness.http.get("/health")).json() == {"status": "ok"}

    async def beats(uow: UnitOfWork) -> list[tuple[str, object, object]]:
        return [(r[0], r[1], r[2]) for r in await uow.tx.all(_BEATS)]

    found = await harness.app.state.db.read(beats)
    assert len(found) >= 1 and all(started <= beat for _, started, beat in found)  # type: ignore[operator]


async def test_a_stale_heartbeat_is_503_until_the_worker_beats_again(harness: Harness) -> None:
    db = harness.app.state.db
    stale = heartbeat.FRESH_SECONDS + 30

    async def age(uow: UnitOfWork) -> None:
        await uow.tx.run(_AGE_EVERY_BEAT, old=utcnow() - timedelta(seconds=stale))

    # The worker beats every 5 s: should a beat land between the update and the request, age again.
    for _ in range(5):
        await db.write(age)
        r = await harness.http.get("/ready")
        if r.status_code == 503:
            break
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["warnings"] == []
    assert [e["code"] for e in body["errors"]] == [503]
    message = body["errors"][0]["message"]
    assert (
        message.startswith("worker: the last delivery worker heartbeat is ")
        and "fresh within 15 s" in message
    )
    assert (await harness.http.get("/health")).status_code == 200  # alive, only not ready

    deadline = time.monotonic() + heartbeat.INTERVAL_SECONDS * 3
    while (r := await harness.http.get("/ready")).status_code != 200:
        assert time.monotonic() < deadline, f"the worker's next beat did not make it ready: {r.text}"
        await asyncio.sleep(0.2)


async def _older_database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'older.db'}"
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"older_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_a_database_behind_the_code_is_503_naming_migrations_and_worker(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = await _older_database(engine, tmp_path, request)
    await asyncio.to_thread(upgrade, url, "console_reads")  # the revision before worker_heartbeat
    settings = Settings(
        database_url=url,
        secret_key=base64.b64encode(os.urandom(32)).decode(),
        worker_enabled=False,
        image_store=str(tmp_path / "images"),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as http:
            r = await http.get("/ready")
            assert r.status_code == 503, r.text
            messages = [e["message"] for e in r.json()["errors"]]
            assert messages == [
                f"migrations: the database is at revision console_reads, this Patron needs {code_head()}",
                "worker: no delivery worker has a heartbeat",
            ]
            assert (await http.get("/health")).status_code == 200

            # Migrated to head, still no worker: only the worker check fails.
            await asyncio.to_thread(upgrade, url)
            r = await http.get("/ready")
            assert r.status_code == 503
            assert [e["message"] for e in r.json()["errors"]] == [
                "worker: no delivery worker has a heartbeat"
            ]
