"""`/metrics`: the request histogram by route template, the outbox lag and dead deliveries
read at scrape time, delivery attempts per endpoint; the Grafana dashboard asks only for
metrics a real answer has; and several processes add up through one directory."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from patron import metrics
from tests.conftest import Harness, OrgClient
from tests.ports import free_port
from tests.support import register_body
from tests.webhooks.receiver import Receiver, Reply

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
REQUESTS = "patron_http_request_duration_seconds"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


async def scrape(harness: Harness) -> Samples:
    r = await harness.http.get("/metrics")  # no credentials: Prometheus scrapes without
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_method_and_status_class(client: OrgClient) -> None:
    before = await scrape(client.harness)
    created = await client.post("/v2/customers", json=register_body())
    assert created.status_code == 200, created.text
    customer_id = created.json()["createdId"]
    assert (await client.get(f"/v2/customers/{customer_id}", params={"source": "ALL"})).status_code == 200
    assert (await client.get("/v2/customers/987654321987", params={"source": "ALL"})).status_code == 404
    assert (await client.get("/no/such/route/42")).status_code == 404
    after = await scrape(client.harness)

    def grew(route: str, method: str, status: str) -> float:
        labels = {"route": route, "method": method, "status": status}
        return value(after, f"{REQUESTS}_count", **labels) - value(before, f"{REQUESTS}_count", **labels)

    assert grew("/v2/customers", "POST", "2xx") == 1
    assert grew("/v2/customers/{customerId}", "GET", "2xx") == 1
    assert grew("/v2/customers/{customerId}", "GET", "4xx") == 1
    assert grew("unmatched", "GET", "4xx") == 1
    # The latency histogram: buckets up to +Inf holding every request, and a sum.
    labels = {"route": "/v2/customers", "method": "POST", "status": "2xx"}
    inf = value(after, f"{REQUESTS}_bucket", le="+Inf", **labels)
    assert inf == value(after, f"{REQUESTS}_count", **labels) >= 1
    assert value(after, f"{REQUESTS}_sum", **labels) > 0
    # Never a raw path: no route label holds an id.
    routes = {v for _, labels in after for k, v in labels if k == "route"}
    assert not any(str(customer_id) in r or "987654321987" in r or "/no/such" in r for r in routes), routes
    # The figures read from the database at scrape time are there on every answer.
    assert ("patron_outbox_lag_seconds", frozenset()) in after
    assert ("patron_webhook_dead_deliveries", frozenset()) in after
    assert ("patron_cpu_pool_queue", frozenset()) in after
    if client.harness.engine == "postgresql":
        assert value(after, "patron_db_pool_size") >= 1  # connections open, this process's
    else:
        assert value(after, "patron_db_pool_size") == 0  # no pool: one writer, readers on demand


async def test_outbox_lag_dead_deliveries_and_attempts_per_endpoint(client: OrgClient) -> None:
    harness = client.harness
    # The metrics belong to the process, which runs both engines' tests: compare with a start.
    start = await scrape(harness)

    def grew(found: Samples, name: str, **labels: str) -> float:
        return value(found, name, **labels) - value(start, name, **labels)

    gate = asyncio.Event()
    async with Receiver() as receiver:
        receiver.answer = lambda _: Reply(200, gate=gate)
        r = await client.post("/v2/webhooks", json={"url": receiver.url()})
        assert r.status_code == 201, r.text
        endpoint = str(r.json()["id"])
        assert (await client.post("/v2/customers", json=register_body())).status_code == 200
        await receiver.wait_for(lambda reqs: len(reqs) >= 1)  # held at the receiver: still pending
        await asyncio.sleep(0.3)
        held = await scrape(harness)
        assert value(held, "patron_outbox_lag_seconds") >= 0.3
        gate.set()

        org = str(client.org_id)
        mine = {"org": org, "endpoint": endpoint}
        deadline = time.monotonic() + 15
        attempts = "patron_webhook_attempts_total"
        while grew(found := await scrape(harness), attempts, outcome="delivered", **mine) < 1:
            assert time.monotonic() < deadline, "the delivery was not counted"
            await asyncio.sleep(0.05)
        assert grew(found, "patron_webhook_attempt_duration_seconds_count", **mine) >= 1

        # Every attempt fails: retries, then one dead delivery.
        dead_before = value(found, "patron_webhook_dead_deliveries")
        receiver.answer = lambda _: Reply(500)
        assert (await client.post("/v2/customers", json=register_body())).status_code == 200
        retries = len(harness.settings.webhook_retry_schedule)

        def settled(found: Samples) -> bool:
            # At least: the other engine's app runs in this process too, with the same ids.
            return (
                grew(found, attempts, outcome="retry", **mine) >= retries
                and grew(found, attempts, outcome="dead", **mine) >= 1
                and value(found, "patron_webhook_dead_deliveries") >= dead_before + 1
            )

        deadline = time.monotonic() + 15
        while not settled(found := await scrape(harness)):
            assert time.monotonic() < deadline, "the retries and the dead delivery were not counted"
            await asyncio.sleep(0.05)

        # The dashboard asks for nothing this answer lacks.
        dashboard = json.loads(DASHBOARD.read_text())
        asked = {
            name
            for panel in dashboard["panels"]
            for target in panel["targets"]
            for name in re.findall(r"\bpatron_[a-z_]+", target["expr"])
        }
        names = {name for name, _ in found}
        assert len(dashboard["panels"]) >= 10
        assert asked and asked <= names, sorted(asked - names)


_CHILD = """
import sys
from patron import metrics
m = metrics.get()
m.observe_request({"method": "GET", "route": None}, 404, 0.002)
m.attempt(7, 9, "delivered", 0.05)
m.sample(None)
"""


def test_processes_sharing_a_directory_add_up(tmp_path: Path) -> None:
    env = {**os.environ, metrics.ENV: str(tmp_path)}
    for _ in range(2):
        child = subprocess.run([sys.executable, "-c", _CHILD], env=env, timeout=60, capture_output=True)
        assert child.returncode == 0, child.stderr.decode()
    pids = {int(p.stem.rsplit("_", 1)[1]) for p in tmp_path.glob("histogram_*.db")}
    assert len(pids) == 2
    found = parse(metrics._collect_shared(str(tmp_path)).decode())
    labels = {"route": "unmatched", "method": "GET", "status": "4xx"}
    assert value(found, f"{REQUESTS}_count", **labels) == 2
    assert value(found, "patron_webhook_attempts_total", org="7", endpoint="9", outcome="delivered") == 2
    # The sampled gauges of ended processes are dropped; their counters stay.
    assert not list(tmp_path.glob("gauge_live*.db"))


def test_patron_run_with_two_api_processes_answers_for_both(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATRON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "PATRON_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        "PATRON_IMAGE_STORE": str(tmp_path / "images"),
        "PATRON_HOST": "127.0.0.1",
        "PATRON_PORT": str(port := free_port()),
        "PATRON_WORKERS": "2",
        "PATRON_ACCESS_LOG": "false",
        metrics.ENV: str(shared := tmp_path / "metrics"),
    }
    shared.mkdir()
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "patron.cli", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        for _ in range(30):  # a new connection each: the processes share them out
            assert httpx.get(f"{base}/no-such-route", timeout=5).status_code == 404
        # Three processes write there (two API processes, the delivery worker)...
        deadline = time.monotonic() + 30
        while len({p.stem.rsplit("_", 1)[1] for p in shared.glob("gauge_livesum_*.db")}) < 3:
            assert time.monotonic() < deadline, sorted(p.name for p in shared.iterdir())
            time.sleep(0.2)
        # ...and whichever process answers counts every request, whoever served it.
        for _ in range(4):
            found = parse(httpx.get(f"{base}/metrics", timeout=5).text)
            labels = {"route": "unmatched", "method": "GET", "status": "4xx"}
            assert value(found, f"{REQUESTS}_count", **labels) == 30
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)
