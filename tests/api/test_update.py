"""Update Customer Details (seed 003 #2 by id, #24 by identifier)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import OrgClient
from tests.support import codes, email, history, mobile, outbox, register_body, token

INSTORE = {"source": "INSTORE"}


async def register(client: OrgClient, number: str | None = None, **kwargs: Any) -> int:
    r = await client.post("/v2/customers", json=register_body(number, **kwargs))
    assert r.status_code == 200, r.text
    return r.json()["createdId"]


async def put(client: OrgClient, cid: int, body: dict[str, Any], **params: str) -> httpx.Response:
    return await client.put(f"/v2/customers/{cid}", params=params or INSTORE, json=body)


async def put_by(
    client: OrgClient, name: str, value: str, body: dict[str, Any], **where: str
) -> httpx.Response:
    params = {**(where or INSTORE), "identifierName": name, "identifierValue": value}
    return await client.put("/v2/customers/lookup", params=params, json=body)


async def details(client: OrgClient, cid: int, **params: str) -> httpx.Response:
    return await client.get(f"/v2/customers/{cid}", params={"source": "ALL", **params})


def profile(**fields: Any) -> dict[str, Any]:
    return {"profiles": [{"source": "INSTORE", **fields}]}


async def event_count(client: OrgClient) -> int:
    return len(await outbox(client.harness, client.org_id))


# What an update changes -----------------------------------------------------------------


async def test_update_changes_names_and_merges_fields_key_by_key(client: OrgClient) -> None:
    body = register_body(extendedFields={"city": "Pune", "age": 41})
    body["profiles"][0]["fields"] = {"employee": "true", "dateofbirth": "1990-01-01"}
    r = await client.post("/v2/customers", json=body)
    cid = r.json()["createdId"]
    update = profile(firstName="Huck", lastName="Finn", fields={"employee": "false"})
    update["extendedFields"] = {"city": "Mumbai"}
    r = await put(client, cid, update)
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": cid, "warnings": [], "sideEffects": []}
    got = (await details(client, cid)).json()
    assert (got["profiles"][0]["firstName"], got["profiles"][0]["lastName"]) == ("Huck", "Finn")
    assert got["extendedFields"] == {"city": "Mumbai", "age": 41}
    assert got["profiles"][0]["fields"] == {"employee": "false", "dateofbirth": "1990-01-01"}


async def test_update_event_and_history_carry_each_changed_field(client: OrgClient) -> None:
    body = register_body(extendedFields={"city": "Pune"})
    body["profiles"][0]["fields"] = {"employee": "true"}
    cid = (await client.post("/v2/customers", json=body)).json()["createdId"]
    before = len(await history(client.harness, client.org_id, cid))
    update = profile(firstName="Huck", fields={"employee": "false"})
    update["extendedFields"] = {"city": "Mumbai"}
    assert (await put(client, cid, update)).status_code == 200

    events = await outbox(client.harness, client.org_id)
    assert [e["eventType"] for e in events] == ["customerAdded", "customerUpdated"]
    fields = {
        f["fieldName"]: (f["previousValue"], f["currentValue"], f["fieldType"])
        for f in events[-1]["attributes"]["data"]["updatedFields"]
    }
    assert fields == {
        "firstName": ("Tom", "Huck", "StandardField"),
        "employee": ("true", "false", "CustomField"),
        "city": ("Pune", "Mumbai", "ExtendedField"),
    }
    till = (await details(client, cid)).json()["loyaltyInfo"]["attributionV2"]["modifiedBy"]["id"]
    rows = (await history(client.harness, client.org_id, cid))[before:]
    assert {(h.field_name, h.previous_value, h.current_value, h.source, h.till_id) for h in rows} == {
        ("firstName", "Tom", "Huck", "INSTORE", till),
        ("employee", "true", "false", "INSTORE", till),
        ("city", "Pune", "Mumbai", "INSTORE", till),
    }


async def test_update_by_identifier_addresses_the_same_customer(client: OrgClient) -> None:
    number = mobile()
    cid = await register(client, number)
    r = await put_by(client, "mobile", number, profile(lastName="Finn"))
    assert r.status_code == 200, r.text
    assert r.json()["createdId"] == cid
    assert (await details(client, cid)).json()["profiles"][0]["lastName"] == "Finn"


async def test_identifiers_in_the_body_are_not_applied_and_warn_91006(client: OrgClient) -> None:
    cid = await register(client)
    new = email()
    r = await put(client, cid, profile(identifiers=[{"type": "email", "value": new}]))
    assert r.status_code == 200, r.text
    assert codes(r.json(), "warnings") == [91006]
    found = await client.get(
        "/v2/customers/lookup",
        params={"source": "ALL", "identifierName": "email", "identifierValue": new},
    )
    assert found.status_code == 404 and codes(found.json()) == [8015]


async def test_source_in_the_body_does_not_move_the_profile(client: OrgClient) -> None:
    cid = await register(client)
    body = {"profiles": [{"source": "WECHAT", "accountId": "WECHAT-CM", "firstName": "Huck"}]}
    r = await put(client, cid, body)
    assert r.status_code == 200, r.text
    assert codes(r.json(), "warnings") == [91006]
    got = (await details(client, cid)).json()
    assert [(p["source"], p["accountId"], p["firstName"]) for p in got["profiles"]] == [
        ("INSTORE", "", "Huck")
    ]
    moved = await details(client, cid, source="WECHAT", accountId="WECHAT-CM")
    assert moved.status_code == 404 and codes(moved.json()) == [8065]


async def test_loyalty_customer_cannot_become_non_loyalty_1046(client: OrgClient) -> None:
    cid = await register(client)
    r = await put(client, cid, {"loyaltyInfo": {"loyaltyType": "non_loyalty"}})
    assert r.status_code == 422 and codes(r.json()) == [1046]
    assert (await details(client, cid)).json()["loyaltyInfo"]["loyaltyType"] == "loyalty"


async def test_non_loyalty_customer_with_a_mobile_becomes_loyalty(client: OrgClient) -> None:
    cid = await register(client, loyalty="non_loyalty")
    r = await put(client, cid, {"loyaltyInfo": {"loyaltyType": "loyalty"}})
    assert r.status_code == 200, r.text
    assert (await details(client, cid)).json()["loyaltyInfo"]["loyaltyType"] == "loyalty"
    data = (await outbox(client.harness, client.org_id))[-1]["attributes"]["data"]
    assert [(f["fieldName"], f["previousValue"], f["currentValue"]) for f in data["updatedFields"]] == [
        ("loyaltyType", "non_loyalty", "loyalty")
    ]


async def test_unconfigured_custom_field_is_refused_with_1017(client: OrgClient) -> None:
    cid = await register(client)
    r = await put(client, cid, profile(fields={"shoeSize": "42"}))
    assert r.status_code == 400 and codes(r.json()) == [1017]


async def test_invalid_extended_value_warns_91015_and_is_not_stored(client: OrgClient) -> None:
    cid = await register(client, extendedFields={"age": 41})
    r = await put(client, cid, {"extendedFields": {"age": "old", "city": "Pune"}})
    assert r.status_code == 200, r.text
    assert codes(r.json(), "warnings") == [91015]
    assert (await details(client, cid)).json()["extendedFields"] == {"age": 41, "city": "Pune"}


async def test_enrollment_is_stored_once_and_never_overwritten(client: OrgClient) -> None:
    cid = await register(client)
    program = int(token("")) % 100_000 + 1
    first = {"loyaltyProgramEnrollments": [{"programId": program, "tierNumber": 1, "loyaltyPoints": 75}]}
    assert (await put(client, cid, first)).status_code == 200
    again = {"loyaltyProgramEnrollments": [{"programId": program, "tierNumber": 3, "loyaltyPoints": 500}]}
    assert (await put(client, cid, again)).status_code == 200
    mlp = (await details(client, cid, embed="mlp")).json()["loyaltyProgramDetails"]
    assert [(p["programId"], p["loyaltyPoints"], p["slabSNo"]) for p in mlp] == [(program, 75, 1)]


async def test_update_that_changes_nothing_writes_no_event(client: OrgClient) -> None:
    number = mobile()
    cid = await register(client, number, extendedFields={"city": "Pune"})
    events = await event_count(client)
    same = profile(firstName="Tom", lastName="Sawyer", identifiers=[{"type": "mobile", "value": number}])
    same["extendedFields"] = {"city": "Pune"}
    same["loyaltyInfo"] = {"loyaltyType": "loyalty"}
    r = await put(client, cid, same)
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": cid, "warnings": [], "sideEffects": []}
    assert await event_count(client) == events


# Addressing and validation -------------------------------------------------------------


async def test_unknown_customer_id_is_8009(client: OrgClient) -> None:
    r = await put(client, 987_654_321_012, profile(firstName="Huck"))
    assert r.status_code == 404 and codes(r.json()) == [8009]


async def test_update_by_identifier_misses_are_8015_and_8065(client: OrgClient) -> None:
    r = await put_by(client, "mobile", mobile(), profile(firstName="Huck"))
    assert r.status_code == 404 and codes(r.json()) == [8015]
    number = mobile()
    await register(client, number)
    r = await put_by(
        client,
        "mobile",
        number,
        {"profiles": [{"firstName": "Huck"}]},
        source="WECHAT",
        accountId="WECHAT-CM",
    )
    assert r.status_code == 404 and codes(r.json()) == [8065]


async def test_cardnumber_cannot_address_an_update_8013(client: OrgClient) -> None:
    r = await put_by(client, "cardnumber", token("TTM"), profile(firstName="Huck"))
    assert r.status_code == 400 and codes(r.json()) == [8013]


@pytest.mark.parametrize(
    ("channel", "code"),
    [
        ({"type": "mobile", "value": "12"}, 8058),
        ({"type": "email", "value": "not-an-email"}, 8057),
        ({"type": "pigeon", "value": "coo"}, 8010),
    ],
)
async def test_invalid_comm_channel_is_refused_with_its_code(
    client: OrgClient, channel: dict, code: int
) -> None:
    cid = await register(client)
    r = await put(client, cid, profile(commChannels=[channel]))
    assert r.status_code == 400 and codes(r.json()) == [code]


@pytest.mark.parametrize(
    "failing",
    [
        {"loyaltyInfo": {"loyaltyType": "non_loyalty"}},
        {
            "profiles": [
                {
                    "source": "INSTORE",
                    "firstName": "Huck",
                    "commChannels": [{"type": "email", "value": "x"}],
                }
            ]
        },
        {
            "profiles": [
                {
                    "source": "INSTORE",
                    "lastName": "Finn",
                    "fields": {"employee": "no", "shoeSize": "42"},
                }
            ]
        },
    ],
)
async def test_failing_update_leaves_the_customer_as_it_was(client: OrgClient, failing: dict) -> None:
    body = register_body(extendedFields={"city": "Pune"})
    body["profiles"][0]["fields"] = {"employee": "yes"}
    cid = (await client.post("/v2/customers", json=body)).json()["createdId"]
    before = (await details(client, cid, embed="mlp")).json()
    events = await event_count(client)
    changes = len(await history(client.harness, client.org_id, cid))
    update = {
        **profile(firstName="Huck", lastName="Finn", fields={"employee": "no"}),
        "extendedFields": {"city": "Mumbai"},
        "loyaltyProgramEnrollments": [{"programId": 7, "loyaltyPoints": 10}],
        **failing,
    }
    r = await put(client, cid, update)
    assert r.status_code in (400, 422)
    assert (await details(client, cid, embed="mlp")).json() == before
    assert await event_count(client) == events
    assert len(await history(client.harness, client.org_id, cid)) == changes


async def test_invalid_identifiers_in_an_update_body_are_ignored_with_91006(client: OrgClient) -> None:
    body = register_body(first="Before")
    cid = (await client.post("/v2/customers", json=body)).json()["createdId"]
    r = await client.put(
        f"/v2/customers/{cid}",
        params={"source": "INSTORE"},
        json={"profiles": [{"firstName": "After", "identifiers": [{"type": "mobile", "value": "12"}]}]},
    )
    assert r.status_code == 200, r.text
    assert codes(r.json(), "warnings") == [91006]
    details = (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).json()
    assert details["profiles"][0]["firstName"] == "After"
