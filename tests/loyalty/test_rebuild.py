"""`patron loyalty rebuild --org ID`: the summaries recomputed from the ledger, every figure
that differs reported, fixed unless --dry-run; the service directly and the command as a
process, on both engines."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from patron.db.base import utcnow
from patron.errors import NotFound, RuleViolation
from patron.loyalty.rebuild import Difference, Report, rebuild
from tests.conftest import Harness, OrgClient
from tests.loyalty.group_support import associated, family, group_org, person
from tests.loyalty.support import loyalty_org, new_member, purchase
from tests.support import codes, execute, mobile, register_body, rows, token

PATRON = [sys.executable, "-m", "patron.cli"]


async def check(client: OrgClient, *, dry_run: bool = True, **sizes: int) -> tuple[Report, list[Difference]]:
    found: list[Difference] = []
    report = await rebuild(
        client.harness.app.state.db, client.org_id, dry_run=dry_run, on_difference=found.append, **sizes
    )
    return report, found


async def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def give_back(client: OrgClient, cid: int, bill: str, amount: float) -> dict[str, Any]:
    body = {"type": "RETURN", "billNumber": bill, "billAmount": amount, "customer": {"id": cid}}
    return await ok(await client.post("/v2/transactions", json=body))


async def spend(client: OrgClient, cid: int, points: int, **extra: Any) -> Any:
    return await client.post("/v2/points/redeem", json={"customer": {"id": cid}, "points": points, **extra})


async def stored(client: OrgClient, cid: int, program_id: int = 1016) -> dict[str, Any]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT loyalty_points, lifetime_points, redeemed, expired, returned, adjusted,"
        " cumulative_purchases, tier_number FROM loyalty_enrollment"
        " WHERE org_id = :o AND customer_id = :c AND program_id = :p",
        o=client.org_id,
        c=cid,
        p=program_id,
    )
    assert len(found) <= 1
    return vars(found[0]) if found else {}


async def ledger_count(client: OrgClient) -> int:
    found = await rows(
        client.harness.app.state.db,
        "SELECT COUNT(*) AS n FROM points_ledger WHERE org_id = :o",
        o=client.org_id,
    )
    return int(found[0].n)


async def busy_org(harness: Harness) -> tuple[OrgClient, int, int]:
    """An org after registrations with stated points, purchases in two programs, returns,
    redemptions (one refused), transfers, goodwill and an enrollment by update."""
    client = await loyalty_org(harness)
    enrolled = register_body(
        loyaltyProgramEnrollments=[{"programId": 2020, "tierNumber": 1, "loyaltyPoints": 30}]
    )
    a = (await ok(await client.post("/v2/customers", json=enrolled)))["createdId"]
    b, _ = await new_member(client)
    await ok(await purchase(client, a, 1999.99, "B1"))
    await ok(await purchase(client, a, 12.5, "B2", programId=2020))
    await ok(await purchase(client, b, 4.99, "B3"))  # earns nothing, still a purchase
    await give_back(client, a, "B1", 250)
    await give_back(client, a, "B2", 12.5)
    await ok(await spend(client, a, 50))
    refused = await spend(client, b, 10_000)
    assert refused.status_code == 422 and codes(refused.json()) == [2010]
    await ok(await client.post(f"/v2/customers/{a}/pointsTransfers", json={"toCustomerId": b, "points": 20}))
    await ok(
        await client.post(
            f"/v2/customers/{b}/goodwillRequest",
            json={"goodwillType": "POINTS", "points": 15, "reason": "late", "autoApprove": True},
        )
    )
    pending = await ok(
        await client.post(
            f"/v2/customers/{a}/goodwillRequest",
            json={"goodwillType": "POINTS", "points": 40, "reason": "broken", "programId": 2020},
        )
    )
    await ok(
        await client.put(
            f"/v2/customers/{a}/goodwillRequest/{pending['createdId']}",
            json={"status": "APPROVED", "approvedValue": 25},
        )
    )
    update = {"loyaltyProgramEnrollments": [{"programId": 3030, "tierNumber": 2, "loyaltyPoints": 60}]}
    await ok(await client.put(f"/v2/customers/{b}", params={"source": "INSTORE"}, json=update))
    return client, a, b


async def test_after_every_kind_of_operation_the_summaries_are_the_ledger(harness: Harness) -> None:
    client, a, b = await busy_org(harness)
    report, found = await check(client)
    assert found == []
    # a: 1016 and 2020; b: 1016 and 3030 (a program the configuration does not know)
    assert (report.accounts, report.groups, report.differences, report.fixed) == (4, 0, 0, 0)
    assert report.entries == await ledger_count(client)
    assert (await stored(client, a))["loyalty_points"] == 100 + 199 - 25 - 50 - 20
    assert (await stored(client, b))["adjusted"] == 20 + 15
    # The same answer through small batches and pages (every boundary crossed).
    again, found = await check(client, batch=1, page=1)
    assert found == [] and (again.accounts, again.entries) == (report.accounts, report.entries)


async def test_a_rebuild_while_tills_write_sees_no_difference_and_breaks_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    members = [(await new_member(client))[0] for _ in range(4)]

    async def till(n: int) -> None:
        for i in range(12):
            cid = members[(n + i) % len(members)]
            await ok(await purchase(client, cid, 20 + i, f"T{n}-{i}"))
            if i % 3 == 2:
                await ok(await spend(client, cid, 1))

    async def rebuilds() -> list[Difference]:
        found: list[Difference] = []
        for _ in range(4):
            found += (await check(client, dry_run=False, batch=1, page=2))[1]
        return found

    *_, seen = await asyncio.gather(till(0), till(1), till(2), rebuilds())
    assert seen == []
    report, found = await check(client)
    assert found == [] and report.entries == await ledger_count(client) == 4 + 36 + 12


async def test_a_tampered_summary_is_reported_a_dry_run_leaves_it_and_a_run_fixes_it(
    harness: Harness,
) -> None:
    client, a, _ = await busy_org(harness)
    before = await stored(client, a)
    await execute(
        harness.app.state.db,
        "UPDATE loyalty_enrollment SET loyalty_points = loyalty_points + 7, cumulative_purchases = 1.5"
        " WHERE org_id = :o AND customer_id = :c AND program_id = 1016",
        o=client.org_id,
        c=a,
    )
    points = before["loyalty_points"]
    report, found = await check(client)
    assert found == [
        Difference("loyaltyPoints", points + 7, points, a, 1016),
        Difference("cumulativePurchases", Decimal("1.50"), Decimal("1749.99"), a, 1016),
    ]
    assert (report.differences, report.fixed) == (2, 0)
    assert (await stored(client, a))["loyalty_points"] == points + 7  # the dry run wrote nothing
    report, found = await check(client, dry_run=False)
    assert [(d.field, d.fixed) for d in found] == [("loyaltyPoints", True), ("cumulativePurchases", True)]
    assert (report.differences, report.fixed) == (2, 2)
    after = await stored(client, a)
    assert after["loyalty_points"] == points and Decimal(str(after["cumulative_purchases"])) == Decimal(
        "1749.99"
    )
    assert after["tier_number"] == before["tier_number"]
    assert (await check(client))[1] == []


async def test_a_missing_summary_is_restored_from_the_ledger_and_the_bills(harness: Harness) -> None:
    client, a, _ = await busy_org(harness)
    before = await stored(client, a)
    await execute(
        harness.app.state.db,
        "DELETE FROM loyalty_enrollment WHERE org_id = :o AND customer_id = :c AND program_id = 1016",
        o=client.org_id,
        c=a,
    )
    _, found = await check(client)
    assert {(d.customer_id, d.program_id, d.stored) for d in found} == {(a, 1016, None)}
    assert {d.field: d.ledger for d in found} == {
        "loyaltyPoints": before["loyalty_points"],
        "lifetimePoints": before["lifetime_points"],
        "redeemed": 50,
        "expired": 0,
        "returned": 25,
        "adjusted": -20,
        "cumulativePurchases": Decimal("1749.99"),
    }
    assert await stored(client, a) == {}
    report, _ = await check(client, dry_run=False)
    assert report.fixed == 7
    restored = await stored(client, a)
    assert {k: v for k, v in restored.items() if k != "cumulative_purchases"} == {
        k: v for k, v in before.items() if k != "cumulative_purchases"
    }
    assert (await check(client))[1] == []


async def test_a_merge_carries_the_bills_with_the_summaries_it_moves(harness: Harness) -> None:
    client = await loyalty_org(harness)
    number = mobile()
    survivor = (await ok(await client.post("/v2/customers", json=register_body(number))))["createdId"]
    victim_body = register_body(
        source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
    )
    victim = (await ok(await client.post("/v2/customers", json=victim_body)))["createdId"]
    await ok(await purchase(client, victim, 80, "V1", programId=2020))  # a program the survivor lacks
    await ok(await purchase(client, victim, 300, "V2"))  # 1016: both hold it, it stays
    merged = await client.post(
        f"/v2/customers/{victim}/changeIdentifier",
        params={"source": "WECHAT", "accountId": "WECHAT-CM"},
        json={"add": [{"type": "mobile", "value": number}]},
    )
    assert (await ok(merged))["createdId"] == survivor
    assert Decimal(str((await stored(client, survivor, 2020))["cumulative_purchases"])) == Decimal(80)
    assert (await check(client))[1] == []
    # The moved bill is the survivor's now: it can be returned there.
    await give_back(client, survivor, "V1", 80)
    assert (await stored(client, survivor, 2020))["loyalty_points"] == 0
    assert (await check(client))[1] == []


async def test_group_pools_are_their_contributions_and_a_tampered_pool_is_fixed(harness: Harness) -> None:
    client = await group_org(harness)
    [answer] = await associated(client, family(person(), [person(first="Becky")]))
    group_id = answer["entity"]["associationDetails"]["groupId"]
    parent, child = answer["entity"]["id"], answer["childEntities"][0]["id"]
    for member, points in ((child, 40), (parent, 100), (child, 15)):
        r = await client.post(
            f"/v2/groups/{group_id}/contributions", json={"customerId": member, "points": points}
        )
        await ok(r)
    report, found = await check(client)
    assert found == [] and report.groups == 1 and report.entries == await ledger_count(client)
    db = harness.app.state.db
    await execute(
        db,
        "UPDATE customer_group SET loyalty_points = 50 WHERE org_id = :o AND group_id = :g",
        o=client.org_id,
        g=group_id,
    )
    report, found = await check(client)
    assert found == [Difference("loyaltyPoints", 50, 155, group_id=group_id)]
    assert (await check(client, dry_run=False))[0].fixed == 1
    pool = await rows(
        db,
        "SELECT loyalty_points, lifetime_points FROM customer_group WHERE org_id = :o AND group_id = :g",
        o=client.org_id,
        g=group_id,
    )
    assert (pool[0].loyalty_points, pool[0].lifetime_points) == (155, 155)
    assert (await check(client))[1] == []


async def test_an_entry_no_summary_can_take_stops_the_rebuild(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await execute(
        harness.app.state.db,
        "INSERT INTO points_ledger (org_id, entry_id, customer_id, program_id, kind, points, till_id,"
        " request_id, created_at) VALUES (:o, :e, :c, 1016, 'earn', -5, 0, 'test', :now)",
        o=client.org_id,
        e=9_200_000_000 + int(token("")),
        c=cid,
        now=utcnow(),
    )
    with pytest.raises(RuleViolation) as failed:
        await check(client, dry_run=False)
    assert failed.value.code == 2095 and f"customer {cid}" in failed.value.message


async def test_entries_of_an_id_with_no_customer_are_reported_and_left(harness: Harness) -> None:
    client = await loyalty_org(harness)
    await new_member(client)
    nobody = 9_300_000_000 + int(token(""))
    await execute(
        harness.app.state.db,
        "INSERT INTO points_ledger (org_id, entry_id, customer_id, program_id, kind, points, till_id,"
        " request_id, created_at) VALUES (:o, :e, :c, 1016, 'goodwill', 5, 0, 'test', :now)",
        o=client.org_id,
        e=9_400_000_000 + int(token("")),
        c=nobody,
        now=utcnow(),
    )
    report, found = await check(client, dry_run=False, batch=1)
    assert {(d.customer_id, d.field, d.stored, d.ledger, d.fixed) for d in found} >= {
        (nobody, "loyaltyPoints", None, 5, False),
        (nobody, "adjusted", None, 5, False),
    }
    assert (report.accounts, report.differences, report.fixed) == (2, 7, 0)


async def test_an_unknown_org_is_not_found(harness: Harness) -> None:
    with pytest.raises(NotFound):
        await rebuild(harness.app.state.db, 987_654_321)


# The command, as a process ---------------------------------------------------------------


async def patron(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATRON_DATABASE_URL": harness.settings.database_url}
    return await asyncio.to_thread(
        subprocess.run, [*PATRON, *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_the_command_reports_with_dry_run_and_fixes_without(harness: Harness) -> None:
    client, a, _ = await busy_org(harness)
    org = str(client.org_id)
    clean = await patron(harness, "loyalty", "rebuild", "--org", org, "--json")
    assert clean.returncode == 0, clean.stderr
    entries = await ledger_count(client)
    assert json.loads(clean.stdout) == {
        "orgId": client.org_id,
        "accounts": 4,
        "groups": 0,
        "entries": entries,
        "differences": [],
        "fixed": 0,
    }
    points = (await stored(client, a, 2020))["loyalty_points"]
    await execute(
        harness.app.state.db,
        "UPDATE loyalty_enrollment SET redeemed = 999"
        " WHERE org_id = :o AND customer_id = :c AND program_id = 2020",
        o=client.org_id,
        c=a,
    )
    dry = await patron(harness, "loyalty", "rebuild", "--org", org, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["differences"] == [
        {"customerId": a, "programId": 2020, "field": "redeemed", "stored": 999, "ledger": 0, "fixed": False}
    ]
    assert (await stored(client, a, 2020))["redeemed"] == 999
    fixed = await patron(harness, "loyalty", "rebuild", "--org", org)
    assert fixed.returncode == 0, fixed.stderr
    lines = fixed.stdout.splitlines()
    assert lines[0] == f"customer {a} program 2020: redeemed is 999, the ledger says redeemed 0 (fixed)"
    assert lines[-1] == f"org {org}: 4 accounts, 0 groups, {entries} ledger entries; 1 difference, 1 fixed"
    after = await stored(client, a, 2020)
    assert (after["redeemed"], after["loyalty_points"]) == (0, points)
    again = await patron(harness, "loyalty", "rebuild", "--org", org)
    assert again.stdout.strip().endswith("no differences")


async def test_the_command_fails_on_an_unknown_org(harness: Harness) -> None:
    out = await patron(harness, "loyalty", "rebuild", "--org", "987654321", "--json")
    assert out.returncode == 1
    assert "Org 987654321 does not exist" in out.stderr and out.stdout == ""


def test_each_line_says_what_became_of_its_difference() -> None:
    from patron.cli.loyalty import difference_line

    gone = Difference("loyaltyPoints", None, 5, 77, 1016)
    assert difference_line(gone, dry_run=True) == (
        "customer 77 program 1016: no summary, the ledger says loyaltyPoints 5 (dry run: not written)"
    )
    assert difference_line(gone, dry_run=False).endswith("(not fixed: no such customer or group)")
    pool = Difference("lifetimePoints", 9, 4, group_id=3, fixed=True)
    assert (
        difference_line(pool, dry_run=False)
        == "group 3: lifetimePoints is 9, the ledger says lifetimePoints 4 (fixed)"
    )
