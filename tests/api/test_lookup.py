"""Fetch Customer ID and Fetch Customer Details, by id and by identifier."""

from __future__ import annotations

import pytest

from tests.conftest import OrgClient
from tests.support import add_till, codes, email, mobile, register_body, token


async def registered(client: OrgClient, **kwargs: object) -> tuple[int, str, str, str]:
    number, mail, ext = mobile(), email(), token("EXT")
    body = register_body(
        number,
        extra=[{"type": "email", "value": mail.upper()}, {"type": "externalId", "value": ext}],
        **kwargs,
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    return r.json()["createdId"], number, mail, ext


async def test_lookup_by_each_identifier_returns_the_entity(client: OrgClient) -> None:
    cid, number, mail, ext = await registered(client)
    for name, value in (("mobile", number), ("mobile", "+" + number), ("email", mail), ("externalId", ext)):
        r = await client.get(
            "/v2/customers/lookup",
            params={"source": "INSTORE", "identifierName": name, "identifierValue": value},
        )
        assert r.status_code == 200, (name, r.text)
        assert r.json() == {"entity": cid, "warnings": []}


async def test_mobile_without_country_code_uses_the_org_region(client: OrgClient) -> None:
    cid, number, _, _ = await registered(client)
    national = number[2:]  # 91 is India's country code; the org's region is IN
    r = await client.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": national},
    )
    assert r.json()["entity"] == cid


async def test_unknown_identifier_is_8015_and_other_source_is_8065(client: OrgClient) -> None:
    _, number, _, _ = await registered(client)
    nowhere = await client.get(
        "/v2/customers/lookup",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile()},
    )
    assert nowhere.status_code == 404 and codes(nowhere.json()) == [8015]
    elsewhere = await client.get(
        "/v2/customers/lookup",
        params={
            "source": "WECHAT",
            "accountId": "WECHAT-CM",
            "identifierName": "mobile",
            "identifierValue": number,
        },
    )
    assert elsewhere.status_code == 404 and codes(elsewhere.json()) == [8065]
    anywhere = await client.get(
        "/v2/customers/lookup",
        params={"source": "ALL", "identifierName": "mobile", "identifierValue": number},
    )
    assert anywhere.status_code == 200


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"source": "INSTORE", "identifierName": "nickname", "identifierValue": "x"}, 8013),
        ({"source": "INSTORE", "identifierName": "mobile", "identifierValue": "123"}, 8013),
        ({"source": "INSTORE", "identifierName": "mobile"}, 8013),
        ({"source": "MOON", "identifierName": "mobile", "identifierValue": "919800000000"}, 8012),
        ({"source": "WECHAT", "identifierName": "mobile", "identifierValue": "919800000000"}, 8045),
        (
            {
                "source": "WECHAT",
                "accountId": "nope",
                "identifierName": "mobile",
                "identifierValue": "919800000000",
            },
            8011,
        ),
        ({"identifierName": "mobile", "identifierValue": "919800000000"}, 400),
    ],
)
async def test_bad_lookup_parameters_get_their_codes(
    client: OrgClient, params: dict[str, str], code: int
) -> None:
    r = await client.get("/v2/customers/lookup", params=params)
    assert r.status_code == 400
    assert codes(r.json()) == [code]


async def test_details_by_id_show_the_profile_of_the_requested_source(client: OrgClient) -> None:
    cid, number, mail, ext = await registered(client, extendedFields={"city": "Pune"})
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == cid
    [profile] = body["profiles"]
    assert profile["source"] == "INSTORE" and profile["accountId"] == "" and profile["userId"] == cid
    assert {(i["type"], i["value"]) for i in profile["identifiers"]} == {
        ("mobile", number),
        ("email", mail),
        ("externalId", ext),
    }
    assert profile["attribution"]["createdBy"]["code"] == client.username.split("@")[0]
    assert body["loyaltyInfo"]["loyaltyType"] == "loyalty"
    assert body["extendedFields"] == {"city": "Pune"}
    assert body["warnings"] == []


async def test_details_of_a_source_the_customer_lacks_are_8065(client: OrgClient) -> None:
    cid, *_ = await registered(client)
    r = await client.get(f"/v2/customers/{cid}", params={"source": "WECHAT", "accountId": "WECHAT-CM"})
    assert r.status_code == 404 and codes(r.json()) == [8065]


async def test_details_by_identifier_add_fraud_details_and_association(client: OrgClient) -> None:
    await add_till(client.harness, client.org_id, "bukl.till")
    cid, number, *_ = await registered(client, associatedWith="bukl.till")
    r = await client.get(
        "/v2/customers/lookup/customerDetails",
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == cid
    assert body["fraudDetails"]["status"] == "NOT_FRAUD"
    assert body["associatedWith"] == "bukl.till"


async def test_details_by_identifier_refuse_names_this_operation_lacks(client: OrgClient) -> None:
    r = await client.get(
        "/v2/customers/lookup/customerDetails",
        params={"source": "INSTORE", "identifierName": "wechat", "identifierValue": "x"},
    )
    assert r.status_code == 400 and codes(r.json()) == [8013]


@pytest.mark.parametrize("embed", ["nonsense", "customerimage", "points,nonsense"])
async def test_embeds_that_cannot_be_answered_are_refused(client: OrgClient, embed: str) -> None:
    cid, *_ = await registered(client)
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": embed})
    assert r.status_code == 400 and codes(r.json()) == [400]


async def test_non_numeric_customer_id_reads_as_not_found(client: OrgClient) -> None:
    r = await client.get("/v2/customers/abc", params={"source": "ALL"})
    assert r.status_code == 404 and codes(r.json()) == [8015]


async def test_registration_at_an_unknown_till_is_91020(client: OrgClient) -> None:
    r = await client.post("/v2/customers", json=register_body(associatedWith="no.such.till"))
    assert r.status_code == 400 and codes(r.json()) == [91020]
