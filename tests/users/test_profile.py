"""Seed 004's profile records through HTTP, on both engines: addresses, preferences,
currencies, custom fields, terms and conditions (users/profile.py, api/user/profile.py)."""

from __future__ import annotations

from typing import Any

import pytest

from patron.users.lookups import USER_RECORD_FIELD_TYPE, USER_RECORD_KIND
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import email, mobile, rows
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of

USER_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}}


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def new_user(client: OrgClient) -> int:
    """A user made by the seed's Create User request (with its address, preferences, USD,
    terms and custom fields), fresh email and phone."""
    body = request_of("Create User")
    body.pop("security")
    body.pop("identification")
    body["email"][0]["address"] = email()
    body["phone"][0]["number"] = "+" + mobile()
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["info"]["id"])


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["result"]["code"] == "0000", body
    assert list(body) == ENVELOPE_KEYS["user"]
    return body


def failed(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["result"]["code"] == code, body
    return body


async def addresses(client: OrgClient, uid: int) -> dict[str, Any]:
    return ok(await client.get(f"/user/address/{uid}"))


async def change_rows(client: OrgClient, uid: int) -> list[Any]:
    return await rows(
        client.harness.app.state.db,
        "SELECT field_name, field_type, previous_value, current_value FROM customer_change"
        " WHERE org_id = :org_id AND customer_id = :customer_id AND kind = :kind ORDER BY change_id",
        org_id=client.org_id,
        customer_id=uid,
        kind=USER_RECORD_KIND,
    )


def actions(log: list[Any]) -> list[tuple[str, str]]:
    """(record, what happened) of each user-record row of the change log."""
    out = []
    for r in log:
        assert r.field_type == USER_RECORD_FIELD_TYPE
        what = "Created" if r.previous_value is None else "Deleted" if r.current_value is None else "Updated"
        out.append((r.field_name, what))
    return out


# --- addresses -----------------------------------------------------------------------------


async def test_create_and_get_user_address_replay_the_seed(client: OrgClient) -> None:
    uid = await new_user(client)
    body = request_of("Create User Address")
    body["addresses"][0]["country_code"] = "US"  # alpha-2 accepted, answered numeric
    answer = ok(await client.post(f"/user/address/{uid}", json=body, headers={"source_id": "shop-1"}))
    assert_same_keys(answer, response_of("Create User Address"))
    made = answer["addresses"][0]
    assert made["country_code"] == "840" and made["address_line1"] == "148 Woodvale Road"
    # verification_status is the server's (sent 1): a new address is unverified; Create
    # User's address stays the main one (this one was sent is_primary 0).
    assert made["verification_status"] == 0 and made["is_primary"] == 0 and made["status"] == 1
    assert made["original_source_id"] == "shop-1"
    tagged = request_of("Create User Address")
    tagged["addresses"][0]["custom_field"] = {"c1": "gate code 12"}
    again = ok(await client.post(f"/user/address/{uid}", json=tagged))
    assert again["addresses"][0]["custom_field"] == {"c1": "gate code 12"}
    hidden = ok(await client.get(f"/user/address/{uid}", headers={"show_custom_field": "0"}))
    assert [a["custom_field"] for a in hidden["addresses"]] == [None, None, None]
    await client.request(
        "DELETE", f"/user/address/{uid}", json={"addresses": [{"id": again["addresses"][0]["id"]}]}
    )
    assert answer["info"]["id"] == uid and answer["address"] is None

    got = await addresses(client, uid)
    assert_same_keys(got, response_of("Get User Address"))
    assert got["address"]["address_line1"] == "2730 Victoria Ave. E"
    assert [a["is_primary"] for a in got["addresses"]] == [1, 0]
    assert got["addresses"][1]["id"] == made["id"]
    log = await change_rows(client, uid)
    assert actions(log)[0] == (f"address:{made['id']}", "Created")
    assert '"address_line1":"148 Woodvale Road"' in log[0].current_value


async def test_update_user_address_dispatches_on_the_body(client: OrgClient) -> None:
    uid = await new_user(client)
    second = ok(await client.post(f"/user/address/{uid}", json=request_of("Create User Address")))
    second_id = second["addresses"][0]["id"]

    # The single address{} (no id): the main address.
    single = ok(await client.put(f"/user/address/{uid}", json=request_of("Update User Address")))
    assert_same_keys(single, response_of("Update User Address"))
    assert single["addresses"] is None
    assert single["address"]["address_line1"] == "2496 Chemin de Chambly"
    assert single["address"]["verification_status"] == 0
    got = await addresses(client, uid)
    assert got["address"]["address_line1"] == "2496 Chemin de Chambly"
    assert got["addresses"][1]["address_line1"] == "148 Woodvale Road"  # untouched

    # addresses[{id, ...}]: by id; is_primary 1 moves the main address there.
    by_id = request_of("Update User Addresses (new approach)")
    by_id["addresses"][0]["id"] = second_id
    many = ok(await client.put(f"/user/address/{uid}", json=by_id))
    assert_same_keys(many, response_of("Update User Addresses (new approach)"))
    assert many["address"] is None
    assert many["addresses"][0]["id"] == second_id and many["addresses"][0]["is_primary"] == 1
    got = await addresses(client, uid)
    assert got["address"]["address_line1"] == "31789 S Fraser Way"
    assert [(a["id"], a["is_primary"]) for a in got["addresses"]][0] == (second_id, 1)
    assert sum(a["is_primary"] for a in got["addresses"]) == 1
    whole = ok(await client.get(f"/user/{uid}"))
    assert whole["address"]["address_line1"] == "31789 S Fraser Way"

    # A partial update keeps the other fields; the main one cannot be unmarked alone.
    part = ok(
        await client.put(f"/user/address/{uid}", json={"addresses": [{"id": second_id, "city_town": "X"}]})
    )
    assert part["addresses"][0]["address_line1"] == "31789 S Fraser Way"
    assert part["addresses"][0]["city_town"] == "X"
    failed(
        await client.put(f"/user/address/{uid}", json={"addresses": [{"id": second_id, "is_primary": 0}]}),
        422,
        "3011",
    )
    for bad in ({}, {"address": request_of("Update User Address")["address"], "addresses": []}):
        failed(await client.put(f"/user/address/{uid}", json=bad), 400, "3001")
    failed(await client.put(f"/user/address/{uid}", json={"addresses": [{"city_town": "Y"}]}), 400, "3002")


async def test_address_arrays_are_all_or_nothing(client: OrgClient) -> None:
    uid = await new_user(client)
    before = await addresses(client, uid)
    good = request_of("Create User Address")["addresses"][0]
    bad = {**good, "country_code": "999"}
    failed(await client.post(f"/user/address/{uid}", json={"addresses": [good, bad]}), 400, "3001")
    missing = {k: v for k, v in good.items() if k != "postal_zip_code"}
    failed(await client.post(f"/user/address/{uid}", json={"addresses": [good, missing]}), 400, "3002")
    failed(
        await client.post(f"/user/address/{uid}", json={"addresses": [{**good, "is_primary": 1}] * 2}),
        400,
        "3001",
    )
    assert (await addresses(client, uid))["addresses"] == before["addresses"]

    main_id = before["addresses"][0]["id"]
    change = {"addresses": [{"id": main_id, "city_town": "Changed"}, {"id": 999_999_999, "city_town": "No"}]}
    failed(await client.put(f"/user/address/{uid}", json=change), 404, "3013")
    after = await addresses(client, uid)
    assert after["address"]["city_town"] == "Regina"
    assert await change_rows(client, uid) == []


async def test_delete_user_address(client: OrgClient, other_client: OrgClient) -> None:
    uid = await new_user(client)
    second = ok(await client.post(f"/user/address/{uid}", json=request_of("Create User Address")))
    second_id = second["addresses"][0]["id"]
    main_id = (await addresses(client, uid))["addresses"][0]["id"]
    other_uid = await new_user(other_client)
    other_id = (await addresses(other_client, other_uid))["addresses"][0]["id"]

    # Not the user's / another org's record: not found, nothing removed.
    for rid in (999_999_999, other_id):
        body = {"addresses": [{"id": main_id}, {"id": rid}]}
        failed(await client.request("DELETE", f"/user/address/{uid}", json=body), 404, "3013")
    assert len((await addresses(client, uid))["addresses"]) == 2
    failed(
        await other_client.request("DELETE", f"/user/address/{uid}", json={"addresses": [{"id": main_id}]}),
        404,
        "3005",
    )

    body = request_of("Delete User Address")
    body["addresses"][0]["id"] = main_id
    answer = ok(await client.request("DELETE", f"/user/address/{uid}", json=body))
    assert_same_keys(answer, response_of("Delete User Address"))
    assert answer["addresses"] == [{**dict.fromkeys(answer["addresses"][0]), "id": main_id}]
    got = await addresses(client, uid)
    assert [(a["id"], a["is_primary"]) for a in got["addresses"]] == [(second_id, 1)]  # promoted
    assert got["address"]["address_line1"] == "148 Woodvale Road"
    log = actions(await change_rows(client, uid))
    assert log[-2:] == [(f"address:{main_id}", "Deleted"), (f"address:{second_id}", "Updated")]


async def test_another_orgs_user_is_not_found(client: OrgClient, other_client: OrgClient) -> None:
    uid = await new_user(client)
    for method, path, body in (
        ("POST", f"/user/address/{uid}", request_of("Create User Address")),
        ("PUT", f"/user/address/{uid}", request_of("Update User Address")),
        ("GET", f"/user/address/{uid}", None),
        ("PUT", f"/user/preferences/{uid}", request_of("Update User Preferences")),
        ("GET", f"/user/preferences/{uid}", None),
        ("POST", f"/user/currency/{uid}", request_of("Create User Currency")),
        ("GET", f"/user/currency/{uid}", None),
        ("POST", f"/user/custom_field/{uid}", request_of("Create User Custom Field")),
        ("GET", f"/user/terms_conditions/{uid}", None),
    ):
        r = await other_client.request(method, path, json=body)
        failed(r, 404, "3005")
        assert r.json()["info"] is None
    assert (await addresses(client, uid))["addresses"][1:] == []


# --- preferences ---------------------------------------------------------------------------


async def test_update_and_get_user_preferences(client: OrgClient) -> None:
    uid = await new_user(client)
    body = request_of("Update User Preferences")
    body["preferences"]["preferred_language_code"] = "EN-ca"
    body["preferences"]["enable_facebook_account"] = 0  # a number: answered as a string
    answer = ok(await client.put(f"/user/preferences/{uid}", json=body))
    assert_same_keys(answer, response_of("Update User Preferences"))
    prefs = answer["preferences"]
    assert list(prefs) == list(response_of("Update User Preferences")["preferences"])
    assert prefs["preferred_language_code"] == "en-CA"
    assert prefs["enable_facebook_account"] == "0" and prefs["enable_push_notification"] == "0"
    assert prefs["time_zone"] == "UTC +05:00" and prefs["time_zone_name"] == "Etc/GMT-5"
    assert (prefs["is_agent"], prefs["is_reseller"], prefs["is_seller"]) == ("0", "0", "0")
    got = ok(await client.get(f"/user/preferences/{uid}"))
    assert_same_keys(got, response_of("Get User Preferences"))
    assert got["preferences"] == prefs

    partial = ok(
        await client.put(f"/user/preferences/{uid}", json={"preferences": {"time_zone": "UTC -03:30"}})
    )
    assert partial["preferences"]["time_zone"] == "UTC -03:30"
    assert partial["preferences"]["preferred_language_code"] == "en-CA"
    for bad, code in (
        ({"preferred_language_code": "xx"}, "3001"),
        ({"time_zone": "UTC +25:00"}, "3001"),
        ({"time_zone": "Mars"}, "3001"),
        ({"time_zone": "utc-0330"}, "3001"),  # the header's leniency is not the field's
        ({"enable_sms_notification": "2"}, "3001"),
        ({}, "3002"),
    ):
        failed(await client.put(f"/user/preferences/{uid}", json={"preferences": bad}), 400, code)
    assert ok(await client.get(f"/user/preferences/{uid}"))["preferences"] == partial["preferences"]
    assert [a for _, a in actions(await change_rows(client, uid))] == ["Updated", "Updated"]


# --- currencies ----------------------------------------------------------------------------


async def test_currencies_create_update_get(client: OrgClient, other_client: OrgClient) -> None:
    uid = await new_user(client)
    created = ok(await client.post(f"/user/currency/{uid}", json=request_of("Create User Currency")))
    assert_same_keys(created, response_of("Create User Currency"))
    eur = created["currency"][0]
    assert (eur["code"], eur["number"], eur["is_primary"]) == ("EUR", "978", 0)

    got = ok(await client.get(f"/user/currency/{uid}"))
    assert_same_keys(got, response_of("Get User Currency"))
    assert [(c["code"], c["number"], c["is_primary"]) for c in got["currency"]] == [
        ("USD", "840", 1),
        ("EUR", "978", 0),
    ]
    usd_id = got["currency"][0]["id"]

    body = request_of("Update Currency")
    body["currency"][0]["id"] = eur["id"]
    updated = ok(await client.put("/User/currency", json=body))  # the seed's capital U
    assert_same_keys(updated, response_of("Update Currency"))
    assert updated["info"]["id"] == uid
    assert updated["currency"] == [{"id": eur["id"], "code": "EUR", "number": "978", "is_primary": 1}]
    got = ok(await client.get(f"/user/currency/{uid}"))
    assert [(c["code"], c["is_primary"]) for c in got["currency"]] == [("USD", 0), ("EUR", 1)]

    back = ok(await client.put("/user/currency", json={"currency": [{"id": usd_id, "is_primary": "1"}]}))
    assert back["currency"][0]["is_primary"] == 1
    got = ok(await client.get(f"/user/currency/{uid}"))
    assert [(c["code"], c["is_primary"]) for c in got["currency"]] == [("USD", 1), ("EUR", 0)]

    failed(await client.post(f"/user/currency/{uid}", json={"currency": [{"code": "eur"}]}), 409, "3009")
    failed(
        await client.post(f"/user/currency/{uid}", json={"currency": [{"code": "GBP"}, {"code": "XYZ"}]}),
        400,
        "3001",
    )
    failed(await client.post(f"/user/currency/{uid}", json={"currency": [{}]}), 400, "3002")
    failed(
        await client.put("/User/currency", json={"currency": [{"id": usd_id, "is_primary": 0}]}), 422, "3011"
    )
    other_uid = await new_user(other_client)
    other_id = ok(await other_client.get(f"/user/currency/{other_uid}"))["currency"][0]["id"]
    for rid in (other_id, 999_999_999):
        body = {"currency": [{"id": eur["id"], "is_primary": 1}, {"id": rid, "is_primary": 0}]}
        failed(await client.put("/User/currency", json=body), 404, "3013")
    # another user's currency of the same org is not in the same request
    second_uid = await new_user(client)
    second_id = ok(await client.get(f"/user/currency/{second_uid}"))["currency"][0]["id"]
    body = {"currency": [{"id": eur["id"], "is_primary": 1}, {"id": second_id, "is_primary": 1}]}
    failed(await client.put("/User/currency", json=body), 400, "3001")
    got = ok(await client.get(f"/user/currency/{uid}"))
    assert [(c["code"], c["is_primary"]) for c in got["currency"]] == [("USD", 1), ("EUR", 0)]
    # GBP was not created by the refused request
    assert [c["code"] for c in got["currency"]] == ["USD", "EUR"]
    numbered = ok(await client.post(f"/user/currency/{uid}", json={"currency": [{"code": 826}]}))
    assert numbered["currency"][0]["code"] == "GBP" and numbered["currency"][0]["number"] == "826"


# --- custom fields and terms ---------------------------------------------------------------


async def test_create_user_custom_field_merges(client: OrgClient) -> None:
    uid = await new_user(client)
    body = request_of("Create User Custom Field")
    answer = ok(await client.post(f"/user/custom_field/{uid}", json=body))
    assert_same_keys(answer, response_of("Create User Custom Field"))
    assert answer["custom_field"] == {"acceptance2": "Test01", "acceptance": "Test"}
    more = ok(
        await client.post(
            f"/user/custom_field/{uid}", json={"custom_field": {"tier": "B", "acceptance": None}}
        )
    )
    assert more["custom_field"] == {"acceptance2": "Test01", "tier": "B"}
    hidden = ok(
        await client.post(
            f"/user/custom_field/{uid}", json={"custom_field": {"x": 1}}, headers={"show_custom_field": "0"}
        )
    )
    assert hidden["custom_field"] is None
    whole = ok(await client.get(f"/user/{uid}"))
    assert whole["custom_field"] == {"acceptance2": "Test01", "tier": "B", "x": 1}
    failed(await client.post(f"/user/custom_field/{uid}", json={"custom_field": {}}), 400, "3002")
    failed(await client.post(f"/user/custom_field/{uid}", json={"custom_field": {"": "v"}}), 400, "3001")
    assert [a for _, a in actions(await change_rows(client, uid))] == ["Updated"] * 3


async def test_get_user_terms_conditions(client: OrgClient) -> None:
    uid = await new_user(client)
    got = ok(await client.get(f"/user/terms_conditions/{uid}"))
    assert_same_keys(got, response_of("Get User Terms & Conditions"))
    assert got["terms_conditions"]["acceptance"] == "1"
    assert isinstance(got["terms_conditions"]["id"], int)
    failed(await client.get("/user/terms_conditions/999999999"), 404, "3005")


async def test_get_user_history_shows_profile_changes(client: OrgClient) -> None:
    uid = await new_user(client)
    eur = ok(await client.post(f"/user/currency/{uid}", json=request_of("Create User Currency")))["currency"][
        0
    ]
    made = ok(await client.post(f"/user/address/{uid}", json=request_of("Create User Address")))["addresses"][
        0
    ]
    history = ok(await client.get(f"/user/history/{uid}"))["history"]
    by_entity = {(h["entity"], h["entity_id"]): h for h in history}
    currency = by_entity[(31, eur["id"])]
    assert currency["activity_type"] == 4 and '"code":"EUR"' in currency["new_data"]
    assert by_entity[(15, made["id"])]["activity_type"] == 4
