"""Update Subscription Details and Retrieve Subscription Details, embed=subscriptions and the
customerSubscription event, on both engines (engagement/subscriptions.py, docs/engagement.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.api.seedtext import SEED_003, assert_shape, seed_json, seed_text
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.loyalty.test_partners import merged_customer
from tests.support import codes, outbox, register_body, rows
from tests.webhooks.receiver import Receiver

DEFAULT = [
    {"channel": channel, "priority": priority, "type": "OPTIN"}
    for priority in ("TRANS", "BULK")
    for channel in ("EMAIL", "SMS", "ANDROID", "IOS")
]


async def new_customer(client: OrgClient) -> int:
    r = await client.post("/v2/customers", json=register_body())
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


async def post(client: OrgClient, cid: int | str, *entries: dict[str, Any], **extra: Any) -> Any:
    return await client.post(
        f"/v2/customers/{cid}/subscriptions", json={"subscriptions": list(entries), **extra}
    )


async def statuses(client: OrgClient, cid: int, **params: str) -> list[dict[str, Any]]:
    r = await client.get(f"/v2/customers/{cid}/subscriptions", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["subscriptions"])


async def events(client: OrgClient) -> list[dict[str, Any]]:
    return [
        e for e in await outbox(client.harness, client.org_id) if e["eventType"] == "customerSubscription"
    ]


async def stored(client: OrgClient, cid: int) -> list[tuple[str, str, str, str, str]]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT source, account_id, channel, priority, status FROM customer_subscription"
        " WHERE org_id = :o AND customer_id = :c ORDER BY source, account_id, channel, priority",
        o=client.org_id,
        c=cid,
    )
    return [(r.source, r.account_id, r.channel, r.priority, r.status) for r in found]


def entry(channel: str, priority: str, type_: str, **more: Any) -> dict[str, Any]:
    return {"channel": channel, "priority": priority, "type": type_, **more}


# Defaults, update and read back -------------------------------------------------------------


async def test_a_new_customer_is_opted_in_everywhere_and_stores_nothing(client: OrgClient) -> None:
    cid = await new_customer(client)
    r = await client.get(f"/v2/customers/{cid}/subscriptions")
    assert r.status_code == 200, r.text
    assert r.json() == {"subscriptions": DEFAULT, "campaignId": 0, "communicationId": 0, "warnings": []}
    assert await stored(client, cid) == []


async def test_an_update_is_read_back_and_answers_the_entries_as_applied(client: OrgClient) -> None:
    cid = await new_customer(client)
    r = await post(
        client,
        cid,
        entry("email", "BULK", "optout"),
        entry("MOBILE", "TRANS", "OPTOUT"),
        entry("WHATSAPP", "BULK", "OPTIN"),
        campaignId=7,
        communicationId=9,
        reason="asked at the till",
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subscriptions"] == [
        {"channel": "EMAIL", "accountId": "", "priority": "BULK", "type": "OPTOUT"},
        {"channel": "SMS", "accountId": "", "priority": "TRANS", "type": "OPTOUT"},
        {"channel": "WHATSAPP", "accountId": "", "priority": "BULK", "type": "OPTIN"},
    ]
    assert (body["campaignId"], body["communicationId"], body["reason"]) == (7, 9, "asked at the till")
    assert body["scope"]["scope"] == "USER" and body["scope"]["subScope"] == "NONE"
    got = {(s["channel"], s["priority"]): s["type"] for s in await statuses(client, cid)}
    assert got[("EMAIL", "BULK")] == "OPTOUT" and got[("SMS", "TRANS")] == "OPTOUT"
    assert got[("EMAIL", "TRANS")] == got[("SMS", "BULK")] == "OPTIN"
    assert got[("WHATSAPP", "BULK")] == got[("WHATSAPP", "TRANS")] == "OPTIN"  # listed once set
    # Opting back in is stored too, and read back.
    assert (await post(client, cid, entry("EMAIL", "BULK", "OPTIN"))).status_code == 200
    got = {(s["channel"], s["priority"]): s["type"] for s in await statuses(client, cid)}
    assert got[("EMAIL", "BULK")] == "OPTIN"


async def test_source_accounts_are_apart(client: OrgClient) -> None:
    cid = await new_customer(client)
    r = await post(client, cid, entry("WECHAT", "BULK", "OPTOUT", sourceName="wechat", accountId="WECHAT-2"))
    assert r.status_code == 200, r.text
    assert await stored(client, cid) == [("WECHAT", "WECHAT-2", "WECHAT", "BULK", "OPTOUT")]
    instore = {(s["channel"], s["priority"]): s["type"] for s in await statuses(client, cid)}
    assert ("WECHAT", "BULK") not in instore
    wechat = await statuses(client, cid, source="WECHAT", accountId="WECHAT-2")
    assert {"channel": "WECHAT", "priority": "BULK", "type": "OPTOUT"} in wechat
    other = await statuses(client, cid, source="WECHAT", accountId="WECHAT-CM")
    assert other == DEFAULT


# embed=subscriptions --------------------------------------------------------------------------


async def test_embed_shows_the_statuses_of_the_source_account(client: OrgClient) -> None:
    cid = await new_customer(client)
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})
    assert "subscriptionInfo" not in r.json()
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "subscriptions"})
    assert r.status_code == 200, r.text
    assert r.json()["subscriptionInfo"] == {"subscriptions": DEFAULT}
    assert (await post(client, cid, entry("IOS", "TRANS", "OPTOUT"))).status_code == 200
    for source in ("INSTORE", "ALL"):
        r = await client.get(
            f"/v2/customers/{cid}", params={"source": source, "embed": "subscriptions,points"}
        )
        assert r.status_code == 200, r.text
        items = r.json()["subscriptionInfo"]["subscriptions"]
        assert {"channel": "IOS", "priority": "TRANS", "type": "OPTOUT"} in items
        assert len(items) == len(DEFAULT)


# Events -------------------------------------------------------------------------------------


async def test_one_event_per_changed_entry_and_none_for_a_repost(client: OrgClient) -> None:
    cid = await new_customer(client)
    before = {e["eventType"] for e in await outbox(client.harness, client.org_id)}
    entries = [
        entry("EMAIL", "BULK", "OPTOUT", orgUnitId=200031782),
        entry("SMS", "BULK", "OPTOUT"),
        entry("EMAIL", "TRANS", "OPTIN"),  # the default already: no change
    ]
    assert (await post(client, cid, *entries)).status_code == 200
    found = await events(client)
    assert len(found) == 2
    items = [e["attributes"]["data"]["subscriptions"] for e in found]
    assert all(len(i) == 1 for i in items)
    first, second = items[0][0], items[1][0]
    assert first == {
        "sourceAccountId": "",
        "previousStatus": "OPTIN",
        "currentStatus": "OPTOUT",
        "channel": "EMAIL",
        "sourceName": "INSTORE",
        "priority": "BULK",
        "ouId": 200031782,
        "ouCode": first["ouCode"],
    }
    assert first["ouCode"] and (second["channel"], second["priority"]) == ("SMS", "BULK")
    assert all(e["attributes"]["data"]["customerIdentifiers"]["customerId"] == cid for e in found)
    # Re-posting the current state raises nothing and writes nothing new.
    assert (await post(client, cid, *entries)).status_code == 200
    assert len(await events(client)) == 2
    # Opting back in raises one, with the previous status.
    assert (await post(client, cid, entry("SMS", "BULK", "OPTIN"))).status_code == 200
    last = (await events(client))[-1]["attributes"]["data"]["subscriptions"][0]
    assert (last["previousStatus"], last["currentStatus"]) == ("OPTOUT", "OPTIN")
    # A subscription change is not a customerUpdated.
    after = [e["eventType"] for e in await outbox(client.harness, client.org_id)]
    assert "customerUpdated" not in set(after) - before


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


async def test_the_event_reaches_a_receiver(harness: Harness, receiver: Receiver) -> None:
    client = await make_org(harness)
    r = await client.post("/v2/webhooks", json={"url": receiver.url(), "events": ["customerSubscription"]})
    assert r.status_code == 201, r.text
    cid = await new_customer(client)
    assert (await post(client, cid, entry("ANDROID", "BULK", "OPTOUT"))).status_code == 200
    await receiver.wait_for(lambda reqs: len(reqs) >= 1)
    [payload] = [req.json for req in receiver.requests]
    assert payload["eventType"] == "customerSubscription"
    [item] = payload["attributes"]["data"]["subscriptions"]
    assert (item["channel"], item["priority"], item["currentStatus"]) == ("ANDROID", "BULK", "OPTOUT")


# Validation and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"subscriptions": [entry("FAX", "BULK", "OPTOUT")]}, 1101),
        ({"subscriptions": [{"priority": "BULK", "type": "OPTOUT"}]}, 1101),
        ({"subscriptions": [entry("EMAIL", "URGENT", "OPTOUT")]}, 1102),
        ({"subscriptions": [entry("EMAIL", "BULK", "MAYBE")]}, 1106),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT")], "scope": {"scope": "ORG"}}, 1103),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT")], "scope": {"subScope": "X"}}, 1103),
        ({"subscriptions": []}, 2100),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT"), entry("email", "bulk", "OPTIN")]}, 2101),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT", sourceName="NOPE")]}, 8012),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT", sourceName="TMALL")]}, 8012),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT", sourceName="WECHAT")]}, 8045),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT", sourceName="WECHAT", accountId="X")]}, 8011),
        ({"subscriptions": [entry("EMAIL", "BULK", "OPTOUT", accountId="A-1")]}, 8011),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    client: OrgClient, body: dict[str, Any], code: int
) -> None:
    cid = await new_customer(client)
    # A good entry first: a later bad one refuses the whole request.
    body = {**body, "subscriptions": [entry("SMS", "TRANS", "OPTOUT"), *body["subscriptions"]]}
    if code == 2100:
        body["subscriptions"] = []
    r = await client.post(f"/v2/customers/{cid}/subscriptions", json=body)
    assert r.status_code == 400, r.text
    assert codes(r.json()) == [code]
    assert await stored(client, cid) == [] and await events(client) == []


async def test_unknown_and_other_orgs_customers(client: OrgClient, other_client: OrgClient) -> None:
    for cid in ("999999999", "abc"):
        r = await post(client, cid, entry("SMS", "BULK", "OPTOUT"))
        assert r.status_code == 404 and codes(r.json()) == [8015], r.text
        r = await client.get(f"/v2/customers/{cid}/subscriptions")
        assert r.status_code == 404 and codes(r.json()) == [8015], r.text
    theirs = await new_customer(other_client)
    r = await post(client, theirs, entry("SMS", "BULK", "OPTOUT"))
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await client.get(f"/v2/customers/{theirs}/subscriptions")
    assert r.status_code == 404 and codes(r.json()) == [8015]
    assert await stored(other_client, theirs) == []
    # Ours and theirs are apart: their opt-out is not ours.
    ours = await new_customer(client)
    assert (await post(other_client, theirs, entry("SMS", "BULK", "OPTOUT"))).status_code == 200
    assert await statuses(client, ours) == DEFAULT


async def test_a_merged_customer_is_8069(client: OrgClient) -> None:
    victim, _ = await merged_customer(client)
    r = await post(client, victim, entry("SMS", "BULK", "OPTOUT"))
    assert r.status_code == 404 and codes(r.json()) == [8069], r.text
    r = await client.get(f"/v2/customers/{victim}/subscriptions")
    assert r.status_code == 404 and codes(r.json()) == [8069], r.text


async def test_an_update_repeats_with_an_idempotency_key(client: OrgClient) -> None:
    cid = await new_customer(client)
    body = {"subscriptions": [entry("EMAIL", "BULK", "OPTOUT")]}
    url = f"/v2/customers/{cid}/subscriptions"
    first = await client.post(url, json=body, headers={"Idempotency-Key": "s-1"})
    again = await client.post(url, json=body, headers={"Idempotency-Key": "s-1"})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    other = await client.post(
        url, json={"subscriptions": [entry("SMS", "BULK", "OPTOUT")]}, headers={"Idempotency-Key": "s-1"}
    )
    assert other.status_code == 409
    assert len(await events(client)) == 1 and len(await stored(client, cid)) == 1


# Seed sample replays -------------------------------------------------------------------------


async def seed_org(harness: Harness) -> OrgClient:
    """The default test org, with the WECHAT account "123" the seed's request names."""
    return await make_org(
        harness, {**CONFIG, "sources": {**CONFIG["sources"], "WECHAT": ["WECHAT-CM", "123"]}}
    )


