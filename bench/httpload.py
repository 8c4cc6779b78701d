"""A small HTTP/1.1 load generator on raw asyncio streams, for what wrk cannot do here.

`open_loop` offers a fixed request rate whatever the server does (requests are sent on a
schedule, not when an answer comes back), and measures each latency from the request's
scheduled send time, so a server that falls behind shows its whole backlog in the
percentiles (no coordinated omission). `sequential` times requests one after another on one
keep-alive connection; `send_all` sends a batch as fast as the server answers (to set data
up, untimed). Only what Patron and uvicorn send is parsed: a status line, headers
and a Content-Length body.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import resource
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def build_request(
    method: str, host: str, port: int, path: str, authorization: str | None, body: bytes | None = None
) -> bytes:
    """One HTTP/1.1 request, ready to write; a body is sent as JSON."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def build_get(host: str, port: int, path: str, authorization: str | None) -> bytes:
    return build_request("GET", host, port, path, authorization)


class Connection:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, data: bytes) -> tuple[int, bytes, bool]:
        """Send one request; return (status, body, whether the server will close)."""
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked responses are not supported by this client")
        body = await self.reader.readexactly(length) if length else b""
        return status, body, close

    def close(self) -> None:
        self.writer.close()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (nan when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(latencies_ms: Sequence[float]) -> dict[str, float]:
    values = sorted(latencies_ms)
    summary = {f"p{q:g}".replace(".", ""): percentile(values, q) for q in (50, 75, 90, 99, 99.9)}
    summary["min"] = values[0] if values else math.nan
    summary["max"] = values[-1] if values else math.nan
    summary["mean"] = sum(values) / len(values) if values else math.nan
    return {key: round(value, 3) for key, value in summary.items()}


@dataclass(frozen=True)
class OpenLoopResult:
    offered_rate: float
    duration_s: float
    scheduled: int
    completed: int
    non2xx: int
    failed: int
    unfinished: int
    achieved_rate: float
    latency_ms: dict[str, float]
    max_send_lag_ms: float
    connections: int
    client_cpu_s: float

    @property
    def errors(self) -> int:
        return self.non2xx + self.failed + self.unfinished

    def to_json(self) -> dict[str, Any]:
        return {
            "offered_rate": self.offered_rate,
            "duration_s": self.duration_s,
            "scheduled": self.scheduled,
            "completed": self.completed,
            "non2xx": self.non2xx,
            "failed": self.failed,
            "unfinished": self.unfinished,
            "achieved_rate": round(self.achieved_rate, 1),
            "latency_ms": self.latency_ms,
            "max_send_lag_ms": round(self.max_send_lag_ms, 3),
            "connections": self.connections,
            "client_cpu_s": round(self.client_cpu_s, 3),
        }


async def open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    drain_timeout: float,
) -> OpenLoopResult:
    """Offer `rate` requests/s for `duration` s over at most `connections` connections.

    The scheduler puts (scheduled time, request) on a queue at the scheduled instant; one
    worker per connection takes the next item when it is free. Requests that wait for a free
    connection therefore wait in the queue, and that wait counts in their latency.
    """
    if not requests:
        raise ValueError("open_loop needs at least one request")
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    counts = {"non2xx": 0, "failed": 0}
    last_done = 0.0
    usage_before = resource.getrusage(resource.RUSAGE_SELF)

    async def worker(conn: Connection | None) -> None:
        nonlocal last_done
        try:
            while (item := await queue.get()) is not None:
                scheduled, data = item
                try:
                    if conn is None:
                        conn = await Connection.open(host, port)
                    status, _, close = await conn.request(data)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                    counts["failed"] += 1
                    if conn is not None:
                        conn.close()
                    conn = None
                    continue
                done = time.perf_counter()
                latencies.append((done - scheduled) * 1000.0)
                last_done = done
                if not 200 <= status <= 299:
                    counts["non2xx"] += 1
                if close:
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    # Open the connections before the clock starts, so connecting is not part of the run.
    opened = await asyncio.gather(
        *(Connection.open(host, port) for _ in range(connections)), return_exceptions=True
    )
    workers = [asyncio.create_task(worker(conn if isinstance(conn, Connection) else None)) for conn in opened]
    start = time.perf_counter() + 0.01
    max_lag = 0.0
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            max_lag = max(max_lag, -delay)
        queue.put_nowait((scheduled, requests[index % len(requests)]))
    for _ in workers:
        queue.put_nowait(None)
    _, pending = await asyncio.wait(workers, timeout=drain_timeout)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    completed = len(latencies)
    unfinished = total - completed - counts["failed"]
    elapsed = (last_done - start) if last_done > start else duration
    return OpenLoopResult(
        offered_rate=rate,
        duration_s=duration,
        scheduled=total,
        completed=completed,
        non2xx=counts["non2xx"],
        failed=counts["failed"],
        unfinished=unfinished,
        achieved_rate=completed / max(elapsed, duration),
        latency_ms=summarize(latencies),
        max_send_lag_ms=max_lag * 1000.0,
        connections=connections,
        client_cpu_s=(usage_after.ru_utime - usage_before.ru_utime)
        + (usage_after.ru_stime - usage_before.ru_stime),
    )


async def sequential(host: str, port: int, request: bytes, repeats: int) -> tuple[list[float], int, bytes]:
    """Send `request` `repeats` times in a row on one connection.

    Returns the latencies in ms, the number of non-2xx answers and the last body.
    """
    conn = await Connection.open(host, port)
    latencies: list[float] = []
    non2xx = 0
    body = b""
    try:
        for _ in range(repeats):
            sent = time.perf_counter()
            status, body, _ = await conn.request(request)
            latencies.append((time.perf_counter() - sent) * 1000.0)
            if not 200 <= status <= 299:
                non2xx += 1
    finally:
        conn.close()
    return latencies, non2xx, body


async def send_all(host: str, port: int, requests: Sequence[bytes], connections: int) -> list[int]:
    """Send every request once, over `connections` keep-alive connections, as fast as the
    server answers; return the statuses in request order (0: no answer)."""
    return [status for status, _ in await exchange_all(host, port, requests, connections)]


async def exchange_all(
    host: str, port: int, requests: Sequence[bytes], connections: int
) -> list[tuple[int, bytes]]:
    """send_all, keeping each answer's body: (status, body) in request order ((0, b""): no
    answer)."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    pending = iter(range(len(requests)))

    async def worker() -> None:
        conn: Connection | None = None
        try:
            for index in pending:
                try:
                    if conn is None:
                        conn = await Connection.open(host, port)
                    status, body, close = await conn.request(requests[index])
                    answers[index] = (status, body)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                    close = True
                if close and conn is not None:
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(connections, len(requests))))))
    return answers


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed (it is, with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop

    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)
