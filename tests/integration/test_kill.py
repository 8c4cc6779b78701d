"""Kill tests: Patron's processes SIGKILLed at random under a steady load, and nothing
acknowledged lost, nothing refused sent.

PostgreSQL: `patron run` with 3 API processes behind one port (uvicorn's supervisor starts
a new one when one dies) and its delivery worker (which `patron run` starts again when it
dies), plus a second `patron worker` that this test restarts; 100 kills, one every 1-3 s,
of one of those five processes chosen at random. SQLite: `patron run` with its one API
process (restarted by this test) and its worker; 50 kills.

Meanwhile customer journeys register, buy and update, some with an `Idempotency-Key`
(retried with it until answered), and some writes are refused on purpose. Afterwards:

- every acknowledged write is readable (the customer, its last name, its bill);
- every event of an acknowledged write reached the receiver at least once, every delivery
  of one event had one `webhook-id`, and no two events shared one;
- no event of a refused write was delivered; an unacknowledged write (no answer came) was
  delivered exactly when it was committed, which the test reads back (the client cannot
  know which; see docs/decisions.md);
- each customer's events first arrived in the order of its writes;
- `patron loyalty rebuild --dry-run` finds every loyalty summary equal to its ledger.

The counts are printed (`pytest -s` shows them). `PATRON_KILL_SEED` replays a run's random
choices; `PATRON_KILLS` sets fewer kills for a quick look."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import random
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from patron.config import Settings
from patron.db.engine import create_database
from tests.integration.test_crash import PATRON, _cli, _database_url
from tests.loyalty.support import loyalty_config
from tests.ports import free_port
from tests.support import rows
from tests.webhooks.receiver import Received, Receiver

KILLS = {"postgresql": 100, "sqlite": 50}
API_PROCESSES = {"postgresql": 3, "sqlite": 1}
JOURNEYS = 8  # customers written at once
STEPS = 5  # purchases and updates per customer after its registration
_numbers = itertools.count(int(time.time() * 1000) % 10**7 * 10)


def _children(pid: int) -> list[int]:
    """The child processes of `pid`, forked by any of its threads."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class Cluster:
    """`patron run` (N API processes and its delivery worker) plus, on PostgreSQL, a second
    `patron worker`, as an operator would run them; `kill_one` SIGKILLs one at random."""

    def __init__(self, engine: str, env: dict[str, str], rng: random.Random, log: Path) -> None:
        self.engine = engine
        self.log = log  # every process's stderr, appended: the reason when one fails
        self.env = env
        self.rng = rng
        self.port = int(env["PATRON_PORT"])
        self.run: subprocess.Popen[bytes] | None = None
        self.extra_worker: subprocess.Popen[bytes] | None = None
        self.kills: dict[str, int] = defaultdict(int)

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            return subprocess.Popen([*PATRON, *args], env=self.env, stdout=subprocess.DEVNULL, stderr=log)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def start(self) -> None:
        self.run = self._spawn("run")
        if self.engine == "postgresql":
            self.extra_worker = self._spawn("worker")
        await self.healthy()

    async def healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                assert self.run is not None
                assert self.run.poll() is None, f"patron run exited ({self.run.poll()}):\n{self.log_tail()}"
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("patron run did not answer /health in time")

    def processes(self) -> dict[str, list[int]]:
        """The live processes by kind: API processes, `patron run`'s worker, the extra worker."""
        assert self.run is not None
        api: list[int] = []
        run_worker: list[int] = []
        for child in _children(self.run.pid):
            if not _alive(child):
                continue
            line = _cmdline(child)
            if "patron.cli worker" in line:
                run_worker.append(child)
            elif "spawn_main" in line and "resource_tracker" not in line:
                api.append(child)
        if self.engine == "sqlite":
            api = [self.run.pid]  # one API process: `patron run` serves in its own process
        found = {"api": api, "run's worker": run_worker}
        if self.extra_worker is not None and self.extra_worker.poll() is None:
            found["second worker"] = [self.extra_worker.pid]
        return found

    async def kill_one(self) -> None:
        """SIGKILL one live process chosen at random; restart it where nothing else does."""
        assert self.run is not None
        choices = [(kind, pid) for kind, pids in self.processes().items() for pid in pids]
        kind, pid = self.rng.choice(choices)
        os.kill(pid, signal.SIGKILL)
        self.kills[kind] += 1
        if kind == "second worker":
            assert self.extra_worker is not None
            self.extra_worker.wait()
            self.extra_worker = self._spawn("worker")
        elif self.engine == "sqlite" and kind == "api":
            self.run.wait()  # its worker gets SIGTERM from the kernel and stops on its own
            self.run = self._spawn("run")
        # On PostgreSQL uvicorn's supervisor replaces an API process, and `patron run`
        # its own worker (cli/supervise.py).

    async def all_up(self, timeout: float = 60) -> None:
        """Every process of the set-up is serving again."""
        await self.healthy(timeout)
        want = API_PROCESSES[self.engine]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.processes()
            if len(found["api"]) == want and found["run's worker"]:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"processes did not come back: {self.processes()}")

    def stop(self) -> None:
        for process in (self.run, self.extra_worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.run, self.extra_worker):
            if process is not None:
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@dataclass
class Write:
    """One write the load sent: what it was and what the client learnt of it."""

    request_id: str
    kind: str  # register, update, purchase, refused-register
    customer: int | None  # the customer it is about (None while a registration is unanswered)
    journey: int
    step: int
    value: str  # the mobile, the new last name, or the bill number
    outcome: str = "unknown"  # acknowledged, refused, unknown
    retries: int = 0


