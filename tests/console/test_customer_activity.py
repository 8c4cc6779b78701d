"""The customer's activity in the console (console/customer_activity.py), in headless
Chromium on SQLite and PostgreSQL: coupons, subscriptions, user-namespace records (numbers
masked), the history of both API surfaces with the till of each change, paged (htmx and plain
links), the events with their delivery per webhook endpoint, org isolation, and axe-core at
1280 and 390 px on each state."""

from __future__ import annotations

import copy
from typing import Any

from playwright.async_api import Page, expect
from tests.conftest import CONFIG, OrgClient, make_org
from tests.console.conftest import Served, check_page, sign_in
from tests.support import register_body
from tests.users.test_finance import bank_body, new_bank_number, new_iban

from patron.orgs import service as orgs

WELCOME = {
    "seriesId": 11,
    "description": "Welcome 10%",
    "discountType": "PERC",
    "discountValue": 10,
    "discountUpto": 500,
    "validityDays": 30,
    "maxRedemptions": 1,
    "codeLength": 8,
}
DELIVERY_STATES = {"pending", "failed", "delivered", "dead letter"}


def _config() -> dict[str, Any]:
    config = {**copy.deepcopy(CONFIG), "couponSeries": [WELCOME]}
    config["sources"]["WEBSITE"] = []  # the user namespace's userSource
    return config


def ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()


async def _second_till(served: Served, org: OrgClient) -> OrgClient:
    app = served.harness.app
    creds = await app.state.db.write(
        orgs.create_till, app.state.authenticator.keys, org_id=org.org_id, role="till"
    )
    return OrgClient(org.org_id, creds.username, creds.password, served.harness)


async def _register(org: OrgClient, first: str = "Tom") -> int:
    return int(ok(await org.post("/v2/customers", json=register_body(first=first)))["createdId"])


async def _open(page: Page, served: Served, cid: int) -> None:
    """The customer's page with its activity; the activity page of its own while the
    customer's page does not include the fragment."""
    await page.goto(f"/console/customers/{cid}")
    if await page.get_by_test_id("activity-history").count() == 0:
        await page.goto(f"/console/customers/{cid}/activity")
    await expect(page.get_by_test_id("activity-history")).to_be_visible()


