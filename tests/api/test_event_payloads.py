"""The outbox rows against seed 000's event samples, key for key.

customerAdded is compared with the "Enriched payload" sample (000:L30-73); customerUpdated
with the same enriched envelope around the `data.data` of its sample (000:L291-520, which is
an API-wrapped raw event, shape D in seed-003-rules.md 4.1). The samples are read from
verbatim copies of those seed lines (tests/fixtures/seed000/, through tests/api/seedtext.py).

Decisions (docs/decisions.md, "Events") where the samples disagree with each other:
- no key carries a trailing space: the sample's "apiRequestId " (000:L70) is compared as
  "apiRequestId", so sample keys are stripped before comparing (E-2);
- `eventType` is the bare name, "customerAdded", not "150698_customerAdded" (000:L33, E-1);
- every time is epoch milliseconds, also where the customerUpdated sample has seconds
  (000:L300, L508; E-3);
- `source` is the API's upper-case name, "INSTORE" not "instore" (000:L41, E-5);
- `enteredBy` is the till and its store as in the enriched samples (000:L45-57) plus
  `user{username}` as the wrapped and raw samples show (000:L302-304), the username being
  the till's login;
- `customerIdentifiers` lists only the sources where the customer has a profile; the
  wrapped sample shows every source (000:L360-489).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.seedtext import SEED_000, assert_shape, seed_json
from tests.conftest import OrgClient
from tests.support import codes, email, mobile, outbox, register_body, rows, token

ACCOUNT = "WECHAT-CM"


def strip_keys(value: Any) -> Any:
    """The sample with every key stripped of surrounding spaces ("apiRequestId " -> ...)."""
    if isinstance(value, dict):
        return {k.strip(): strip_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_keys(v) for v in value]
    return value


def added_sample() -> dict[str, Any]:
    sample = seed_json(SEED_000, 31, 73)
    assert "apiRequestId " in sample["attributes"]  # the seed's trailing space (E-2)
    return dict(strip_keys(sample))


def updated_sample_data() -> dict[str, Any]:
    wrapped = seed_json(SEED_000, 291, 520)
    assert wrapped["data"]["eventName"] == "customerUpdated"
    return dict(strip_keys(wrapped["data"]["data"]))


async def check_envelope(
    event: dict[str, Any], client: OrgClient, response: httpx.Response, name: str
) -> None:
    """The enriched envelope of 000:L30-73, key for key, and the rules on its values."""
    sample = added_sample()
    assert set(event) == set(sample)
    assert set(event["attributes"]) == set(sample["attributes"])
    assert_shape(
        {k: v for k, v in event.items() if k != "attributes"},
        {k: v for k, v in sample.items() if k != "attributes"},
    )
    attributes = event["attributes"]
    assert str(uuid.UUID(event["eventId"])) == event["eventId"]
    assert event["eventType"] == attributes["eventName"] == name  # no org prefix
    assert event["consumerGroupId"] is None and event["actionType"] == "START"
    # Times are epoch milliseconds: timeStamp and createdAt are the outbox row's created_at
    # exactly; enteredAt (when the change was made, before the write) has as many digits.
    [row] = await rows(
        client.harness.app.state.db,
        "SELECT created_at FROM outbox_event WHERE org_id = :o AND event_uuid = :u",
        o=client.org_id,
        u=event["eventId"],
    )
    created_ms = int(row.created_at.timestamp() * 1000)
    assert event["timeStamp"] == attributes["createdAt"] == created_ms
    entered = attributes["data"]["enteredAt"]
    assert isinstance(entered, int) and len(str(entered)) == len(str(created_ms)) and entered <= created_ms
    customer_id = attributes["data"]["customerIdentifiers"]["customerId"]
    assert attributes["orgId"] == client.org_id
    assert attributes["refId"] == f"{client.org_id}_{customer_id}"
    assert attributes["apiRequestId"] == response.headers["X-Request-Id"]


def check_entered_by(data: dict[str, Any], client: OrgClient) -> None:
    sample = added_sample()["attributes"]["data"]["enteredBy"]
    entered = data["enteredBy"]
    # The enriched sample's keys, plus user{username} of the wrapped sample (000:L302-304).
    assert set(entered) == set(sample) | {"user"}
    assert entered["user"] == {"username": client.username}
    assert set(entered["till"]) == set(sample["till"]) and set(entered["store"]) == set(sample["store"])
    assert entered["till"]["code"] == client.username.split("@")[0]


async def two_source_customer(client: OrgClient, **top: Any) -> tuple[httpx.Response, dict[str, str]]:
    """A customer with INSTORE mobile, email, externalId and a WECHAT/WECHAT-CM wechat id."""
    ids = {"mobile": mobile(), "email": email(), "externalId": token("EXT"), "wechat": token("wx")}
    body = register_body(
        ids["mobile"],
        extra=[{"type": "email", "value": ids["email"]}, {"type": "externalId", "value": ids["externalId"]}],
        **top,
    )
    body["profiles"].append(
        {
            "firstName": "Tom",
            "lastName": "Sawyer",
            "source": "WECHAT",
            "accountId": ACCOUNT,
            "identifiers": [{"type": "wechat", "value": ids["wechat"]}],
        }
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    return r, ids


def wechat_entry(ids: dict[str, str]) -> dict[str, Any]:
    return {
        "accounts": [
            {
                "accountId": ACCOUNT,
                "identifiers": [{"identifierType": "wechat", "identifierValue": ids["wechat"]}],
            }
        ]
    }


async def test_customer_added_matches_the_enriched_sample(client: OrgClient) -> None:
    r, ids = await two_source_customer(client)
    [event] = await outbox(client.harness, client.org_id)
    await check_envelope(event, client, r, "customerAdded")
    sample_data = added_sample()["attributes"]["data"]
    data = event["attributes"]["data"]
    assert set(sample_data) <= set(data)  # ours adds accountId, customFields, extendedFields (raw form)
    assert_shape(data, sample_data)
    check_entered_by(data, client)
    assert (data["loyaltyType"], data["source"], data["accountId"]) == ("LOYALTY", "INSTORE", "")
    assert (data["firstName"], data["lastName"]) == ("Tom", "Sawyer")
    identifiers = data["customerIdentifiers"]
    assert identifiers["customerId"] == r.json()["createdId"]
    instore = {k: ids[k] for k in ("mobile", "email", "externalId")}
    assert instore.items() <= identifiers["instore"].items()
    assert identifiers["wechat"] == wechat_entry(ids)
    assert set(identifiers) == {"customerId", "firstName", "lastName", "loyaltyType", "instore", "wechat"}


async def test_api_request_id_is_the_clients_x_request_id(client: OrgClient) -> None:
    sent = token("seed-000-req-")
    r = await client.post("/v2/customers", json=register_body(), headers={"X-Request-Id": sent})
    assert r.status_code == 200 and r.headers["X-Request-Id"] == sent
    [event] = await outbox(client.harness, client.org_id)
    await check_envelope(event, client, r, "customerAdded")
    assert event["attributes"]["apiRequestId"] == sent


def updated_known(data: dict[str, Any]) -> dict[str, str]:
    """Sample keys ours lacks on purpose (module docstring): the sources where the customer
    has no profile; and a value set for the first time has previousValue null
    (docs/decisions.md: "null when absent"), where the sample's one item has a string."""
    known = {
        "$.updatedFields[0].previousValue: null where the sample has string": "first value: null before",
    }
    for key in updated_sample_data()["customerIdentifiers"]:
        if key not in data["customerIdentifiers"]:
            known[f"$.customerIdentifiers.{key}: missing"] = "no profile in that source"
    return known


