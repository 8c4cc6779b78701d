"""The console in a real browser: the test app (tests/conftest.py `harness`, on SQLite and on
PostgreSQL) served by uvicorn on a loopback port in the tests' own event loop, and headless
Chromium from the distribution (`/usr/bin/chromium`, `apt-get install chromium`) driven by
Playwright. Playwright's own browser downloads are never used.

Screenshots of each page at 1280 and 390 px go to tests/console/screenshots/<engine>/
(ignored by git), for a reviewer to look at. axe-core (tests/fixtures/axe/, vendored) checks
each page at both widths.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from tests.conftest import Harness

CHROMIUM = os.environ.get("PATRON_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
AXE = Path(__file__).parents[1] / "fixtures" / "axe" / "axe.min.js"
WIDTHS = {"wide": (1280, 900), "narrow": (390, 844)}


@dataclass
class Served:
    harness: Harness
    url: str


@pytest.fixture(scope="session")
async def served(harness: Harness) -> AsyncIterator[Served]:
    """The harness's app behind a real HTTP server (its lifespan already runs in the harness)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        harness.app, lifespan="off", log_config=None, access_log=False, ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110  (uvicorn offers no event to wait on)
            await asyncio.sleep(0.02)
    try:
        yield Served(harness, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    try:
        yield browser
    finally:
        await browser.close()


@pytest.fixture
async def context(browser: Browser, served: Served) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(base_url=served.url, viewport={"width": 1280, "height": 900})
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def sign_in(page: Page, username: str, password: str) -> None:
    await page.goto("/console/login")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_load_state()


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it is."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        await page.evaluate(AXE.read_text())
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def check_page(page: Page, engine: str, name: str) -> None:
    """Screenshots at both widths, and no serious or critical axe-core violation at either."""
    folder = SCREENSHOTS / engine
    folder.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    try:
        for label, (width, height) in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": height})
            await page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
            found = await serious_violations(page)
            assert not found, f"{name} at {width} px ({label}): {found}"
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways at {width} px ({overflow} px)"
    finally:
        if original is not None:
            await page.set_viewport_size(original)
