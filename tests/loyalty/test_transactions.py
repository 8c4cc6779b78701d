"""Purchases earn, returns take back, redemptions spend: POST /v2/transactions and
POST /v2/points/redeem on both engines, and the registration points."""

from __future__ import annotations

import pytest

from patron.db.sql import Q
from tests.conftest import Harness
from tests.loyalty.support import loyalty_org, new_member, purchase
from tests.support import codes, register_body, rows


async def ledger(harness: Harness, org_id: int, customer_id: int) -> list[tuple[str, int]]:
    found = await rows(
        harness.app.state.db,
        "SELECT kind, points FROM points_ledger WHERE org_id = :o AND customer_id = :c ORDER BY entry_id",
        o=org_id,
        c=customer_id,
    )
    return [(r.kind, r.points) for r in found]


async def account(
    harness: Harness, org_id: int, customer_id: int, program_id: int = 1016
) -> dict[str, object]:
    found = await rows(
        harness.app.state.db,
        "SELECT loyalty_points, lifetime_points, redeemed, returned, tier_number, cumulative_purchases"
        " FROM loyalty_enrollment WHERE org_id = :o AND customer_id = :c AND program_id = :p",
        o=org_id,
        c=customer_id,
        p=program_id,
    )
    assert len(found) == 1
    return vars(found[0])


async def test_registration_awards_the_default_programs_points(harness: Harness) -> None:
    client = await loyalty_org(harness)
    r = await client.post("/v2/customers", json=register_body())
    assert r.status_code == 200, r.text
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": 100}]
    cid = r.json()["createdId"]
    assert await ledger(harness, client.org_id, cid) == [("registration", 100)]
    acc = await account(harness, client.org_id, cid)
    assert (acc["loyalty_points"], acc["lifetime_points"], acc["tier_number"]) == (100, 100, 1)


async def test_non_loyalty_registration_earns_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    r = await client.post("/v2/customers", json=register_body(loyalty="non_loyalty"))
    assert r.status_code == 200, r.text
    assert r.json()["sideEffects"] == []
    p = await purchase(client, r.json()["createdId"], 100, "B1")
    assert p.status_code == 422 and codes(p.json()) == [1013]


