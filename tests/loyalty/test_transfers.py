"""Points transfers: POST /v2/customers/{userId}/pointsTransfers moves points between two
customers in one transaction, and Get Points Transfer Summary of Customer (seed 003 #13)
shows DEDUCTION on the giver and ADDITION on the receiver. Both engines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.api.seedtext import SEED_003, assert_shape, seed_json
from tests.conftest import Harness, OrgClient
from tests.loyalty.points_support import account, entries, kinds, ledger_sum
from tests.loyalty.support import loyalty_org, new_member, purchase
from tests.support import codes, mobile, register_body, rows, token


async def give(client: OrgClient, giver: int, receiver: int, points: int, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", {})
    return await client.post(
        f"/v2/customers/{giver}/pointsTransfers",
        json={"toCustomerId": receiver, "points": points, **extra},
        headers=headers,
    )


async def summary_of(client: OrgClient, customer_id: int, **params: Any) -> httpx.Response:
    return await client.get(f"/v2/customers/{customer_id}/pointsTransfers", params=params)


async def transfer_rows(client: OrgClient) -> list[Any]:
    return await rows(
        client.harness.app.state.db,
        "SELECT * FROM points_transfer WHERE org_id = :o ORDER BY transfer_id",
        o=client.org_id,
    )


async def test_a_transfer_moves_points_from_the_giver_to_the_receiver(harness: Harness) -> None:
    client = await loyalty_org(harness)
    giver, _ = await new_member(client)
    receiver, _ = await new_member(client)
    r = await give(client, giver, receiver, 30, notes="  for James ")
    assert r.status_code == 200, r.text
    body = r.json()
    transfer_id = body["createdId"]
    assert isinstance(transfer_id, int)
    assert body["warnings"] == []
    assert body["sideEffects"] == [{"type": "points", "transferredPoints": 30}]

    out = (await entries(client, giver))[-1]
    into = (await entries(client, receiver))[-1]
    assert (out.kind, out.points, out.ref_kind, out.ref_id) == ("transfer_out", -30, "transfer", transfer_id)
    assert (into.kind, into.points, into.ref_kind, into.ref_id) == (
        "transfer_in",
        30,
        "transfer",
        transfer_id,
    )
    assert out.expires_at is None
    # The received points expire as freshly earned ones would (pointsExpiryDays 365).
    assert abs(into.expires_at - (into.created_at + timedelta(days=365))) < timedelta(seconds=1)
    assert out.notes == into.notes == "for James"

    assert await account(client, giver) == {
        "loyalty_points": 70,
        "lifetime_points": 100,
        "redeemed": 0,
        "expired": 0,
        "returned": 0,
        "adjusted": -30,
    }
    assert await account(client, receiver) == {
        "loyalty_points": 130,
        "lifetime_points": 100,
        "redeemed": 0,
        "expired": 0,
        "returned": 0,
        "adjusted": 30,
    }
    (row,) = await transfer_rows(client)
    assert (row.transfer_id, row.from_customer_id, row.to_customer_id, row.program_id, row.points) == (
        transfer_id,
        giver,
        receiver,
        1016,
        30,
    )
    assert row.notes == "for James"
    for cid in (giver, receiver):
        assert await ledger_sum(client, cid) == (await account(client, cid) or {})["loyalty_points"]


async def test_the_whole_balance_can_go_and_the_receiver_may_be_new_to_the_program(harness: Harness) -> None:
    client = await loyalty_org(harness)
    giver, _ = await new_member(client)
    receiver, _ = await new_member(client)
    assert (await purchase(client, giver, 40, "P-1", programId=2020)).status_code == 200  # 40 points
    assert await account(client, receiver, 2020) is None
    r = await give(client, giver, receiver, 40, programId=2020)
    assert r.status_code == 200, r.text
    assert (await account(client, giver, 2020) or {})["loyalty_points"] == 0
    assert (await account(client, receiver, 2020) or {})["loyalty_points"] == 40
    assert await kinds(client, receiver, 2020) == [("transfer_in", 40)]
    # Program 2020 sets no expiry: nor do the points received in it.
    assert (await entries(client, receiver, 2020))[0].expires_at is None
    # The default program is untouched.
    assert (await account(client, giver) or {})["loyalty_points"] == 100


async def test_more_than_the_balance_is_refused_and_nothing_is_written(harness: Harness) -> None:
    client = await loyalty_org(harness)
    giver, _ = await new_member(client)
    receiver, _ = await new_member(client)
    r = await give(client, giver, receiver, 101)
    assert r.status_code == 422 and codes(r.json()) == [2010]
    assert "100 points" in r.json()["errors"][0]["message"]
    # A program the giver holds nothing in: balance 0.
    r = await give(client, giver, receiver, 1, programId=2020)
    assert r.status_code == 422 and codes(r.json()) == [2010]
    assert await kinds(client, giver) == [("registration", 100)]
    assert await kinds(client, receiver) == [("registration", 100)]
    assert await account(client, receiver, 2020) is None
    assert await transfer_rows(client) == []


async def _merged_customer(client: OrgClient) -> tuple[int, int]:
    """(a customer merged into another, the survivor), merged by Update Customer Identifiers."""
    number = mobile()
    r = await client.post("/v2/customers", json=register_body(number))
    survivor = r.json()["createdId"]
    victim = (
        await client.post(
            "/v2/customers",
            json=register_body(
                source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
            ),
        )
    ).json()["createdId"]
    r = await client.post(
        f"/v2/customers/{victim}/changeIdentifier",
        params={"source": "WECHAT", "accountId": "WECHAT-CM"},
        json={"add": [{"type": "mobile", "value": number}]},
    )
    assert r.status_code == 200 and r.json()["createdId"] == survivor, r.text
    return victim, survivor


async def test_refusals_name_the_problem_and_write_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    other = await loyalty_org(harness)
    giver, _ = await new_member(client)
    receiver, _ = await new_member(client)
    foreign, _ = await new_member(other)
    plain = (await client.post("/v2/customers", json=register_body(loyalty="non_loyalty"))).json()[
        "createdId"
    ]
    victim, survivor = await _merged_customer(client)

    cases: list[tuple[int, dict[str, Any], int, int]] = [
        (giver, {"toCustomerId": giver, "points": 5}, 422, 2020),
        (giver, {"toCustomerId": 99_999_999_999, "points": 5}, 404, 8015),
        (giver, {"toCustomerId": foreign, "points": 5}, 404, 8015),
        (giver, {"toCustomerId": plain, "points": 5}, 422, 1013),
        (giver, {"toCustomerId": victim, "points": 5}, 404, 8069),
        (giver, {"toCustomerId": receiver, "points": 5, "programId": 99}, 400, 2002),
        (giver, {"toCustomerId": receiver, "points": 0}, 400, 400),
        (giver, {"toCustomerId": receiver, "points": -3}, 400, 400),
        (giver, {"toCustomerId": receiver}, 400, 400),
        (giver, {"toCustomerId": receiver, "points": 5, "notes": "x" * 501}, 400, 400),
        (foreign, {"toCustomerId": receiver, "points": 5}, 404, 8015),
        (plain, {"toCustomerId": receiver, "points": 5}, 422, 1013),
        (victim, {"toCustomerId": receiver, "points": 5}, 404, 8069),
    ]
    for who, body, status, code in cases:
        r = await client.post(f"/v2/customers/{who}/pointsTransfers", json=body)
        assert (r.status_code, codes(r.json())) == (status, [code]), (body, r.text)
    r = await client.post(
        f"/v2/customers/{giver}/pointsTransfers", json={"toCustomerId": victim, "points": 5}
    )
    assert str(survivor) in r.json()["errors"][0]["message"]
    r = await client.post(f"/v2/customers/{giver}/pointsTransfers", json={"toCustomerId": plain, "points": 5})
    assert f"toCustomerId {plain}" in r.json()["errors"][0]["message"]
    r = await client.post("/v2/customers/12ab/pointsTransfers", json={"toCustomerId": receiver, "points": 5})
    assert r.status_code == 404 and codes(r.json()) == [8015]
    assert await transfer_rows(client) == []
    assert await kinds(client, giver) == [("registration", 100)]
    assert await kinds(client, receiver) == [("registration", 100)]


async def test_the_summary_shows_deduction_on_the_giver_and_addition_on_the_receiver(
    harness: Harness,
) -> None:
    client = await loyalty_org(harness, timezone="Asia/Kolkata")
    tom = (await client.post("/v2/customers", json=register_body(first="Tom", last="Sawyer"))).json()[
        "createdId"
    ]
    james = (await client.post("/v2/customers", json=register_body(first="James", last="Thomas"))).json()[
        "createdId"
    ]
    first = (await give(client, tom, james, 15)).json()["createdId"]
    second = (await give(client, james, tom, 5, notes="thanks")).json()["createdId"]

    r = await summary_of(client, tom)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["warnings"], body["errors"]) == ([], [])
    got = [(d["transferId"], d["transferType"], d["pointsTransferred"]) for d in body["data"]]
    assert got == [(second, "ADDITION", 5), (first, "DEDUCTION", 15)]  # newest first
    received, given = body["data"]
    assert given["transferredFrom"] == {"userId": tom, "firstName": "Tom", "lastName": "Sawyer"}
    assert given["transferredTo"] == {"userId": james, "firstName": "James", "lastName": "Thomas"}
    assert received["transferredFrom"]["userId"] == james and received["transferredTo"]["userId"] == tom
    assert (given["notes"], received["notes"]) == ("", "thanks")
    assert given["programName"] == "Club" and given["programId"] == 1016

    # The other side sees the same transfers the other way round.
    theirs = (await summary_of(client, james)).json()["data"]
    assert [(d["transferId"], d["transferType"]) for d in theirs] == [
        (second, "DEDUCTION"),
        (first, "ADDITION"),
    ]

    # The seed's date form, in the org's time zone.
    (row, _) = await transfer_rows(client)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", given["pointsTransferDate"])
    local = row.created_at.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M:%S")
    assert given["pointsTransferDate"] == local
    assert abs(datetime.now(UTC) - row.created_at) < timedelta(minutes=5)

    # Every key of the seed's sample (003:L3028-3073), with the same JSON types.
    assert_shape(body, seed_json(SEED_003, 3028, 3073))
    paged = (await summary_of(client, tom, limit=1, offset=1)).json()["data"]
    assert [d["transferId"] for d in paged] == [first]


async def test_the_summary_of_a_customer_without_transfers_is_empty_and_unknown_ones_are_404(
    harness: Harness,
) -> None:
    client = await loyalty_org(harness)
    other = await loyalty_org(harness)
    cid, _ = await new_member(client)
    foreign, _ = await new_member(other)
    r = await summary_of(client, cid)
    assert r.status_code == 200 and r.json() == {"data": [], "warnings": [], "errors": []}
    for missing in (foreign, 99_999_999_999, "abc"):
        r = await summary_of(client, missing)  # type: ignore[arg-type]
        assert r.status_code == 404 and codes(r.json()) == [8015]
    victim, _ = await _merged_customer(client)
    r = await summary_of(client, victim)
    assert r.status_code == 404 and codes(r.json()) == [8069]
    for params in ({"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}, {"limit": "x"}):
        r = await summary_of(client, cid, **params)
        assert r.status_code == 400, params


@pytest.mark.parametrize("name", ["", "Only"])
async def test_names_come_from_the_oldest_named_profile(harness: Harness, name: str) -> None:
    client = await loyalty_org(harness)
    giver = (await client.post("/v2/customers", json=register_body(first=name, last=""))).json()["createdId"]
    receiver, _ = await new_member(client)
    assert (await give(client, giver, receiver, 1)).status_code == 200
    (item,) = (await summary_of(client, giver)).json()["data"]
    assert item["transferredFrom"] == {"userId": giver, "firstName": name, "lastName": ""}


async def test_a_transfer_repeats_with_an_idempotency_key(harness: Harness) -> None:
    client = await loyalty_org(harness)
    giver, _ = await new_member(client)
    receiver, _ = await new_member(client)
    first = await give(client, giver, receiver, 10, headers={"Idempotency-Key": "t-1"})
    again = await give(client, giver, receiver, 10, headers={"Idempotency-Key": "t-1"})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    other = await give(client, giver, receiver, 11, headers={"Idempotency-Key": "t-1"})
    assert other.status_code == 409
    assert await kinds(client, giver) == [("registration", 100), ("transfer_out", -10)]
    assert len(await transfer_rows(client)) == 1