@dataclass
class Load:
    base: str
    auth: tuple[str, str]
    writes: list[Write] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    journeys: itertools.count[int] = field(default_factory=itertools.count)

    async def send(
        self, http: httpx.AsyncClient, write: Write, method: str, url: str, body: dict[str, Any], keyed: bool
    ) -> httpx.Response | None:
        """Send one write; with a key, send it again until it is answered (the same key and
        request id: it is carried out once). None: no answer came (the outcome is unknown)."""
        self.writes.append(write)
        headers = {"x-request-id": write.request_id}
        if keyed:
            headers["idempotency-key"] = f"key-{write.request_id}"
        deadline = time.monotonic() + 120
        while True:
            try:
                r = await http.request(method, url, json=body, headers=headers)
                if r.status_code < 500:
                    write.outcome = "acknowledged" if r.status_code == 200 else "refused"
                    return r
            except httpx.TransportError:
                pass
            if not keyed or time.monotonic() > deadline:
                return None
            write.retries += 1
            await asyncio.sleep(0.2)

    async def journey(self, http: httpx.AsyncClient, rng: random.Random) -> None:
        """Register a customer, then buy and update in turn; stop at a write whose outcome is
        unknown (what was stored is then read back at the end)."""
        n = next(self.journeys)
        keyed = n % 2 == 0
        number = f"9197{next(_numbers) % 10**8:08d}"
        body = {
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "profiles": [
                {
                    "firstName": "Kill",
                    "lastName": "Initial",
                    "source": "INSTORE",
                    "identifiers": [{"type": "mobile", "value": number}],
                }
            ],
        }
        reg = Write(f"j{n}-0", "register", None, n, 0, number)
        r = await self.send(http, reg, "POST", "/v2/customers", body, keyed)
        if r is None or r.status_code != 200:
            return
        customer = int(r.json()["createdId"])
        reg.customer = customer
        if n % 10 == 5:
            # The same mobile again in the same source: refused (1032), nothing sent.
            again = Write(f"j{n}-r", "refused-register", customer, n, 0, number)
            r = await self.send(http, again, "POST", "/v2/customers", body, keyed=False)
            assert r is None or r.status_code == 409, r.text
        for step in range(1, STEPS + 1):
            if self.stop.is_set():
                return
            rid = f"j{n}-{step}"
            if rng.random() < 0.5:
                bill = f"B{n}-{step}"
                purchase = {
                    "type": "REGULAR",
                    "billNumber": bill,
                    "billAmount": rng.randint(10, 900),
                    "customer": {"id": customer},
                }
                w = Write(rid, "purchase", customer, n, step, bill)
                r = await self.send(http, w, "POST", "/v2/transactions", purchase, keyed)
            else:
                name = f"Step{n}x{step}"
                update = {"profiles": [{"source": "INSTORE", "lastName": name}]}
                w = Write(rid, "update", customer, n, step, name)
                url = f"/v2/customers/{customer}?source=INSTORE"
                r = await self.send(http, w, "PUT", url, update, keyed)
            if r is None:
                return
            assert r.status_code == 200, f"{w.kind} refused: {r.text}"

    async def run(self, seed: int) -> None:
        async def worker(index: int) -> None:
            rng = random.Random(seed * 100 + index)
            async with httpx.AsyncClient(base_url=self.base, auth=self.auth, timeout=15) as http:
                while not self.stop.is_set():
                    await self.journey(http, rng)

        await asyncio.gather(*(worker(i) for i in range(JOURNEYS)))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


