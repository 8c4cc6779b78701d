"""supplementaryMembershipExpiryReminder: the scheduled job sends one reminder per customer,
SUPPLEMENTARY partner program and membership expiry date, once the date is within the
program's expiryReminderDays of the org's today and not yet past; whatever the number of
runs, concurrent runs, or worker processes, on both engines.

The job is called with a chosen `now` against expiry dates far from the real clock (the
harness's own worker runs the job with the real clock every minute and must not meet them);
the last test starts real `patron worker` processes on the real clock."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from patron.config import Settings
from patron.db.migrate import upgrade
from patron.main import create_app
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from patron.webhooks import service as webhooks
from tests.conftest import Harness, OrgClient
from tests.loyalty.partner_support import (
    EXTERNAL,
    SUPPLEMENTARY,
    change,
    days_before,
    delink,
    far_date,
    link,
    run_reminders,
)
from tests.loyalty.support import LOYALTY, loyalty_config, loyalty_org, new_member
from tests.orgscope import OrgScopeGuard
from tests.support import outbox, register_body, rows
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_workers import _database

REMINDER = "supplementaryMembershipExpiryReminder"


async def reminders(client: OrgClient) -> list[tuple[int, str]]:
    """(customerId, scheduledExpiryDate) of the org's reminder events, in commit order."""
    return [
        (
            e["attributes"]["data"]["customerIdentifiers"]["customerId"],
            e["attributes"]["data"]["scheduledExpiryDate"],
        )
        for e in await outbox(client.harness, client.org_id)
        if e["eventType"] == REMINDER
    ]


async def marks(client: OrgClient) -> list[tuple[int, int, str]]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT customer_id, partner_program_id, expiry_date FROM partner_reminder WHERE org_id = :o"
        " ORDER BY customer_id, expiry_date",
        o=client.org_id,
    )
    return [(r.customer_id, r.partner_program_id, r.expiry_date) for r in found]


async def member_expiring(client: OrgClient, expiry: date, program: int = SUPPLEMENTARY) -> int:
    cid, _ = await new_member(client)
    r = await link(client, cid, program, membershipExpiryDate=expiry.isoformat())
    assert r.status_code == 200, r.text
    return cid


def with_supplementary(**program: Any) -> dict[str, Any]:
    """The loyalty configuration with the SUPPLEMENTARY program changed."""
    partners = [dict(p) for p in LOYALTY["partnerPrograms"]]
    partners[0].update(program)
    return {"partnerPrograms": partners}


async def test_a_membership_linked_three_days_before_expiry_is_reminded_once(harness: Harness) -> None:
    client = await loyalty_org(harness)
    expiry = far_date()
    cid = await member_expiring(client, expiry)
    now = days_before(expiry, 3)
    assert await run_reminders(harness, now) == 1
    assert await run_reminders(harness, now) == 0
    assert await run_reminders(harness, days_before(expiry, 1)) == 0
    assert await reminders(client) == [(cid, expiry.isoformat())]
    assert await marks(client) == [(cid, SUPPLEMENTARY, expiry.isoformat())]
    [event] = [e for e in await outbox(harness, client.org_id) if e["eventType"] == REMINDER]
    attributes = event["attributes"]
    assert attributes["apiRequestId"] == "" and attributes["orgId"] == client.org_id
    assert set(attributes["data"]) == {
        "customerIdentifiers",
        "loyaltyProgramId",
        "partnerProgramId",
        "partnerProgramName",
        "scheduledExpiryDate",
    }
    assert (attributes["data"]["loyaltyProgramId"], attributes["data"]["partnerProgramId"]) == (1016, 45)


async def test_the_reminder_falls_due_within_the_lead_and_never_after_expiry(harness: Harness) -> None:
    client = await loyalty_org(harness)
    today = far_date()
    by_offset = {days: await member_expiring(client, today + timedelta(days=days)) for days in (-1, 0, 7, 8)}
    assert await run_reminders(harness, days_before(today, 0)) == 2
    assert {c for c, _ in await reminders(client)} == {by_offset[0], by_offset[7]}
    # A day later the 8-day one is 7 days away; the one expired yesterday never gets one.
    assert await run_reminders(harness, days_before(today, -1)) == 1
    assert [c for c, _ in await reminders(client)][-1] == by_offset[8]
    assert await run_reminders(harness, days_before(today, -2)) == 0
    assert by_offset[-1] not in {c for c, _ in await reminders(client)}


