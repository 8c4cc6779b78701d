"""The operator console in headless Chromium against a real server, on SQLite and PostgreSQL:
sign-in by role, the shared failure throttle, CSRF, sign-out, idle expiry, Find a customer,
and axe-core on every page at 1280 and 390 px (screenshots in tests/console/screenshots/)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect
from tests.conftest import OrgClient, make_org
from tests.console.conftest import Served, check_page, sign_in
from tests.support import execute, register_body, rows

from patron.db.base import utcnow
from patron.orgs import service as orgs
from patron.security.sessions import IDLE, NOT_AN_OPERATOR


async def _till(served: Served, org: OrgClient, role: str) -> orgs.TillCredentials:
    app = served.harness.app
    return await app.state.db.write(
        orgs.create_till, app.state.authenticator.keys, org_id=org.org_id, role=role
    )


async def _session_cookie(context: BrowserContext) -> dict[str, Any]:
    cookies = [c for c in await context.cookies() if c["name"] == "patron_console"]
    assert len(cookies) == 1
    return dict(cookies[0])


async def _register(org: OrgClient, mobile: str, first: str, last: str, email: str | None = None) -> int:
    extra = [{"type": "email", "value": email}] if email else []
    answer = await org.post("/v2/customers", json=register_body(mobile, first=first, last=last, extra=extra))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["createdId"])


async def test_an_operator_signs_in_and_finds_customers_by_the_start_of_a_name(
    served: Served, page: Page
) -> None:
    org = await make_org(served.harness)
    tom = await _register(org, "919810000001", "Tomasz", "Kowalski", "tomasz@example.com")
    toby = await _register(org, "919810000002", "Toby", "Ziegler")
    await _register(org, "919810000003", "Huck", "Finn")
    other = await make_org(served.harness)  # another org's Tomasz is never shown
    await _register(other, "919810000001", "Tomasz", "Elsewhere")

    await page.goto("/console")
    await expect(page).to_have_url(f"{served.url}/console/login")
    await check_page(page, served.harness.engine, "login")
    await sign_in(page, org.username, org.password)
    await expect(page).to_have_url(f"{served.url}/console")
    await expect(page.get_by_test_id("signed-in-as")).to_contain_text(org.username)
    await check_page(page, served.harness.engine, "search-empty")

    await page.get_by_test_id("search-input").fill("to")
    await page.get_by_test_id("search-input").press("Enter")
    results = page.get_by_test_id("search-result")
    await expect(results).to_have_count(2)
    found = {int(await r.get_attribute("data-customer-id") or 0) for r in await results.all()}
    assert found == {tom, toby}
    row = page.locator(f'[data-testid="search-result"][data-customer-id="{tom}"]')
    for text in ("Tomasz Kowalski", "919810000001", "tomasz@example.com", "INSTORE", "Active"):
        await expect(row).to_contain_text(text)
    # The id opens the customer's page.
    await expect(row.locator("td").first.locator("a")).to_have_attribute("href", f"/console/customers/{tom}")
    assert await page.evaluate("typeof window.htmx") == "object"  # our own script ran under the CSP
    await expect(page).to_have_url(f"{served.url}/console?q=to")
    await check_page(page, served.harness.engine, "search-results")

    await page.get_by_test_id("search-input").fill("9198100000")
    await page.get_by_test_id("search-input").press("Enter")
    await expect(results).to_have_count(3)
    await page.get_by_test_id("search-input").fill("nobody")
    await page.get_by_test_id("search-input").press("Enter")
    await expect(page.get_by_test_id("search-count")).to_contain_text("No customer matches")
    await check_page(page, served.harness.engine, "search-none")


async def test_search_results_come_50_a_page_with_previous_and_next_links(served: Served, page: Page) -> None:
    org = await make_org(served.harness)
    ids = []
    for n in range(55):  # one at a time: the order of the term index then follows the names
        ids.append(await _register(org, f"9198200{n:05d}", "Paginella", f"Zed{n:02d}"))
    await _register(org, "919820099999", "Pagoda", "Other")  # shares "pag", not "pagin"
    await sign_in(page, org.username, org.password)
    await page.get_by_test_id("search-input").fill("pagin")
    await page.get_by_test_id("search-input").press("Enter")
    results = page.get_by_test_id("search-result")
    count = page.get_by_test_id("search-count")
    await expect(results).to_have_count(50)
    await expect(count).to_contain_text("Customers 1–50 of 55 matching “pagin”")
    await expect(page.get_by_test_id("search-prev")).to_have_count(0)
    await check_page(page, served.harness.engine, "search-page-1")

    await page.get_by_test_id("search-next").click()
    await expect(page).to_have_url(f"{served.url}/console?q=pagin&page=2")
    await expect(results).to_have_count(5)
    await expect(count).to_contain_text("Customers 51–55 of 55 matching “pagin”")
    await expect(page.get_by_test_id("search-next")).to_have_count(0)
    second = {int(await r.get_attribute("data-customer-id") or 0) for r in await results.all()}
    await check_page(page, served.harness.engine, "search-page-2")

    await page.get_by_test_id("search-prev").click()
    await expect(page).to_have_url(f"{served.url}/console?q=pagin&page=1")
    await expect(results).to_have_count(50)
    first = {int(await r.get_attribute("data-customer-id") or 0) for r in await results.all()}
    assert first | second == set(ids) and not first & second  # every customer once

    # Without JavaScript the pages are plain links; a page past the end says so.
    await page.goto("/console?q=pagin&page=2")
    await expect(results).to_have_count(5)
    await page.goto("/console?q=pagin&page=3")
    await expect(results).to_have_count(0)
    await expect(count).to_contain_text("There is no page 3: 55 customers match")
    await expect(page.get_by_test_id("search-prev")).to_have_attribute("href", "/console?q=pagin&page=2")
    for bad in ("0", "x", "1001"):
        await page.goto(f"/console?q=pagin&page={bad}")
        await expect(page.get_by_role("alert")).to_contain_text("The page must be a whole number")


async def test_pages_carry_the_security_headers_and_assets_a_long_cache(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        login = await http.get("/console/login")
        assert login.status_code == 200
        csp = login.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert login.headers["x-frame-options"] == "DENY"
        assert login.headers["referrer-policy"] == "no-referrer"
        assert login.headers["cache-control"] == "no-store"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert "https://" not in login.text and "http://" not in login.text  # nothing from elsewhere
        for asset in ("console.css", "vendor/htmx.min.js"):
            link = next(
                part for part in login.text.split('"') if part.startswith(f"/console/static/{asset}?v=")
            )
            answer = await http.get(link)
            assert answer.status_code == 200
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await http.get("/console", follow_redirects=False)).headers["location"] == "/console/login"
        form = {"content-type": "application/x-www-form-urlencoded"}
        big = await http.post("/console/login", content=b"csrf=" + b"x" * 20_000, headers=form)
        assert big.status_code == 413


async def test_a_till_without_the_operator_role_is_refused(served: Served, page: Page) -> None:
    org = await make_org(served.harness)
    till = await _till(served, org, orgs.TILL)
    await sign_in(page, till.username, till.password)
    await expect(page.get_by_test_id("login-error")).to_have_text(NOT_AN_OPERATOR)
    await expect(page).to_have_url(f"{served.url}/console/login")
    assert not [c for c in await page.context.cookies() if c["name"] == "patron_console"]
    await check_page(page, served.harness.engine, "login-refused")
    # The API is unchanged: both roles use it.
    async with httpx.AsyncClient(base_url=served.url) as http:
        for username, password in ((till.username, till.password), (org.username, org.password)):
            answer = await http.get("/v2/customers/search?q=x", auth=(username, password))
            assert answer.status_code == 200


async def test_an_operator_till_made_by_the_cli_role_option_signs_in(served: Served, page: Page) -> None:
    org = await make_org(served.harness)
    operator = await _till(served, org, orgs.OPERATOR)
    await sign_in(page, operator.username, operator.password)
    await expect(page.get_by_test_id("search-input")).to_be_visible()


async def test_wrong_passwords_are_refused_and_throttled_as_the_api_throttles_them(
    served: Served, page: Page
) -> None:
    org = await make_org(served.harness)
    till = await _till(served, org, orgs.OPERATOR)  # a key never used: no proven shortcut
    limit = served.harness.settings.auth_max_failures
    for _ in range(limit):
        await sign_in(page, till.username, "not-the-password")
        await expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")
    await sign_in(page, till.username, till.password)  # even the right password, for now
    await expect(page.get_by_test_id("login-error")).to_contain_text("Too many failed sign-ins")
    # One throttle for both doors: the API refuses this till from this address as well.
    async with httpx.AsyncClient(base_url=served.url) as http:
        answer = await http.get("/v2/customers/search?q=x", auth=(till.username, till.password))
        assert answer.status_code == 429
    # Another till of the org, from the same address, is not affected.
    await sign_in(page, org.username, org.password)
    await expect(page.get_by_test_id("search-input")).to_be_visible()


async def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(served: Served, page: Page) -> None:
    org = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    request = page.context.request
    for form in ({}, {"csrf": "0" * 64}):
        answer = await request.post("/console/logout", form=form, max_redirects=0)
        assert answer.status == 403
        assert "CSRF" in await answer.text()
    await page.goto("/console")
    await expect(page.get_by_test_id("search-input")).to_be_visible()  # still signed in
    # The sign-in form has its own token.
    login = await request.post(
        "/console/login", form={"username": org.username, "password": org.password}, max_redirects=0
    )
    assert login.status == 403
    await check_page(page, served.harness.engine, "search-after-refusal")


async def test_sign_out_ends_the_session(served: Served, browser: Browser, page: Page) -> None:
    org = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    cookie = await _session_cookie(page.context)
    await page.get_by_test_id("logout").click()
    await expect(page).to_have_url(f"{served.url}/console/login")
    assert await rows(served.harness.app.state.db, _SESSIONS, org_id=org.org_id) == []
    # The old cookie, replayed, opens nothing.
    replay = await browser.new_context(base_url=served.url)
    try:
        await replay.add_cookies([cookie])  # type: ignore[list-item]
        again = await replay.new_page()
        await again.goto("/console")
        await expect(again).to_have_url(f"{served.url}/console/login")
    finally:
        await replay.close()


_SESSIONS = "SELECT session_id, last_seen_at FROM console_session WHERE org_id = :org_id"


async def test_a_session_ends_after_30_idle_minutes(served: Served, page: Page) -> None:
    db = served.harness.app.state.db
    org = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    # 29 idle minutes: still signed in, and the visit counts as activity.
    almost = utcnow() - IDLE + timedelta(minutes=1)
    await execute(
        db, "UPDATE console_session SET last_seen_at = :t WHERE org_id = :org_id", t=almost, org_id=org.org_id
    )
    await page.goto("/console")
    await expect(page.get_by_test_id("search-input")).to_be_visible()
    (seen,) = await rows(db, _SESSIONS, org_id=org.org_id)
    assert seen.last_seen_at > almost + timedelta(minutes=1)
    # 31 idle minutes: the session is over.
    stale = utcnow() - IDLE - timedelta(minutes=1)
    await execute(
        db, "UPDATE console_session SET last_seen_at = :t WHERE org_id = :org_id", t=stale, org_id=org.org_id
    )
    await page.goto("/console")
    await expect(page).to_have_url(f"{served.url}/console/login")
    assert await rows(db, _SESSIONS, org_id=org.org_id) == []


async def test_a_deactivated_till_loses_its_session_on_its_next_request(served: Served, page: Page) -> None:
    db = served.harness.app.state.db
    org = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    await expect(page.get_by_test_id("search-input")).to_be_visible()
    await execute(db, "UPDATE till SET is_active = :no WHERE org_id = :org_id", no=False, org_id=org.org_id)
    await page.goto("/console")
    await expect(page).to_have_url(f"{served.url}/console/login")
    await sign_in(page, org.username, org.password)
    await expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")


async def test_an_operator_demoted_to_till_loses_its_session(served: Served, page: Page) -> None:
    db = served.harness.app.state.db
    org = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    await execute(db, "UPDATE till SET role = 'till' WHERE org_id = :org_id", org_id=org.org_id)
    await page.goto("/console")
    await expect(page).to_have_url(f"{served.url}/console/login")