def _delivered(requests: list[Received]) -> dict[str, list[Received]]:
    """The deliveries by the event id in their payload."""
    by_event: dict[str, list[Received]] = defaultdict(list)
    for req in requests:
        by_event[req.json["eventId"]].append(req)
    return by_event


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_processes_killed_at_random_lose_nothing_acknowledged_and_send_nothing_refused(
    engine: str, receiver: Receiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = int(os.environ.get("PATRON_KILL_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    url = await _database_url(engine, tmp_path, request)
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": url,
        "PATRON_PORT": str(free_port()),
        "PATRON_WORKERS": str(API_PROCESSES[engine]),
        "PATRON_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "unused.key"),
        "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
        "PATRON_WEBHOOK_POLL_SECONDS": "0.05",
        "PATRON_WEBHOOK_TIMEOUT_SECONDS": "3",
        # A killed worker's leases lapse after this; another worker then sends what it held.
        "PATRON_WEBHOOK_LEASE_SECONDS": "4",
        "PATRON_ACCESS_LOG": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(loyalty_config()))
    await _cli(env, "migrate")
    creds = await _cli(env, "org", "create", "Kill", "--config", str(config), "--json")
    org_id = int(str(creds["orgId"]))
    await _cli(env, "webhooks", "add", "--org", str(org_id), "--url", receiver.url(), "--json")
    cluster = Cluster(engine, env, rng, tmp_path / "processes.log")
    load = Load(f"http://127.0.0.1:{cluster.port}", (str(creds["username"]), str(creds["password"])))
    started = time.monotonic()
    try:
        await cluster.start()
        traffic = asyncio.create_task(load.run(seed))
        for _ in range(int(os.environ.get("PATRON_KILLS", KILLS[engine]))):
            await asyncio.sleep(rng.uniform(1, 3))
            assert not traffic.done(), traffic.exception()
            await cluster.kill_one()
        await cluster.all_up()
        await asyncio.sleep(2)  # the load runs on a whole set-up for a moment
        load.stop.set()
        await asyncio.wait_for(traffic, 180)
        chaos = time.monotonic() - started
        await _check(engine, env, org_id, load, receiver, cluster, seed, chaos)
    finally:
        cluster.stop()


async def _check(
    engine: str,
    env: dict[str, str],
    org_id: int,
    load: Load,
    receiver: Receiver,
    cluster: Cluster,
    seed: int,
    chaos: float,
) -> None:
    writes = load.writes
    by_outcome: dict[tuple[str, str], list[Write]] = defaultdict(list)
    for w in writes:
        by_outcome[(w.kind, w.outcome)].append(w)
    # An unanswered registration may have been stored: its customer is found by its mobile.
    async with httpx.AsyncClient(base_url=load.base, auth=load.auth, timeout=30) as http:
        last_names: dict[int, str] = {}

        async def read(w: Write) -> None:
            r = await http.get(
                "/v2/customers/lookup",
                params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": w.value},
            )
            if w.outcome == "acknowledged":
                assert r.status_code == 200, f"acknowledged registration {w.request_id} is gone: {r.text}"
                assert r.json()["entity"] == w.customer
            elif r.status_code == 200:
                w.customer = int(r.json()["entity"])
            else:
                assert r.status_code == 404, r.text
                return
            assert w.customer is not None
            details = await http.get(f"/v2/customers/{w.customer}", params={"source": "INSTORE"})
            assert details.status_code == 200, details.text
            last_names[w.customer] = details.json()["profiles"][0]["lastName"]

        registrations = by_outcome[("register", "acknowledged")] + by_outcome[("register", "unknown")]
        for chunk in range(0, len(registrations), 16):
            await asyncio.gather(*(read(w) for w in registrations[chunk : chunk + 16]))

    db = create_database(Settings(database_url=env["PATRON_DATABASE_URL"]))
    await db.start()
    try:
        stored_bills = {
            r.bill_number
            for r in await rows(
                db, "SELECT bill_number FROM loyalty_bill WHERE org_id = :org_id", org_id=org_id
            )
        }
    finally:
        await db.dispose()

    # What was committed: acknowledged writes (checked here), and unanswered ones read back.
    committed: set[str] = set()
    for w in writes:
        if w.kind == "register":
            stored = w.customer is not None and w.customer in last_names
            assert stored or w.outcome != "acknowledged"
        elif w.kind == "purchase":
            stored = w.value in stored_bills
            assert stored or w.outcome != "acknowledged", f"acknowledged bill {w.value} is gone"
        elif w.kind == "update":
            # A customer's writes go one after the other, and its journey ends at a write
            # left unanswered: its last update is the last name it shows.
            assert w.customer is not None
            current = last_names.get(w.customer)
            last = not any(
                v.customer == w.customer and v.step > w.step and v.kind == "update" for v in writes
            )
            if w.outcome == "acknowledged" and last:
                assert current == w.value, f"acknowledged update {w.request_id} is lost ({current})"
            stored = w.outcome == "acknowledged" or current == w.value
        else:
            stored = False
            assert w.outcome in ("refused", "unknown")
        if stored:
            committed.add(w.request_id)

    # Every event that should be out is out (leases of killed workers lapse in seconds).
    eventful = {w.request_id: w for w in writes if w.kind in ("register", "update")}
    expected = {rid for rid in committed if rid in eventful}

    def arrived(requests: list[Received]) -> set[str]:
        return {req.json["attributes"]["apiRequestId"] for req in requests}

    await receiver.wait_for(lambda reqs: arrived(reqs) >= expected, timeout=180)
    await _quiet(receiver)

    deliveries = receiver.requests
    by_event = _delivered(deliveries)
    ids_of_events: dict[str, str] = {}
    for event_id, copies in by_event.items():
        webhook_ids = {c.event_id for c in copies}
        assert len(webhook_ids) == 1, f"event {event_id} came with webhook-ids {webhook_ids}"
        assert len({c.body for c in copies}) == 1, f"event {event_id} changed between deliveries"
        ids_of_events[event_id] = webhook_ids.pop()
    assert len(set(ids_of_events.values())) == len(ids_of_events), "two events shared a webhook-id"

    sent_for: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for copies in by_event.values():
        payload = copies[0].json
        sent_for[payload["attributes"]["apiRequestId"]].append(payload)
    for rid, payloads in sent_for.items():
        assert rid in committed, f"an event of a write that was not committed was sent: {rid} {payloads}"
        w = eventful[rid]
        kinds = [p["eventType"] for p in payloads]
        assert kinds == ["customerAdded" if w.kind == "register" else "customerUpdated"], (rid, kinds)
        customer = payloads[0]["attributes"]["data"]["customerIdentifiers"]["customerId"]
        assert customer == w.customer, (rid, customer, w.customer)
    assert set(sent_for) == expected

    # Per customer, the first arrival of each event follows the order of the writes.
    first_seen: dict[int, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for req in deliveries:
        payload = req.json
        if payload["eventId"] in seen:
            continue
        seen.add(payload["eventId"])
        w = eventful[payload["attributes"]["apiRequestId"]]
        assert w.customer is not None
        first_seen[w.customer].append(w.step)
    for customer, steps in first_seen.items():
        assert steps == sorted(steps), f"customer {customer}'s events arrived out of order: {steps}"

    rebuild = await _cli(env, "loyalty", "rebuild", "--org", str(org_id), "--dry-run", "--json")
    assert rebuild["differences"] == [], rebuild

    def count(kind: str, outcome: str) -> int:
        return len(by_outcome[(kind, outcome)])

    unknown = [w for w in writes if w.outcome == "unknown"]
    retried = [w for w in writes if w.retries]
    print(
        f"\n{engine} kill test (seed {seed}): {sum(cluster.kills.values())} SIGKILLs"
        f" ({', '.join(f'{k} {n}' for k, n in sorted(cluster.kills.items()))}) over {chaos:.0f} s;"
        f" {len(writes)} writes: registrations {count('register', 'acknowledged')} acknowledged,"
        f" purchases {count('purchase', 'acknowledged')}, updates {count('update', 'acknowledged')};"
        f" {len([w for w in writes if w.outcome == 'refused'])} refused, none sent;"
        f" {len(unknown)} unanswered, {len([w for w in unknown if w.request_id in committed])} of them"
        f" committed and sent; {len(retried)} retried with their Idempotency-Key"
        f" ({sum(w.retries for w in retried)} retries), each carried out once;"
        f" {len(by_event)} events delivered in {len(deliveries)} deliveries"
        f" ({len(deliveries) - len(by_event)} again after a kill), one webhook-id each, in order"
        f" per customer; {rebuild.get('accounts')} loyalty summaries equal to the ledger"
    )


async def _quiet(receiver: Receiver, seconds: float = 2.0) -> None:
    """Wait until nothing more arrives for `seconds` (redeliveries of lapsed leases are in)."""
    while True:
        before = len(receiver.requests)
        await asyncio.sleep(seconds)
        if len(receiver.requests) == before:
            return