async def test_the_programs_lead_decides(harness: Harness) -> None:
    client = await loyalty_org(harness, **with_supplementary(expiryReminderDays=2))
    same_day = await loyalty_org(harness, **with_supplementary(expiryReminderDays=0))
    expiry = far_date()
    cid = await member_expiring(client, expiry)
    other = await member_expiring(same_day, expiry)
    assert await run_reminders(harness, days_before(expiry, 3)) == 0
    assert await run_reminders(harness, days_before(expiry, 2)) == 1
    assert await reminders(client) == [(cid, expiry.isoformat())] and await reminders(same_day) == []
    assert await run_reminders(harness, days_before(expiry, 0)) == 1
    assert await reminders(same_day) == [(other, expiry.isoformat())]


async def test_only_supplementary_memberships_with_an_expiry_date_are_reminded(harness: Harness) -> None:
    client = await loyalty_org(harness)
    expiry = far_date()
    await member_expiring(client, expiry, EXTERNAL)
    cid, _ = await new_member(client)
    assert (await link(client, cid, SUPPLEMENTARY)).status_code == 200
    assert await run_reminders(harness, days_before(expiry, 3)) == 0
    assert await reminders(client) == [] and await marks(client) == []


async def test_today_is_the_orgs_today(harness: Harness) -> None:
    india = await loyalty_org(harness, timezone="Asia/Kolkata")
    utc = await loyalty_org(harness)
    expiry = far_date()
    in_india = await member_expiring(india, expiry)
    await member_expiring(utc, expiry)
    # 20:00 UTC eight days before is 01:30 the next day in India: seven days before there.
    evening = days_before(expiry, 8) + timedelta(hours=8)
    assert await run_reminders(harness, evening) == 1
    assert await reminders(india) == [(in_india, expiry.isoformat())] and await reminders(utc) == []


async def test_a_renewal_makes_the_next_reminder_due_and_a_delink_stops_them(harness: Harness) -> None:
    client = await loyalty_org(harness)
    expiry = far_date()
    renewed = far_date()
    cid = await member_expiring(client, expiry)
    gone = await member_expiring(client, expiry)
    assert (await delink(client, gone, SUPPLEMENTARY)).status_code == 200
    assert await run_reminders(harness, days_before(expiry, 5)) == 1
    r = await change(client, cid, SUPPLEMENTARY, membershipExpiryDate=renewed.isoformat())
    assert r.status_code == 200, r.text
    assert await run_reminders(harness, days_before(expiry, 4)) == 0  # the old date is no longer due
    assert await run_reminders(harness, days_before(renewed, 6)) == 1
    assert await run_reminders(harness, days_before(renewed, 2)) == 0
    assert await reminders(client) == [(cid, expiry.isoformat()), (cid, renewed.isoformat())]
    # Back to a date already reminded of: once per customer, program and date.
    await change(client, cid, SUPPLEMENTARY, membershipExpiryDate=expiry.isoformat())
    assert await run_reminders(harness, days_before(expiry, 1)) == 0


async def test_a_membership_renewed_between_the_scan_and_its_reminder_is_not_reminded(
    harness: Harness,
) -> None:
    """The mark is written only while the membership still has the scanned date."""
    from patron.loyalty import partners

    client = await loyalty_org(harness)
    expiry = far_date()
    cid = await member_expiring(client, expiry)
    db = harness.app.state.db
    plan = await db.read(partners._due, client.org_id, days_before(expiry, 3))
    assert plan is not None and [d.customer_id for d in plan.due] == [cid]
    await change(client, cid, SUPPLEMENTARY, membershipExpiryDate=(expiry + timedelta(days=365)).isoformat())
    program = plan.programs[SUPPLEMENTARY]
    sent = await db.write(
        partners._remind, client.org_id, plan.config, program, plan.due[0], days_before(expiry, 3)
    )
    assert sent == 0 and await reminders(client) == [] and await marks(client) == []


async def test_concurrent_runs_send_each_reminder_once(harness: Harness) -> None:
    client = await loyalty_org(harness)
    expiry = far_date()
    members = {await member_expiring(client, expiry) for _ in range(6)}
    now = days_before(expiry, 3)
    sent = await asyncio.gather(*(run_reminders(harness, now) for _ in range(3)))
    assert sum(sent) == 6
    found = await reminders(client)
    assert sorted(c for c, _ in found) == sorted(members)
    assert len(await marks(client)) == 6


