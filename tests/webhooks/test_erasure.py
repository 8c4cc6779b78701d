"""PII deletion: a customer moved to "Pending Deletion" is erased when the erasure runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from patron.db.base import Base
from tests.conftest import OrgClient
from tests.support import codes, email, mobile, outbox, rows, token
from tests.webhooks.receiver import Received, Receiver, Reply


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def _org_rows(client: OrgClient) -> str:
    """Every row of every table of the org, as text."""
    dump: list[Any] = []
    for table in Base.metadata.sorted_tables:
        if "org_id" not in table.c:  # an installation's table (worker_heartbeat): no org's data
            continue
        found = await rows(
            client.harness.app.state.db, f"SELECT * FROM {table.name} WHERE org_id = :o", o=client.org_id
        )
        dump.extend(vars(r) for r in found)
    return json.dumps(dump, default=str)


async def test_erasure_removes_personal_data_everywhere_and_announces_deleted(
    client: OrgClient, receiver: Receiver
) -> None:
    failing = {"on": True}
    receiver.answer = lambda _: Reply(503 if failing["on"] else 200)
    r = await client.post("/v2/webhooks", json={"url": receiver.url()})
    assert r.status_code == 201
    number, mail, ext, card = mobile(), email(), token("EXT"), token("GOLD")
    first, last, employee = token("Zelda"), token("Quill"), token("secret-note-")
    body = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [
            {
                "firstName": first,
                "lastName": last,
                "source": "INSTORE",
                "fields": {"employee": employee},
                "identifiers": [
                    {"type": "mobile", "value": number},
                    {"type": "email", "value": mail},
                    {"type": "externalId", "value": ext},
                    {"type": "cardnumber", "value": card, "seriesId": 19, "cardExternalId": card + "X"},
                ],
                "commChannels": [{"type": "email", "value": mail, "primary": True}],
            }
        ],
        "extendedFields": {"city": "Pune"},
    }
    cid = (await client.post("/v2/customers", json=body)).json()["createdId"]
    await client.post(
        f"/v2/customers/{cid}/changeIdentifier",
        params={"source": "WECHAT", "accountId": "WECHAT-CM"},
        json={"add": [{"type": "wechat", "value": token("wx-")}]},
    )
    erased = [number, mail, ext, card, first, last, employee]
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)  # failing: events wait for delivery

    status = await client.put(
        "/v2/customers/lookup/status",
        json={"label": "Pending Deletion", "reason": "GDPR art. 17"},
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
    )
    assert status.status_code == 200
    for _ in range(100):  # the erasure runs in the worker; the endpoint keeps failing meanwhile
        if (await client.get(f"/v2/customers/{cid}", params={"source": "ALL"})).json()["status"][
            "label"
        ] == "Deleted":
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the customer was not erased")
    erased_at = len(receiver.requests)  # what arrives from here on was sent after the erasure
    failing["on"] = False

    def deleted(reqs: list[Received]) -> bool:
        return any(_status(r) == "Deleted" for r in reqs)

    await receiver.wait_for(deleted, timeout=20)
    [event] = [r for r in receiver.requests if _status(r) == "Deleted"]
    data = event.json["attributes"]["data"]
    assert data["customerStatus"] == {"currentLabel": "Deleted", "reason": "GDPR art. 17"}
    assert data["updatedFields"] == []
    assert event.json["attributes"]["apiRequestId"] == ""
    assert data["customerIdentifiers"]["customerId"] == cid

    # Every event sent after the erasure (the held-back earlier ones too) carries no erased value.
    later = receiver.requests[erased_at:]
    assert {r.json["eventType"] for r in later} == {"customerAdded", "customerUpdated"}
    for req in later:
        assert not [v for v in erased if v in req.body.decode()], req.json["eventType"]
    # Nothing in the store, the search index, the history or the outbox keeps them.
    stored = await _org_rows(client)
    assert not [v for v in erased if v in stored]
    assert all(
        not [v for v in erased if v in json.dumps(p)] for p in await outbox(client.harness, client.org_id)
    )

    lookup = await client.get(
        "/v2/customers/lookup",
        params={"source": "ALL", "identifierName": "mobile", "identifierValue": number},
    )
    assert lookup.status_code == 404 and codes(lookup.json()) == [8015]
    assert (await client.get("/v2/customers/search", params={"q": first})).json()["pagination"]["total"] == 0
    details = (await client.get(f"/v2/customers/{cid}", params={"source": "ALL"})).json()
    assert details["status"] == {"label": "Deleted"}
    assert all(p["identifiers"] == [] and p["firstName"] == "" for p in details["profiles"])


def _status(req: Received) -> str | None:
    status = req.json["attributes"]["data"].get("customerStatus") or {}
    return status.get("currentLabel")


async def test_leaving_pending_deletion_before_the_erasure_cancels_it(
    client: OrgClient, harness: Any
) -> None:
    from tests.conftest import CONFIG, make_org

    slow = await make_org(harness, {**CONFIG, "erasureGraceSeconds": 3600})
    number = mobile()
    r = await slow.post(
        "/v2/customers",
        json={
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "profiles": [
                {
                    "source": "INSTORE",
                    "firstName": "Keep",
                    "identifiers": [{"type": "mobile", "value": number}],
                }
            ],
        },
    )
    params = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number}
    await slow.put(
        "/v2/customers/lookup/status", params=params, json={"label": "Pending Deletion", "reason": "asked"}
    )
    await slow.put(
        "/v2/customers/lookup/status", params=params, json={"label": "Active", "reason": "changed mind"}
    )
    details = (await slow.get(f"/v2/customers/{r.json()['createdId']}", params={"source": "INSTORE"})).json()
    assert details["profiles"][0]["firstName"] == "Keep" and details["status"] == {"label": "Active"}
    direct = await slow.put(
        "/v2/customers/lookup/status", params=params, json={"label": "Deleted", "reason": "x"}
    )
    assert direct.status_code == 400
