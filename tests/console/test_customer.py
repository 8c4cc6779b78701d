"""The customer's page in headless Chromium against a real server, on SQLite and PostgreSQL:
the record, identifiers and loyalty figures the API reads, the ledger's paging, the status
form (with its outbox event), goodwill points, the typed confirmation of the PII erasure,
and the refusals (CSRF, another org's customer, no session)."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect
from tests.conftest import OrgClient, make_org
from tests.console.conftest import Served, check_page, sign_in
from tests.loyalty.support import loyalty_org, purchase
from tests.support import email, execute, mobile, outbox, register_body, rows, token

from patron.customers.erasure import erase_due
from patron.db.base import utcnow

_ERASURE = "SELECT reason FROM erasure_request WHERE org_id = :org_id AND customer_id = :customer_id"


async def _customer(org: OrgClient) -> tuple[int, str, str]:
    """A loyalty customer with a mobile, an email and a card (registration points: 100)."""
    number, mail, card = mobile(), email(), token("CARD")
    extra = [{"type": "email", "value": mail}, {"type": "cardnumber", "value": card, "seriesId": 19}]
    r = await org.post("/v2/customers", json=register_body(number, first="Ada", last="Lovelace", extra=extra))
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"]), number, card


async def _balance(org: OrgClient, customer_id: int, program_id: int = 1016) -> int:
    r = await org.get(f"/v2/customers/{customer_id}/loyaltyDetails", params={"programId": str(program_id)})
    assert r.status_code == 200, r.text
    return int(r.json()["data"][0]["loyaltyPoints"])


def _balance_of(page: Page, program_id: int = 1016) -> Any:
    return page.locator(f'[data-testid="loyalty-balance"][data-program="{program_id}"]')


async def test_the_page_shows_the_record_and_changes_its_status(served: Served, page: Page) -> None:
    engine = served.harness.engine
    org = await loyalty_org(served.harness)
    cid, number, card = await _customer(org)
    assert (await purchase(org, cid, 500, token("B"))).status_code == 200  # earns 50 (earnRate 0.1)

    await sign_in(page, org.username, org.password)
    await page.goto(f"/console/customers/{cid}")
    await expect(page.get_by_test_id("customer-name")).to_have_text("Ada Lovelace")
    await expect(page.get_by_test_id("customer-id")).to_have_text(str(cid))
    await expect(page.get_by_test_id("customer-status")).to_have_text("Active")
    identifiers = page.get_by_test_id("customer-identifiers")
    for text in ("INSTORE", number, card, "GOLDPHY98, ACTIVE"):
        await expect(identifiers).to_contain_text(text)
    await expect(_balance_of(page)).to_have_text("150")  # registration 100 + purchase 50
    await expect(_balance_of(page, 2020)).to_have_count(0)  # not in the second program
    program = page.locator('[data-testid="program"][data-program="1016"]')
    await expect(program.get_by_test_id("loyalty-tier")).to_contain_text("Silver")
    await expect(program.get_by_test_id("loyalty-lifetime")).to_have_text("150")
    await expect(program.get_by_test_id("ledger-entry")).to_have_count(2)
    await expect(program.get_by_test_id("ledger-entry").first).to_contain_text("Purchase")
    # Both credits expire 365 days after they were written, soonest first.
    schedule = program.get_by_test_id("expiry-schedule").locator("tbody tr")
    await expect(schedule).to_have_count(2)
    await expect(schedule.first).to_contain_text("100")
    await expect(schedule.last).to_contain_text("50")
    await check_page(page, engine, "customer")

    # An empty reason is refused beside its field, nothing written.
    form = page.get_by_test_id("status-form")
    await form.get_by_test_id("status-label").select_option("Inactive")
    await form.get_by_test_id("status-submit").click()
    await expect(page.get_by_test_id("reason-error")).to_have_text("Give the reason of the change.")
    await expect(page.get_by_test_id("status-reason")).to_have_attribute("aria-describedby", "reason-error")
    await expect(page.get_by_test_id("customer-status")).to_have_text("Active")
    await check_page(page, engine, "customer-status-refused")
    assert not [e for e in await outbox(served.harness, org.org_id) if e["eventType"] == "customerUpdated"]

    await page.get_by_test_id("status-label").select_option("Inactive")
    await page.get_by_test_id("status-reason").fill("Asked at the counter")
    await page.get_by_test_id("status-submit").click()
    await expect(page.get_by_test_id("done")).to_have_text("The status was changed.")
    await expect(page.get_by_test_id("customer-status")).to_have_text("Inactive")
    await check_page(page, engine, "customer-status-changed")
    # The same event the API raises, attributed to the signed-in till.
    [event] = [e for e in await outbox(served.harness, org.org_id) if e["eventType"] == "customerUpdated"]
    status = event["attributes"]["data"]["customerStatus"]
    assert (status["previousLabel"], status["currentLabel"], status["reason"]) == (
        "Active",
        "Inactive",
        "Asked at the counter",
    )
    r = await org.get(f"/v2/customers/{cid}", params={"source": "ALL"})
    assert r.json()["profiles"][0]["attribution"]["modifiedBy"]["code"] == org.username.split("@")[0]
    # The history says the console made it, by the signed-in till; the registration came
    # through the v2 API, by the same till.
    newest = page.get_by_test_id("history-entry").first
    await expect(newest).to_have_attribute("data-surface", "console")
    await expect(newest).to_contain_text("Inactive")
    await expect(newest.get_by_test_id("history-till")).to_contain_text(org.username.split("@")[0])
    await expect(page.locator('[data-testid="history-entry"][data-surface="v2"]').first).to_be_visible()


async def test_goodwill_points_through_the_api_flow(served: Served, page: Page) -> None:
    engine = served.harness.engine
    org = await loyalty_org(served.harness)
    cid, _, _ = await _customer(org)
    await sign_in(page, org.username, org.password)
    await page.goto(f"/console/customers/{cid}")
    await expect(_balance_of(page)).to_have_text("100")

    form = page.get_by_test_id("goodwill-form")
    await form.get_by_test_id("goodwill-points").fill("0")
    await form.get_by_test_id("goodwill-submit").click()
    await expect(page.get_by_test_id("points-error")).to_contain_text("whole number of points")
    await expect(page.get_by_test_id("goodwill_reason-error")).to_have_text(
        "Give the reason of the goodwill."
    )
    await expect(_balance_of(page)).to_have_text("100")

    # Approved at once (the API's autoApprove): credited.
    await page.get_by_test_id("goodwill-points").fill("40")
    await page.get_by_test_id("goodwill-reason").fill("Late delivery")
    await page.get_by_test_id("goodwill-submit").click()
    await expect(page.get_by_test_id("done")).to_have_text("The goodwill points were credited.")
    await expect(_balance_of(page)).to_have_text("140")
    assert await _balance(org, cid) == 140
    await expect(page.get_by_test_id("goodwill-request")).to_have_count(1)
    await check_page(page, engine, "customer-goodwill")

    # Not approved now: PENDING, then approved from the list.
    await page.get_by_test_id("goodwill-points").fill("25")
    await page.get_by_test_id("goodwill-reason").fill("Broken voucher")
    await page.get_by_test_id("goodwill-approve").uncheck()
    await page.get_by_test_id("goodwill-submit").click()
    await expect(page.get_by_test_id("done")).to_contain_text("waits for an approval")
    await expect(_balance_of(page)).to_have_text("140")
    pending = page.locator('[data-testid="goodwill-request"][data-status="PENDING"]')
    await expect(pending).to_have_count(1)
    await check_page(page, engine, "customer-goodwill-pending")
    await pending.get_by_test_id("goodwill-approve-request").click()
    await expect(page.get_by_test_id("done")).to_contain_text("approved")
    await expect(_balance_of(page)).to_have_text("165")
    r = await org.get(f"/v2/customers/{cid}/goodwillRequest")
    assert [(g["goodwillStatus"], g["oneStep"], g["reason"]) for g in r.json()["data"]] == [
        ("APPROVED", False, "Broken voucher"),
        ("APPROVED", True, "Late delivery"),
    ]


async def test_the_erasure_needs_the_typed_id(served: Served, page: Page) -> None:
    engine = served.harness.engine
    org = await loyalty_org(served.harness, erasureGraceSeconds=3600)
    db = served.harness.app.state.db
    cid, _, _ = await _customer(org)
    await sign_in(page, org.username, org.password)
    await page.goto(f"/console/customers/{cid}")

    await page.get_by_test_id("erase-reason").fill("The customer asked")
    await page.get_by_test_id("erase-confirm").fill(str(cid + 1))
    await page.get_by_test_id("erase-submit").click()
    await expect(page.get_by_test_id("confirm-error")).to_contain_text(f"Type the customer's id, {cid}")
    await expect(page.get_by_test_id("customer-status")).to_have_text("Active")
    await check_page(page, engine, "customer-erase-refused")

    await page.get_by_test_id("erase-confirm").fill(str(cid))
    await page.get_by_test_id("erase-submit").click()
    await expect(page.get_by_test_id("done")).to_contain_text("erasure")
    await expect(page.get_by_test_id("customer-status")).to_have_text("Pending Deletion")
    await expect(page.get_by_test_id("erasure-state")).to_contain_text("The customer asked")
    await check_page(page, engine, "customer-erase")
    [event] = [e for e in await outbox(served.harness, org.org_id) if e["eventType"] == "customerUpdated"]
    status = event["attributes"]["data"]["customerStatus"]
    assert (status["currentLabel"], status["reason"]) == ("Pending Deletion", "The customer asked")
    (filed,) = await rows(db, _ERASURE, org_id=org.org_id, customer_id=cid)
    assert filed.reason == "The customer asked"

    # Once due, the erasure pass (the worker's) erases; the page says so and offers no forms.
    await execute(
        db, "UPDATE erasure_request SET due_at = :t WHERE org_id = :org_id", t=utcnow(), org_id=org.org_id
    )
    await erase_due(db, utcnow())
    await page.goto(f"/console/customers/{cid}")
    await expect(page.get_by_test_id("customer-status")).to_have_text("Deleted")
    await expect(page.get_by_test_id("erased")).to_be_visible()
    await expect(page.get_by_test_id("status-form")).to_have_count(0)
    await expect(page.get_by_test_id("identifier")).to_have_count(0)
    await check_page(page, engine, "customer-erased")


async def test_the_ledger_pages_newest_first(served: Served, page: Page) -> None:
    org = await loyalty_org(served.harness)
    cid, _, _ = await _customer(org)
    for i in range(22):  # with the registration entry: 23 entries, 20 + 3
        r = await purchase(org, cid, 10 * (i + 1), f"BILL-{cid}-{i:02d}")
        assert r.status_code == 200, r.text
    await sign_in(page, org.username, org.password)
    await page.goto(f"/console/customers/{cid}")
    entries = page.locator('[data-testid="ledger"][data-program="1016"] [data-testid="ledger-entry"]')
    await expect(entries).to_have_count(20)
    await expect(entries.first).to_contain_text(f"BILL-{cid}-21")
    await expect(page.get_by_test_id("ledger-newer")).to_have_count(0)
    # With htmx the ledger swaps in place.
    await page.get_by_test_id("ledger-older").click()
    await expect(entries).to_have_count(3)
    await expect(entries.last).to_contain_text("Registration")
    await expect(page.get_by_test_id("customer-name")).to_have_text("Ada Lovelace")
    await expect(page).to_have_url(f"{served.url}/console/customers/{cid}?ledger_page_1016=2#ledger-1016")
    await check_page(page, served.harness.engine, "customer-ledger-2")
    await page.get_by_test_id("ledger-newer").click()
    await expect(entries).to_have_count(20)
    # Without JavaScript, the same links are plain pages.
    await page.goto(f"/console/customers/{cid}?ledger_page_1016=2")
    await expect(entries).to_have_count(3)
    href = await page.get_by_test_id("ledger-newer").get_attribute("href")
    assert href == f"/console/customers/{cid}?ledger_page_1016=1#ledger-1016"
    # The ledger's own route, asked for as a page, is the customer's page at that ledger page.
    answer = await page.context.request.get(f"/console/customers/{cid}/ledger/1016?page=2", max_redirects=0)
    assert answer.status == 303
    assert answer.headers["location"] == f"/console/customers/{cid}?ledger_page_1016=2#ledger-1016"


async def test_refusals(served: Served, page: Page) -> None:
    org = await loyalty_org(served.harness)
    cid, _, _ = await _customer(org)
    other = await make_org(served.harness)
    theirs = await other.post("/v2/customers", json=register_body(mobile()))
    their_id = int(theirs.json()["createdId"])

    # No session: to the sign-in page.
    async with httpx.AsyncClient(base_url=served.url) as http:
        answer = await http.get(f"/console/customers/{cid}", follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/login")
        answer = await http.post(
            f"/console/customers/{cid}/status", data={"label": "Inactive", "reason": "x"}
        )
        assert answer.status_code == 303

    await sign_in(page, org.username, org.password)
    for path in (f"/console/customers/{their_id}", "/console/customers/abc", "/console/customers/0"):
        answer = await page.goto(path)
        assert answer is not None and answer.status == 404
        await expect(page.get_by_test_id("error-message")).to_have_text(
            "There is no such customer in this org."
        )
    await check_page(page, served.harness.engine, "customer-not-found")

    # A POST without the CSRF token (or with another) is refused, nothing written.
    request = page.context.request
    for form in (
        {"label": "Inactive", "reason": "no token"},
        {"label": "Inactive", "reason": "wrong token", "csrf": "0" * 64},
    ):
        answer = await request.post(f"/console/customers/{cid}/status", form=form, max_redirects=0)
        assert answer.status == 403
    for path, form in (
        (f"/console/customers/{cid}/erase", {"confirm": str(cid), "erase_reason": "x"}),
        (f"/console/customers/{cid}/goodwill", {"program": "1016", "points": "5", "goodwill_reason": "x"}),
    ):
        answer = await request.post(path, form=form, max_redirects=0)
        assert answer.status == 403
    assert await _balance(org, cid) == 100
    await page.goto(f"/console/customers/{cid}")
    await expect(page.get_by_test_id("customer-status")).to_have_text("Active")
    # Another org's customer cannot be changed either.
    csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")
    answer = await request.post(
        f"/console/customers/{their_id}/status",
        form={"label": "Inactive", "reason": "not ours", "csrf": csrf or ""},
        max_redirects=0,
    )
    assert answer.status == 404
    assert not [e for e in await outbox(served.harness, other.org_id) if e["eventType"] == "customerUpdated"]
    assert not [e for e in await outbox(served.harness, org.org_id) if e["eventType"] == "customerUpdated"]
