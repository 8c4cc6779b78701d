"""Update Customer Identifiers / Issue Card (seed 003 #3, #21): adds, removes, merges, cards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import codes, email, history, mobile, outbox, register_body, token

WECHAT = {"source": "WECHAT", "accountId": "WECHAT-CM"}
INSTORE = {"source": "INSTORE"}


async def register(client: OrgClient, number: str | None = None, **kwargs: Any) -> int:
    r = await client.post("/v2/customers", json=register_body(number, **kwargs))
    assert r.status_code == 200, r.text
    return r.json()["createdId"]


async def change(
    client: OrgClient,
    cid: int,
    *,
    add: list[dict[str, Any]] | None = None,
    remove: list[dict[str, Any]] | None = None,
    where: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    body: dict[str, Any] = {}
    if add is not None:
        body["add"] = add
    if remove is not None:
        body["remove"] = remove
    return await client.post(
        f"/v2/customers/{cid}/changeIdentifier", params={**(where or INSTORE), **params}, json=body
    )


async def lookup(
    client: OrgClient, name: str, value: str, where: dict[str, str] | None = None
) -> httpx.Response:
    params = {**(where or INSTORE), "identifierName": name, "identifierValue": value}
    return await client.get("/v2/customers/lookup", params=params)


async def details(client: OrgClient, cid: int, source: str = "ALL") -> httpx.Response:
    return await client.get(f"/v2/customers/{cid}", params={"source": source})


def card(number: str, **extra: Any) -> dict[str, Any]:
    return {"type": "cardnumber", "value": number, **extra}


# Adding and removing -----------------------------------------------------------------


async def test_adding_wechat_in_a_new_account_creates_the_profile_and_reports_it(
    client: OrgClient,
) -> None:
    cid = await register(client)
    before = len(await history(client.harness, client.org_id, cid))
    wx = token("wx")
    r = await change(client, cid, add=[{"type": "wechat", "value": wx}], where=WECHAT)
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": cid, "warnings": []}
    assert (await lookup(client, "wechat", wx, WECHAT)).json()["entity"] == cid
    profiles = (await details(client, cid)).json()["profiles"]
    assert {(p["source"], p["accountId"]) for p in profiles} == {
        ("INSTORE", ""),
        ("WECHAT", "WECHAT-CM"),
    }
    events = await outbox(client.harness, client.org_id)
    assert [e["eventType"] for e in events] == ["customerAdded", "customerUpdated"]
    updated = events[-1]["attributes"]["data"]["updatedFields"]
    assert [(f["fieldName"], f["previousValue"], f["currentValue"]) for f in updated] == [
        ("wechat", None, wx)
    ]
    rows = (await history(client.harness, client.org_id, cid))[before:]
    assert [(h.field_name, h.previous_value, h.current_value, h.source, h.account_id) for h in rows] == [
        ("wechat", None, wx, "WECHAT", "WECHAT-CM")
    ]


async def test_replacing_an_email_in_one_call_swaps_the_lookups(client: OrgClient) -> None:
    old, new = email(), email()
    cid = await register(client, extra=[{"type": "email", "value": old}])
    r = await change(
        client, cid, add=[{"type": "email", "value": new}], remove=[{"type": "email", "value": old}]
    )
    assert r.status_code == 200, r.text
    gone = await lookup(client, "email", old)
    assert gone.status_code == 404 and codes(gone.json()) == [8015]
    assert (await lookup(client, "email", new)).json()["entity"] == cid


@pytest.mark.parametrize(("holder", "code"), [("other", 8007), ("self", 8008)])
async def test_identifier_already_held_in_the_same_source_is_refused(
    client: OrgClient, holder: str, code: int
) -> None:
    taken = email()
    owner = await register(client, extra=[{"type": "email", "value": taken}])
    cid = owner if holder == "self" else await register(client)
    events = len(await outbox(client.harness, client.org_id))
    r = await change(client, cid, add=[{"type": "email", "value": taken}])
    assert r.status_code == 409 and codes(r.json()) == [code]
    assert len(await outbox(client.harness, client.org_id)) == events
    assert (await lookup(client, "email", taken)).json()["entity"] == owner


# Merges ------------------------------------------------------------------------------


async def test_identifier_of_another_customer_in_other_source_merges_into_that_customer(
    client: OrgClient,
) -> None:
    number = mobile()
    survivor = await register(client, number)
    victim = await register(
        client,
        source="WECHAT",
        account_id="WECHAT-CM",
        extra=[{"type": "wechat", "value": token("wx")}],
    )
    r = await change(client, victim, add=[{"type": "mobile", "value": number}], where=WECHAT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["createdId"] == survivor
    assert codes(body, "warnings") == [8051]
    assert str(survivor) in body["warnings"][0]["message"]

    gone = await details(client, victim)
    assert gone.status_code == 404 and codes(gone.json()) == [8069]
    merged = (await details(client, survivor)).json()
    assert {(p["source"], p["accountId"]) for p in merged["profiles"]} == {
        ("INSTORE", ""),
        ("WECHAT", "WECHAT-CM"),
    }
    assert (await lookup(client, "mobile", number, WECHAT)).json()["entity"] == survivor
    merges = [
        (h.field_name, h.current_value)
        for h in await history(client.harness, client.org_id, victim)
        if h.kind == "MERGE"
    ]
    assert merges == [("mergedInto", str(survivor)), ("mergeId", str(body["mergeId"]))]

    again = await change(client, victim, add=[{"type": "email", "value": email()}], where=WECHAT)
    assert again.status_code == 409 and codes(again.json()) == [8067]


async def test_identifiers_of_two_different_customers_cannot_merge_8053(client: OrgClient) -> None:
    first_mobile, second_email = mobile(), email()
    await register(client, first_mobile)
    await register(client, extra=[{"type": "email", "value": second_email}])
    victim = await register(client, source="WECHAT", account_id="WECHAT-CM")
    events = len(await outbox(client.harness, client.org_id))
    r = await change(
        client,
        victim,
        where=WECHAT,
        add=[{"type": "mobile", "value": first_mobile}, {"type": "email", "value": second_email}],
    )
    assert r.status_code == 409 and codes(r.json()) == [8053]
    assert len(await outbox(client.harness, client.org_id)) == events
    assert (await details(client, victim)).status_code == 200


async def test_merge_is_refused_when_both_hold_a_profile_in_the_same_account_8066(
    client: OrgClient,
) -> None:
    number = mobile()
    survivor = await register(client, number)
    victim = await register(client)  # also an INSTORE profile
    r = await change(client, victim, add=[{"type": "mobile", "value": number}], where=WECHAT)
    assert r.status_code == 409 and codes(r.json()) == [8066]
    victim_now = (await details(client, victim)).json()
    assert [p["source"] for p in victim_now["profiles"]] == ["INSTORE"]
    assert (await lookup(client, "mobile", number, WECHAT)).status_code == 404
    assert (await lookup(client, "mobile", number)).json()["entity"] == survivor


# Validation and addressing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "code"),
    [
        ({"type": "mobile", "value": "12"}, 8056),
        ({"type": "email", "value": "not-an-email"}, 8055),
        ({"type": "externalId", "value": "has space"}, 8064),
    ],
)
async def test_invalid_identifier_is_refused_with_its_code(
    client: OrgClient, identifier: dict, code: int
) -> None:
    cid = await register(client)
    r = await change(client, cid, add=[identifier])
    assert r.status_code == 400 and codes(r.json()) == [code]


async def test_unknown_customer_is_8009_and_another_orgs_customer_looks_the_same(
    client: OrgClient, other_client: OrgClient
) -> None:
    foreign = await register(other_client)
    add = [{"type": "email", "value": email()}]
    missing = await change(client, 987_654_321_012, add=add)
    assert missing.status_code == 404 and codes(missing.json()) == [8009]
    other = await change(client, foreign, add=add)
    assert (other.status_code, other.json()) == (missing.status_code, missing.json())
    assert len(await outbox(other_client.harness, other_client.org_id)) == 1


async def test_removing_an_identifier_the_customer_does_not_hold_is_1041(client: OrgClient) -> None:
    cid = await register(client)
    r = await change(client, cid, remove=[{"type": "email", "value": email()}])
    assert r.status_code == 400 and codes(r.json()) == [1041]


async def test_loyalty_customer_keeps_the_primary_identifier(client: OrgClient) -> None:
    number = mobile()
    cid = await register(client, number)
    r = await change(client, cid, remove=[{"type": "mobile", "value": number}])
    assert r.status_code == 422 and codes(r.json()) == [1041]
    assert (await lookup(client, "mobile", number)).json()["entity"] == cid


@pytest.mark.parametrize("payload", [b"{}", b'{"add": [], "remove": []}', b""])
async def test_a_request_with_nothing_to_add_or_remove_is_400(client: OrgClient, payload: bytes) -> None:
    cid = await register(client)
    r = await client.post(
        f"/v2/customers/{cid}/changeIdentifier",
        params=INSTORE,
        content=payload,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and codes(r.json()) == [400]


# Cards -------------------------------------------------------------------------------


async def test_issued_card_shows_in_details_and_finds_its_holder(client: OrgClient) -> None:
    cid = await register(client)
    number = token("TTM")
    r = await change(client, cid, add=[card(number, seriesId=19, statusLabel="ACTIVE")])
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": cid, "warnings": []}
    cards = (await details(client, cid, "INSTORE")).json()["cardDetails"]
    assert len(cards) == 1
    issued = cards[0]
    assert (
        issued["cardNumber"],
        issued["seriesId"],
        issued["seriesCode"],
        issued["customerId"],
    ) == (number, 19, "GOLDPHY98", cid)
    assert issued["statusInfo"]["label"] == "ACTIVE" and issued["statusInfo"]["isActive"] is True
    assert (await lookup(client, "cardnumber", number)).json()["entity"] == cid


async def test_issue_card_sample_takes_the_series_from_the_query(client: OrgClient) -> None:
    cid = await register(client)
    number = token("GOLD")
    r = await change(client, cid, add=[card(number, statusLabel="ACTIVE")], seriesId="19")
    assert r.status_code == 200, r.text
    issued = (await details(client, cid, "INSTORE")).json()["cardDetails"][0]
    assert (issued["cardNumber"], issued["seriesId"], issued["seriesCode"]) == (
        number,
        19,
        "GOLDPHY98",
    )


@pytest.mark.parametrize(
    "item", [{"seriesId": 77, "statusLabel": "ACTIVE"}, {"seriesId": 19, "statusLabel": "LOST"}]
)
async def test_card_outside_the_configured_series_or_labels_is_400(client: OrgClient, item: dict) -> None:
    cid = await register(client)
    number = token("TTM")
    r = await change(client, cid, add=[card(number, **item)])
    assert r.status_code == 400 and codes(r.json()) == [400]
    assert (await lookup(client, "cardnumber", number)).status_code == 404


async def test_a_card_held_by_one_customer_cannot_go_to_another(client: OrgClient) -> None:
    number = token("TTM")
    holder = await register(client)
    assert (await change(client, holder, add=[card(number, seriesId=19)])).status_code == 200
    other = await register(client)
    r = await change(client, other, add=[card(number, seriesId=19)])
    assert r.status_code == 409 and codes(r.json()) == [8007]
    assert (await lookup(client, "cardnumber", number)).json()["entity"] == holder


async def test_non_loyalty_customer_gets_no_card_1013(client: OrgClient) -> None:
    cid = await register(client, loyalty="non_loyalty")
    number = token("TTM")
    r = await change(client, cid, add=[card(number, seriesId=19, statusLabel="ACTIVE")])
    assert r.status_code == 422 and codes(r.json()) == [1013]
    assert (await details(client, cid, "INSTORE")).json()["cardDetails"] == []


async def test_removing_a_card_takes_it_off_the_customer(client: OrgClient) -> None:
    cid = await register(client)
    number = token("TTM")
    assert (await change(client, cid, add=[card(number, seriesId=19)])).status_code == 200
    r = await change(client, cid, remove=[card(number)])
    assert r.status_code == 200, r.text
    gone = await lookup(client, "cardnumber", number)
    assert gone.status_code == 404 and codes(gone.json()) == [8015]
    assert (await details(client, cid, "INSTORE")).json()["cardDetails"] == []


async def test_card_external_id_finds_the_holder(client: OrgClient) -> None:
    cid = await register(client)
    external = token("cardUUID")
    r = await change(client, cid, add=[card(token("TTM"), seriesId=19, cardExternalId=external)])
    assert r.status_code == 200, r.text
    found = await client.get(
        "/v2/customers/lookup/customerDetails",
        params={**INSTORE, "identifierName": "cardExternalId", "identifierValue": external},
    )
    assert found.status_code == 200, found.text
    assert found.json()["id"] == cid
    assert found.json()["cardDetails"][0]["cardExternalId"] == external


async def test_org_requiring_precreated_cards_refuses_an_unknown_card(harness: Harness) -> None:
    strict = await make_org(harness, {**CONFIG, "requirePrecreatedCards": True})
    cid = await register(strict)
    number = token("TTM")
    r = await change(strict, cid, add=[card(number, seriesId=19, statusLabel="ACTIVE")])
    assert r.status_code == 400 and codes(r.json()) == [400]
    assert (await lookup(strict, "cardnumber", number)).status_code == 404
    assert len(await outbox(harness, strict.org_id)) == 1


async def test_a_returned_card_is_reissued_in_its_own_series_without_naming_it(client: OrgClient) -> None:
    first, second = await register(client), await register(client)
    number = token("SLV")
    assert (await change(client, first, add=[card(number, seriesId=23)])).status_code == 200
    assert (await change(client, first, remove=[card(number)])).status_code == 200
    # The org has two series; the card in stock says which one it belongs to.
    r = await change(client, second, add=[card(number, statusLabel="ACTIVE")])
    assert r.status_code == 200, r.text
    details = (await client.get(f"/v2/customers/{second}", params={"source": "INSTORE"})).json()
    assert [(c["cardNumber"], c["seriesId"]) for c in details["cardDetails"]] == [(number, 23)]


async def test_a_series_limits_the_cards_one_customer_holds(client: OrgClient) -> None:
    cid = await register(client)
    assert (await change(client, cid, add=[card(token("G"), seriesId=19)])).status_code == 200
    r = await change(client, cid, add=[card(token("G"), seriesId=19)])
    assert r.status_code == 400 and codes(r.json()) == [400]
    # Another series is counted on its own.
    assert (await change(client, cid, add=[card(token("S"), seriesId=23)])).status_code == 200


async def test_card_extended_fields_follow_the_card_level_configuration(client: OrgClient) -> None:
    cid = await register(client)
    number = token("G")
    item = card(number, seriesId=19, extendedFields={"card_balance": "2000", "city": "Pune"})
    r = await change(client, cid, add=[item])
    assert r.status_code == 200 and codes(r.json(), "warnings") == [91015]  # city is customer-level
    details = (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).json()
    assert details["cardDetails"][0]["extendedFields"] == {"card_balance": 2000.0}
