"""Register Customer (seed 003 #1): creation, validation, merges and the outbox."""

from __future__ import annotations

import pytest

from tests.conftest import OrgClient
from tests.support import codes, email, mobile, outbox, register_body, token


async def test_register_returns_created_id_and_writes_customer_added(client: OrgClient) -> None:
    r = await client.post("/v2/customers", json=register_body())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"createdId", "warnings", "sideEffects"}
    assert isinstance(body["createdId"], int) and body["warnings"] == []
    events = await outbox(client.harness, client.org_id)
    assert [e["eventType"] for e in events] == ["customerAdded"]
    assert events[0]["attributes"]["data"]["customerIdentifiers"]["customerId"] == body["createdId"]


async def test_same_mobile_in_same_source_is_refused_and_nothing_changes(client: OrgClient) -> None:
    number = mobile()
    first = await client.post("/v2/customers", json=register_body(number))
    assert first.status_code == 200
    again = await client.post("/v2/customers", json=register_body(number, first="Other"))
    assert again.status_code == 409
    assert codes(again.json()) == [1032]
    assert len(await outbox(client.harness, client.org_id)) == 1


async def test_identifier_known_in_other_source_merges_with_8050(client: OrgClient) -> None:
    number = mobile()
    first = (await client.post("/v2/customers", json=register_body(number))).json()["createdId"]
    r = await client.post(
        "/v2/customers",
        json=register_body(
            number, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json()["createdId"] == first
    assert codes(r.json(), "warnings") == [8050]
    details = (await client.get(f"/v2/customers/{first}", params={"source": "ALL"})).json()
    assert {(p["source"], p["accountId"]) for p in details["profiles"]} == {
        ("INSTORE", ""),
        ("WECHAT", "WECHAT-CM"),
    }
    assert [e["eventType"] for e in await outbox(client.harness, client.org_id)] == [
        "customerAdded",
        "customerUpdated",
    ]


@pytest.mark.parametrize(
    ("identifier", "code"),
    [
        ({"type": "mobile", "value": "12"}, 1001),
        ({"type": "email", "value": "not-an-email"}, 1002),
        ({"type": "externalId", "value": "has space"}, 1003),
    ],
)
async def test_invalid_identifier_is_refused_with_its_code(
    client: OrgClient, identifier: dict, code: int
) -> None:
    body = register_body(extra=[identifier])
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 400
    assert codes(r.json()) == [code]
    assert await outbox(client.harness, client.org_id) == []


async def test_loyalty_customer_needs_the_primary_identifier(client: OrgClient) -> None:
    body = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [{"source": "INSTORE", "identifiers": [{"type": "email", "value": email()}]}],
    }
    r = await client.post("/v2/customers", json=body)
    assert codes(r.json()) == [1006]


async def test_non_loyalty_customer_needs_mobile_or_email(client: OrgClient) -> None:
    body = {
        "loyaltyInfo": {"loyaltyType": "non_loyalty"},
        "profiles": [{"source": "INSTORE", "identifiers": [{"type": "externalId", "value": token("X")}]}],
    }
    assert codes((await client.post("/v2/customers", json=body)).json()) == [1045]


async def test_unconfigured_custom_field_is_refused_with_1017(client: OrgClient) -> None:
    body = register_body()
    body["profiles"][0]["fields"] = {"employee": "true", "shoeSize": "42"}
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 400 and codes(r.json()) == [1017]


async def test_extended_fields_keep_type_and_allowed_values(client: OrgClient) -> None:
    body = register_body(extendedFields={"gender": "male", "age": "41", "city": "Pune", "colour": "red"})
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200
    assert codes(r.json(), "warnings") == [91015]
    cid = r.json()["createdId"]
    details = (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).json()
    assert details["extendedFields"] == {"gender": "Male", "age": 41, "city": "Pune"}


@pytest.mark.parametrize(
    ("source", "account", "code"),
    [("NOWHERE", None, 8012), ("WECHAT", None, 8045), ("WECHAT", "WECHAT-9", 8011), ("INSTORE", "X", 8011)],
)
async def test_source_and_account_are_checked(
    client: OrgClient, source: str, account: str | None, code: int
) -> None:
    r = await client.post("/v2/customers", json=register_body(source=source, account_id=account))
    assert r.status_code == 400 and codes(r.json()) == [code]


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        b'{"loyaltyInfo": {"loyaltyType": "loyalty"}, "profiles": "x"}',
        b'{"loyaltyInfo": {"loyaltyType": "gold"}, "profiles": []}',
        b"",
    ],
)
async def test_malformed_bodies_get_400_in_the_envelope(client: OrgClient, payload: bytes) -> None:
    r = await client.post("/v2/customers", content=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    body = r.json()
    assert body["errors"][0]["status"] is False and body["errors"][0]["code"] == 400
    assert body["errors"][0]["message"]


async def test_oversize_body_is_refused_with_413(client: OrgClient) -> None:
    big = register_body(extendedFields={"city": "x" * 2_000_000})
    r = await client.post("/v2/customers", json=big)
    assert r.status_code == 413
    assert codes(r.json()) == [413]


async def test_registration_date_outside_the_window_is_1034(client: OrgClient) -> None:
    r = await client.post("/v2/customers", json=register_body(createDate="2999-01-01T00:00:00+05:30"))
    assert codes(r.json()) == [1034]
