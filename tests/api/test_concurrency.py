"""Concurrent writers: the same identifier yields exactly one customer."""

from __future__ import annotations

import asyncio

from tests.conftest import OrgClient
from tests.support import codes, history, mobile, outbox, register_body, token


async def test_twenty_concurrent_registrations_of_one_mobile_make_one_customer(client: OrgClient) -> None:
    number = mobile()
    responses = await asyncio.gather(
        *(client.post("/v2/customers", json=register_body(number, first=f"Racer{i}")) for i in range(20))
    )
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(ok) == 1
    assert len(refused) == 19
    assert all(r.status_code == 409 and codes(r.json())[0] in (1032, 1014) for r in refused)
    assert all(r.json()["errors"][0]["message"] for r in refused)
    cid = ok[0].json()["createdId"]
    lookup = await client.get(
        "/v2/customers/lookup",
        params={"source": "ALL", "identifierName": "mobile", "identifierValue": number},
    )
    assert lookup.json()["entity"] == cid
    assert [e["eventType"] for e in await outbox(client.harness, client.org_id)] == ["customerAdded"]


async def test_concurrent_registrations_across_sources_merge_into_one_customer(client: OrgClient) -> None:
    number = mobile()
    bodies = [register_body(number)] + [
        register_body(
            number, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("w")}]
        ),
        register_body(number, source="MOBILE_APP", account_id="400"),
        register_body(number, source="MARTJACK"),
    ]
    responses = await asyncio.gather(*(client.post("/v2/customers", json=b) for b in bodies))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert len({r.json()["createdId"] for r in responses}) == 1
    details = (
        await client.get(f"/v2/customers/{responses[0].json()['createdId']}", params={"source": "ALL"})
    ).json()
    assert len(details["profiles"]) == 4


async def test_concurrent_updates_of_one_customer_form_one_unbroken_history(client: OrgClient) -> None:
    cid = (await client.post("/v2/customers", json=register_body(first="Start"))).json()["createdId"]
    names = [f"Name{i}" for i in range(10)]
    responses = await asyncio.gather(
        *(
            client.put(
                f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": n}]}
            )
            for n in names
        )
    )
    assert all(r.status_code == 200 for r in responses)
    changes = [
        c
        for c in await history(client.harness, client.org_id, cid)
        if c.kind == "PROFILE" and c.field_name == "firstName"
    ]
    # Each change starts from the value the previous one wrote: no update was lost.
    assert [c.previous_value for c in changes] == ["Start"] + [c.current_value for c in changes[:-1]]
    assert sorted(c.current_value for c in changes) == sorted(names)
    final = (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).json()
    assert final["profiles"][0]["firstName"] == changes[-1].current_value
