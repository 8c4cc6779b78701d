"""Identifier change requests: every changeIdentifier call and every merge is recorded and listed
by Get Identifier Change Requests (seed 003 #15), and with `identifierChangeApproval` a change
waits as PENDING until PUT .../changeRequest/{requestId} approves or rejects it. Both engines."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.seedtext import SEED_003, assert_shape, seed_json
from tests.api.test_identifiers import INSTORE, WECHAT, change, lookup, register
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import codes, email, execute, mobile, outbox, register_body, rows, token


async def listing(client: OrgClient, cid: int, **params: Any) -> httpx.Response:
    return await client.get(f"/v2/customers/{cid}/changeRequest", params=params)


async def items(client: OrgClient, cid: int, **params: Any) -> list[dict[str, Any]]:
    r = await listing(client, cid, **params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def decide(client: OrgClient, cid: int, request_id: int, **body: Any) -> httpx.Response:
    headers = body.pop("headers", {})
    return await client.put(f"/v2/customers/{cid}/changeRequest/{request_id}", json=body, headers=headers)


async def approving_org(harness: Harness) -> OrgClient:
    return await make_org(harness, {**copy.deepcopy(CONFIG), "identifierChangeApproval": True})


async def updated_events(client: OrgClient) -> list[dict[str, Any]]:
    return [e for e in await outbox(client.harness, client.org_id) if e["eventType"] == "customerUpdated"]


async def stored_requests(client: OrgClient) -> list[Any]:
    return await rows(
        client.harness.app.state.db,
        "SELECT request_id, status FROM change_request WHERE org_id = :o ORDER BY request_id",
        o=client.org_id,
    )


# Recording and listing ----------------------------------------------------------------------


async def test_an_email_replacement_is_listed_as_the_seed_shows(client: OrgClient) -> None:
    cid = await register(client)
    old, new = email(), email()
    assert (await change(client, cid, add=[{"type": "email", "value": old}])).status_code == 200
    r = await change(
        client, cid, add=[{"type": "email", "value": new}], remove=[{"type": "email", "value": old}]
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": cid, "warnings": []}  # the seed's answer, unchanged

    r = await listing(client, cid, source="INSTORE")
    assert r.status_code == 200, r.text
    body = r.json()
    sample = seed_json(SEED_003, 3343, 3405, fixes=(("example\n\t\t\t\t\t\t.com", "example.com"),))
    assert_shape(body, sample)
    assert set(body) == set(sample)
    assert body["pagination"] == {"limit": 10, "offset": 0, "total": 2}
    newest, oldest = body["data"]
    assert set(sample["data"][0]) <= set(newest)
    assert newest["id"] > oldest["id"]
    assert (newest["status"], newest["changeType"], newest["userId"]) == ("APPROVED", "EMAIL", cid)
    assert newest["changeIdentifiers"] == {
        "add": [{"type": "EMAIL", "value": new}],
        "remove": [{"type": "EMAIL", "value": old}],
    }
    assert oldest["changeIdentifiers"] == {"add": [{"type": "EMAIL", "value": old}], "remove": []}
    till = newest["addedBy"]
    assert till["type"] == "TILL" and till["code"] == client.username.split("@")[0]
    assert newest["comments"] == f"auto approved by {till['id']}"
    assert newest["updatedBy"] == till and newest["addedOn"] == newest["updatedOn"]
    assert (newest["oneStep"], newest["secUserId"], newest["source"], newest["accountId"]) == (
        True,
        0,
        "INSTORE",
        "",
    )


async def test_types_are_named_as_the_list_names_them(client: OrgClient) -> None:
    cid = await register(client)
    external, number = token("ext"), mobile()
    await change(client, cid, add=[{"type": "externalId", "value": external}])
    await change(client, cid, add=[{"type": "mobile", "value": number}, {"type": "email", "value": email()}])
    newest, oldest = await items(client, cid)
    assert oldest["changeType"] == "EXTERNAL_ID"
    assert oldest["changeIdentifiers"]["add"] == [{"type": "EXTERNAL_ID", "value": external}]
    assert newest["changeType"] == "MULTIPLE"
    # A type finds the requests that touched it among others.
    assert [i["id"] for i in await items(client, cid, changeType="MOBILE")] == [newest["id"]]
    assert [i["id"] for i in await items(client, cid, changeType="external_id")] == [oldest["id"]]
    assert await items(client, cid, changeType="RETRO") == []


async def test_a_change_that_writes_nothing_records_nothing(client: OrgClient) -> None:
    owner = await register(client)
    taken = email()
    await change(client, owner, add=[{"type": "email", "value": taken}])
    cid = await register(client)
    before = await stored_requests(client)
    r = await change(client, cid, add=[{"type": "email", "value": taken}])
    assert r.status_code == 409
    r = await change(client, cid, add=[{"type": "email", "value": "not-an-email"}])
    assert r.status_code == 400
    assert await stored_requests(client) == before
    assert await items(client, cid) == []


async def test_a_changeidentifier_merge_is_a_merge_of_the_survivor(client: OrgClient) -> None:
    number = mobile()
    survivor = await register(client, number)
    victim = await register(
        client, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
    )
    r = await change(client, victim, add=[{"type": "mobile", "value": number}], where=WECHAT)
    assert codes(r.json(), "warnings") == [8051]
    (merge,) = await items(client, survivor, changeType="MERGE")
    assert (merge["userId"], merge["mergedCustomerId"], merge["status"]) == (survivor, victim, "APPROVED")
    assert merge["changeIdentifiers"]["add"] == [{"type": "MOBILE", "value": number}]
    assert (merge["source"], merge["accountId"]) == ("WECHAT", "WECHAT-CM")
    # The merged customer reads as merged, as everywhere.
    gone = await listing(client, victim)
    assert gone.status_code == 404 and codes(gone.json()) == [8069]


async def test_a_registration_merge_is_a_merge_of_the_record_it_joined(client: OrgClient) -> None:
    number = mobile()
    cid = await register(client, number)
    wx = token("wx")
    body = register_body(
        number, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": wx}]
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200 and codes(r.json(), "warnings") == [8050]
    (merge,) = await items(client, cid)
    assert (merge["changeType"], merge["status"], merge["userId"]) == ("MERGE", "APPROVED", cid)
    assert merge["mergedCustomerId"] is None and merge["changeIdentifiers"]["remove"] == []
    assert sorted(i["value"] for i in merge["changeIdentifiers"]["add"]) == sorted([number, wx])


# Filters, sorting, paging ----------------------------------------------------------------------


async def test_filters_sorting_and_paging(client: OrgClient) -> None:
    cid = await register(client)
    for _ in range(5):
        r = await change(client, cid, add=[{"type": "email", "value": email()}])
        assert r.status_code == 200
    ids = [i["id"] for i in await items(client, cid)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 5
    assert [i["id"] for i in await items(client, cid, sortOrder="ASC")] == ids[::-1]
    # Ids bound inclusively.
    lo, hi = ids[3], ids[1]
    assert [i["id"] for i in await items(client, cid, startId=lo, endId=hi)] == ids[1:4]
    # Paging: total counts every match.
    r = await listing(client, cid, limit=2, offset=2)
    assert r.json()["pagination"] == {"limit": 2, "offset": 2, "total": 5}
    assert [i["id"] for i in r.json()["data"]] == ids[2:4]
    assert (await listing(client, cid, offset=9)).json()["data"] == []
    # Dates are whole days, both ends kept; another day keeps nothing.
    today = datetime.now(UTC).date()  # the org's time zone is UTC
    day = today.isoformat()
    assert len(await items(client, cid, startDate=day, endDate=day)) == 5
    assert await items(client, cid, endDate=(today - timedelta(days=1)).isoformat()) == []
    assert await items(client, cid, startDate=(today + timedelta(days=1)).isoformat()) == []
    # lastUpdatedOn sorts by the decision time: an approved-at-once change was updated when added.
    assert [i["id"] for i in await items(client, cid, sortBy="lastUpdatedOn")] == ids
    assert await items(client, cid, source="WECHAT") == []
    for bad in (
        {"limit": "0"},
        {"limit": "101"},
        {"offset": "-1"},
        {"startDate": "2024-13-01"},
        {"endDate": "yesterday"},
        {"changeType": "NAME"},
        {"sortBy": "name"},
        {"sortOrder": "UP"},
        {"startId": "x"},
    ):
        r = await listing(client, cid, **bad)
        assert r.status_code == 400, bad
    r = await listing(client, cid, source="NOWHERE")
    assert r.status_code == 400 and codes(r.json()) == [8012]


async def test_another_orgs_customer_and_requests_are_not_found(
    client: OrgClient, other_client: OrgClient
) -> None:
    cid = await register(client)
    await change(client, cid, add=[{"type": "email", "value": email()}])
    (item,) = await items(client, cid)
    r = await listing(other_client, cid)
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await decide(other_client, cid, item["id"], status="APPROVED")
    assert r.status_code == 404 and codes(r.json()) == [8015]
    mine = await register(other_client)
    r = await decide(other_client, mine, item["id"], status="APPROVED")
    assert r.status_code == 404 and codes(r.json()) == [2161]


# Approval ------------------------------------------------------------------------------------


async def test_with_approval_a_change_waits_and_changes_nothing(harness: Harness) -> None:
    client = await approving_org(harness)
    cid = await register(client)
    address = email()
    events = len(await updated_events(client))
    r = await change(client, cid, add=[{"type": "email", "value": address}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["createdId"] == cid and codes(body, "warnings") == [2160]
    request_id = body["changeRequest"]["id"]
    assert body["changeRequest"] == {"id": request_id, "status": "PENDING"}
    assert str(request_id) in body["warnings"][0]["message"]
    assert (await lookup(client, "email", address)).status_code == 404
    assert len(await updated_events(client)) == events
    (item,) = await items(client, cid)
    assert (item["id"], item["status"], item["oneStep"], item["comments"]) == (
        request_id,
        "PENDING",
        False,
        "",
    )
    assert item["changeIdentifiers"]["add"] == [{"type": "EMAIL", "value": address}]
    # The change is checked when asked for: a bad one waits for nobody.
    r = await change(client, cid, remove=[{"type": "email", "value": email()}])
    assert r.status_code == 400 and codes(r.json()) == [1041]
    assert len(await items(client, cid)) == 1


async def test_approval_applies_the_change_and_raises_customer_updated(harness: Harness) -> None:
    client = await approving_org(harness)
    cid = await register(client)
    address = email()
    request_id = (await change(client, cid, add=[{"type": "email", "value": address}])).json()[
        "changeRequest"
    ]["id"]
    events = len(await updated_events(client))
    key = {"Idempotency-Key": token("decide-")}
    r = await decide(client, cid, request_id, status="approved", comments="checked", headers=key)
    assert r.status_code == 400  # status is APPROVED or REJECTED, as written
    r = await decide(client, cid, request_id, status="APPROVED", comments="checked", headers=key)
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": request_id, "status": "APPROVED", "userId": cid, "warnings": []}
    replay = await decide(client, cid, request_id, status="APPROVED", comments="checked", headers=key)
    assert replay.json() == r.json() and replay.headers.get("Idempotent-Replayed") == "true"
    assert (await lookup(client, "email", address)).json()["entity"] == cid
    found = await updated_events(client)
    assert len(found) == events + 1
    assert found[-1]["attributes"]["data"]["customerIdentifiers"]["customerId"] == cid
    (item,) = await items(client, cid)
    assert (item["status"], item["comments"], item["oneStep"]) == ("APPROVED", "checked", False)
    assert item["updatedOn"] >= item["addedOn"]
    for status in ("APPROVED", "REJECTED"):
        again = await decide(client, cid, request_id, status=status)
        assert again.status_code == 422 and codes(again.json()) == [2162]
        assert "APPROVED" in again.json()["errors"][0]["message"]


async def test_rejection_changes_nothing(harness: Harness) -> None:
    client = await approving_org(harness)
    cid = await register(client)
    address = email()
    request_id = (await change(client, cid, add=[{"type": "email", "value": address}])).json()[
        "changeRequest"
    ]["id"]
    events = len(await outbox(client.harness, client.org_id))
    r = await decide(client, cid, request_id, status="REJECTED")
    assert r.status_code == 200 and r.json()["status"] == "REJECTED"
    assert (await lookup(client, "email", address)).status_code == 404
    assert len(await outbox(client.harness, client.org_id)) == events
    (item,) = await items(client, cid)
    assert item["status"] == "REJECTED" and item["comments"] == f"rejected by {item['updatedBy']['id']}"
    again = await decide(client, cid, request_id, status="APPROVED")
    assert again.status_code == 422 and codes(again.json()) == [2162]
    unknown = await decide(client, cid, request_id + 1000, status="APPROVED")
    assert unknown.status_code == 404 and codes(unknown.json()) == [2161]


async def test_a_conflict_arising_meanwhile_refuses_approval_and_keeps_it_pending(harness: Harness) -> None:
    client = await approving_org(harness)
    cid = await register(client)
    address = email()
    request_id = (await change(client, cid, add=[{"type": "email", "value": address}])).json()[
        "changeRequest"
    ]["id"]
    # Another customer takes the address in the same source meanwhile (registration applies at once).
    other = await client.post(
        "/v2/customers", json=register_body(extra=[{"type": "email", "value": address}])
    )
    assert other.status_code == 200, other.text
    events = len(await outbox(client.harness, client.org_id))
    r = await decide(client, cid, request_id, status="APPROVED")
    assert r.status_code == 409 and codes(r.json()) == [2163]
    assert "8007" in r.json()["errors"][0]["message"]
    assert len(await outbox(client.harness, client.org_id)) == events
    (item,) = await items(client, cid)
    assert item["status"] == "PENDING"
    assert (await decide(client, cid, request_id, status="REJECTED")).status_code == 200


async def test_an_approved_change_that_merges_follows_the_survivor(harness: Harness) -> None:
    client = await approving_org(harness)
    number = mobile()
    survivor = await register(client, number)
    victim = await register(
        client, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
    )
    r = await change(client, victim, add=[{"type": "mobile", "value": number}], where=WECHAT)
    request_id = r.json()["changeRequest"]["id"]
    r = await decide(client, victim, request_id, status="APPROVED")
    assert r.status_code == 200, r.text
    assert r.json()["userId"] == survivor and codes(r.json(), "warnings") == [8051]
    (merge,) = await items(client, survivor)
    assert (merge["id"], merge["changeType"], merge["mergedCustomerId"]) == (request_id, "MERGE", victim)
    assert merge["status"] == "APPROVED"


async def test_without_the_setting_nothing_waits(client: OrgClient) -> None:
    cid = await register(client)
    r = await change(client, cid, add=[{"type": "email", "value": email()}], **INSTORE)
    assert r.status_code == 200 and "changeRequest" not in r.json()
    (item,) = await items(client, cid)
    r = await decide(client, cid, item["id"], status="REJECTED")
    assert r.status_code == 422 and codes(r.json()) == [2162]


async def test_an_added_on_date_counts_in_the_orgs_time_zone(harness: Harness) -> None:
    client = await make_org(harness, {**copy.deepcopy(CONFIG), "timezone": "Pacific/Kiritimati"})
    cid = await register(client)
    await change(client, cid, add=[{"type": "email", "value": email()}])
    (item,) = await items(client, cid)
    assert item["addedOn"].endswith("+14:00")
    local_day = item["addedOn"][:10]
    assert len(await items(client, cid, startDate=local_day, endDate=local_day)) == 1
    # Moved back two days in storage, it falls out of that day.
    await execute(
        harness.app.state.db,
        "UPDATE change_request SET added_at = :t WHERE org_id = :o AND request_id = :r",
        t=datetime.fromisoformat(item["addedOn"]) - timedelta(days=2),
        o=client.org_id,
        r=item["id"],
    )
    assert await items(client, cid, startDate=local_day, endDate=local_day) == []
