"""The delivery worker's HTTP/1.1 client: keep-alive connections to each endpoint, the
address checked and then connected to, answers parsed by httptools.

A general-purpose client spent most of the worker's CPU choosing among its pooled
connections (about 4 ms per delivery at 32 in flight). Deliveries need little: POST a
small JSON body, read the status, `Retry-After` and the start of the answer, within a
deadline. So each connection is a pair of asyncio streams: a new one resolves the host,
checks every address it would use (unless private addresses are allowed), connects to
that very address (TLS with the host's name for SNI and the certificate check), and goes
back to its endpoint's idle list when the answer allows keep-alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

from patron.webhooks.urls import checked_addresses

EXCERPT = 1024
MAX_ANSWER = 64 * 1024  # a longer answer is not read to its end: the connection is closed
IDLE_PER_ENDPOINT = 64
IDLE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    retry_after: str | None
    excerpt: bytes


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    request_target: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    scheme = parts.scheme
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    return _Target(scheme, host, port, f"{path}?{parts.query}" if parts.query else path)


@dataclass
class _Answer:
    """httptools callbacks gathering one answer."""

    status: int = 0
    retry_after: str | None = None
    body: bytearray = field(default_factory=bytearray)
    complete: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if len(self.body) < MAX_ANSWER:
            self.body.extend(body)

    def on_message_complete(self) -> None:
        self.complete = True


class DeliveryClient:
    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = defaultdict(deque)
        self._tls = ssl.create_default_context()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST and return the answer; raise UnsafeAddress or OSError (callers bound the
        time with `asyncio.timeout`; a cancelled exchange closes its connection)."""
        target = _target(url)
        connection, reused = await self._connection(target)
        try:
            answer, keep = await self._exchange(connection, target, body, headers)
        except (OSError, asyncio.IncompleteReadError, httptools.HttpParserError):
            connection.close()
            if not reused:
                raise
            # A kept-alive connection the endpoint had closed: once more on a new one.
            connection, _ = await self._connection(target, fresh=True)
            try:
                answer, keep = await self._exchange(connection, target, body, headers)
            except BaseException:
                connection.close()
                raise
        except BaseException:
            connection.close()
            raise
        if keep and len(self._idle[target.key]) < IDLE_PER_ENDPOINT:
            connection.idle_since = time.monotonic()
            self._idle[target.key].append(connection)
        else:
            connection.close()
        return answer

    async def _connection(self, target: _Target, *, fresh: bool = False) -> tuple[_Connection, bool]:
        idle = self._idle.get(target.key)
        now = time.monotonic()
        while idle and not fresh:
            connection = idle.pop()
            if now - connection.idle_since < IDLE_SECONDS and not connection.reader.at_eof():
                return connection, True
            connection.close()
        # Resolved once and every address checked; the connection goes to a checked one.
        addresses = await checked_addresses(target.host, target.port, allow_private=self.allow_private)
        address = addresses[0]
        reader, writer = await asyncio.open_connection(
            address,
            target.port,
            ssl=self._tls if target.scheme == "https" else None,
            server_hostname=target.host if target.scheme == "https" else None,
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer), False

    async def _exchange(
        self, connection: _Connection, target: _Target, body: bytes, headers: dict[str, str]
    ) -> tuple[Answer, bool]:
        host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        head = [f"POST {target.request_target} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
        head.extend(f"{name}: {value}" for name, value in headers.items())
        connection.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await connection.writer.drain()
        state = _Answer()
        parser = httptools.HttpResponseParser(state)
        while not state.complete:
            chunk = await connection.reader.read(65536)
            if not chunk:
                if not state.status:
                    raise asyncio.IncompleteReadError(bytes(state.body), None)
                # An answer without a length, ended by closing the connection.
                return Answer(state.status, state.retry_after, bytes(state.body[:EXCERPT])), False
            parser.feed_data(chunk)
            if not state.status:
                state.status = parser.get_status_code()
            if len(state.body) >= MAX_ANSWER and not state.complete:
                return Answer(state.status, state.retry_after, bytes(state.body[:EXCERPT])), False
        state.status = state.status or parser.get_status_code()
        keep = parser.should_keep_alive()
        return Answer(state.status, state.retry_after, bytes(state.body[:EXCERPT])), keep

    def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self._idle.clear()
