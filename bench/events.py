"""Webhook delivery benchmark: events per second from the outbox to a local receiver, with
one and with several `patron worker` processes, and commit-to-receipt latency at a fixed
offered rate; on SQLite and on PostgreSQL. The receiver's own ceiling is printed beside.

    .venv/bin/python bench/events.py [--events 3000] [--workers 1,3] [--rate 200] [--seconds 10]

The receiver runs in this process (its own thread and event loop) and answers 204 at once;
latency is the receipt time minus the event's `attributes.createdAt` (stamped as the event
is written, just before its transaction commits). Figures, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procs import REPO, BenchError, Processes, free_port, terminate

sys.path.insert(0, str(REPO))


class Receiver:
    """A minimal keep-alive HTTP/1.1 receiver on loopback, in a thread of its own."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: dict[str, float] = {}  # eventId -> first receipt time (epoch s)
        self.latency_ms: list[float] = []
        self.count = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)
            self._ready.set()
            async with server:
                await server.serve_forever()

        self._loop.run_until_complete(main())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                now = time.time()
                self.count += 1
                try:
                    event = orjson.loads(body)
                    event_id = event["eventId"]
                    if event_id not in self.received:
                        self.received[event_id] = now
                        self.latency_ms.append(now * 1000 - event["attributes"]["createdAt"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    pass
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def reset(self) -> None:
        self.received.clear()
        self.latency_ms.clear()
        self.count = 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def customer(serial: int, first_name: str) -> dict[str, Any]:
    """A registration body with a valid, unique Indian mobile (9198 and 8 digits)."""
    return {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [
            {
                "source": "INSTORE",
                "firstName": first_name,
                "identifiers": [{"type": "mobile", "value": f"9198{serial:08d}"}],
            }
        ],
    }


async def register_many(
    base: str, auth: tuple[str, str], count: int, start: int, concurrency: int = 32
) -> None:
    queue = iter(range(count))
    # Idle connections are dropped before the server's 5 s keep-alive would close them mid-use.
    limits = httpx.Limits(max_connections=concurrency, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=60, limits=limits) as client:

        async def one_worker() -> None:
            for n in queue:
                r = await client.post("/v2/customers", json=customer(start + n, "Ev"))
                if r.status_code != 200:
                    raise BenchError(f"register failed: {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(one_worker() for _ in range(concurrency)))


async def offer(base: str, auth: tuple[str, str], rate: float, seconds: float, start: int) -> int:
    """Open loop: one registration every 1/rate s whatever the answers; returns how many."""
    total = int(rate * seconds)
    async with httpx.AsyncClient(
        base_url=base, auth=auth, timeout=60, limits=httpx.Limits(max_connections=64, keepalive_expiry=2)
    ) as client:
        began = time.perf_counter()
        tasks = []
        for n in range(total):
            delay = began + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(client.post("/v2/customers", json=customer(start + n, "Lat"))))
        responses = await asyncio.gather(*tasks)
    failed = [r for r in responses if r.status_code != 200]
    if failed:
        raise BenchError(f"{len(failed)} registrations failed, e.g. {failed[0].text[:200]}")
    return total


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.05)


def receiver_ceiling(receiver: Receiver, seconds: float = 3.0) -> float:
    """Requests per second the receiver answers from one client here (wrk if present)."""
    import shutil
    import subprocess

    wrk = shutil.which("wrk")
    if wrk is None:
        return float("nan")
    script = Path(tempfile.mkdtemp()) / "post.lua"
    body = json.dumps({"eventId": "x", "attributes": {"createdAt": 0}})
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n')
    out = subprocess.run(
        [wrk, "-t1", "-c32", f"-d{seconds:g}s", "-s", str(script), f"http://127.0.0.1:{receiver.port}/"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    receiver.reset()
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return float("nan")


def run_engine(engine: str, args: argparse.Namespace, receiver: Receiver) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with Processes(Path(tempfile.mkdtemp(prefix=f"patron-events-{engine}-"))) as procs:
        if engine == "sqlite":
            url = f"sqlite+aiosqlite:///{procs.workdir / 'patron.db'}"
        else:
            url, _, _ = procs.start_postgres()
        extra = {
            "PATRON_WORKER_ENABLED": "false",
            "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
            "PATRON_WEBHOOK_POLL_SECONDS": "0.05",
        }
        base_env = procs.patron_env(url) | extra
        port = free_port()
        api = procs.start_server(
            "api",
            [str(REPO / ".venv/bin/patron"), "run", "--port", str(port)],
            base_env | {"PATRON_PORT": str(port)},
            port,
            "/health",
        )
        creds = procs.create_org(url, "Events bench")
        auth = (creds.username, creds.password)
        add = [
            "webhooks",
            "add",
            "--org",
            str(creds.org_id),
            "--url",
            f"http://127.0.0.1:{receiver.port}/hook",
            "--json",
        ]
        import subprocess

        subprocess.run(
            [str(REPO / ".venv/bin/patron"), *add],
            env=base_env,
            cwd=procs.workdir,
            check=True,
            capture_output=True,
        )
        offset = 0
        for workers in args.workers:
            if engine == "sqlite" and workers > 1:
                continue  # one writer: SQLite runs one worker
            receiver.reset()
            asyncio.run(register_many(api.base_url, auth, args.events, offset))
            offset += args.events
            started = [
                procs.spawn(
                    f"worker{i}",
                    [str(REPO / ".venv/bin/patron"), "worker"],
                    base_env,
                    procs.workdir / f"worker-{workers}-{i}.log",
                )
                for i in range(workers)
            ]
            wait_for(lambda: len(receiver.received) >= args.events, 600, "every event to arrive")
            times = sorted(receiver.received.values())
            span = times[-1] - times[0]
            rows.append(
                {
                    "engine": engine,
                    "scenario": f"drain {args.events} events",
                    "workers": workers,
                    "events_per_s": round((len(times) - 1) / span, 1) if span > 0 else None,
                }
            )
            if workers == min(w for w in args.workers if not (engine == "sqlite" and w > 1)):
                receiver.reset()
                sent = asyncio.run(offer(api.base_url, auth, args.rate, args.seconds, offset))
                offset += sent
                wait_for(
                    lambda sent=sent: len(receiver.received) >= sent, 120, "the offered events to arrive"
                )
                rows.append(
                    {
                        "engine": engine,
                        "scenario": f"latency at {args.rate:g} events/s offered",
                        "workers": workers,
                        "p50_ms": round(pct(receiver.latency_ms, 50), 1),
                        "p99_ms": round(pct(receiver.latency_ms, 99), 1),
                        "max_ms": round(max(receiver.latency_ms), 1),
                    }
                )
            for process in started:
                terminate(process)
        procs.stop_server(api)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 3])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    receiver = Receiver().start()
    ceiling = receiver_ceiling(receiver)
    rows: list[dict[str, Any]] = []
    for engine in args.engines.split(","):
        rows.extend(run_engine(engine, args, receiver))
    print(f"\nreceiver ceiling (wrk, 32 connections): {ceiling:,.0f} requests/s")
    print(
        f"{'engine':<11}{'scenario':<34}{'workers':>8}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for r in rows:
        print(
            f"{r['engine']:<11}{r['scenario']:<34}{r['workers']:>8}{r.get('events_per_s') or '':>10}"
            f"{r.get('p50_ms', ''):>9}{r.get('p99_ms', ''):>9}{r.get('max_ms', ''):>9}"
        )
    print("targets: >= 500 events/s sustained; p99 < 1000 ms at 200 events/s offered")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "events.json").write_text(json.dumps({"receiver_ceiling": ceiling, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
