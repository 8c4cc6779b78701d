"""Tills spending the last points of one customer at the same moment, and transfers running
both ways between two customers, on SQLite and PostgreSQL: exactly the affordable requests
succeed, the others are refused with 2010, no balance goes negative, the ledger adds up to
the summary, and nothing deadlocks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import httpx
import pytest

from patron.loyalty.rebuild import Difference, rebuild
from tests.conftest import Harness, OrgClient
from tests.loyalty.points_support import account, balance, ledger_sum
from tests.loyalty.support import loyalty_org, new_member
from tests.support import codes

CONCURRENT = 20
DEADLINE = 60  # seconds: a deadlock would hang (or be broken by PostgreSQL into a 500)


async def race(calls: Sequence[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    return list(await asyncio.wait_for(asyncio.gather(*calls), DEADLINE))


async def redeem(client: OrgClient, customer_id: int, points: int) -> httpx.Response:
    return await client.post("/v2/points/redeem", json={"customer": {"id": customer_id}, "points": points})


async def settled(client: OrgClient, customer_id: int) -> int:
    """The summary's balance, after checking it is the ledger's sum and not negative."""
    acc = await account(client, customer_id)
    assert acc is not None
    assert acc["loyalty_points"] >= 0
    assert await ledger_sum(client, customer_id) == acc["loyalty_points"]
    return acc["loyalty_points"]


def split(answers: list[httpx.Response]) -> tuple[list[httpx.Response], list[httpx.Response]]:
    ok = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code != 200]
    assert all(r.status_code == 422 and codes(r.json()) == [2010] for r in refused), [r.text for r in refused]
    return ok, refused


@pytest.mark.parametrize(("each", "affordable"), [(30, 3), (100, 1), (7, 14), (5, 20)])
async def test_concurrent_redemptions_succeed_exactly_as_far_as_the_points_go(
    harness: Harness, each: int, affordable: int
) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)  # 100 registration points
    assert await balance(client, cid) == 100
    ok, refused = split(await race([redeem(client, cid, each) for _ in range(CONCURRENT)]))
    assert len(ok) == affordable and len(refused) == CONCURRENT - affordable
    assert all(r.json()["sideEffects"] == [{"type": "points", "redeemedPoints": each}] for r in ok)
    left = await settled(client, cid)
    assert left == 100 - affordable * each
    assert (await account(client, cid) or {})["redeemed"] == affordable * each


async def test_concurrent_redemptions_of_different_sizes_never_overdraw(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    asks = list(range(1, CONCURRENT + 1))  # 210 points asked of 100
    answers = await race([redeem(client, cid, n) for n in asks])
    ok, refused = split(answers)
    spent = sum(n for n, r in zip(asks, answers, strict=True) if r.status_code == 200)
    left = await settled(client, cid)
    assert spent + left == 100 and ok
    # Balances only fall, so each refused request asked for more than what is left now.
    assert all(n > left for n, r in zip(asks, answers, strict=True) if r.status_code != 200)
    assert refused


async def test_concurrent_transfers_both_ways_do_not_deadlock(harness: Harness) -> None:
    client = await loyalty_org(harness)
    a, _ = await new_member(client)
    b, _ = await new_member(client)

    def give(giver: int, receiver: int, points: int) -> Awaitable[httpx.Response]:
        return client.post(
            f"/v2/customers/{giver}/pointsTransfers", json={"toCustomerId": receiver, "points": points}
        )

    calls = [give(a, b, 30) if i % 2 else give(b, a, 30) for i in range(CONCURRENT)]
    ok, _ = split(await race(calls))
    assert ok
    assert await settled(client, a) + await settled(client, b) == 200


async def test_concurrent_transfers_in_a_cycle_and_redemptions_keep_every_balance(harness: Harness) -> None:
    client = await loyalty_org(harness)
    ids = [(await new_member(client))[0] for _ in range(3)]

    def give(giver: int, receiver: int) -> Awaitable[httpx.Response]:
        return client.post(
            f"/v2/customers/{giver}/pointsTransfers", json={"toCustomerId": receiver, "points": 40}
        )

    calls: list[Awaitable[httpx.Response]] = []
    for i in range(CONCURRENT):
        giver, receiver = ids[i % 3], ids[(i + 1) % 3]
        calls.append(give(giver, receiver) if i % 4 else redeem(client, giver, 25))
    answers = await race(calls)
    split(answers)
    redeemed = sum(25 for i, r in enumerate(answers) if i % 4 == 0 and r.status_code == 200)
    assert sum([await settled(client, cid) for cid in ids]) == 300 - redeemed
    # Folding the whole ledger again finds every summary as the live writes left it.
    found: list[Difference] = []
    report = await rebuild(harness.app.state.db, client.org_id, dry_run=True, on_difference=found.append)
    assert found == [] and report.accounts == 3 and report.differences == 0
