"""Tiers with validityDays lapse and are re-evaluated by the scheduled job (loyalty/expiry.py,
the rule in loyalty/tiers.py), on both engines: renewed when the points earned in the
tier's last validityDays reach its threshold, else dropped to what they reach."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from patron.db.base import utcnow
from patron.loyalty import expiry
from tests.conftest import Harness, OrgClient, make_org
from tests.loyalty.support import loyalty_config, purchase
from tests.support import register_body, rows

# earnRate 0.1: a bill of 10 000 earns 1 000 points; registration earns 100.
TIERED = {
    "programId": 1016,
    "name": "Club",
    "default": True,
    "earnRate": 0.1,
    "pointsExpiryDays": 365,
    "registrationPoints": 100,
    "tiers": [
        {"number": 1, "name": "Silver", "threshold": 0},
        {"number": 2, "name": "Gold", "threshold": 500, "validityDays": 365},
        {"number": 3, "name": "Platinum", "threshold": 1000, "validityDays": 180},
    ],
}
PLAIN = {"programId": 2020, "name": "Second", "earnRate": 1, "tiers": [{"number": 1, "name": "Basic"}]}


async def tiered_org(harness: Harness) -> OrgClient:
    return await make_org(harness, loyalty_config(loyaltyPrograms=[TIERED, PLAIN]))


async def member(client: OrgClient, *enrollments: dict[str, Any]) -> int:
    r = await client.post("/v2/customers", json=register_body(loyaltyProgramEnrollments=list(enrollments)))
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


async def spend(client: OrgClient, customer_id: int, amount: int) -> None:
    r = await purchase(client, customer_id, amount, f"B-{uuid.uuid4().hex[:10]}")
    assert r.status_code == 200, r.text


async def tier(client: OrgClient, customer_id: int, program_id: int = 1016) -> Any:
    [found] = await rows(
        client.harness.app.state.db,
        "SELECT tier_number, tier_expires_at, tier_base, lifetime_points, loyalty_points"
        " FROM loyalty_enrollment WHERE org_id = :o AND customer_id = :c AND program_id = :p",
        o=client.org_id,
        c=customer_id,
        p=program_id,
    )
    return found


async def lapse(client: OrgClient, now: datetime) -> int:
    return await expiry.lapse_org_tiers(client.harness.app.state.db, client.org_id, now)


async def test_a_tier_kept_by_the_points_of_its_window_is_renewed_then_drops_when_they_stop(
    harness: Harness,
) -> None:
    client = await tiered_org(harness)
    cid = await member(client)
    await spend(client, cid, 10_000)  # 1 000 points: Platinum for 180 days
    reached = await tier(client, cid)
    assert (reached.tier_number, reached.lifetime_points) == (3, 1100)
    lapse_at = reached.tier_expires_at
    assert await lapse(client, lapse_at - timedelta(seconds=1)) == 0
    # The purchase that reached the tier lies in its window: 1 000 >= 1 000, renewed.
    assert await lapse(client, lapse_at) == 1
    renewed = await tier(client, cid)
    assert (renewed.tier_number, renewed.tier_expires_at, renewed.tier_base) == (
        3,
        lapse_at + timedelta(days=180),
        0,
    )
    assert await lapse(client, lapse_at + timedelta(days=1)) == 0
    # Nothing earned in the renewed window: down to Silver; the tier counts from here.
    assert await lapse(client, renewed.tier_expires_at + timedelta(hours=1)) == 1
    dropped = await tier(client, cid)
    assert (dropped.tier_number, dropped.tier_expires_at, dropped.tier_base) == (1, None, 1100)
    assert (dropped.lifetime_points, dropped.loyalty_points) == (1100, 1100)
    # Later purchases lift the tier from the new base: 500 points are Gold again.
    await spend(client, cid, 4_990)
    assert (await tier(client, cid)).tier_number == 1
    await spend(client, cid, 10)
    again = await tier(client, cid)
    assert (again.tier_number, again.lifetime_points, again.tier_base) == (2, 1600, 1100)
    assert again.tier_expires_at > utcnow() + timedelta(days=364)


async def test_a_tier_short_of_its_threshold_drops_to_the_tier_its_window_reaches(harness: Harness) -> None:
    client = await tiered_org(harness)
    until = utcnow() + timedelta(days=30)
    stated = {"programId": 1016, "tierNumber": 3, "loyaltyPoints": 600, "tierExpiryDate": until.isoformat()}
    cid = await member(client, stated)
    held = await tier(client, cid)
    assert (held.tier_number, held.lifetime_points) == (3, 700)
    at = held.tier_expires_at
    assert await lapse(client, at + timedelta(days=2)) == 1
    # 700 earned in the last 180 days: Gold (500), valid 365 days from the lapse.
    dropped = await tier(client, cid)
    assert (dropped.tier_number, dropped.tier_expires_at, dropped.tier_base) == (
        2,
        at + timedelta(days=365),
        0,
    )


async def test_points_earned_before_the_window_do_not_keep_a_tier(harness: Harness) -> None:
    client = await tiered_org(harness)
    until = utcnow() + timedelta(days=200)
    stated = {"programId": 1016, "tierNumber": 3, "loyaltyPoints": 600, "tierExpiryDate": until.isoformat()}
    cid = await member(client, stated)
    at = (await tier(client, cid)).tier_expires_at
    assert await lapse(client, at) == 1
    dropped = await tier(client, cid)
    assert (dropped.tier_number, dropped.tier_expires_at, dropped.tier_base) == (1, None, 700)


async def test_a_late_run_applies_each_lapse_in_turn(harness: Harness) -> None:
    client = await tiered_org(harness)
    cid = await member(client)
    await spend(client, cid, 10_000)
    first = (await tier(client, cid)).tier_expires_at
    # Renewed at the first lapse (the purchase is in its window), dropped at the second.
    assert await lapse(client, first + timedelta(days=400)) == 1
    done = await tier(client, cid)
    assert (done.tier_number, done.tier_expires_at, done.tier_base) == (1, None, 1100)


async def test_a_stated_expiry_of_a_tier_without_validity_keeps_it_by_its_points(harness: Harness) -> None:
    client = await tiered_org(harness)
    until = utcnow() + timedelta(days=10)
    cid = await member(client, {"programId": 2020, "tierNumber": 1, "tierExpiryDate": until.isoformat()})
    at = (await tier(client, cid, 2020)).tier_expires_at
    assert await lapse(client, at) == 1
    kept = await tier(client, cid, 2020)
    assert (kept.tier_number, kept.tier_expires_at) == (1, None)


async def test_concurrent_runs_apply_a_lapse_once(harness: Harness) -> None:
    client = await tiered_org(harness)
    customers = []
    for _ in range(4):
        cid = await member(client)
        await spend(client, cid, 10_000)
        customers.append(cid)
    at = max([(await tier(client, cid)).tier_expires_at for cid in customers])
    db = client.harness.app.state.db
    done = await asyncio.gather(*(expiry.lapse_org_tiers(db, client.org_id, at) for _ in range(3)))
    assert sum(done) == len(customers)
    for cid in customers:
        t = await tier(client, cid)
        assert t.tier_number == 3
    # The whole job, twice at once, at the renewed lapse: each drops once, to Silver.
    renewed = max([(await tier(client, cid)).tier_expires_at for cid in customers])
    await asyncio.gather(expiry.lapse_due_tiers(db, renewed), expiry.lapse_due_tiers(db, renewed))
    for cid in customers:
        t = await tier(client, cid)
        assert (t.tier_number, t.tier_expires_at, t.tier_base) == (1, None, 1100)


async def test_tiers_not_yet_lapsed_and_tiers_that_never_lapse_are_left_alone(harness: Harness) -> None:
    client = await tiered_org(harness)
    silver = await member(client)
    gold = await member(client)
    await spend(client, gold, 5_000)
    before = await tier(client, gold)
    assert before.tier_number == 2
    assert await lapse(client, before.tier_expires_at - timedelta(days=1)) == 0
    assert await tier(client, gold) == before
    assert (await tier(client, silver)).tier_expires_at is None
    assert await lapse(client, utcnow() + timedelta(days=3650)) == 1
    assert (await tier(client, silver)).tier_number == 1
