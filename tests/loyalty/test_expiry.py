"""Points expire pointsExpiryDays after they were earned, oldest first (FIFO), by the
scheduled job (loyalty/expiry.py), on both engines. Time is driven by passing the job a
`now` in the future; the API stamps its entries with the real time."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from patron.config import Settings
from patron.db.base import utcnow
from patron.db.migrate import upgrade
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.loyalty import expiry
from patron.main import create_app
from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from patron.scheduler import jobs
from tests.conftest import Harness, OrgClient, make_org
from tests.loyalty.support import loyalty_config, purchase
from tests.orgscope import OrgScopeGuard
from tests.support import register_body, rows

# One point per unit of amount, 30 days to expire, no registration points: the figures
# of each test are the purchases it makes.
CLUB = {
    "programId": 1016,
    "name": "Club",
    "default": True,
    "earnRate": 1,
    "pointsExpiryDays": 30,
    "tiers": [{"number": 1, "name": "Silver", "threshold": 0}],
}


def club(**changes: Any) -> dict[str, Any]:
    return loyalty_config(loyaltyPrograms=[{**CLUB, **changes}])


async def club_org(harness: Harness, **changes: Any) -> OrgClient:
    return await make_org(harness, club(**changes))


async def member(client: OrgClient, **top: Any) -> int:
    r = await client.post("/v2/customers", json=register_body(**top))
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


async def earn(client: OrgClient, customer_id: int, points: int) -> None:
    r = await purchase(client, customer_id, points, f"B-{uuid.uuid4().hex[:10]}")
    assert r.status_code == 200, r.text
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": points}]


async def redeem(client: OrgClient, customer_id: int, points: int) -> None:
    r = await client.post("/v2/points/redeem", json={"customer": {"id": customer_id}, "points": points})
    assert r.status_code == 200, r.text


async def entries(client: OrgClient, customer_id: int) -> list[Any]:
    return await rows(
        client.harness.app.state.db,
        "SELECT kind, points, expires_at, ref_kind, till_id, request_id FROM points_ledger"
        " WHERE org_id = :o AND customer_id = :c AND group_id IS NULL ORDER BY created_at, entry_id",
        o=client.org_id,
        c=customer_id,
    )


async def credit_expiries(client: OrgClient, customer_id: int) -> list[datetime]:
    return [e.expires_at for e in await entries(client, customer_id) if e.points > 0]


async def expired_entries(client: OrgClient, customer_id: int) -> list[int]:
    return [e.points for e in await entries(client, customer_id) if e.kind == "expire"]


async def account(client: OrgClient, customer_id: int, program_id: int = 1016) -> Any:
    [found] = await rows(
        client.harness.app.state.db,
        "SELECT loyalty_points, expired, redeemed, lifetime_points FROM loyalty_enrollment"
        " WHERE org_id = :o AND customer_id = :c AND program_id = :p",
        o=client.org_id,
        c=customer_id,
        p=program_id,
    )
    return found


async def assert_summary_is_the_ledger(client: OrgClient, customer_id: int) -> None:
    found = await entries(client, customer_id)
    acc = await account(client, customer_id)
    assert acc.loyalty_points == sum(e.points for e in found) >= 0
    assert acc.expired == -sum(e.points for e in found if e.kind == "expire")


async def expire(client: OrgClient, now: datetime) -> int:
    return await expiry.expire_org_points(client.harness.app.state.db, client.org_id, now)


async def test_fifo_the_oldest_points_are_spent_first_and_what_is_left_expires(harness: Harness) -> None:
    client = await club_org(harness)
    cid = await member(client)
    await earn(client, cid, 100)
    await earn(client, cid, 50)
    await redeem(client, cid, 120)
    first, second = await credit_expiries(client, cid)
    assert first < second
    # The redemption spent all of the first credit: nothing is left of it to expire.
    assert await expire(client, first) == 0
    assert await expired_entries(client, cid) == []
    # 30 of the second credit are left; they expire at its moment.
    assert await expire(client, second) == 1
    assert await expired_entries(client, cid) == [-30]
    acc = await account(client, cid)
    assert (acc.loyalty_points, acc.expired, acc.redeemed) == (0, 30, 120)
    await assert_summary_is_the_ledger(client, cid)
    [entry] = [e for e in await entries(client, cid) if e.kind == "expire"]
    assert (entry.ref_kind, entry.till_id, entry.request_id, entry.expires_at) == ("scheduler", 0, "", None)


async def test_a_partly_spent_credit_expires_what_is_left_of_it_then_the_next_one(harness: Harness) -> None:
    client = await club_org(harness)
    cid = await member(client)
    await earn(client, cid, 100)
    await earn(client, cid, 50)
    await redeem(client, cid, 30)
    first, second = await credit_expiries(client, cid)
    # Just before the first credit's moment nothing is due; at it, its 70 left expire.
    assert await expire(client, first - timedelta(microseconds=1)) == 0
    assert await expire(client, first) == 1
    assert await expired_entries(client, cid) == [-70]
    assert (await account(client, cid)).loyalty_points == 50
    assert await expire(client, second) == 1
    assert await expired_entries(client, cid) == [-70, -50]
    acc = await account(client, cid)
    assert (acc.loyalty_points, acc.expired) == (0, 120)
    await assert_summary_is_the_ledger(client, cid)


async def test_a_late_run_expires_every_credit_due_in_one_entry(harness: Harness) -> None:
    client = await club_org(harness)
    cid = await member(client)
    await earn(client, cid, 100)
    await earn(client, cid, 50)
    await redeem(client, cid, 10)
    assert await expire(client, utcnow() + timedelta(days=400)) == 1
    assert await expired_entries(client, cid) == [-140]
    await assert_summary_is_the_ledger(client, cid)


async def test_running_again_changes_nothing(harness: Harness) -> None:
    client = await club_org(harness)
    cid = await member(client)
    await earn(client, cid, 80)
    [moment] = await credit_expiries(client, cid)
    assert await expire(client, moment) == 1
    before = await entries(client, cid)
    for later in (moment, moment + timedelta(minutes=1), moment + timedelta(days=90)):
        assert await expire(client, later) == 0
    assert await entries(client, cid) == before
    acc = await account(client, cid)
    assert (acc.loyalty_points, acc.expired) == (0, 80)


async def test_points_that_never_expire_are_spent_last(harness: Harness) -> None:
    client = await club_org(harness, pointsExpiryDays=None)
    spent_dated, kept_dated = await member(client), await member(client)
    for cid in (spent_dated, kept_dated):
        await earn(client, cid, 100)  # never expire: the program had no pointsExpiryDays
    await harness.app.state.db.write(orgs.replace_config, client.org_id, OrgConfig.model_validate(club()))
    for cid in (spent_dated, kept_dated):
        await earn(client, cid, 50)  # expire in 30 days
    await redeem(client, spent_dated, 60)  # the 50 that expire first, then 10 of the others
    await redeem(client, kept_dated, 30)
    [never, dated] = await credit_expiries(client, spent_dated)
    assert never is None
    assert await expire(client, dated + timedelta(days=3650)) == 1
    assert await expired_entries(client, spent_dated) == []
    assert (await account(client, spent_dated)).loyalty_points == 90
    assert await expired_entries(client, kept_dated) == [-20]
    assert (await account(client, kept_dated)).loyalty_points == 100
    for cid in (spent_dated, kept_dated):
        await assert_summary_is_the_ledger(client, cid)


async def test_points_spent_before_expiry_was_configured_do_not_shield_later_points(harness: Harness) -> None:
    client = await club_org(harness, pointsExpiryDays=None)
    cid = await member(client)
    await earn(client, cid, 100)
    await redeem(client, cid, 100)
    await harness.app.state.db.write(orgs.replace_config, client.org_id, OrgConfig.model_validate(club()))
    await earn(client, cid, 50)
    [_, dated] = await credit_expiries(client, cid)
    assert await expire(client, dated) == 1
    assert await expired_entries(client, cid) == [-50]
    await assert_summary_is_the_ledger(client, cid)


async def test_expiry_never_takes_the_balance_below_zero(harness: Harness) -> None:
    client = await club_org(harness)
    cid = await member(client)
    await earn(client, cid, 100)
    await redeem(client, cid, 100)
    back = await member(client)
    await purchase(client, back, 40, "RET-1")
    r = await client.post(
        "/v2/transactions",
        json={"type": "RETURN", "billNumber": "RET-1", "billAmount": 40, "customer": {"id": back}},
    )
    assert r.status_code == 200, r.text
    assert await expire(client, utcnow() + timedelta(days=400)) == 0
    for who in (cid, back):
        assert await expired_entries(client, who) == []
        assert (await account(client, who)).loyalty_points == 0


async def test_concurrent_runs_write_one_entry_per_account(harness: Harness) -> None:
    client = await club_org(harness)
    # Each holds points that are not due as well, so a second expiry would show.
    later = (utcnow() + timedelta(days=1000)).isoformat()
    stated = [{"programId": 1016, "loyaltyPoints": 1000, "pointsExpiryDate": later}]
    customers = [await member(client, loyaltyProgramEnrollments=stated) for _ in range(6)]
    for n, cid in enumerate(customers):
        await earn(client, cid, 10 + n)
    moment = max([min(await credit_expiries(client, cid)) for cid in customers])
    db = harness.app.state.db
    done = await asyncio.gather(*(expiry.expire_org_points(db, client.org_id, moment) for _ in range(3)))
    assert sum(done) == len(customers)
    # The whole job (every org), twice at once, later: nothing more to expire here.
    await asyncio.gather(expiry.expire_due_points(db, moment), expiry.expire_due_points(db, moment))
    for n, cid in enumerate(customers):
        assert await expired_entries(client, cid) == [-(10 + n)]
        assert (await account(client, cid)).loyalty_points == 1000
        await assert_summary_is_the_ledger(client, cid)


async def test_the_whole_job_runs_every_org_at_once_and_concurrently(harness: Harness) -> None:
    first, second = await club_org(harness), await club_org(harness)
    a, b = await member(first), await member(second)
    await earn(first, a, 30)
    await earn(second, b, 40)
    moment = max([*await credit_expiries(first, a), *await credit_expiries(second, b)])
    db = harness.app.state.db
    await asyncio.gather(expiry.expire_due_points(db, moment), expiry.expire_due_points(db, moment))
    assert await expired_entries(first, a) == [-30]
    assert await expired_entries(second, b) == [-40]


async def mark(client: OrgClient) -> datetime | None:
    found = await rows(
        client.harness.app.state.db,
        "SELECT done_until FROM scheduler_mark WHERE org_id = :o AND job = 'points-expiry'",
        o=client.org_id,
    )
    return found[0].done_until if found else None


async def test_the_mark_is_made_on_the_first_run_and_never_moves_back(harness: Harness) -> None:
    client = await club_org(harness)
    ahead = utcnow() + timedelta(days=10)
    await expire(client, ahead)
    assert await mark(client) == ahead
    await expire(client, ahead - timedelta(days=5))
    assert await mark(client) == ahead


async def test_points_stated_with_an_expiry_in_the_past_expire_at_the_next_run(harness: Harness) -> None:
    client = await club_org(harness, registrationPoints=5)
    await expire(client, utcnow())  # the org's mark now lies after that expiry
    past = (utcnow() - timedelta(days=3)).isoformat()
    cid = await member(
        client, loyaltyProgramEnrollments=[{"programId": 1016, "loyaltyPoints": 40, "pointsExpiryDate": past}]
    )
    await expire(client, utcnow())
    # (The app's own worker may have run the job first: the ledger tells what happened.)
    assert await expired_entries(client, cid) == [-40]
    acc = await account(client, cid)
    assert (acc.loyalty_points, acc.expired, acc.lifetime_points) == (5, 40, 45)
    await assert_summary_is_the_ledger(client, cid)


async def test_a_credit_committed_after_a_run_passed_its_moment_expires_at_the_next_run(
    harness: Harness,
) -> None:
    client = await club_org(harness)
    ran_at = utcnow() + timedelta(days=60)
    await expire(client, ran_at)
    # A credit due a minute before that run, as if its transaction had been committed just
    # after the run looked (its expiry was still ahead when it was written).
    due = (ran_at - timedelta(minutes=1)).isoformat()
    cid = await member(
        client, loyaltyProgramEnrollments=[{"programId": 1016, "loyaltyPoints": 25, "pointsExpiryDate": due}]
    )
    assert await expire(client, ran_at + timedelta(minutes=1)) == 1
    assert await expired_entries(client, cid) == [-25]


async def test_the_scans_for_due_credits_are_served_by_their_indexes(harness: Harness) -> None:
    client = await club_org(harness)
    await member(client, loyaltyProgramEnrollments=[{"programId": 1016, "loyaltyPoints": 5}])
    params = {
        "org_id": client.org_id,
        "now": utcnow(),
        "after_at": utcnow() - timedelta(days=1),
        "after_id": 0,
        "limit": expiry.BATCH,
    }
    db = harness.app.state.db
    for q, index in (
        (expiry._DUE_BY_EXPIRY, "ix_points_ledger_org_id_expires_at"),
        (expiry._DUE_WHEN_WRITTEN, "ix_points_ledger_org_id_created_at"),
    ):
        if harness.engine == "sqlite":
            plan = await rows(db, "EXPLAIN QUERY PLAN " + str(q.sqlite), **params)
            detail = " ".join(str(r.detail) for r in plan)
        else:

            async def explain(uow: UnitOfWork, q: Q = q) -> str:
                await uow.tx.run(Q("ANALYZE points_ledger"))
                # A table this small is cheaper to scan; forbid that to see the index that serves it.
                await uow.tx.run(Q("SET LOCAL enable_seqscan = off"))
                found = await uow.tx.all(Q("EXPLAIN " + str(q.postgresql)), **params)
                return " ".join(r[0] for r in found)

            detail = await db.write(explain)
            assert "Seq Scan" not in detail, detail
        assert index in detail, detail


def test_the_scheduler_runs_expiry_then_tier_lapses() -> None:
    names = [name for name, _ in jobs()]
    assert names.index("points_expiry") < names.index("tier_lapses")
    assert dict(jobs())["points_expiry"] is expiry.expire_due_points
    assert dict(jobs())["tier_lapses"] is expiry.lapse_due_tiers


# The delivery worker runs the job ----------------------------------------------------------


async def _database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if engine == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'expiry.db'}"
    server_url = request.getfixturevalue("postgres_url")
    name = f"expiry_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE DATABASE {name}"))
    await admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
async def lone_api(
    request: pytest.FixtureRequest, tmp_path: Path, unscoped_queries: list[str]
) -> AsyncIterator[tuple[Any, httpx.AsyncClient, int, dict[str, str]]]:
    """An API without an in-process worker on a database of its own, with a loyalty org."""
    url = await _database(request.param, tmp_path, request)
    key = base64.b64encode(os.urandom(32)).decode()
    await asyncio.to_thread(upgrade, url)
    app = create_app(Settings(database_url=url, worker_enabled=False, secret_key=key))
    async with app.router.lifespan_context(app):
        db = app.state.db
        db.observers.append(OrgScopeGuard(unscoped_queries))
        creds = await db.write(
            orgs.create_org,
            app.state.authenticator.keys,
            name="Expiry",
            config=OrgConfig.model_validate(club()),
        )
        env = {
            **os.environ,
            "PATRON_DATABASE_URL": url,
            "PATRON_SECRET_KEY": key,
            "PATRON_SCHEDULER_INTERVAL_SECONDS": "0.2",
        }
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://patron.test",
            auth=(creds.username, creds.password),
        ) as http:
            yield db, http, creds.org_id, env


async def _until(check: Any, timeout: float) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


def _spawn_worker(env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "patron.cli", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=log
    )


async def test_the_delivery_worker_expires_points_due_within_seconds(
    lone_api: tuple[Any, httpx.AsyncClient, int, dict[str, str]],
) -> None:
    db, http, org_id, env = lone_api

    async def marked() -> list[Any]:
        return await rows(db, "SELECT done_until FROM scheduler_mark WHERE org_id = :o", o=org_id)

    with tempfile.TemporaryFile() as log:
        worker = _spawn_worker(env, log)
        try:
            # The worker has passed over the org once before the points arrive.
            assert await _until(marked, 60), "the worker never ran the expiry job"
            past = (utcnow() - timedelta(days=1)).isoformat()
            enrollment = {"programId": 1016, "loyaltyPoints": 70, "pointsExpiryDate": past}
            r = await http.post("/v2/customers", json=register_body(loyaltyProgramEnrollments=[enrollment]))
            assert r.status_code == 200, r.text
            cid = r.json()["createdId"]

            async def expired() -> list[Any]:
                return await rows(
                    db,
                    "SELECT points FROM points_ledger WHERE org_id = :o AND customer_id = :c"
                    " AND kind = 'expire'",
                    o=org_id,
                    c=cid,
                )

            found = await _until(expired, 10)
            assert [e.points for e in found] == [-70]
            [acc] = await rows(
                db,
                "SELECT loyalty_points, expired FROM loyalty_enrollment"
                " WHERE org_id = :o AND customer_id = :c",
                o=org_id,
                c=cid,
            )
            assert (acc.loyalty_points, acc.expired) == (0, 70)
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.to_thread(worker.wait, 30)
            log.seek(0)
            err = log.read().decode(errors="replace")
    assert worker.returncode == 0, err[-2000:]