async def test_customer_updated_matches_the_sample_data(client: OrgClient) -> None:
    card = {
        "type": "cardnumber",
        "value": token("CARD_"),
        "seriesId": 19,
        "cardExternalId": token("CARD_EXT_"),
    }
    created, ids = await two_source_customer(client, extendedFields={"gender": "Female"})
    cid = created.json()["createdId"]
    r = await client.post(
        f"/v2/customers/{cid}/changeIdentifier", params={"source": "INSTORE"}, json={"add": [card]}
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        f"/v2/customers/{cid}",
        params={"source": "INSTORE"},
        json={"extendedFields": {"gender": "Male"}, "profiles": [{"fields": {"employee": "true"}}]},
    )
    assert r.status_code == 200, r.text
    events = await outbox(client.harness, client.org_id)
    assert [e["eventType"] for e in events] == ["customerAdded", "customerUpdated", "customerUpdated"]
    event = events[-1]
    await check_envelope(event, client, r, "customerUpdated")
    sample = updated_sample_data()
    data = event["attributes"]["data"]
    # customerStatus only on a status change (test below); every other sample key is here.
    assert set(sample) - {"customerStatus"} <= set(data) and "customerStatus" not in data
    assert_shape(data, {k: v for k, v in sample.items() if k != "customerStatus"}, known=updated_known(data))
    check_entered_by(data, client)
    # The sample's own change (000:L319-324): gender Female -> Male, an ExtendedField.
    gender = next(f for f in data["updatedFields"] if f["fieldName"] == "gender")
    assert sample["updatedFields"][0].items() <= gender.items()
    assert {
        "fieldName": "employee",
        "previousValue": None,
        "currentValue": "true",
        "fieldType": "CustomField",
    }.items() <= next(f for f in data["updatedFields"] if f["fieldName"] == "employee").items()
    assert data["triggeringActivity"] == {"name": "PROFILE_UPDATE", "requestId": r.headers["X-Request-Id"]}
    # The full customerIdentifiers form (000:L343-359): INSTORE with the card.
    instore = data["customerIdentifiers"]["instore"]
    assert set(sample["customerIdentifiers"]["instore"]) <= set(instore)
    assert (instore["cardnumber"], instore["cardexternalid"], instore["cardNumbers"]) == (
        card["value"],
        card["cardExternalId"],
        [card["value"]],
    )
    assert data["customerIdentifiers"]["wechat"] == wechat_entry(ids)
    assert {"key": "gender", "value": "Male"} in data["extendedFields"]
    assert {"key": "employee", "value": "true"} in data["customFields"]


