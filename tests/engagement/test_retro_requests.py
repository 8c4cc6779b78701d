"""Retro requests: a purchase recorded without a customer (or for another) is attached to a
customer by POST .../retroRequest (PENDING, or APPROVED at once with retroAutoApprove) and
PUT .../retroRequest/{requestId}; approval earns the bill's points through the ledger and takes
them back from the customer the bill belonged to. Get Change Requests (seed 003 #14) lists
them. Both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from patron.loyalty.rebuild import Difference, rebuild
from tests.api.seedtext import SEED_003, assert_shape, seed_json
from tests.conftest import Harness, OrgClient
from tests.loyalty.points_support import account, balance, kinds, ledger_sum
from tests.loyalty.support import loyalty_org, new_member, purchase, summary
from tests.support import codes, register_body, rows, token


async def unattached(client: OrgClient, amount: float, bill: str, **extra: Any) -> int:
    """A purchase recorded without a customer; its transaction id."""
    body = {"type": "REGULAR", "billNumber": bill, "billAmount": amount, **extra}
    r = await client.post("/v2/transactions", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["sideEffects"] == []
    return int(r.json()["createdId"])


async def ask(client: OrgClient, cid: int, **body: Any) -> httpx.Response:
    headers = body.pop("headers", {})
    return await client.post(f"/v2/customers/{cid}/retroRequest", json=body, headers=headers)


async def decide(client: OrgClient, cid: int, request_id: int, **body: Any) -> httpx.Response:
    return await client.put(f"/v2/customers/{cid}/retroRequest/{request_id}", json=body)


async def listing(client: OrgClient, cid: int, **params: Any) -> httpx.Response:
    return await client.get(f"/v2/customers/{cid}/retroRequest", params=params)


async def items(client: OrgClient, cid: int, **params: Any) -> list[dict[str, Any]]:
    r = await listing(client, cid, **params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def bill_owner(client: OrgClient, bill_id: int) -> Any:
    (row,) = await rows(
        client.harness.app.state.db,
        "SELECT customer_id, points FROM loyalty_bill WHERE org_id = :o AND bill_id = :b",
        o=client.org_id,
        b=bill_id,
    )
    return row


async def request_count(client: OrgClient) -> int:
    found = await rows(
        client.harness.app.state.db, "SELECT request_id FROM retro_request WHERE org_id = :o", o=client.org_id
    )
    return len(found)


async def no_differences(harness: Harness, client: OrgClient) -> None:
    found: list[Difference] = []
    await rebuild(harness.app.state.db, client.org_id, dry_run=True, on_difference=found.append)
    assert found == []


# A purchase without a customer ------------------------------------------------------------------


async def test_a_purchase_without_a_customer_is_kept_with_no_points(harness: Harness) -> None:
    client = await loyalty_org(harness)
    bill_id = await unattached(client, 1000, token("B-"))
    row = await bill_owner(client, bill_id)
    assert (row.customer_id, int(row.points)) == (None, 0)
    r = await client.post("/v2/transactions", json={"type": "RETURN", "billNumber": "X", "billAmount": 5})
    assert r.status_code == 400 and "names its customer" in r.text


# Pending, approval, rejection ----------------------------------------------------------------


async def test_a_request_waits_then_approval_earns_the_bills_points(harness: Harness) -> None:
    client = await loyalty_org(harness, timezone="Asia/Kolkata")
    cid, _ = await new_member(client)
    bill = token("B-")
    bill_id = await unattached(client, 1234.5, bill)
    r = await ask(client, cid, transactionId=bill_id, reason="Forgot the card")
    assert r.status_code == 200, r.text
    request_id = r.json()["createdId"]
    assert r.json() == {
        "createdId": request_id,
        "status": "PENDING",
        "transactionId": bill_id,
        "warnings": [],
        "sideEffects": [],
    }
    assert await kinds(client, cid) == [("registration", 100)]
    assert (await bill_owner(client, bill_id)).customer_id is None

    r = await decide(client, cid, request_id, status="APPROVED", comments="receipt seen")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "APPROVED"
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": 123}]
    assert await kinds(client, cid) == [("registration", 100), ("earn", 123)]
    row = await bill_owner(client, bill_id)
    assert (row.customer_id, int(row.points)) == (cid, 123)
    assert (await summary(client, cid))["cumulativePurchases"] == 1234.5
    await no_differences(harness, client)
    # The bill is the customer's now: a return of it takes back what it earned.
    back = await client.post(
        "/v2/transactions",
        json={"type": "RETURN", "billNumber": bill, "billAmount": 1234.5, "customer": {"id": cid}},
    )
    assert back.status_code == 200 and back.json()["sideEffects"] == [
        {"type": "points", "returnedPoints": 123}
    ]

    (item,) = await items(client, cid)
    assert (item["id"], item["requestId"], item["status"], item["baseType"]) == (
        request_id,
        request_id,
        "APPROVED",
        "RETRO",
    )
    assert (item["transactionId"], item["userId"], item["reason"], item["comments"]) == (
        bill_id,
        cid,
        "Forgot the card",
        "receipt seen",
    )
    assert (item["reqAdd"], item["oneStep"], item["points"], item["billNumber"]) == (True, False, 123, bill)
    assert item["addedOn"].endswith("+05:30") and item["addedByParent"]["type"] == "STORE"
    for status in ("APPROVED", "REJECTED"):
        again = await decide(client, cid, request_id, status=status)
        assert again.status_code == 422 and codes(again.json()) == [2170]


async def test_the_list_replays_the_seed_sample(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    for n in range(3):
        bill_id = await unattached(client, 100 + n, token("B-"))
        request_id = (await ask(client, cid, transactionId=bill_id)).json()["createdId"]
        if n == 0:
            assert (await decide(client, cid, request_id, status="REJECTED")).status_code == 200
    r = await listing(client, cid)
    body = r.json()
    sample = seed_json(SEED_003, 3126, 3299)
    assert_shape(body, sample)
    assert set(body) == set(sample)
    assert set(sample["data"][0]) <= set(body["data"][0])
    assert set(sample["data"][0]["addedByParent"]) <= set(body["data"][0]["addedByParent"])
    assert body["pagination"] == {"limit": 10, "offset": 0, "total": 3}
    ids = [i["id"] for i in body["data"]]
    assert ids == sorted(ids, reverse=True)  # newest first, as the sample
    assert [i["status"] for i in body["data"]] == ["PENDING", "PENDING", "REJECTED"]


async def test_rejection_attaches_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    bill_id = await unattached(client, 500, token("B-"))
    request_id = (await ask(client, cid, transactionId=bill_id)).json()["createdId"]
    r = await decide(client, cid, request_id, status="REJECTED")
    assert r.status_code == 200 and r.json()["sideEffects"] == []
    assert await kinds(client, cid) == [("registration", 100)]
    assert (await bill_owner(client, bill_id)).customer_id is None
    (item,) = await items(client, cid)
    assert item["status"] == "REJECTED" and item["comments"] == f"rejected by {item['updatedBy']['id']}"
    # A rejected request does not block a new one for the same bill.
    assert (await ask(client, cid, transactionId=bill_id)).status_code == 200


async def test_auto_approval_attaches_at_once(harness: Harness) -> None:
    client = await loyalty_org(harness, retroAutoApprove=True)
    cid, _ = await new_member(client)
    bill = token("B-")
    bill_id = await unattached(client, 800, bill)
    r = await ask(client, cid, billNumber=bill)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "APPROVED"
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": 80}]
    assert await ledger_sum(client, cid) == 180 == await balance(client, cid)
    (item,) = await items(client, cid)
    assert item["oneStep"] is True and item["comments"] == f"auto approved by {item['addedBy']['id']}"
    again = await decide(client, cid, item["id"], status="REJECTED")
    assert again.status_code == 422 and codes(again.json()) == [2170]
    assert (await ask(client, cid, transactionId=bill_id)).json()["errors"][0]["code"] == 2167


async def test_a_bill_of_another_customer_moves_and_its_points_go_back(harness: Harness) -> None:
    client = await loyalty_org(harness)
    wrong, _ = await new_member(client)
    right, _ = await new_member(client)
    bill = token("B-")
    r = await purchase(client, wrong, 2000, bill)
    bill_id = r.json()["createdId"]
    # The wrong customer spent most of it already: it gives back what it has, never below zero.
    spent = await client.post("/v2/points/redeem", json={"customer": {"id": wrong}, "points": 250})
    assert spent.status_code == 200, spent.text
    assert await balance(client, wrong) == 50
    request_id = (await ask(client, right, billNumber=bill)).json()["createdId"]
    r = await decide(client, right, request_id, status="APPROVED")
    assert r.status_code == 200, r.text
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": 200}]
    assert await kinds(client, wrong) == [
        ("registration", 100),
        ("earn", 200),
        ("redeem", -250),
        ("return", -50),
    ]
    assert await balance(client, wrong) == 0
    assert (await account(client, wrong) or {})["returned"] == 50
    assert await kinds(client, right) == [("registration", 100), ("earn", 200)]
    assert (await bill_owner(client, bill_id)).customer_id == right
    assert (await summary(client, wrong))["cumulativePurchases"] == 0
    assert (await summary(client, right))["cumulativePurchases"] == 2000
    (item,) = await items(client, right)
    assert item["fromCustomerId"] == wrong
    await no_differences(harness, client)


# Refusals -----------------------------------------------------------------------------------


async def test_refusals_name_their_cause_and_write_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness, retroMaxAgeDays=10)
    cid, _ = await new_member(client)
    other, _ = await new_member(client)
    before = await request_count(client)

    async def refused(status: int, code: int, **body: Any) -> None:
        r = await ask(client, cid, **body)
        assert r.status_code == status and codes(r.json()) == [code], r.text
        assert await request_count(client) == before

    await refused(404, 2165, transactionId=10**15)
    await refused(404, 2165, billNumber=token("none-"))
    # Another org's bill is not found.
    other_org = await loyalty_org(harness)
    foreign = await unattached(other_org, 100, token("F-"))
    await refused(404, 2165, transactionId=foreign)
    # Too old: older than retroMaxAgeDays from its billDate.
    old_date = (datetime.now(UTC) - timedelta(days=11)).isoformat()
    old = await unattached(client, 100, token("O-"), billDate=old_date)
    await refused(422, 2166, transactionId=old)
    recent = await unattached(
        client, 100, token("R-"), billDate=(datetime.now(UTC) - timedelta(days=9)).isoformat()
    )
    assert (await ask(client, cid, transactionId=recent)).status_code == 200
    before += 1
    # A pending request for the same bill.
    await refused(409, 2168, transactionId=recent)
    r = await ask(client, other, transactionId=recent)
    assert r.status_code == 409 and codes(r.json()) == [2168]
    # Already this customer's.
    mine = token("M-")
    mine_id = (await purchase(client, cid, 100, mine)).json()["createdId"]
    await refused(409, 2167, transactionId=mine_id)
    await refused(409, 2167, billNumber=mine)
    # A return is not a purchase.
    back = await client.post(
        "/v2/transactions",
        json={"type": "RETURN", "billNumber": mine, "billAmount": 10, "customer": {"id": cid}},
    )
    await refused(422, 2172, transactionId=back.json()["createdId"])
    # A bill with returns recorded against it stays where it is.
    r = await ask(client, other, transactionId=mine_id)
    assert r.status_code == 422 and codes(r.json()) == [2173]
    # Two purchases of one number: name one by its id.
    twice = token("D-")
    await unattached(client, 10, twice)
    await unattached(client, 20, twice)
    await refused(409, 2171, billNumber=twice)
    # Bad bodies and customers.
    await refused(400, 400)
    await refused(400, 400, transactionId=mine_id, billNumber=mine)
    r = await ask(client, 10**15, transactionId=recent)
    assert r.status_code == 404 and codes(r.json()) == [8015]
    non_member = await client.post("/v2/customers", json=register_body(loyalty="non_loyalty"))
    r = await ask(client, non_member.json()["createdId"], transactionId=old)
    assert r.status_code == 422 and codes(r.json()) == [1013]
    assert await request_count(client) == before


async def test_approval_is_refused_when_the_customer_has_that_bill_number(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    bill = token("B-")
    bill_id = await unattached(client, 100, bill)
    request_id = (await ask(client, cid, transactionId=bill_id)).json()["createdId"]
    assert (await purchase(client, cid, 50, bill)).status_code == 200
    r = await decide(client, cid, request_id, status="APPROVED")
    assert r.status_code == 409 and codes(r.json()) == [2003]
    assert (await items(client, cid))[0]["status"] == "PENDING"
    assert (await bill_owner(client, bill_id)).customer_id is None


async def test_another_orgs_customer_and_requests_are_not_found(
    harness: Harness, other_client: OrgClient
) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    bill_id = await unattached(client, 100, token("B-"))
    request_id = (await ask(client, cid, transactionId=bill_id)).json()["createdId"]
    r = await listing(other_client, cid)
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await decide(other_client, cid, request_id, status="APPROVED")
    assert r.status_code == 404 and codes(r.json()) == [8015]
    theirs = await other_client.post("/v2/customers", json=register_body())
    r = await decide(other_client, theirs.json()["createdId"], request_id, status="APPROVED")
    assert r.status_code == 404 and codes(r.json()) == [2169]
    assert (await items(client, cid))[0]["status"] == "PENDING"


async def test_concurrent_requests_for_one_bill_leave_one_pending(harness: Harness) -> None:
    client = await loyalty_org(harness)
    a, _ = await new_member(client)
    b, _ = await new_member(client)
    bill_id = await unattached(client, 100, token("B-"))
    answers = await asyncio.gather(*(ask(client, who, transactionId=bill_id) for who in (a, b, a, b)))
    assert sum(r.status_code == 200 for r in answers) == 1, [r.text for r in answers]
    assert all(codes(r.json()) == [2168] for r in answers if r.status_code != 200)


# Listing ------------------------------------------------------------------------------------


async def test_filters_paging_and_the_rate_limit(harness: Harness) -> None:
    client = await loyalty_org(harness, rateLimitsPerHour={"Get Change Requests": 7})
    cid, _ = await new_member(client)
    for n in range(4):
        bill_id = await unattached(client, 10 + n, token("B-"))
        assert (await ask(client, cid, transactionId=bill_id)).status_code == 200
    ids = [i["id"] for i in await items(client, cid)]
    assert len(ids) == 4
    assert [i["id"] for i in await items(client, cid, startId=ids[2], endId=ids[1])] == ids[1:3]
    r = await listing(client, cid, limit=3, offset=3)
    assert r.json()["pagination"] == {"limit": 3, "offset": 3, "total": 4}
    assert [i["id"] for i in r.json()["data"]] == ids[3:]
    assert await items(client, cid, changeType="EMAIL") == []
    today = datetime.now(UTC).date()
    assert len(await items(client, cid, changeType="retro", startDate=today.isoformat())) == 4
    assert await items(client, cid, endDate=(today - timedelta(days=1)).isoformat()) == []
    bad = await listing(client, cid, limit=101)
    assert bad.status_code == 400
    # Seven requests counted this hour (the refused one too): the eighth is refused, with Retry-After.
    r = await listing(client, cid)
    assert r.status_code == 429 and codes(r.json()) == [2120]
    assert int(r.headers["Retry-After"]) >= 1
