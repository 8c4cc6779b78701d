"""GET /v2/customers/{id}/export: one customer's data as one streamed document, every section
read through the API's own reads, masked as the user API masks, and scoped to the org."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from patron.security.ratelimit import EXPORT_CUSTOMER
from patron.transfer import customer_export
from tests.api.test_identifiers import WECHAT, change, register
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.engagement.test_coupons import SERIES
from tests.loyalty.support import LOYALTY
from tests.support import codes, email, mobile, rows, token
from tests.users.test_finance import bank_body, card_body, new_bank_number, new_iban, new_pan
from tests.webhooks.receiver import Receiver

EXPORT_CONFIG: dict[str, Any] = {
    **copy.deepcopy(CONFIG),
    "sources": {**CONFIG["sources"], "WEBSITE": []},
    "loyaltyPrograms": copy.deepcopy(LOYALTY["loyaltyPrograms"]),
    "couponSeries": copy.deepcopy(SERIES),
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
async def org(harness: Harness) -> OrgClient:
    return await make_org(harness, EXPORT_CONFIG)


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def _customer(org: OrgClient, receiver: Receiver) -> tuple[int, str, str]:
    """An INSTORE customer joined by a user (WEBSITE) of the same email, with a card, a
    bank account, a purchase, a redemption, a coupon, a subscription and a delivered event."""
    ok(await org.post("/v2/webhooks", json={"url": receiver.url(), "enabled": True}), 201)
    address = email()
    instore = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [
            {
                "firstName": "Ada",
                "lastName": "Byron",
                "source": "INSTORE",
                "identifiers": [{"type": "email", "value": address}, {"type": "mobile", "value": mobile()}],
            }
        ],
    }
    uid = int(ok(await org.post("/v2/customers", json=instore))["createdId"])
    body = {"personal_info": {"first_name": "Ada", "last_name": "Byron"}, "email": [{"address": address}]}
    assert int(ok(await org.post("/user", json=body))["info"]["id"]) == uid  # joins the customer
    pan, account = new_pan(), new_bank_number()
    ok(await org.post(f"/user/credit_card/{uid}", json=card_body(pan)))
    ok(await org.post(f"/user/bank_account/{uid}", json=bank_body(account, new_iban())))
    bill = {"type": "REGULAR", "billNumber": token("B"), "billAmount": 2500, "customer": {"id": uid}}
    ok(await org.post("/v2/transactions", json=bill))
    ok(await org.post("/v2/points/redeem", json={"customer": {"id": uid}, "points": 40}))
    ok(await org.post("/v2/coupons/issue", json={"seriesId": SERIES[0]["seriesId"], "customer": {"id": uid}}))
    subscription = {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"}
    ok(await org.post(f"/v2/customers/{uid}/subscriptions", json={"subscriptions": [subscription]}))
    await receiver.wait_for(lambda got: len(got) >= 1)
    return uid, pan, account


async def _export(org: OrgClient, customer_id: int, **kwargs: Any) -> Any:
    r = await org.get(f"/v2/customers/{customer_id}/export", **kwargs)
    return r


async def _delivered(org: OrgClient, customer_id: int) -> dict[str, Any]:
    """The export once the customer's first event shows delivered (the worker marks it after
    the receiver answered)."""
    for _ in range(100):
        doc: dict[str, Any] = ok(await _export(org, customer_id))
        if doc["events"] and any(d["status"] == "delivered" for d in doc["events"][0]["deliveries"]):
            return doc
        await asyncio.sleep(0.1)  # the worker marks the delivery after the receiver answered
    raise AssertionError("no delivered event in the export")


async def test_the_export_holds_every_section_masked(org: OrgClient, receiver: Receiver) -> None:
    uid, pan, account = await _customer(org, receiver)
    doc = await _delivered(org, uid)
    assert doc["format"] == customer_export.FORMAT and doc["orgId"] == org.org_id and doc["customerId"] == uid
    assert doc["exportedAt"].endswith("Z") and doc["erased"] is False and doc["erasure"] is None
    # The record in every source, as Fetch Customer Details answers it with source=ALL.
    sources = {p["source"] for p in doc["customer"]["profiles"]}
    assert sources == {"WEBSITE", "INSTORE"}, sources
    assert doc["customer"]["id"] == uid and doc["customer"]["loyaltyProgramDetails"]
    # The user namespace's records, masked as Get User masks them.
    user = doc["user"]
    assert user["info"]["id"] == uid
    card, bank = user["credit_card"][0], user["bank_account"][0]
    text = str(doc)
    assert pan not in text and account not in text
    assert card["number"] == pan[:6] + "*" * 6 + pan[-4:], card["number"]
    assert bank["number"].endswith(account[-4:]) and "*" in bank["number"]
    assert user["security"] is None or "password" not in str(user["security"]).lower()
    assert "security_code" not in card or card["security_code"] in (None, "", "____")
    # Loyalty: the summary, the purchase and the redemption in the ledger, the bill.
    [club] = [p for p in doc["loyalty"]["programs"] if p["programId"] == 1016]
    kinds = [e["kind"] for e in club["ledger"]]
    assert "earn" in kinds and "redeem" in kinds, kinds
    assert club["summary"]["loyaltyPoints"] == sum(e["points"] for e in club["ledger"])
    [purchase] = doc["loyalty"]["bills"]
    assert purchase["type"] == "REGULAR" and purchase["billAmount"] == 2500
    # Engagement.
    assert [c["seriesId"] for c in doc["coupons"]] == [SERIES[0]["seriesId"]]
    [instore] = [s for s in doc["subscriptions"] if s["source"] == "INSTORE"]
    assert {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"} in instore["subscriptions"]
    assert set(doc["referrals"]) >= {"referralCode", "invitees", "referee", "incentives"}
    assert doc["groups"] == [] and doc["changeRequests"] and doc["goodwillRequests"] == []
    assert doc["retroRequests"] == []
    # History of both surfaces, oldest first; events with payloads and their delivery.
    surfaces = {h["surface"] for h in doc["history"]}
    assert {"user", "v2"} <= surfaces, surfaces
    ids = [h["id"] for h in doc["history"]]
    assert ids == sorted(ids)
    first = doc["events"][0]
    assert first["eventName"] == "customerAdded" and first["payload"]
    assert first["deliveries"][0]["status"] == "delivered"
    assert "secret" not in str(first["deliveries"]).lower()


async def test_the_ledger_streams_page_by_page(org: OrgClient, receiver: Receiver, monkeypatch: Any) -> None:
    uid, _, _ = await _customer(org, receiver)
    for n in range(3):
        bill = {"type": "REGULAR", "billNumber": f"P-{n}", "billAmount": 100 + n, "customer": {"id": uid}}
        ok(await org.post("/v2/transactions", json=bill))
    whole = ok(await _export(org, uid))
    monkeypatch.setattr(customer_export.ledger_pages, "__defaults__", (2,))
    monkeypatch.setattr(customer_export.bill_pages, "__defaults__", (2,))
    monkeypatch.setattr(customer_export.history_pages, "__defaults__", (2,))
    monkeypatch.setattr(customer_export.event_pages, "__defaults__", (2,))
    paged = ok(await _export(org, uid))
    for key in ("loyalty", "history", "events", "customer", "user", "coupons"):
        assert paged[key] == whole[key], key
    assert len(paged["loyalty"]["bills"]) == 4


async def test_another_orgs_customer_and_an_unknown_id_are_8015(
    org: OrgClient, other_client: OrgClient
) -> None:
    cid = await register(org)
    r = await _export(other_client, cid)
    assert r.status_code == 404 and codes(r.json()) == [8015], r.text
    r = await _export(org, 999_999_999_999)
    assert r.status_code == 404 and codes(r.json()) == [8015], r.text
    r = await _export(org, "12ab")  # type: ignore[arg-type]
    assert r.status_code == 404 and codes(r.json()) == [8015], r.text


async def test_a_merged_id_is_8069_naming_the_survivor(org: OrgClient) -> None:
    number = mobile()
    survivor = await register(org, number)
    victim = await register(
        org, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
    )
    ok(await change(org, victim, add=[{"type": "mobile", "value": number}], where=WECHAT))
    r = await _export(org, victim)
    assert r.status_code == 404 and codes(r.json()) == [8069], r.text
    assert str(survivor) in r.json()["errors"][0]["message"]
    assert ok(await _export(org, survivor))["customerId"] == survivor


async def test_an_erased_customer_says_so(org: OrgClient) -> None:
    cid = await register(org)
    ok(await org.request("DELETE", f"/user/{cid}"))
    doc = ok(await _export(org, cid))
    assert doc["erased"] is True and doc["erasure"] is not None


async def test_a_v2_customer_exports_its_user_view_without_writing(org: OrgClient) -> None:
    """Get User gives a v2 identifier its user record on the first read; the export, read
    only, shows it with id 0 and writes nothing."""
    number = mobile()
    cid = await register(org, number)
    doc = ok(await _export(org, cid))
    [phone] = doc["user"]["phone"]
    assert phone["id"] == 0 and phone["number"] == "+" + number
    stored = await rows(
        org.harness.app.state.db,
        "SELECT record_id FROM user_record WHERE org_id = :org_id AND customer_id = :cid",
        org_id=org.org_id,
        cid=cid,
    )
    assert stored == []


async def test_the_export_is_rate_limited_per_org(harness: Harness) -> None:
    limited = await make_org(harness, {**EXPORT_CONFIG, "rateLimitsPerHour": {EXPORT_CUSTOMER: 1}})
    cid = await register(limited)
    ok(await _export(limited, cid))
    r = await _export(limited, cid)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, r.text
