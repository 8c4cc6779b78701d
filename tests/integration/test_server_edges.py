"""The edge of a real server: Patron's app served by uvicorn with Patron's HTTP protocol on a
loopback port, spoken to over raw sockets. Slow, huge, malformed and failing requests each
get an answer in the v2 envelope, and a failure does not cost the client its connection."""

from __future__ import annotations

import asyncio
import base64
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn

from patron.api import server as patron_server
from patron.config import Settings
from patron.db.migrate import upgrade
from patron.main import create_app
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from tests.conftest import CONFIG

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5


@dataclass
class Served:
    port: int
    app: Any


@pytest.fixture
async def served(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    monkeypatch.setenv("PATRON_HEADER_TIMEOUT_SECONDS", str(HEADER_TIMEOUT))
    monkeypatch.setenv("PATRON_MAX_URL_BYTES", "2048")
    monkeypatch.setenv("PATRON_MAX_HEADER_BYTES", "4096")
    patron_server._limits.cache_clear()
    tmp = Path(tempfile.mkdtemp(prefix="patron-edge-"))
    url = f"sqlite+aiosqlite:///{tmp / 'patron.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key=base64.b64encode(os.urandom(32)).decode(),
        worker_enabled=False,
        access_log=False,
        body_timeout_seconds=BODY_TIMEOUT,
    )
    app = create_app(settings)

    async def boom() -> None:
        raise RuntimeError("a defect nobody handled")

    app.add_api_route("/v2/boom", boom, methods=["GET"])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=patron_server.PatronHttpProtocol,
        lifespan="on",
        log_level="critical",
        server_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(port, app)
    finally:
        server.should_exit = True
        await task
        patron_server._limits.cache_clear()


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 10)
    return status, headers, body


def _envelope_code(body: bytes) -> int:
    document = orjson.loads(body)
    assert document["warnings"] == []
    (error,) = document["errors"]
    assert error["status"] is False and error["message"]
    return int(error["code"])


async def test_an_unhandled_error_is_a_500_envelope_and_the_connection_stays_open(served: Served) -> None:
    reader, writer = await _open(served.port)
    writer.write(b"GET /v2/boom HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = await _response(reader)
    assert status == 500
    assert headers["content-type"] == "application/json"
    assert headers.get("connection") != "close"
    assert _envelope_code(body) == 500
    assert b"a defect nobody handled" not in body
    # The same connection serves the next request.
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = await _response(reader)
    assert status == 200 and orjson.loads(body) == {"status": "ok"}
    assert "server" not in headers
    writer.close()


async def test_headers_that_never_finish_get_408_and_the_connection_closes(served: Served) -> None:
    reader, writer = await _open(served.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n")  # no blank line: headers never end
    status, headers, body = await _response(reader)
    assert status == 408 and headers["connection"] == "close"
    assert _envelope_code(body) == 408
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
    writer.close()


async def test_an_idle_connection_after_a_response_is_bounded_too(served: Served) -> None:
    reader, writer = await _open(served.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (await _response(reader))[0] == 200
    writer.write(b"GET /health HTTP/1.1\r\n")  # the next request starts and stalls
    status, _, body = await _response(reader)
    assert status == 408 and _envelope_code(body) == 408
    writer.close()


async def test_a_body_that_never_finishes_gets_408_in_the_envelope(served: Served) -> None:
    creds = await served.app.state.db.write(
        orgs.create_org,
        served.app.state.authenticator.keys,
        name="Edge",
        config=OrgConfig.model_validate(CONFIG),
    )
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode())
    reader, writer = await _open(served.port)
    writer.write(
        b"POST /v2/customers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\nAuthorization: Basic " + token + b'\r\n\r\n{"profiles"'
    )
    status, headers, body = await _response(reader)
    assert status == 408
    assert headers["connection"] == "close"
    assert _envelope_code(body) == 408
    writer.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /v2/customers/lookup?x=" + b"a" * 4000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"b" * 5000 + b"\r\n\r\n", 431),
        (b"GET /health HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n", 400),
    ],
    ids=["long-url", "long-headers", "malformed-header", "tls-hello"],
)
async def test_oversize_and_malformed_requests_are_answered_in_the_envelope(
    served: Served, request_bytes: bytes, status: int
) -> None:
    reader, writer = await _open(served.port)
    writer.write(request_bytes)
    got, headers, body = await _response(reader)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert _envelope_code(body) == status
    writer.close()
