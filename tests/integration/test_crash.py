"""Nothing acknowledged is lost: `patron run` SIGKILLed while 32 connections register
customers, then restarted, still holds every registration it answered with a createdId,
and its delivery worker sends every one's customerAdded event. On SQLite this proves the
group commit answers no request before its COMMIT is on disk; on PostgreSQL, that a
write is answered only after its transaction committed."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.ports import free_port
from tests.support import register_body
from tests.webhooks.receiver import Received, Receiver

PATRON = [sys.executable, "-m", "patron.cli"]
CONNECTIONS = 32
ROUNDS = 3  # each kill lands at a random point of the group-commit cycle
PER_ROUND = 150


async def _database_url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"crash_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + "/" + name


class Server:
    """`patron run` as an operator starts it, on a port of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = int(env["PATRON_PORT"])
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *PATRON, "run", env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                assert self.process.returncode is None, "patron run exited while starting"
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("patron run did not answer /health within 60 s")

    def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def _cli(env: dict[str, str], *args: str) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        *PATRON, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    result: dict[str, object] = json.loads(out) if "--json" in args else {}
    return result


async def _register_until_killed(
    server: Server, base: str, auth: tuple[str, str], acknowledged: dict[int, str]
) -> None:
    """32 connections register customers; SIGKILL the server mid-load, requests in flight."""
    killed = asyncio.Event()
    goal = len(acknowledged) + PER_ROUND

    async def register(http: httpx.AsyncClient) -> None:
        while not killed.is_set():
            body = register_body()
            mobile = body["profiles"][0]["identifiers"][0]["value"]
            try:
                r = await http.post(f"{base}/v2/customers", json=body)
            except httpx.TransportError:
                continue  # the server is gone: this one was not acknowledged
            if r.status_code == 200:
                acknowledged[r.json()["createdId"]] = mobile
                if len(acknowledged) >= goal and not killed.is_set():
                    # Right after an answer: if answers ever went out before their
                    # COMMIT, this kill lands in that window.
                    killed.set()
                    server.kill()

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(auth=auth, timeout=10, limits=limits) as http:
        load = [asyncio.create_task(register(http)) for _ in range(CONNECTIONS)]
        try:
            await asyncio.wait_for(killed.wait(), 60)
        finally:
            killed.set()
            await asyncio.gather(*load)
        server.kill()
        assert server.process is not None
        await server.process.wait()
    assert len(acknowledged) >= goal, "the load never got going"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_every_acknowledged_registration_survives_a_sigkill_and_is_delivered(
    engine: str, receiver: Receiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": await _database_url(engine, tmp_path, request),
        "PATRON_PORT": str(free_port()),
        "PATRON_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "unused.key"),
        "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
        "PATRON_WEBHOOK_POLL_SECONDS": "0.05",
        "PATRON_ACCESS_LOG": "false",
        "PATRON_WORKERS": "1",
    }
    await _cli(env, "migrate")
    creds = await _cli(env, "org", "create", "Crash", "--json")
    await _cli(env, "webhooks", "add", "--org", str(creds["orgId"]), "--url", receiver.url(), "--json")
    server = Server(env)
    base = f"http://127.0.0.1:{server.port}"
    auth = (str(creds["username"]), str(creds["password"]))
    acknowledged: dict[int, str] = {}
    try:
        for _ in range(ROUNDS):
            await server.start()
            await _register_until_killed(server, base, auth, acknowledged)
        await server.start()
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=30) as http:
            for customer_id, mobile in acknowledged.items():
                r = await http.get(
                    "/v2/customers/lookup",
                    params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile},
                )
                assert r.status_code == 200, f"acknowledged customer {customer_id} is gone: {r.text}"
                assert r.json()["entity"] == customer_id

        def added(reqs: list[Received]) -> set[int]:
            return {
                req.json["attributes"]["data"]["customerIdentifiers"]["customerId"]
                for req in reqs
                if req.json.get("eventType") == "customerAdded"
            }

        await receiver.wait_for(lambda reqs: added(reqs) >= set(acknowledged), timeout=120)
        print(
            f"{engine}: {len(acknowledged)} registrations acknowledged over {ROUNDS} SIGKILLs;"
            " all found and their customerAdded delivered"
        )
    finally:
        await server.stop()