async def test_update_sample_replays(harness: Harness) -> None:
    client = await seed_org(harness)
    cid = await new_customer(client)
    request = seed_json(SEED_003, 2831, 2873)
    sample = seed_json(SEED_003, 2879, 2914)
    r = await client.post(f"/v2/customers/{cid}/subscriptions", json=request)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == set(sample) and set(body["scope"]) == set(sample["scope"])
    assert_shape(body, sample)
    assert body["scope"] == sample["scope"]
    assert all(set(s) == set(sample["subscriptions"][0]) for s in body["subscriptions"])
    # Every entry the sample answers is among ours (MOBILE is SMS); ours also has MOBILE BULK
    # (the sample leaves it out, docs/engagement.md).
    for item in sample["subscriptions"]:
        assert item in body["subscriptions"]
    assert {"channel": "SMS", "accountId": "", "priority": "BULK", "type": "OPTOUT"} in body["subscriptions"]
    assert (body["campaignId"], body["communicationId"]) == (-1, -1)
    assert body["reason"] == request["reason"]  # echoed (the sample's differs, "Sample reason")
    assert len(await events(client)) == 2  # EMAIL BULK and SMS BULK went OPTIN -> OPTOUT
    wechat = await statuses(client, cid, source="WECHAT", accountId="123")
    assert {"channel": "SMS", "priority": "TRANS", "type": "OPTIN"} in wechat