async def test_the_activity_shows_both_surfaces_events_records_and_pages(served: Served, page: Page) -> None:
    org = await make_org(served.harness, _config())
    ok(await org.post("/v2/webhooks", json={"url": "http://127.0.0.1:9/hook", "enabled": True}))
    cid = await _register(org)
    for n in range(20):  # enough changes for a second page of history
        r = await org.put(
            f"/v2/customers/{cid}",
            params={"source": "INSTORE"},
            json={"profiles": [{"source": "INSTORE", "firstName": f"Huck{n}"}]},
        )
        ok(r)
    till2 = await _second_till(served, org)
    number = new_bank_number()
    bank = bank_body(number, new_iban())
    answer = ok(await till2.post(f"/user/bank_account/{cid}", json=bank))
    assert answer["result"]["code"] == "0000", answer
    ok(await org.post("/v2/coupons/issue", json={"seriesId": 11, "customer": {"id": cid}}))
    ok(
        await org.post(
            f"/v2/customers/{cid}/subscriptions",
            json={"subscriptions": [{"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT"}]},
        )
    )

    await sign_in(page, org.username, org.password)
    await _open(page, served, cid)
    engine = served.harness.engine

    # Coupons and subscriptions, as the API's reads give them.
    await expect(page.get_by_test_id("activity-coupon")).to_have_count(1)
    await expect(page.get_by_test_id("activity-coupon")).to_contain_text("Welcome 10%")
    optout = page.locator('[data-testid="activity-subscription"][data-channel="EMAIL"][data-priority="BULK"]')
    await expect(optout.first).to_contain_text("OPTOUT")
    await expect(page.get_by_test_id("activity-referrals")).to_contain_text("No referrals.")
    await expect(page.get_by_test_id("activity-groups")).to_contain_text("No groups.")

    # The bank account, masked as the user API masks it (first 2 + last 4).
    record = page.locator('[data-testid="user-record"][data-kind="bank_account"]')
    await expect(record).to_have_count(1)
    await expect(record).to_contain_text(number[:2] + "****" + number[-4:])
    assert number not in await page.content()

    # History: newest first, the user namespace's change by the second till on top.
    entries = page.get_by_test_id("history-entry")
    await expect(entries).to_have_count(20)
    first = entries.first
    assert await first.get_attribute("data-surface") == "user"
    till2_code = till2.username.split("@")[0]
    await expect(first.get_by_test_id("history-till")).to_contain_text(till2_code)
    assert number not in (await first.inner_text())
    v2 = page.locator('[data-testid="history-entry"][data-surface="v2"]').first
    await expect(v2).to_contain_text("Huck19")
    await expect(v2.get_by_test_id("history-till")).to_contain_text(org.username.split("@")[0])
    stamps = [await t.get_attribute("datetime") or "" for t in await entries.locator("time").all()]
    assert stamps == sorted(stamps, reverse=True)

    # Events with their delivery to the endpoint.
    events = page.get_by_test_id("activity-event")
    await expect(events).to_have_count(20)  # the newest 20; customerAdded is on the next page
    assert await page.locator('[data-testid="activity-event"][data-event="customerUpdated"]').count() >= 1
    deliveries = page.get_by_test_id("event-delivery")
    assert await deliveries.count() >= 1
    for d in await deliveries.all():
        assert await d.get_attribute("data-status") in DELIVERY_STATES
    assert await events.count() >= 2
    await check_page(page, engine, "customer-activity")

    # Paging the history with htmx: the section alone is swapped and the address follows.
    assert await page.evaluate("typeof window.htmx") == "object"
    oldest_first_page = await entries.last.get_attribute("data-field")
    assert oldest_first_page
    await page.get_by_test_id("history-older").click()
    await expect(page.get_by_test_id("history-newer")).to_be_visible()
    assert "history_page=2" in page.url
    older = page.get_by_test_id("history-entry")
    assert 1 <= await older.count() <= 20
    await expect(page.get_by_test_id("activity-coupons")).to_be_visible()  # the rest stays
    await check_page(page, engine, "customer-activity-history-2")

    # The same page as a plain link (no JS): a full page at that history page.
    await page.goto(page.url)
    await expect(page.get_by_test_id("history-newer")).to_be_visible()
    await page.get_by_test_id("events-older").click()
    added = page.locator('[data-testid="activity-event"][data-event="customerAdded"]')
    await expect(added).to_have_count(1)
    for d in await added.get_by_test_id("event-delivery").all():
        assert await d.get_attribute("data-status") in DELIVERY_STATES
    assert "events_page=2" in page.url and "history_page=2" in page.url
    await check_page(page, engine, "customer-activity-events-2")
    plain = await page.request.get(f"/console/customers/{cid}/history?page=2", max_redirects=0)
    assert plain.status == 303
    assert plain.headers["location"] == f"/console/customers/{cid}?history_page=2#activity-history"


async def test_an_empty_customer_and_the_refusals(served: Served, page: Page) -> None:
    org = await make_org(served.harness, _config())
    cid = await _register(org, first="Quiet")
    other = await make_org(served.harness, _config())
    theirs = await _register(other, first="Elsewhere")

    # Not signed in: to the sign-in page.
    await page.goto(f"/console/customers/{cid}/activity")
    await expect(page).to_have_url(f"{served.url}/console/login")

    await sign_in(page, org.username, org.password)
    await _open(page, served, cid)
    await expect(page.get_by_test_id("activity-coupons")).to_contain_text("No coupons.")
    await expect(page.get_by_test_id("activity-referrals")).to_contain_text("No referrals.")
    await expect(page.get_by_test_id("activity-groups")).to_contain_text("No groups.")
    await expect(page.get_by_test_id("events-no-endpoint")).to_be_visible()
    await expect(page.get_by_test_id("event-delivery")).to_have_count(0)
    await expect(page.locator('[data-testid="activity-event"][data-event="customerAdded"]')).to_contain_text(
        "No endpoint"
    )
    await expect(page.get_by_test_id("history-entry").first).to_be_visible()
    assert await page.get_by_test_id("history-older").count() == 0
    await check_page(page, served.harness.engine, "customer-activity-empty")

    # Another org's customer is not found, on the page and on the sections' routes.
    answer = await page.goto(f"/console/customers/{theirs}/activity")
    assert answer is not None and answer.status == 404
    assert "Elsewhere" not in await page.content()
    await check_page(page, served.harness.engine, "customer-activity-not-found")
    for section in ("history", "events"):
        r = await page.request.get(
            f"/console/customers/{theirs}/{section}?page=1", headers={"HX-Request": "true"}
        )
        assert r.status == 404
        assert "Elsewhere" not in await r.text()
    r = await page.request.get("/console/customers/abc/activity")
    assert r.status == 404