async def test_status_change_carries_customer_status(client: OrgClient) -> None:
    created, ids = await two_source_customer(client)
    reason = "Customer requested deactivation"
    r = await client.put(
        "/v2/customers/lookup/status",
        json={"reason": reason, "label": "Inactive"},
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": ids["mobile"]},
    )
    assert r.status_code == 200, r.text
    event = (await outbox(client.harness, client.org_id))[-1]
    await check_envelope(event, client, r, "customerUpdated")
    sample = updated_sample_data()
    data = event["attributes"]["data"]
    assert set(sample) <= set(data)
    # This customer holds no card, so instore has no cardnumber/cardexternalid (absent
    # scalars are omitted, 4.2); the test above shows them for a card holder.
    known = {
        **updated_known(data),
        "$.customerIdentifiers.instore.cardnumber: missing": "no card",
        "$.customerIdentifiers.instore.cardexternalid: missing": "no card",
    }
    assert_shape(data, sample, known=known)
    assert data["customerIdentifiers"]["instore"]["cardNumbers"] == []
    assert data["customerStatus"] == {"previousLabel": "Active", "currentLabel": "Inactive", "reason": reason}
    assert set(data["customerStatus"]) == set(sample["customerStatus"])
    assert data["triggeringActivity"]["requestId"] == r.headers["X-Request-Id"]
    assert data["customerIdentifiers"]["customerId"] == created.json()["createdId"]


async def test_event_ids_are_distinct_uuids(client: OrgClient) -> None:
    created, _ = await two_source_customer(client)
    cid = created.json()["createdId"]
    for first in ("Huck", "Becky", "Joe"):
        r = await client.put(
            f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": first}]}
        )
        assert r.status_code == 200, r.text
    events = await outbox(client.harness, client.org_id)
    assert len(events) == 4
    event_ids = [e["eventId"] for e in events]
    assert len(set(event_ids)) == len(event_ids)
    assert all(str(uuid.UUID(e)) == e for e in event_ids)
    request_ids = [e["attributes"]["apiRequestId"] for e in events]
    assert len(set(request_ids)) == len(request_ids)  # one request each


async def test_failed_requests_write_no_event(client: OrgClient) -> None:
    created, ids = await two_source_customer(client)
    cid = created.json()["createdId"]
    duplicate = await client.post("/v2/customers", json=register_body(ids["mobile"]))
    assert duplicate.status_code == 409 and codes(duplicate.json()) == [1032]
    unknown_field = await client.put(
        f"/v2/customers/{cid}",
        params={"source": "INSTORE"},
        json={"profiles": [{"firstName": "X", "fields": {"shoeSize": "42"}}]},
    )
    assert unknown_field.status_code == 400 and codes(unknown_field.json()) == [1017]
    bad_label = await client.put(
        "/v2/customers/lookup/status",
        json={"reason": "r", "label": "Gone"},
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": ids["mobile"]},
    )
    assert bad_label.status_code == 400
    events = await outbox(client.harness, client.org_id)
    assert [e["eventType"] for e in events] == ["customerAdded"]
    assert events[0]["attributes"]["apiRequestId"] == created.headers["X-Request-Id"]