async def test_retrieve_and_embed_samples_replay(harness: Harness) -> None:
    client = await seed_org(harness)
    cid = await new_customer(client)
    sample = seed_json(SEED_003, 2962, 2989)
    r = await client.get(f"/v2/customers/{cid}/subscriptions")
    body = r.json()
    assert set(body) == set(sample)
    assert_shape(body, sample)
    assert all(set(s) == set(sample["subscriptions"][0]) for s in body["subscriptions"])
    for item in sample["subscriptions"]:
        assert item in body["subscriptions"]  # the default, as the sample shows it
    text = seed_text(SEED_003, 2523, 2565)
    embed = json.loads("{" + text.rstrip().removesuffix(",") + "}}")
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE", "embed": "subscriptions"})
    info = r.json()["subscriptionInfo"]
    assert set(info) == set(embed["subscriptionInfo"])
    assert info["subscriptions"] == embed["subscriptionInfo"]["subscriptions"]  # every item, in order


# Rate limit ----------------------------------------------------------------------------------


async def test_retrieve_is_rate_limited_per_org(harness: Harness) -> None:
    limited = await make_org(harness, {**CONFIG, "rateLimitsPerHour": {"Retrieve Subscription Details": 2}})
    other = await make_org(harness)
    cid = await new_customer(limited)
    for _ in range(2):
        assert (await limited.get(f"/v2/customers/{cid}/subscriptions")).status_code == 200
    r = await limited.get(f"/v2/customers/{cid}/subscriptions")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0, r.text
    # Updates are not limited, nor another org's reads.
    assert (await post(limited, cid, entry("SMS", "BULK", "OPTOUT"))).status_code == 200
    theirs = await new_customer(other)
    for _ in range(3):
        assert (await other.get(f"/v2/customers/{theirs}/subscriptions")).status_code == 200
