"""One operator's session from end to end, as the issue lists it, in headless Chromium on
SQLite and PostgreSQL: sign in, search, open the customer from the results, change the status,
give goodwill points and see the balance change, look at the dashboard, sign out, and find
the cookie opens nothing afterwards.

The same run takes the README's pictures of the customer page and the dashboard (the top of
each page at 1280 px). They go to tests/console/screenshots/<engine>/ like every screenshot;
`make pictures` runs this test with PATRON_README_PICTURES=docs/images to refresh the
committed ones.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from playwright.async_api import Page, expect
from tests.console.conftest import SCREENSHOTS, Served, check_page, sign_in
from tests.loyalty.support import loyalty_org, purchase
from tests.support import email, mobile, register_body, token

PICTURES = os.environ.get("PATRON_README_PICTURES")
PEOPLE = (("Priya", "Raman"), ("Priyanka", "Shah"), ("Tomasz", "Nowak"), ("Sara", "Lindqvist"))


async def _picture(page: Page, engine: str, name: str, height: int) -> None:
    """The top of the page, at 1280 px wide."""
    await page.set_viewport_size({"width": 1280, "height": height})
    folder = SCREENSHOTS / engine
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"readme-{name}.png"))
    if PICTURES and engine == "sqlite":
        target = Path(PICTURES)
        await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
        await page.screenshot(path=str(target / f"console-{name}.png"))


async def test_an_operator_serves_a_customer_and_signs_out(served: Served, page: Page) -> None:
    engine = served.harness.engine
    org = await loyalty_org(served.harness)
    ids = []
    for first, last in PEOPLE:
        extra = [
            {"type": "email", "value": email()},
            {"type": "cardnumber", "value": token("CARD"), "seriesId": 19},
        ]
        r = await org.post("/v2/customers", json=register_body(mobile(), first=first, last=last, extra=extra))
        assert r.status_code == 200, r.text
        ids.append(int(r.json()["createdId"]))
    priya = ids[0]
    for amount in (1200, 640, 80):
        assert (await purchase(org, priya, amount, token("B"))).status_code == 200
    # 100 on registration, 10 % of 1,920 in purchases.
    before = 100 + 192

    await sign_in(page, org.username, org.password)
    await page.get_by_test_id("search-input").fill("priya")
    await page.get_by_test_id("search-input").press("Enter")
    await expect(page.get_by_test_id("search-result")).to_have_count(2)
    await page.locator(f'[data-testid="search-result"][data-customer-id="{priya}"] a').click()
    await expect(page).to_have_url(f"{served.url}/console/customers/{priya}")
    await expect(page.get_by_test_id("customer-name")).to_have_text("Priya Raman")
    balance = page.locator('[data-testid="loyalty-balance"][data-program="1016"]')
    await expect(balance).to_have_text(str(before))

    form = page.get_by_test_id("goodwill-form")
    await form.get_by_test_id("goodwill-points").fill("25")
    await form.get_by_test_id("goodwill-reason").fill("Late delivery of order 1183")
    await form.get_by_test_id("goodwill-submit").click()
    await expect(balance).to_have_text(str(before + 25))

    status = page.get_by_test_id("status-form")
    await status.get_by_test_id("status-label").select_option("Inactive")
    await status.get_by_test_id("status-reason").fill("Moved abroad, asked at the counter")
    await status.get_by_test_id("status-submit").click()
    await expect(page.get_by_test_id("customer-status")).to_have_text("Inactive")
    await page.goto(f"/console/customers/{priya}")
    await _picture(page, engine, "customer", 1560)

    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_test_id("chart")).to_have_count(5)
    await _picture(page, engine, "dashboard", 1250)
    await check_page(page, engine, "journey-dashboard")

    cookie = next(c for c in await page.context.cookies() if c["name"] == "patron_console")
    await page.get_by_test_id("logout").click()
    await expect(page).to_have_url(f"{served.url}/console/login")
    async with httpx.AsyncClient(base_url=served.url, cookies={"patron_console": cookie["value"]}) as http:
        after = await http.get(f"/console/customers/{priya}", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"] == "/console/login"
