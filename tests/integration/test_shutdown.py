"""SIGTERM to `patron run` stops it gracefully and loses nothing.

Registrations are in flight (their headers and half their bodies sent, the rest held back)
and webhook deliveries are in flight (the receiver takes a second to answer each) when the
parent process, and it alone, gets SIGTERM. Then: every registration in flight is answered
200 and stored; the process exits 0 within 30 s; its delivery worker (told by the parent)
recorded the outcome of every attempt it had started, so no lease is left to lapse and no
event is sent twice; and after a restart every event of every answered write is delivered,
each once. On SQLite and on PostgreSQL, with one API process and with three (uvicorn's
supervisor passes SIGTERM to each). A `patron worker` of its own, SIGTERMed with deliveries
in flight, settles them and exits 0 too."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.integration.test_crash import PATRON, _cli, _database_url
from tests.ports import free_port
from tests.support import register_body
from tests.webhooks.receiver import Received, Receiver, Reply

BEFORE = 12  # registrations answered before SIGTERM: their deliveries are in flight
IN_FLIGHT = 24  # registrations whose bodies are still arriving when SIGTERM comes


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        r.answer = lambda _: Reply(status=204, delay=1.0)
        yield r


async def _started(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("a") as sink:
        process = await asyncio.create_subprocess_exec(
            *PATRON, "run", env=env, stdout=subprocess.DEVNULL, stderr=sink
        )
    port = env["PATRON_PORT"]
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, f"patron run exited while starting; see {log}"
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError("patron run did not answer /health within 60 s")


async def _held_registration(
    http: httpx.AsyncClient, release: asyncio.Event, sent: list[int]
) -> tuple[str, httpx.Response]:
    """A registration whose body stops halfway until `release`; `sent` counts those whose
    headers and first half were written."""
    body = register_body()
    mobile = body["profiles"][0]["identifiers"][0]["value"]
    data = json.dumps(body).encode()
    half = len(data) // 2

    async def chunks() -> AsyncIterator[bytes]:
        yield data[:half]
        sent.append(1)
        await release.wait()
        yield data[half:]

    response = await http.post(
        "/v2/customers",
        content=chunks(),
        headers={"content-type": "application/json", "content-length": str(len(data))},
    )
    return mobile, response


async def _unsettled_leases_and_attempts(url: str) -> tuple[int, int]:
    """Deliveries leased but not settled, and attempts recorded (a direct look, all orgs)."""
    leased = "SELECT count(*) FROM webhook_delivery WHERE lease_owner IS NOT NULL"
    attempts = "SELECT count(*) FROM webhook_attempt"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1])
        try:
            return conn.execute(leased).fetchone()[0], conn.execute(attempts).fetchone()[0]
        finally:
            conn.close()
    pg = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return await pg.fetchval(leased), await pg.fetchval(attempts)
    finally:
        await pg.close()


def _added(requests: list[Received]) -> dict[int, list[str]]:
    """customerId -> the webhook-ids of its customerAdded deliveries received."""
    out: dict[int, list[str]] = {}
    for r in requests:
        if r.json.get("eventType") == "customerAdded":
            customer = r.json["attributes"]["data"]["customerIdentifiers"]["customerId"]
            out.setdefault(customer, []).append(r.event_id)
    return out


@pytest.mark.parametrize(("engine", "processes"), [("sqlite", 1), ("postgresql", 1), ("postgresql", 3)])
async def test_sigterm_finishes_requests_and_deliveries_in_flight_and_loses_nothing(
    engine: str, processes: int, receiver: Receiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = await _database_url(engine, tmp_path, request)
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": url,
        "PATRON_PORT": str(free_port()),
        "PATRON_HOST": "127.0.0.1",
        "PATRON_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "unused.key"),
        "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
        "PATRON_WEBHOOK_POLL_SECONDS": "0.05",
        "PATRON_WEBHOOK_TIMEOUT_SECONDS": "10",
        "PATRON_WORKERS": str(processes),
    }
    await _cli(env, "migrate")
    creds = await _cli(env, "org", "create", "Shutdown", "--json")
    await _cli(env, "webhooks", "add", "--org", str(creds["orgId"]), "--url", receiver.url(), "--json")
    base = f"http://127.0.0.1:{env['PATRON_PORT']}"
    auth = (str(creds["username"]), str(creds["password"]))
    log = tmp_path / "server.log"
    answered: dict[int, str] = {}  # createdId -> mobile

    server = await _started(env, log)
    try:
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=10) as http:
            for _ in range(BEFORE):
                body = register_body()
                r = await http.post("/v2/customers", json=body)
                assert r.status_code == 200, r.text
                answered[r.json()["createdId"]] = body["profiles"][0]["identifiers"][0]["value"]
        # Deliveries are in flight: the receiver holds each for a second.
        await receiver.wait_for(lambda reqs: len(reqs) >= 1, timeout=15)
        release = asyncio.Event()
        sent: list[int] = []
        limits = httpx.Limits(max_connections=IN_FLIGHT)
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=40, limits=limits) as http:
            held = [asyncio.create_task(_held_registration(http, release, sent)) for _ in range(IN_FLIGHT)]
            deadline = time.monotonic() + 15
            while len(sent) < IN_FLIGHT:
                assert time.monotonic() < deadline, f"only {len(sent)} requests got going"
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # the server has read their headers and first halves
            assert not any(t.done() for t in held)

            server.send_signal(signal.SIGTERM)  # the parent alone: it tells its worker itself
            stopped_at = time.monotonic()
            await asyncio.sleep(0.5)
            release.set()
            results = await asyncio.gather(*held)
        await asyncio.wait_for(server.wait(), 30)
        took = time.monotonic() - stopped_at
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()

    text = log.read_text()
    assert server.returncode == 0, text[-3000:]
    assert took < 30
    for mobile, response in results:
        assert response.status_code == 200, response.text  # none reset, none refused
        answered[response.json()["createdId"]] = mobile
    assert len(answered) == BEFORE + IN_FLIGHT

    # The worker finished what it had started and recorded every outcome: no lease is left
    # to lapse, and each request the receiver got has its attempt row.
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(e["event"].startswith("stopping: finishing") for e in lines), text[-3000:]
    leased, attempts = await _unsettled_leases_and_attempts(url)
    sent_before_restart = len(receiver.requests)
    assert leased == 0
    assert attempts == sent_before_restart > 0

    # Restarted, it delivers the rest (the outbox kept them) and reads back every write.
    server = await _started(env, log)
    try:
        await receiver.wait_for(lambda reqs: set(_added(reqs)) >= set(answered), timeout=60)
        async with httpx.AsyncClient(base_url=base, auth=auth, timeout=10) as http:
            for customer_id, mobile in answered.items():
                r = await http.get(
                    "/v2/customers/lookup",
                    params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile},
                )
                assert r.status_code == 200 and r.json()["entity"] == customer_id, r.text
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 30)
    assert server.returncode == 0
    # Nothing was sent twice: the attempts in flight at SIGTERM were settled, not abandoned.
    ids = [r.event_id for r in receiver.requests]
    assert len(ids) == len(set(ids))
    print(
        f"{engine}, {processes} API processes: stopped in {took:.1f} s with {IN_FLIGHT} requests and"
        f" {sent_before_restart} deliveries answered; {len(answered)} writes, all delivered once"
    )


async def test_a_standalone_worker_settles_its_deliveries_in_flight_on_sigterm(
    receiver: Receiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = await _database_url("postgresql", tmp_path, request)
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": url,
        "PATRON_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "unused.key"),
        "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
        "PATRON_WEBHOOK_POLL_SECONDS": "0.05",
    }
    await _cli(env, "migrate")
    creds = await _cli(env, "org", "create", "Worker", "--json")
    await _cli(env, "webhooks", "add", "--org", str(creds["orgId"]), "--url", receiver.url(), "--json")
    # The writes come through the CLI's demo data: customers and their outbox rows, no server.
    await _cli(env, "demo", "load", "--org", str(creds["orgId"]), "--customers", str(BEFORE))
    log = tmp_path / "worker.log"
    with log.open("a") as sink:
        worker = await asyncio.create_subprocess_exec(
            *PATRON, "worker", env=env, stdout=subprocess.DEVNULL, stderr=sink
        )
    try:
        await receiver.wait_for(lambda reqs: len(reqs) >= 1, timeout=30)  # one is in flight
        worker.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        await asyncio.wait_for(worker.wait(), 30)
        took = time.monotonic() - stopped_at
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == 0, log.read_text()[-3000:]
    leased, attempts = await _unsettled_leases_and_attempts(url)
    assert leased == 0
    assert attempts == len(receiver.requests) > 0
    print(f"patron worker: stopped in {took:.1f} s, {attempts} deliveries settled")
