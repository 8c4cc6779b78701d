"""Undoing a merge (issue 15): POST /v2/customers/merge/{mergeId}/undo gives the victim back
what moved (or splits a registration merge's profiles into a customer of their own), keeps
with the survivor what changed since, and is recorded and announced. Both engines."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import httpx

from patron.customers.erasure import erase
from patron.db.base import utcnow
from patron.loyalty.rebuild import rebuild
from tests.api.test_identifiers import WECHAT, card, change, details, lookup, register
from tests.api.test_merges import (
    change_requests,
    held,
    ledger_ids,
    merge,
    merges_of,
    person_and_survivor,
    person_org,
    subscribe,
    wechat_customer,
)
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.engagement.test_coupons import issued
from tests.loyalty.support import loyalty_org, purchase
from tests.support import codes, execute, history, mobile, outbox, register_body, rows, token

FACEBOOK = {"source": "FACEBOOK", "accountId": "FB-1"}


async def undo(client: OrgClient, merge_id: int, **headers: str) -> httpx.Response:
    return await client.post(f"/v2/customers/merge/{merge_id}/undo", headers=headers)


async def undone(client: OrgClient, merge_id: int) -> dict[str, Any]:
    r = await undo(client, merge_id)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def record(client: OrgClient, cid: int) -> dict[str, Any]:
    """What a customer reads back as: profiles with identifiers, cards, fields, balances."""
    r = await client.get(f"/v2/customers/{cid}", params={"source": "ALL", "embed": "mlp"})
    assert r.status_code == 200, r.text
    body = r.json()
    return {
        "profiles": sorted(
            (p["source"], p["accountId"], sorted((i["type"], i["value"]) for i in p["identifiers"]))
            for p in body["profiles"]
        ),
        "cards": sorted(c["cardNumber"] for c in body.get("cardDetails", [])),
        "loyaltyType": body["loyaltyInfo"]["loyaltyType"],
        "extendedFields": body.get("extendedFields"),
        "balances": sorted(
            (
                p["programId"],
                p["loyaltyPoints"],
                p["lifetimePoints"],
                p["redeemed"],
                p["cumulativePurchases"],
                p["currentSlab"],
            )
            for p in body.get("loyaltyProgramDetails", [])
        ),
    }


async def raised_since(client: OrgClient, count: int) -> list[dict[str, Any]]:
    return (await outbox(client.harness, client.org_id))[count:]


async def no_rebuild_differences(client: OrgClient) -> None:
    found: list[Any] = []
    await rebuild(client.harness.app.state.db, client.org_id, dry_run=True, on_difference=found.append)
    assert found == []


# Restoring both customers -------------------------------------------------------------------


async def test_undoing_a_changeidentifier_merge_gives_the_victim_back_as_it_was(harness: Harness) -> None:
    client = await loyalty_org(harness)
    number = mobile()
    survivor = await register(client, number)
    wx = token("wx")
    victim = await register(
        client, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": wx}]
    )
    survivor_before, victim_before = await record(client, survivor), await record(client, victim)
    # Adding the survivor's mobile in the victim's WECHAT account merges it (8051).
    r = await change(client, victim, add=[{"type": "mobile", "value": number}], where=WECHAT)
    assert r.status_code == 200 and codes(r.json(), "warnings") == [8051], r.text
    merge_id = r.json()["mergeId"]
    assert (await details(client, victim)).status_code == 404
    events = len(await outbox(client.harness, client.org_id))

    body = await undone(client, merge_id)
    assert list(body) == ["mergeId", "survivorId", "victimId", "restored", "keptBySurvivor", "warnings"]
    assert (body["mergeId"], body["survivorId"], body["victimId"]) == (merge_id, survivor, victim)
    assert body["restored"]["profiles"] == [{"source": "WECHAT", "accountId": "WECHAT-CM"}]
    assert body["restored"]["enrollments"] == [] and body["warnings"] == []
    # The mobile that made the merge stays the survivor's alone: one value, one customer.
    assert body["keptBySurvivor"] == [
        {
            "kind": "identifier",
            "type": "mobile",
            "value": number,
            "source": "WECHAT",
            "accountId": "WECHAT-CM",
            "reason": "heldBySurvivor",
        }
    ]
    assert await record(client, victim) == victim_before
    assert await record(client, survivor) == survivor_before
    # The victim's id works again: reads, lookups, search.
    assert (await lookup(client, "wechat", wx, WECHAT)).json()["entity"] == victim
    found = (await client.get("/v2/customers/search", params={"q": wx, "limit": 5})).json()
    assert [d["userId"] for d in found["data"]] == [victim]

    raised = await raised_since(client, events)
    assert [e["eventType"] for e in raised] == [
        "customerUpdated",
        "customerUpdated",
        "customersMergeReverted",
    ]
    assert {e["attributes"]["refId"] for e in raised[:2]} == {
        f"{client.org_id}_{survivor}",
        f"{client.org_id}_{victim}",
    }
    data = raised[2]["attributes"]["data"]
    assert (data["mergeId"], data["survivorId"], data["victimId"], data["splitCustomerId"]) == (
        merge_id,
        survivor,
        victim,
        None,
    )
    assert data["mergeKind"] == "changeIdentifier"
    assert data["restoredIdentifiers"]["customerId"] == victim


async def test_an_explicit_merge_undone_restores_cards_enrollments_ledger_and_fields(
    harness: Harness,
) -> None:
    client = await loyalty_org(harness)
    survivor = await register(client, mobile(), extendedFields={"city": "Pune"})
    victim = await wechat_customer(client, extendedFields={"gender": "Female", "city": "Delhi"})
    number = token("GOLD")
    r = await change(client, victim, add=[card(number, seriesId=19, statusLabel="ACTIVE")], where=WECHAT)
    assert r.status_code == 200, r.text
    assert (await purchase(client, victim, 80, token("V"), programId=2020)).status_code == 200
    assert (await purchase(client, victim, 300, token("V"))).status_code == 200
    victim_before, survivor_before = await record(client, victim), await record(client, survivor)
    entries_2020 = await ledger_ids(client, victim, 2020)

    r = await merge(client, survivor, victim)
    assert r.status_code == 200, r.text
    merge_id = r.json()["mergeId"]
    merged = await record(client, survivor)
    assert merged["extendedFields"] == {"city": "Pune", "gender": "Female"}

    body = await undone(client, merge_id)
    restored = body["restored"]
    assert restored["cards"][0]["cardNumber"] == number
    assert (restored["enrollments"], restored["ledgerEntries"]) == ([2020], entries_2020)
    assert restored["survivorFields"] == {
        "loyaltyType": None,
        "customFields": [],
        "extendedFields": ["gender"],
    }
    assert restored["fields"]["extendedFields"] == {"gender": "Female", "city": "Delhi"}
    assert body["keptBySurvivor"] == []
    assert await record(client, victim) == victim_before
    assert await record(client, survivor) == survivor_before
    assert await ledger_ids(client, victim, 2020) == entries_2020
    await no_rebuild_differences(client)


async def test_later_purchases_on_the_survivor_stay_with_it_and_every_summary_equals_a_rebuild(
    harness: Harness,
) -> None:
    client = await loyalty_org(harness)
    survivor = await register(client, mobile())
    victim = await wechat_customer(client)
    assert (await purchase(client, victim, 80, token("V"), programId=2020)).status_code == 200
    victim_before = await record(client, victim)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    # After the merge the survivor buys, in its own program and in the one that moved.
    assert (await purchase(client, survivor, 500, token("S"))).status_code == 200
    assert (await purchase(client, survivor, 30, token("S"), programId=2020)).status_code == 200
    later_2020 = await ledger_ids(client, survivor, 2020)
    survivor_1016 = await ledger_ids(client, survivor, 1016)

    body = await undone(client, merge_id)
    kept = body["keptBySurvivor"]
    assert {"kind": "enrollment", "programId": 2020, "reason": "addedSinceMerge"} in kept
    moved_back = set(body["restored"]["ledgerEntries"])
    assert moved_back and len(set(later_2020) - moved_back) == 1  # the purchase's earn entry
    assert {k["id"] for k in kept if k["kind"] == "ledgerEntry"} == set(later_2020) - moved_back
    assert [k["reason"] for k in kept if k["kind"] == "bill"] == ["addedSinceMerge"]
    # The victim reads back as before; the survivor keeps its purchases, in both programs.
    assert await record(client, victim) == victim_before
    assert await ledger_ids(client, survivor, 1016) == survivor_1016
    after = await record(client, survivor)
    assert [b[0] for b in after["balances"]] == [1016, 2020]
    assert next(b for b in after["balances"] if b[0] == 2020)[1] == 30  # earnRate 1
    await no_rebuild_differences(client)


async def test_an_identifier_changed_on_a_moved_account_stays_with_the_survivor(client: OrgClient) -> None:
    survivor = await register(client)
    wx = token("wx")
    victim = await register(
        client, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": wx}]
    )
    fb = token("fb")
    r = await change(client, victim, add=[{"type": "fbId", "value": fb}], where=FACEBOOK)
    assert r.status_code == 200, r.text
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    # Since the merge the survivor changed the moved WECHAT account's identifier.
    wx2 = token("wx")
    r = await change(
        client,
        survivor,
        add=[{"type": "wechat", "value": wx2}],
        remove=[{"type": "wechat", "value": wx}],
        where=WECHAT,
    )
    assert r.status_code == 200, r.text

    body = await undone(client, merge_id)
    assert body["restored"]["profiles"] == [{"source": "FACEBOOK", "accountId": "FB-1"}]
    kept = {(k["kind"], k.get("type"), k.get("value"), k["reason"]) for k in body["keptBySurvivor"]}
    assert ("profile", None, None, "changedSinceMerge") in kept
    assert ("identifier", "wechat", wx, "removedSinceMerge") in kept
    assert ("identifier", "wechat", wx2, "addedSinceMerge") in kept
    victim_profiles = (await record(client, victim))["profiles"]
    assert [(s, a) for s, a, _ in victim_profiles] == [("FACEBOOK", "FB-1")]
    assert (await lookup(client, "wechat", wx2, WECHAT)).json()["entity"] == survivor
    assert (await lookup(client, "fbId", fb, FACEBOOK)).json()["entity"] == victim


async def test_coupons_subscriptions_and_user_records_go_back_unless_used_or_changed_since(
    harness: Harness,
) -> None:
    client = await person_org(harness)
    victim, survivor = await person_and_survivor(client)
    kept_coupon, spare = await issued(client, victim), await issued(client, victim)
    await subscribe(client, victim, ("WEBSITE", "SMS", "BULK", "OPTOUT"))
    before, survivor_before = await held(client, victim), await held(client, survivor)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    # Since the merge the survivor redeemed one coupon and changed one opt-out.
    r = await client.post(
        "/v2/coupons/redeem",
        json={"code": kept_coupon["couponCode"], "customer": {"id": survivor}, "billNumber": token("B")},
    )
    assert r.status_code == 200, r.text
    await subscribe(client, survivor, ("WEBSITE", "SMS", "BULK", "OPTIN"))

    body = await undone(client, merge_id)
    restored, kept = body["restored"], body["keptBySurvivor"]
    unused = sorted(set(before["coupons"]) - {kept_coupon["id"]})
    assert spare["id"] in unused and restored["coupons"] == unused
    assert restored["subscriptions"] == ["WEBSITE  EMAIL TRANS"]
    assert {"kind": "coupon", "id": kept_coupon["id"], "reason": "changedSinceMerge"} in kept
    assert {"kind": "subscription", "key": "WEBSITE  SMS BULK", "reason": "changedSinceMerge"} in kept
    after = await held(client, victim)
    assert after["coupons"] == unused
    assert after["subscriptions"] == sorted(set(before["subscriptions"]) - {"WEBSITE  SMS BULK"})
    assert after["userRecords"] == before["userRecords"]  # every record went back, unchanged
    survivor_after = await held(client, survivor)
    assert survivor_after["userRecords"] == survivor_before["userRecords"]
    assert survivor_after["coupons"] == [kept_coupon["id"]]


# Registration merges --------------------------------------------------------------------


async def test_undoing_a_registration_merge_splits_the_added_profile_into_a_new_customer(
    client: OrgClient,
) -> None:
    number, wx = mobile(), token("wx")
    survivor = await register(client, number, extendedFields={"city": "Pune"})
    survivor_before = await record(client, survivor)
    body = register_body(
        number,
        source="WECHAT",
        account_id="WECHAT-CM",
        extra=[{"type": "wechat", "value": wx}],
        extendedFields={"gender": "Male"},
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200 and codes(r.json(), "warnings") == [8050], r.text
    merge_id = r.json()["mergeId"]
    events = len(await outbox(client.harness, client.org_id))

    answer = await undone(client, merge_id)
    assert list(answer) == [
        "mergeId",
        "survivorId",
        "splitCustomerId",
        "restored",
        "keptBySurvivor",
        "warnings",
    ]
    split = answer["splitCustomerId"]
    assert split not in (survivor, None)
    assert answer["restored"]["identifiers"] == [
        {"type": "wechat", "value": wx, "source": "WECHAT", "accountId": "WECHAT-CM"}
    ]
    assert answer["restored"]["fields"]["extendedFields"] == {"gender": "Male"}
    assert await record(client, survivor) == survivor_before
    new = await record(client, split)
    assert new["profiles"] == [("WECHAT", "WECHAT-CM", [("wechat", wx)])]
    assert new["extendedFields"] == {"gender": "Male"}
    assert (await lookup(client, "wechat", wx, WECHAT)).json()["entity"] == split

    raised = await raised_since(client, events)
    assert [e["eventType"] for e in raised] == ["customerUpdated", "customerAdded", "customersMergeReverted"]
    assert raised[1]["attributes"]["refId"] == f"{client.org_id}_{split}"
    data = raised[2]["attributes"]["data"]
    assert (data["survivorId"], data["victimId"], data["splitCustomerId"]) == (survivor, None, split)
    (item,) = await merges_of(client, survivor)
    assert item["undone"] is True and item["undoneAt"] is not None


async def test_a_split_takes_the_enrollments_the_registration_added_and_later_points_stay(
    harness: Harness,
) -> None:
    client = await loyalty_org(harness)
    number, wx = mobile(), token("wx")
    survivor = await register(client, number)
    body = register_body(
        number,
        source="WECHAT",
        account_id="WECHAT-CM",
        extra=[{"type": "wechat", "value": wx}],
        loyaltyProgramEnrollments=[{"programId": 2020, "loyaltyPoints": 50}],
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200 and codes(r.json(), "warnings") == [8050], r.text
    merge_id = r.json()["mergeId"]
    registered = await ledger_ids(client, survivor, 2020)
    assert registered  # the enrollment's stated points
    assert (await purchase(client, survivor, 30, token("S"), programId=2020)).status_code == 200

    answer = await undone(client, merge_id)
    split = answer["splitCustomerId"]
    assert (answer["restored"]["enrollments"], answer["restored"]["ledgerEntries"]) == ([2020], registered)
    assert {"kind": "enrollment", "programId": 2020, "reason": "addedSinceMerge"} in answer["keptBySurvivor"]
    assert await ledger_ids(client, split, 2020) == registered
    split_balances = (await record(client, split))["balances"]
    survivor_balances = (await record(client, survivor))["balances"]
    assert {b[0]: b[1] for b in split_balances} == {1016: 0, 2020: 50}  # every program is shown
    assert {b[0]: b[1] for b in survivor_balances}[2020] == 30
    await no_rebuild_differences(client)


async def test_a_registration_merge_with_nothing_of_its_own_cannot_be_split(client: OrgClient) -> None:
    number = mobile()
    await register(client, number)
    r = await client.post(
        "/v2/customers", json=register_body(number, source="WECHAT", account_id="WECHAT-CM")
    )
    assert r.status_code == 200, r.text
    r = await undo(client, r.json()["mergeId"])
    assert r.status_code == 422 and codes(r.json()) == [2205]


# Refusals, idempotency ------------------------------------------------------------------


async def test_an_undo_is_refused_twice_and_replayed_under_its_idempotency_key(client: OrgClient) -> None:
    survivor = await register(client)
    victim = await wechat_customer(client)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    key = token("undo-")
    first = await undo(client, merge_id, **{"Idempotency-Key": key})
    again = await undo(client, merge_id, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    r = await undo(client, merge_id)
    assert r.status_code == 409 and codes(r.json()) == [2201]
    assert str(merge_id) in r.json()["errors"][0]["message"]


async def test_unknown_merges_are_not_found(client: OrgClient, other_client: OrgClient) -> None:
    survivor = await register(other_client)
    victim = await wechat_customer(other_client)
    foreign = (await merge(other_client, survivor, victim)).json()["mergeId"]
    for merge_id in (foreign, 10**15, "x1"):
        r = await client.post(f"/v2/customers/merge/{merge_id}/undo")
        assert r.status_code == 404 and codes(r.json()) == [2200], r.text


async def test_an_undo_past_the_window_is_refused(harness: Harness) -> None:
    client = await make_org(harness, {**copy.deepcopy(CONFIG), "mergeUndoDays": 5})
    survivor = await register(client)
    victim = await wechat_customer(client)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    await execute(
        client.harness.app.state.db,
        "UPDATE customer_merge SET created_at = :at WHERE org_id = :o AND merge_id = :m",
        at=utcnow() - timedelta(days=5, minutes=1),
        o=client.org_id,
        m=merge_id,
    )
    r = await undo(client, merge_id)
    assert r.status_code == 422 and codes(r.json()) == [2202] and "5 days" in r.json()["errors"][0]["message"]
    assert (await details(client, victim)).status_code == 404  # nothing changed

    off = await make_org(harness, {**copy.deepcopy(CONFIG), "mergeUndoDays": 0})
    merge_id = (await merge(off, await register(off), await wechat_customer(off))).json()["mergeId"]
    r = await undo(off, merge_id)
    assert r.status_code == 422 and codes(r.json()) == [2202]


async def test_merge_undo_days_is_validated_like_the_other_keys(client: OrgClient) -> None:
    r = await client.get("/v2/org/config")
    assert r.status_code == 200, r.text
    config = r.json()
    assert config["mergeUndoDays"] == 30
    for bad in (-1, "7", 1.5, 4000):
        r = await client.put("/v2/org/config", json={**config, "mergeUndoDays": bad})
        assert r.status_code == 400, (bad, r.text)
        assert "mergeUndoDays" in r.text
    r = await client.put("/v2/org/config", json={**config, "mergeUndoDays": 0})
    assert r.status_code == 200, r.text


async def test_an_undo_after_the_erasure_of_a_customer_is_refused(client: OrgClient) -> None:
    number = mobile()
    survivor = await register(client, number)
    victim = await wechat_customer(client)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    status = await client.put(
        "/v2/customers/lookup/status",
        json={"label": "Pending Deletion", "reason": "GDPR art. 17"},
        params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
    )
    assert status.status_code == 200, status.text
    assert await client.harness.app.state.db.write(erase, client.org_id, survivor, "GDPR", utcnow()) == 1
    r = await undo(client, merge_id)
    assert r.status_code == 409 and codes(r.json()) == [2203]


async def test_an_undo_is_refused_once_the_survivor_was_merged_into_another(client: OrgClient) -> None:
    survivor = await register(client)
    victim = await wechat_customer(client)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    third = await register(client, source="FACEBOOK", account_id="FB-1")
    later = (await merge(client, third, survivor)).json()["mergeId"]
    r = await undo(client, merge_id)
    assert r.status_code == 409 and codes(r.json()) == [2204] and str(survivor) in r.text
    await undone(client, later)  # undone in order, both go back
    await undone(client, merge_id)
    assert (await details(client, victim)).status_code == 200


# The record of an undo -------------------------------------------------------------------


async def test_an_undo_shows_in_both_histories_the_change_requests_and_the_merges_list(
    harness: Harness,
) -> None:
    client = await person_org(harness)  # the export reads the user namespace's source too
    survivor = await register(client)
    victim = await wechat_customer(client)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    await undone(client, merge_id)

    for cid in (survivor, victim):
        logged = [
            (h.kind, h.field_name, h.current_value) for h in await history(client.harness, client.org_id, cid)
        ]
        assert ("MERGE", "mergeUndone", str(merge_id)) in logged
        r = await client.get(f"/user/history/{cid}")
        assert r.status_code == 200, r.text
        assert any('"mergeUndone"' in (i["new_data"] or "") for i in r.json()["history"])
        (item,) = await merges_of(client, cid)
        assert (item["mergeId"], item["undone"]) == (merge_id, True)
        # The change log as the export (and the console) reads it.
        r = await client.get(f"/v2/customers/{cid}/export")
        assert r.status_code == 200, r.text
        assert ("mergeUndone", str(merge_id)) in [(h["field"], h["after"]) for h in r.json()["history"]]
    victim_log = await history(client.harness, client.org_id, victim)
    assert ("mergedInto", str(survivor), None) in [
        (h.field_name, h.previous_value, h.current_value) for h in victim_log
    ]

    requests = await change_requests(client, survivor)
    assert [(r["mergeId"], r["undo"], r["mergedCustomerId"]) for r in requests] == [
        (merge_id, True, victim),
        (merge_id, False, victim),
    ]
    assert requests[0]["changeType"] == "MERGE"
    stored = await rows(
        client.harness.app.state.db,
        "SELECT undone_at, undo_till_id, undo_request_id FROM customer_merge"
        " WHERE org_id = :o AND merge_id = :m",
        o=client.org_id,
        m=merge_id,
    )
    assert stored[0].undone_at is not None and stored[0].undo_till_id and stored[0].undo_request_id