# A real worker process ----------------------------------------------------------------------


class WorkerStack:
    """An API without an in-process worker, an org with the partner programs and a receiver of
    its reminders, and `patron worker` processes running the scheduler every 0.3 s."""

    def __init__(self, url: str, receiver: Receiver) -> None:
        key = base64.b64encode(os.urandom(32)).decode()
        self.settings = Settings(
            database_url=url, worker_enabled=False, secret_key=key, webhook_allow_private=True
        )
        self.receiver = receiver
        self.workers: list[subprocess.Popen[bytes]] = []
        self.env = {
            **os.environ,
            "PATRON_DATABASE_URL": url,
            "PATRON_SECRET_KEY": key,
            "PATRON_WEBHOOK_ALLOW_PRIVATE": "true",
            "PATRON_WEBHOOK_POLL_SECONDS": "0.05",
            "PATRON_SCHEDULER_INTERVAL_SECONDS": "0.3",
        }

    async def start(self, unscoped_queries: list[str]) -> None:
        await asyncio.to_thread(upgrade, self.settings.database_url)
        self.app = create_app(self.settings)
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        db = self.app.state.db
        db.observers.append(OrgScopeGuard(unscoped_queries))
        config = OrgConfig.model_validate(loyalty_config())
        creds = await db.write(
            orgs.create_org, self.app.state.authenticator.keys, name="Reminders", config=config
        )
        url = await webhooks.checked_url(self.receiver.url(), allow_private=True)
        await db.write(
            webhooks.add_endpoint, self.app.state.box, creds.org_id, url=url, event_types=[REMINDER]
        )
        self.org_id = creds.org_id
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://patron.test",
            auth=(creds.username, creds.password),
        )

    def spawn_worker(self) -> None:
        self.workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "patron.cli", "worker"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    async def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            await asyncio.to_thread(worker.wait, 30)

    async def stop(self) -> None:
        await self.stop_workers()
        await self.http.aclose()
        await self._lifespan.__aexit__(None, None, None)

    async def member_expiring(self, expiry: date) -> int:
        r = await self.http.post("/v2/customers", json=register_body())
        assert r.status_code == 200, r.text
        cid = int(r.json()["createdId"])
        body = {"partnerProgramId": SUPPLEMENTARY, "membershipExpiryDate": expiry.isoformat()}
        r = await self.http.post(f"/v2/customers/{cid}/partnerPrograms", json=body)
        assert r.status_code == 200, r.text
        return cid

    async def reminded(self) -> list[int]:
        found = await rows(
            self.app.state.db,
            "SELECT customer_id FROM outbox_event WHERE org_id = :o AND event_name = :n ORDER BY event_id",
            o=self.org_id,
            n=REMINDER,
        )
        return [r.customer_id for r in found]


@pytest.fixture(params=["sqlite", "postgresql"])
async def stack(
    request: pytest.FixtureRequest, tmp_path: Path, unscoped_queries: list[str]
) -> AsyncIterator[WorkerStack]:
    url = await _database(request.param, tmp_path, request)
    async with Receiver() as receiver:
        s = WorkerStack(url, receiver)
        await s.start(unscoped_queries)
        try:
            yield s
        finally:
            await s.stop()


def _customer(payload: Any) -> int:
    return int(payload["attributes"]["data"]["customerIdentifiers"]["customerId"])


async def test_worker_processes_send_a_due_reminder_once_within_seconds(stack: WorkerStack) -> None:
    today = datetime.now(UTC).date()
    first = await stack.member_expiring(today + timedelta(days=3))
    stack.spawn_worker()
    stack.spawn_worker()
    await stack.receiver.wait_for(lambda reqs: any(_customer(r.json) == first for r in reqs), timeout=20)
    # A membership linked now is reminded at a later pass, which finds the first one done.
    second = await stack.member_expiring(today + timedelta(days=2))
    await stack.receiver.wait_for(lambda reqs: any(_customer(r.json) == second for r in reqs), timeout=20)
    await stack.stop_workers()
    assert await stack.reminded() == [first, second]
    assert sorted(_customer(r.json) for r in stack.receiver.requests) == sorted([first, second])
    payload = stack.receiver.requests[0].json
    assert payload["attributes"]["data"]["scheduledExpiryDate"] == (today + timedelta(days=3)).isoformat()