async def test_purchase_earns_floor_of_amount_times_rate_and_upgrades_the_tier(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    r = await purchase(client, cid, 1999.99, "B-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sideEffects"] == [{"type": "points", "awardedPoints": 199}]
    assert isinstance(body["createdId"], int) and body["warnings"] == []
    acc = await account(harness, client.org_id, cid)
    assert (acc["loyalty_points"], acc["lifetime_points"], acc["tier_number"]) == (299, 299, 1)
    r = await purchase(client, cid, 7010, "B-2")
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": 701}]
    acc = await account(harness, client.org_id, cid)
    assert (acc["loyalty_points"], acc["lifetime_points"], acc["tier_number"]) == (1000, 1000, 2)
    assert str(acc["cumulative_purchases"]) in {"9009.99", "9009.990000"}


async def test_a_bill_number_counts_once(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    assert (await purchase(client, cid, 100, "DUP")).status_code == 200
    again = await purchase(client, cid, 100, "DUP")
    assert again.status_code == 409 and codes(again.json()) == [2003]
    assert await ledger(harness, client.org_id, cid) == [("registration", 100), ("earn", 10)]


async def test_purchase_by_identifier_and_in_a_named_program(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    body = {
        "type": "REGULAR",
        "billNumber": "B-9",
        "billAmount": 12.5,
        "programId": 2020,
        "customer": {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
    }
    r = await client.post("/v2/transactions", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["sideEffects"] == [{"type": "points", "awardedPoints": 12}]
    acc = await account(harness, client.org_id, cid, 2020)
    assert acc["loyalty_points"] == 12


async def test_returns_take_back_what_the_bill_earned_never_below_zero(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await purchase(client, cid, 1000, "R-1")  # earns 100, balance 200
    part = await client.post(
        "/v2/transactions",
        json={"type": "RETURN", "billNumber": "R-1", "billAmount": 250, "customer": {"id": cid}},
    )
    assert part.status_code == 200, part.text
    assert part.json()["sideEffects"] == [{"type": "points", "returnedPoints": 25}]
    # Spend nearly everything, then return the rest of the bill: only what is left goes.
    redeem = await client.post("/v2/points/redeem", json={"customer": {"id": cid}, "points": 170})
    assert redeem.status_code == 200, redeem.text
    rest = await client.post(
        "/v2/transactions",
        json={"type": "RETURN", "billNumber": "R-1", "billAmount": 5000, "customer": {"id": cid}},
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["sideEffects"] == [{"type": "points", "returnedPoints": 5}]
    acc = await account(harness, client.org_id, cid)
    assert (acc["loyalty_points"], acc["returned"], acc["redeemed"]) == (0, 30, 170)
    assert str(acc["cumulative_purchases"]).startswith("0")
    done = await client.post(
        "/v2/transactions",
        json={"type": "RETURN", "billNumber": "R-1", "billAmount": 1, "customer": {"id": cid}},
    )
    assert done.status_code == 422 and codes(done.json()) == [2005]
    unknown = await client.post(
        "/v2/transactions",
        json={"type": "RETURN", "billNumber": "NOPE", "billAmount": 1, "customer": {"id": cid}},
    )
    assert unknown.status_code == 422 and codes(unknown.json()) == [2004]


async def test_redeeming_more_than_the_balance_is_refused_and_writes_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    r = await client.post("/v2/points/redeem", json={"customer": {"id": cid}, "points": 101})
    assert r.status_code == 422 and codes(r.json()) == [2010]
    assert "100 points" in r.json()["errors"][0]["message"]
    assert await ledger(harness, client.org_id, cid) == [("registration", 100)]
    ok = await client.post(
        "/v2/points/redeem",
        json={"customer": {"id": cid}, "points": 100, "billNumber": "R", "reason": "gift"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["sideEffects"] == [{"type": "points", "redeemedPoints": 100}]
    assert (await account(harness, client.org_id, cid))["loyalty_points"] == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "SALE", "billNumber": "x", "billAmount": 1}, 400),
        ({"type": "REGULAR", "billNumber": "", "billAmount": 1}, 400),
        ({"type": "REGULAR", "billNumber": "x", "billAmount": 0}, 400),
        ({"type": "REGULAR", "billNumber": "x", "billAmount": -5}, 400),
        ({"type": "REGULAR", "billNumber": "x", "billAmount": 1.005}, 400),
        ({"type": "REGULAR", "billNumber": "x", "billAmount": 1, "programId": 99}, 400),
        ({"type": "REGULAR", "billNumber": "x", "billAmount": 1, "billDate": "2999-01-01T00:00:00Z"}, 400),
    ],
)
async def test_bad_transactions_are_refused(harness: Harness, body: dict[str, object], status: int) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    r = await client.post("/v2/transactions", json={**body, "customer": {"id": cid}})
    assert r.status_code == status, r.text
    assert await ledger(harness, client.org_id, cid) == [("registration", 100)]


async def test_unknown_and_foreign_customers_are_not_found(harness: Harness) -> None:
    client = await loyalty_org(harness)
    other = await loyalty_org(harness)
    theirs, _ = await new_member(other)
    r = await purchase(client, theirs, 10, "B")
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await client.post("/v2/points/redeem", json={"customer": {"id": 99999999}, "points": 1})
    assert r.status_code == 404


async def test_an_org_without_programs_is_told_so(client: object) -> None:
    from tests.conftest import OrgClient

    assert isinstance(client, OrgClient)
    r = await client.post("/v2/customers", json=register_body())
    cid = r.json()["createdId"]
    p = await purchase(client, cid, 10, "B")
    assert p.status_code == 422 and codes(p.json()) == [2001]


async def test_purchases_repeat_with_an_idempotency_key(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    body = {"type": "REGULAR", "billNumber": "K-1", "billAmount": 100, "customer": {"id": cid}}
    first = await client.post("/v2/transactions", json=body, headers={"Idempotency-Key": "k-1"})
    again = await client.post("/v2/transactions", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(
        "/v2/transactions", json={**body, "billNumber": "K-2"}, headers={"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 409
    assert await ledger(harness, client.org_id, cid) == [("registration", 100), ("earn", 10)]


_ = Q


async def test_a_purchase_issues_only_the_statements_it_needs(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    """The lean path, counted by the API itself (`x-patron-statements`, the statements of
    one request): the login, the customer and its summary read with the duplicate-bill check
    in one statement, and the writes (bill, entry, summary, purchases), which PostgreSQL
    sends in one round trip between its BEGIN-with-the-row-lock and its COMMIT."""
    from tests.api.test_auth_isolation import another_process, basic

    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    async with another_process(harness, unscoped_queries, statement_header=True) as http:

        async def count(path: str, body: dict[str, object]) -> int:
            r = await http.post(path, json=body, headers=basic(client.username, client.password))
            assert r.status_code == 200, r.text
            return int(r.headers["x-patron-statements"])

        def bill(n: int) -> dict[str, object]:
            return {"type": "REGULAR", "billNumber": f"LEAN-{n}", "billAmount": 250, "customer": {"id": cid}}

        await count("/v2/transactions", bill(0))  # this process reads the org's configuration once
        assert await count("/v2/transactions", bill(1)) == (6 if harness.engine == "sqlite" else 5)
        redeem = {"customer": {"id": cid}, "points": 10}
        assert await count("/v2/points/redeem", redeem) == (4 if harness.engine == "sqlite" else 5)
