"""A real HTTP receiver on loopback for webhook tests: records every request, in the order
received, and answers as the test says (status, delay, headers, or held until a gate
opens), over keep-alive HTTP/1.1 connections. It keeps no clock: tests compare positions in
`requests`, never times."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return str(self.headers["webhook-id"])


@dataclass
class Reply:
    status: int = 204
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    gate: asyncio.Event | None = None  # answer only once the test sets it


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Received] = []
        self.answer: Callable[[Received], Reply] = lambda _: Reply()
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Event()
        self.port = port
        self.connections = 0  # open now

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 15.0) -> None:
        """Wait until the requests received so far satisfy `predicate` (fail at the deadline)."""
        await self._until(lambda: predicate(self.requests), timeout)

    async def wait_closed_by_clients(self, timeout: float = 15.0) -> None:
        """Wait until every client has closed its connection (a sender that exited has): no
        request can be on its way any more."""
        await self._until(lambda: self.connections == 0, timeout)

    async def _until(self, condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"receiver condition not met; got {len(self.requests)} requests,"
                    f" {self.connections} connections open"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                received = Received(path, headers, body)
                self.requests.append(received)
                self._changed.set()
                reply = self.answer(received)
                if reply.gate is not None:
                    await reply.gate.wait()
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                writer.write(
                    f"HTTP/1.1 {reply.status} X\r\ncontent-length: {len(reply.body)}\r\n{extra}\r\n".encode()
                    + reply.body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            self.connections -= 1
            self._changed.set()
