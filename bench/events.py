"""Webhook delivery benchmark: events per second from the outbox to a local receiver, with
one and with several `patron worker` processes, and commit-to-receipt latency at a fixed
offered rate; on SQLite and on (durable) PostgreSQL. The receiver's own ceiling is printed
beside.

    .venv/bin/python bench/events.py [--events 3000] [--workers 1,3] [--rate 200] [--seconds 10]

`patron run` serves the API with PATRON_WORKER_ENABLED=false, so it starts no delivery
worker of its own: the benchmark starts the `patron worker` processes it measures. The
receiver runs in this process (its own thread and event loop) and answers 204 at once;
latency is the receipt time minus the event's `attributes.createdAt` (stamped as the event
is written, just before its transaction commits). Figures and targets, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
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

ENGINES = ("sqlite", "postgres")
# Targets (issue 7, section 3), printed beside the figures.
TARGET_DRAIN = 1000.0  # events/s drained by one worker, on each engine
TARGET_RATE = 200.0  # events/s offered for the latency run
TARGET_P99_MS = 1000.0  # commit-to-receipt p99 at TARGET_RATE offered


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
    wrk = shutil.which("wrk")
    if wrk is None:
        return float("nan")
    body = json.dumps({"eventId": "x", "attributes": {"createdAt": 0}})
    with tempfile.TemporaryDirectory(prefix="patron-events-") as folder:
        script = Path(folder) / "post.lua"
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


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def drain_target(workers: int, events_per_s: float | None) -> str:
    """The drain target holds for one worker; more workers are shown for information."""
    if workers != 1:
        return ""
    return f">= {TARGET_DRAIN:,.0f}/s: {verdict(events_per_s is not None and events_per_s >= TARGET_DRAIN)}"


def latency_target(rate: float, p99_ms: float) -> str:
    text = f"p99 < {TARGET_P99_MS:,.0f} ms at {TARGET_RATE:g}/s"
    if rate != TARGET_RATE:
        return f"{text}: not judged (offered {rate:g}/s)"
    return f"{text}: {verdict(p99_ms < TARGET_P99_MS)}"


def run_engine(engine: str, args: argparse.Namespace, receiver: Receiver) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    # The folder goes after the processes are stopped (contexts close in reverse order).
    with (
        tempfile.TemporaryDirectory(prefix=f"patron-events-{engine}-") as workdir,
        Processes(Path(workdir)) as procs,
    ):
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
            if engine == "postgres":
                procs.analyze_postgres(url)  # statistics, as a database in service has them
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
            rate = round((len(times) - 1) / span, 1) if span > 0 else None
            rows.append(
                {
                    "engine": engine,
                    "scenario": f"drain {args.events} events",
                    "workers": workers,
                    "events_per_s": rate,
                    "target": drain_target(workers, rate),
                }
            )
            if workers == min(w for w in args.workers if not (engine == "sqlite" and w > 1)):
                receiver.reset()
                sent = asyncio.run(offer(api.base_url, auth, args.rate, args.seconds, offset))
                offset += sent
                wait_for(
                    lambda sent=sent: len(receiver.received) >= sent, 120, "the offered events to arrive"
                )
                p99 = round(pct(receiver.latency_ms, 99), 1)
                rows.append(
                    {
                        "engine": engine,
                        "scenario": f"latency at {args.rate:g} events/s offered",
                        "workers": workers,
                        "p50_ms": round(pct(receiver.latency_ms, 50), 1),
                        "p99_ms": p99,
                        "max_ms": round(max(receiver.latency_ms), 1),
                        "target": latency_target(args.rate, p99),
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
    parser.add_argument("--events", type=int, default=3000, help="events per drain run (default 3000)")
    parser.add_argument(
        "--workers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 3],
        help="`patron worker` processes per drain run (default 1,3; SQLite runs only 1)",
    )
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="events/s offered (default 200)")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="seconds the rate is offered (default 10)"
    )
    parser.add_argument("--engines", default=",".join(ENGINES), help="default sqlite,postgres")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines or set(engines) - set(ENGINES):
        parser.error(f"--engines: choose among {', '.join(ENGINES)}")
    receiver = Receiver().start()
    ceiling = receiver_ceiling(receiver)
    rows: list[dict[str, Any]] = []
    for engine in engines:
        rows.extend(run_engine(engine, args, receiver))
    print(f"\nreceiver ceiling (wrk, 32 connections): {ceiling:,.0f} requests/s")
    print(
        f"{'engine':<10}{'scenario':<34}{'workers':>8}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}  target"
    )
    for r in rows:
        print(
            f"{r['engine']:<10}{r['scenario']:<34}{r['workers']:>8}{r.get('events_per_s') or '':>10}"
            f"{r.get('p50_ms', ''):>9}{r.get('p99_ms', ''):>9}{r.get('max_ms', ''):>9}  {r['target']}"
        )
    print(
        f"targets: >= {TARGET_DRAIN:,.0f} events/s drained with one worker on each engine; commit-to-receipt "
        f"p99 < {TARGET_P99_MS / 1000:g} s at {TARGET_RATE:g} events/s offered"
    )
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "events.json").write_text(json.dumps({"receiver_ceiling": ceiling, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
