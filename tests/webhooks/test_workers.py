"""`patron worker` processes: several share the work without sending one attempt twice, and
a worker SIGKILLed mid-delivery loses nothing (its leases lapse and another sends again)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from patron.config import Settings
from patron.db.migrate import upgrade
from patron.main import create_app
from patron.orgs import service as orgs
from patron.webhooks import service as webhooks
from tests.orgscope import OrgScopeGuard
from tests.support import register_body, rows
from tests.webhooks.receiver import Receiver, Reply


async def _database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}"
    server_url = request.getfixturevalue("postgres_url")
    name = f"workers_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE DATABASE {name}"))
    await admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


class Stack:
    """An API without an in-process worker, an org with an endpoint, and worker processes."""

    def __init__(self, url: str, receiver: Receiver) -> None:
        self.key = base64.b64encode(os.urandom(32)).decode()
        self.settings = Settings(
            database_url=url, worker_enabled=False, secret_key=self.key, webhook_allow_private=True
        )
        self.receiver = receiver
        self.workers: list[subprocess.Popen[bytes]] = []
        self.env = {
            **os.environ,
            "PATRON_DATABASE_URL": url,
            "PATRON_SECRET_KEY": self.key,
            "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
            "PATRON_WEBHOOK_LEASE_SECONDS": "2",
            "PATRON_WEBHOOK_POLL_SECONDS": "0.05",
            "PATRON_WEBHOOK_RETRY_SCHEDULE": "0.2,0.5,1,2,5",
        }

    async def start(self, unscoped_queries: list[str]) -> None:
        await asyncio.to_thread(upgrade, self.settings.database_url)
        self.app = create_app(self.settings)
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        db = self.app.state.db
        db.observers.append(OrgScopeGuard(unscoped_queries))  # the API's statements, as in conftest
        creds = await db.write(orgs.create_org, self.app.state.authenticator.keys, name="Workers")
        url = await webhooks.checked_url(self.receiver.url(), allow_private=True)
        await db.write(webhooks.add_endpoint, self.app.state.box, creds.org_id, url=url)
        self.org_id = creds.org_id
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://patron.test",
            auth=(creds.username, creds.password),
        )

    async def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            await asyncio.to_thread(worker.wait, 30)

    async def stop(self) -> None:
        await self.stop_workers()
        await self.http.aclose()
        await self._lifespan.__aexit__(None, None, None)

    def spawn_worker(self) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [sys.executable, "-m", "patron.cli", "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers.append(worker)
        return worker

    async def register(self, count: int) -> None:
        for _ in range(count):
            r = await self.http.post("/v2/customers", json=register_body())
            assert r.status_code == 200, r.text

    async def event_ids(self) -> set[str]:
        found = await rows(
            self.app.state.db, "SELECT event_uuid FROM outbox_event WHERE org_id = :o", o=self.org_id
        )
        return {r.event_uuid for r in found}

    async def statuses(self) -> list[str]:
        found = await rows(
            self.app.state.db, "SELECT status FROM webhook_delivery WHERE org_id = :o", o=self.org_id
        )
        return [r.status for r in found]


@pytest.fixture(params=["sqlite", "postgresql"])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path, unscoped_queries: list[str]
) -> AsyncIterator[Stack]:
    url = await _database(request.param, tmp_path, request)
    async with Receiver() as receiver:
        s = Stack(url, receiver)
        await s.start(unscoped_queries)
        try:
            yield s
        finally:
            await s.stop()


async def test_a_worker_killed_mid_delivery_loses_nothing(stack: Stack) -> None:
    stack.receiver.answer = lambda _: Reply(200, delay=0.3)
    await stack.register(40)
    expected = await stack.event_ids()
    first = stack.spawn_worker()
    await stack.receiver.wait_for(lambda reqs: len(reqs) >= 8, timeout=30)
    first.send_signal(signal.SIGKILL)
    await asyncio.to_thread(first.wait, 10)
    assert first.returncode == -signal.SIGKILL
    stack.receiver.answer = lambda _: Reply(200)
    stack.spawn_worker()
    await stack.receiver.wait_for(lambda reqs: {r.event_id for r in reqs} >= expected, timeout=60)
    for _ in range(100):
        if set(await stack.statuses()) == {"delivered"}:
            break
        await asyncio.sleep(0.1)
    assert set(await stack.statuses()) == {"delivered"}
    assert {r.event_id for r in stack.receiver.requests} == expected


async def test_several_workers_share_the_work_and_send_each_event_once(
    stack: Stack, request: pytest.FixtureRequest
) -> None:
    if "sqlite" in request.node.callspec.id:
        pytest.skip("SQLite runs one worker (its single writer); PostgreSQL shares the work")
    stack.receiver.answer = lambda _: Reply(200, delay=0.02)
    await stack.register(60)
    expected = await stack.event_ids()
    for _ in range(3):
        stack.spawn_worker()
    await stack.receiver.wait_for(lambda reqs: {r.event_id for r in reqs} >= expected, timeout=60)
    for _ in range(100):
        if set(await stack.statuses()) == {"delivered"}:
            break
        await asyncio.sleep(0.1)
    assert set(await stack.statuses()) == {"delivered"}
    # Every request there will ever be has arrived: the workers have exited and closed their
    # connections, so none is still on its way.
    await stack.stop_workers()
    await stack.receiver.wait_closed_by_clients()
    received = [r.event_id for r in stack.receiver.requests]
    assert sorted(received) == sorted(expected), "an event was sent twice or not at all"
