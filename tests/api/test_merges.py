"""Merges recorded as change sets (issue 15): every merge answer carries its mergeId, the
merge is listed for both customers with what moved where, POST /v2/customers/merge merges
explicitly, and its preview writes nothing. Both engines."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx

from patron.customers.erasure import erase
from patron.db.base import utcnow
from tests.api.test_identifiers import WECHAT, card, change, details, register
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.engagement.test_coupons import WELCOME, issued
from tests.loyalty.support import loyalty_org, purchase
from tests.support import codes, email, history, mobile, outbox, register_body, rows, token
from tests.users.seed004 import request_of
from tests.users.test_profile import new_user

# Every table a merge writes, or could: a preview must leave each as it was.
TABLES = (
    "customer",
    "customer_profile",
    "customer_identifier",
    "card",
    "loyalty_enrollment",
    "points_ledger",
    "loyalty_bill",
    "customer_change",
    "change_request",
    "customer_merge",
    "outbox_event",
    "search_term",
)


async def merge(client: OrgClient, survivor: int, victim: int, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", {})
    body = {"survivorId": survivor, "victimId": victim, **extra}
    return await client.post("/v2/customers/merge", json=body, headers=headers)


async def merges_of(client: OrgClient, cid: int, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(f"/v2/customers/{cid}/merges", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def change_requests(client: OrgClient, cid: int) -> list[dict[str, Any]]:
    r = await client.get(f"/v2/customers/{cid}/changeRequest", params={"changeType": "MERGE"})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


# An org with the user namespace's source and a coupon series: customers with coupons,
# subscriptions and user-namespace records.
PERSON_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}, "couponSeries": [WELCOME]}


async def person_org(harness: Harness) -> OrgClient:
    return await make_org(harness, copy.deepcopy(PERSON_CONFIG))


async def subscribe(client: OrgClient, cid: int, *entries: tuple[str, str, str, str]) -> None:
    """Set subscriptions: (source, channel, priority, OPTIN | OPTOUT) each."""
    body = {
        "subscriptions": [
            {"sourceName": source, "channel": channel, "priority": priority, "type": status}
            for source, channel, priority, status in entries
        ]
    }
    r = await client.post(f"/v2/customers/{cid}/subscriptions", json=body)
    assert r.status_code == 200, r.text


async def held(client: OrgClient, cid: int) -> dict[str, list[Any]]:
    """The coupons, subscriptions and user-namespace records a customer holds."""
    db, o = client.harness.app.state.db, client.org_id
    coupons = await rows(
        db, "SELECT coupon_id FROM coupon WHERE org_id = :o AND customer_id = :c", o=o, c=cid
    )
    subscriptions = await rows(
        db,
        "SELECT source, account_id, channel, priority FROM customer_subscription"
        " WHERE org_id = :o AND customer_id = :c",
        o=o,
        c=cid,
    )
    records = await rows(
        db, "SELECT record_id, kind FROM user_record WHERE org_id = :o AND customer_id = :c", o=o, c=cid
    )
    return {
        "coupons": sorted(int(r.coupon_id) for r in coupons),
        "subscriptions": sorted(f"{r.source} {r.account_id} {r.channel} {r.priority}" for r in subscriptions),
        "userRecords": sorted((int(r.record_id), r.kind) for r in records),
    }


async def person_and_survivor(client: OrgClient) -> tuple[int, int]:
    """A user (WEBSITE profile, the seed's records) with a coupon and two opt-outs, and a v2
    customer holding a preferences record and one opt-out of the same key."""
    victim = await new_user(client)
    survivor = await register(client)
    await issued(client, victim)
    await subscribe(
        client, victim, ("WEBSITE", "EMAIL", "TRANS", "OPTOUT"), ("INSTORE", "SMS", "BULK", "OPTOUT")
    )
    await subscribe(client, survivor, ("INSTORE", "SMS", "BULK", "OPTOUT"))
    r = await client.put(f"/user/preferences/{survivor}", json=request_of("Update User Preferences"))
    assert r.status_code == 200 and r.json()["result"]["code"] == "0000", r.text
    return victim, survivor


async def wechat_customer(client: OrgClient, **kwargs: Any) -> int:
    """A customer whose only profile is WECHAT-CM."""
    extra = [{"type": "wechat", "value": token("wx")}]
    return await register(client, source="WECHAT", account_id="WECHAT-CM", extra=extra, **kwargs)


async def snapshot(client: OrgClient) -> dict[str, list[Any]]:
    """Every row of the org in the tables a merge touches."""
    db = client.harness.app.state.db
    found = {}
    for table in TABLES:
        found[table] = sorted(
            (
                tuple(sorted(vars(r).items(), key=lambda kv: kv[0]))
                for r in await _all(db, table, client.org_id)
            ),
            key=repr,
        )
    return found


async def _all(db: Any, table: str, org_id: int) -> list[Any]:
    return await rows(db, f"SELECT * FROM {table} WHERE org_id = :o", o=org_id)


async def ledger_ids(client: OrgClient, cid: int, program_id: int) -> list[int]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT entry_id FROM points_ledger WHERE org_id = :o AND customer_id = :c AND program_id = :p",
        o=client.org_id,
        c=cid,
        p=program_id,
    )
    return sorted(int(r.entry_id) for r in found)


async def bill_ids(client: OrgClient, cid: int, program_id: int) -> list[int]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT bill_id FROM loyalty_bill WHERE org_id = :o AND customer_id = :c AND program_id = :p",
        o=client.org_id,
        c=cid,
        p=program_id,
    )
    return sorted(int(r.bill_id) for r in found)


# Registration (8050) and changeIdentifier (8051) ------------------------------------------


async def test_a_registration_that_merges_answers_its_merge_id_and_records_what_it_added(
    client: OrgClient,
) -> None:
    number, wx = mobile(), token("wx")
    survivor = await register(client, number, extendedFields={"city": "Pune"})
    body = register_body(
        number,
        source="WECHAT",
        account_id="WECHAT-CM",
        extra=[{"type": "wechat", "value": wx}],
        extendedFields={"city": "Delhi", "gender": "Male"},
    )
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer)[:3] == ["createdId", "mergeId", "warnings"]
    assert answer["createdId"] == survivor and codes(answer, "warnings") == [8050]
    merge_id = answer["mergeId"]

    (item,) = await merges_of(client, survivor)
    assert (item["mergeId"], item["kind"], item["survivorId"], item["victimId"]) == (
        merge_id,
        "registration",
        survivor,
        None,
    )
    assert item["undone"] is False and item["undoneAt"] is None and item["till"]["id"] > 0
    added = item["changeSet"]["added"]
    assert added["profiles"] == [{"source": "WECHAT", "accountId": "WECHAT-CM"}]
    assert added["identifiers"] == sorted(
        [
            {"type": "mobile", "value": number, "source": "WECHAT", "accountId": "WECHAT-CM"},
            {"type": "wechat", "value": wx, "source": "WECHAT", "accountId": "WECHAT-CM"},
        ],
        key=lambda i: (i["type"], i["value"]),
    )
    # Registration never overwrites: only the field the survivor lacked was added.
    assert added["extendedFields"] == {"gender": "Male"}
    assert added["cards"] == [] and added["customFields"] == {}
    before = item["changeSet"]["survivorBefore"]
    assert before["extendedFields"] == {"city": "Pune"} and before["loyaltyType"] == "loyalty"

    (request,) = await change_requests(client, survivor)
    assert (request["mergeId"], request["mergedCustomerId"]) == (merge_id, None)
    logged = [
        (h.kind, h.field_name, h.current_value)
        for h in await history(client.harness, client.org_id, survivor)
    ]
    assert ("MERGE", "mergeId", str(merge_id)) in logged


async def test_a_changeidentifier_merge_answers_its_merge_id_and_both_customers_list_it(
    client: OrgClient,
) -> None:
    number = mobile()
    survivor = await register(client, number)
    victim = await wechat_customer(client)
    r = await change(client, victim, add=[{"type": "mobile", "value": number}], where=WECHAT)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ["createdId", "mergeId", "warnings"]
    assert answer["createdId"] == survivor and codes(answer, "warnings") == [8051]
    merge_id = answer["mergeId"]

    for cid in (survivor, victim):  # the merged-away id answers too
        (item,) = await merges_of(client, cid)
        assert (item["mergeId"], item["kind"], item["survivorId"], item["victimId"]) == (
            merge_id,
            "changeIdentifier",
            survivor,
            victim,
        )
    moved = item["changeSet"]["moved"]
    assert moved["profiles"] == [{"source": "WECHAT", "accountId": "WECHAT-CM"}]
    assert {"type": "mobile", "value": number, "source": "WECHAT", "accountId": "WECHAT-CM"} in moved[
        "identifiers"
    ]
    assert item["changeSet"]["victimBefore"]["version"] >= 1

    (request,) = await change_requests(client, survivor)
    assert (request["mergeId"], request["mergedCustomerId"]) == (merge_id, victim)
    survivor_log = await history(client.harness, client.org_id, survivor)
    victim_log = await history(client.harness, client.org_id, victim)
    assert ("mergeId", str(merge_id)) in [(h.field_name, h.current_value) for h in survivor_log]
    assert ("mergeId", str(merge_id)) in [(h.field_name, h.current_value) for h in victim_log]


async def test_a_change_without_a_merge_answers_no_merge_id(client: OrgClient) -> None:
    cid = await register(client)
    r = await change(client, cid, add=[{"type": "email", "value": email()}])
    assert r.status_code == 200 and "mergeId" not in r.json()
    assert await merges_of(client, cid) == []


# Explicit merges -----------------------------------------------------------------------


async def test_an_explicit_merge_folds_the_victim_into_the_survivor(client: OrgClient) -> None:
    survivor = await register(client)
    victim = await wechat_customer(client)
    events = len(await outbox(client.harness, client.org_id))
    r = await merge(client, survivor, victim)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert set(answer) == {"mergeId", "survivorId", "victimId", "changeSet", "warnings"}
    assert (answer["survivorId"], answer["victimId"], answer["warnings"]) == (survivor, victim, [])

    gone = await details(client, victim)
    assert gone.status_code == 404 and codes(gone.json()) == [8069]
    merged = (await details(client, survivor)).json()
    assert {(p["source"], p["accountId"]) for p in merged["profiles"]} == {
        ("INSTORE", ""),
        ("WECHAT", "WECHAT-CM"),
    }
    raised = (await outbox(client.harness, client.org_id))[events:]
    assert [e["eventType"] for e in raised] == ["customerUpdated"]

    (item,) = await merges_of(client, victim)
    assert (item["mergeId"], item["kind"], item["changeSet"]) == (
        answer["mergeId"],
        "explicit",
        answer["changeSet"],
    )
    (request,) = await change_requests(client, survivor)
    assert (request["mergeId"], request["mergedCustomerId"], request["status"]) == (
        answer["mergeId"],
        victim,
        "APPROVED",
    )


async def test_an_explicit_merge_is_refused_as_the_identifier_merge_is(
    client: OrgClient, other_client: OrgClient
) -> None:
    survivor = await register(client)
    same_account = await register(client)  # an INSTORE profile too
    victim = await wechat_customer(client)
    foreign = await register(other_client)

    r = await merge(client, survivor, survivor)
    assert r.status_code == 400 and codes(r.json()) == [400]
    r = await merge(client, survivor, 10**15)
    assert r.status_code == 404 and codes(r.json()) == [8009]
    r = await merge(client, foreign, victim)  # another org's id reads as unknown
    assert r.status_code == 404 and codes(r.json()) == [8009]
    r = await merge(client, survivor, same_account)
    assert r.status_code == 409 and codes(r.json()) == [8066]
    r = await client.post("/v2/customers/merge", json={"survivorId": "x", "victimId": victim})
    assert r.status_code == 400

    assert (await merge(client, survivor, victim)).status_code == 200
    for pair in ((survivor, victim), (victim, same_account)):
        r = await merge(client, *pair)
        assert r.status_code == 409 and codes(r.json()) == [8067]
        assert str(survivor) in r.json()["errors"][0]["message"]
    assert len(await merges_of(client, survivor)) == 1


async def test_an_explicit_merge_with_an_idempotency_key_is_applied_once(client: OrgClient) -> None:
    survivor = await register(client)
    victim = await wechat_customer(client)
    headers = {"Idempotency-Key": token("merge-")}
    first = await merge(client, survivor, victim, headers=headers)
    again = await merge(client, survivor, victim, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(await merges_of(client, survivor)) == 1


# Preview ----------------------------------------------------------------------------------


async def test_a_preview_writes_nothing_and_answers_the_change_set_of_the_merge(harness: Harness) -> None:
    client = await loyalty_org(harness)
    survivor = await register(client, mobile())
    victim = await wechat_customer(client)
    before = await snapshot(client)

    r = await merge(client, survivor, victim, preview=True)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["mergeId"] is None and preview["changeSet"]["moved"]["profiles"]
    assert await snapshot(client) == before  # no row, no history, no event, no merge
    assert (await details(client, victim)).status_code == 200
    assert await merges_of(client, victim) == []

    # A preview with an Idempotency-Key is not stored under it: nothing was written.
    headers = {"Idempotency-Key": token("preview-")}
    assert (await merge(client, survivor, victim, preview=True, headers=headers)).status_code == 200
    assert await snapshot(client) == before

    done = await merge(client, survivor, victim)
    assert done.status_code == 200, done.text
    assert done.json()["mergeId"] is not None
    assert done.json()["changeSet"] == preview["changeSet"]

    # A preview is refused as the merge would be.
    r = await merge(client, survivor, victim, preview=True)
    assert r.status_code == 409 and codes(r.json()) == [8067]


# The change set ----------------------------------------------------------------------------


async def test_the_change_set_lists_the_cards_enrollments_entries_and_bills_that_moved_and_stayed(
    harness: Harness,
) -> None:
    client = await loyalty_org(harness)
    survivor = await register(client, mobile(), extendedFields={"city": "Pune"})
    victim = await wechat_customer(client, extendedFields={"gender": "Female"})
    number = token("GOLD")
    r = await change(client, victim, add=[card(number, seriesId=19, statusLabel="ACTIVE")], where=WECHAT)
    assert r.status_code == 200, r.text
    assert (await purchase(client, victim, 80, token("V"), programId=2020)).status_code == 200
    assert (await purchase(client, victim, 300, token("V"))).status_code == 200  # 1016: both hold it
    moving_entries, moving_bills = (
        await ledger_ids(client, victim, 2020),
        await bill_ids(client, victim, 2020),
    )
    staying_entries, staying_bills = (
        await ledger_ids(client, victim, 1016),
        await bill_ids(client, victim, 1016),
    )
    assert moving_entries and moving_bills and staying_entries and staying_bills
    card_id = (await details(client, victim)).json()["cardDetails"][0]["id"]

    r = await merge(client, survivor, victim)
    assert r.status_code == 200, r.text
    change_set = r.json()["changeSet"]
    moved, stayed = change_set["moved"], change_set["stayed"]
    assert moved["cards"] == [{"cardId": card_id, "cardNumber": number}]
    assert {"type": "cardnumber", "value": number, "source": "WECHAT", "accountId": "WECHAT-CM"} in moved[
        "identifiers"
    ]
    assert (moved["enrollments"], moved["ledgerEntries"], moved["bills"]) == (
        [2020],
        moving_entries,
        moving_bills,
    )
    assert (stayed["enrollments"], stayed["ledgerEntries"], stayed["bills"]) == (
        [1016],
        staying_entries,
        staying_bills,
    )
    assert stayed["groupMemberships"] == stayed["coupons"] == stayed["userRecords"] == []
    assert moved["coupons"] == moved["subscriptions"] == moved["userRecords"] == []
    assert change_set["survivorBefore"]["extendedFields"] == {"city": "Pune"}
    assert change_set["victimBefore"]["extendedFields"] == {"gender": "Female"}
    # The ledger and the bills are where the change set says.
    assert await ledger_ids(client, survivor, 2020) == moving_entries
    assert await bill_ids(client, survivor, 2020) == moving_bills
    assert await ledger_ids(client, victim, 1016) == staying_entries


async def test_coupons_subscriptions_and_user_records_follow_the_person_unless_the_survivor_holds_their_key(
    harness: Harness,
) -> None:
    client = await person_org(harness)
    victim, survivor = await person_and_survivor(client)
    before = await held(client, victim)
    survivor_before = await held(client, survivor)
    preferences = [i for i, kind in before["userRecords"] if kind == "preferences"]
    assert before["coupons"] and len(before["userRecords"]) > 2 and preferences

    r = await merge(client, survivor, victim)
    assert r.status_code == 200, r.text
    moved, stayed = r.json()["changeSet"]["moved"], r.json()["changeSet"]["stayed"]
    assert moved["coupons"] == before["coupons"] and stayed["coupons"] == []
    # The survivor had an INSTORE SMS BULK entry already: the victim's stays with it.
    assert moved["subscriptions"] == ["WEBSITE  EMAIL TRANS"]
    assert stayed["subscriptions"] == ["INSTORE  SMS BULK"]
    # Preferences are one per customer, and the survivor has them; the survivor's first
    # user-namespace write gave it a primary phone record (its mobile), so the victim's
    # primary phone stays too.
    assert {kind for _, kind in survivor_before["userRecords"]} == {"preferences", "phone"}
    clashing = sorted(i for i, kind in before["userRecords"] if kind in ("preferences", "phone"))
    assert stayed["userRecords"] == clashing
    assert moved["userRecords"] == sorted(i for i, _ in before["userRecords"] if i not in clashing)
    # The rows are where the change set says.
    after = await held(client, survivor)
    assert after["coupons"] == moved["coupons"]
    assert after["subscriptions"] == sorted(survivor_before["subscriptions"] + moved["subscriptions"])
    assert {i for i, _ in after["userRecords"]} == {i for i, _ in survivor_before["userRecords"]} | set(
        moved["userRecords"]
    )
    left = await held(client, victim)
    assert (left["coupons"], left["subscriptions"]) == ([], stayed["subscriptions"])
    assert [i for i, _ in left["userRecords"]] == clashing


async def test_the_merges_list_pages_newest_first_and_refuses_unknown_ids(client: OrgClient) -> None:
    survivor = await register(client)
    first = await wechat_customer(client)
    second = await register(client, source="FACEBOOK", account_id="FB-1")
    ids = []
    for victim in (first, second):
        r = await merge(client, survivor, victim)
        assert r.status_code == 200, r.text
        ids.append(r.json()["mergeId"])
    page = (await client.get(f"/v2/customers/{survivor}/merges", params={"limit": 1})).json()
    assert page["customerId"] == survivor and page["pagination"]["total"] == 2
    assert [m["mergeId"] for m in page["data"]] == [ids[1]]
    assert [m["mergeId"] for m in await merges_of(client, survivor, limit=1, offset=1)] == [ids[0]]
    assert [m["mergeId"] for m in await merges_of(client, second)] == [ids[1]]
    r = await client.get("/v2/customers/999999999999/merges")
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await client.get(f"/v2/customers/{survivor}/merges", params={"limit": 0})
    assert r.status_code == 400


async def test_erasing_a_customer_erases_the_change_sets_of_its_merges(client: OrgClient) -> None:
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
    db = client.harness.app.state.db
    assert await db.write(erase, client.org_id, survivor, "GDPR art. 17", utcnow()) == 1
    (item,) = await merges_of(client, victim)
    assert (item["mergeId"], item["changeSet"]) == (merge_id, {"erased": True})
    assert number not in repr(await snapshot(client))
    survivor_log = await history(client.harness, client.org_id, survivor)
    assert ("mergeId", str(merge_id)) in [(h.field_name, h.current_value) for h in survivor_log]


async def test_the_users_history_shows_the_merge_id(client: OrgClient) -> None:
    survivor = await register(client)
    victim = await wechat_customer(client)
    merge_id = (await merge(client, survivor, victim)).json()["mergeId"]
    r = await client.get(f"/user/history/{survivor}")
    assert r.status_code == 200, r.text
    shown = [json.loads(i["new_data"]) for i in r.json()["history"] if i["new_data"]]
    assert {"mergeId": str(merge_id)} in shown


def test_the_merge_knows_every_record_kind_kept_once_per_customer() -> None:
    from patron.customers.repository import SINGLE_RECORD_KINDS
    from patron.users.service import SINGLE_KINDS

    assert SINGLE_RECORD_KINDS == SINGLE_KINDS
