"""The dashboard in headless Chromium on SQLite and PostgreSQL: customers, purchases, points
and webhook deliveries made through the API (and a real webhook receiver) show up in the
charts and their tables; uPlot draws under the CSP; a fresh org shows zeros; without
JavaScript the tables are shown. And the read model on both engines, with rows placed at
the window's edges."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Browser, ConsoleMessage, Page, expect
from tests.conftest import CONFIG, OrgClient, make_org
from tests.console.conftest import Served, check_page, sign_in
from tests.loyalty.support import loyalty_config, new_member, purchase
from tests.support import execute, rows
from tests.webhooks.receiver import Receiver, Reply

from patron.context import Actor, RequestContext
from patron.loyalty.ledger import EARNED
from patron.orgs.config import OrgConfig
from patron.reports.dashboard import DAYS, dashboard

CHARTS = ["registrations", "purchases", "points", "latency", "failures"]


def _watch(page: Page) -> list[str]:
    """Console messages and page errors that say something went wrong (CSP included)."""
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.location.get("url", "").endswith("/favicon.ico"):
            return  # the console has no icon: the browser's own request for one is no fault
        if msg.type in ("error", "warning") or "Content Security Policy" in msg.text:
            problems.append(f"{msg.type}: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    return problems


async def _cell(page: Page, chart: str, day: str, series: int = 0) -> str:
    cell = page.locator(
        f'[data-testid="chart-numbers"][data-chart="{chart}"] tr[data-day="{day}"] td[data-series="{series}"]'
    )
    return (await cell.text_content() or "").strip()


def _nearest_rank(values: list[int], p: int) -> int:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


async def _settled(org: OrgClient) -> None:
    """Wait until the org owes no webhook delivery any more (delivered or dead)."""
    deadline = time.monotonic() + 30
    while True:
        pending = await rows(
            org.harness.app.state.db,
            "SELECT count(*) AS n FROM webhook_delivery WHERE org_id = :o AND status = 'pending'",
            o=org.org_id,
        )
        total = await rows(
            org.harness.app.state.db,
            "SELECT count(*) AS n FROM webhook_delivery WHERE org_id = :o",
            o=org.org_id,
        )
        if total[0].n and not pending[0].n:
            return
        assert time.monotonic() < deadline, "webhook deliveries did not settle"
        await asyncio.sleep(0.1)


async def test_the_dashboard_draws_what_the_org_did_today(served: Served, page: Page) -> None:
    engine = served.harness.engine
    org = await make_org(served.harness, loyalty_config())
    today = datetime.now(UTC).date().isoformat()
    async with Receiver() as good, Receiver() as bad:
        bad.answer = lambda _: Reply(status=500)
        made = []
        for receiver in (good, bad):
            r = await org.post("/v2/webhooks", json={"url": receiver.url()})
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
        bad_id = made[1]
        customers = [(await new_member(org))[0] for _ in range(3)]
        for n, cid in enumerate(customers[:2]):
            r = await purchase(org, cid, 1000, f"DASH-{n}")
            assert r.status_code == 200, r.text
        r = await org.post("/v2/points/redeem", json={"customer": {"id": customers[0]}, "points": 50})
        assert r.status_code == 200, r.text
        await _settled(org)

    db = served.harness.app.state.db
    ledger = await rows(
        db, "SELECT kind, points FROM points_ledger WHERE org_id = :o AND group_id IS NULL", o=org.org_id
    )
    earned = sum(r.points for r in ledger if r.kind in EARNED)
    redeemed = -sum(r.points for r in ledger if r.kind == "redeem")
    assert (earned, redeemed) == (3 * 100 + 2 * 100, 50)  # registration points, then 10% of 1000 twice
    attempts = await rows(
        db, "SELECT endpoint_id, latency_ms, outcome FROM webhook_attempt WHERE org_id = :o", o=org.org_id
    )
    latencies = [a.latency_ms for a in attempts]
    failed_bad = sum(1 for a in attempts if a.endpoint_id == bad_id and a.outcome != "delivered")
    failed = sum(1 for a in attempts if a.outcome != "delivered")
    assert failed_bad >= 3 and failed == failed_bad

    problems = _watch(page)
    await sign_in(page, org.username, org.password)
    await page.goto("/console/dashboard")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    charts = page.get_by_test_id("chart")
    await expect(charts).to_have_count(5)
    assert [await c.get_attribute("data-chart") for c in await charts.all()] == CHARTS
    for chart in await charts.all():
        await expect(chart).to_have_attribute("data-drawn", "true")
        canvas = chart.locator("canvas")
        await expect(canvas).to_have_count(1)
        box = await canvas.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
        assert await canvas.get_attribute("role") == "img"
        assert (await canvas.get_attribute("aria-label") or "").endswith(".")
    reg_canvas = page.locator('[data-chart="registrations"] canvas')
    await expect(reg_canvas).to_have_attribute(
        "aria-label", f"Registrations per day, last 30 days: 3 in all, most on {today} (3)."
    )

    # The numbers: today's row of each table, as the API made them.
    assert await _cell(page, "registrations", today) == "3"
    assert await _cell(page, "purchases", today) == "2"
    assert await _cell(page, "points", today, 0) == str(earned)
    assert await _cell(page, "points", today, 1) == str(redeemed)
    assert await _cell(page, "latency", today, 0) == str(_nearest_rank(latencies, 50))
    assert await _cell(page, "latency", today, 1) == str(_nearest_rank(latencies, 99))
    assert await _cell(page, "failures", today, 0) == str(failed_bad)
    header = page.locator('[data-testid="chart-numbers"][data-chart="failures"] thead th').nth(1)
    await expect(header).to_have_text(f"#{bad_id} {bad.url()}")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert await _cell(page, "registrations", yesterday) == "0"
    assert await _cell(page, "latency", yesterday, 1) == "–"
    expected = {
        "registrations": "3",
        "purchases": "2",
        "points-earned": str(earned),
        "points-redeemed": str(redeemed),
        "attempts": str(len(attempts)),
        "failures": str(failed),
        "p99": f"{_nearest_rank(latencies, 99)} ms",
    }
    for key, value in expected.items():
        await expect(page.get_by_test_id(f"headline-{key}")).to_have_text(value)

    # With the charts drawn, the tables fold away behind a disclosure that opens them.
    numbers = page.locator('[data-testid="chart-numbers"][data-chart="registrations"]')
    await expect(numbers).to_be_hidden()
    await check_page(page, engine, "dashboard")
    await page.get_by_text("Show the numbers").first.click()
    await expect(numbers).to_be_visible()
    await check_page(page, engine, "dashboard-numbers")

    # At 390 px each chart is redrawn to its card's width.
    await page.set_viewport_size({"width": 390, "height": 844})
    card = page.locator('[data-testid="chart"][data-chart="latency"]')
    await expect(card.locator("canvas")).to_have_js_property(
        "clientWidth", await card.evaluate("e => e.clientWidth")
    )
    assert not problems, problems


async def test_a_fresh_org_shows_zeros_and_no_error(served: Served, page: Page) -> None:
    org = await make_org(served.harness)
    problems = _watch(page)
    await sign_in(page, org.username, org.password)
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page).to_have_url(f"{served.url}/console/dashboard")
    await expect(page.get_by_test_id("chart")).to_have_count(5)
    for key in ("registrations", "purchases", "points-earned", "points-redeemed", "attempts", "failures"):
        await expect(page.get_by_test_id(f"headline-{key}")).to_have_text("0")
    await expect(page.get_by_test_id("headline-p99")).to_have_text("–")
    await expect(page.get_by_test_id("chart-summary-latency")).to_contain_text("no deliveries")
    await expect(page.get_by_test_id("chart-summary-registrations")).to_contain_text("none")
    rows_ = page.locator('[data-testid="chart-numbers"][data-chart="registrations"] tbody tr')
    await expect(rows_).to_have_count(DAYS)
    assert {(await r.locator("td").text_content() or "").strip() for r in await rows_.all()} == {"0"}
    for chart in await page.get_by_test_id("chart").all():
        await expect(chart).to_have_attribute("data-drawn", "true")
    await check_page(page, served.harness.engine, "dashboard-empty")
    assert not problems, problems


async def test_without_javascript_the_numbers_are_shown(served: Served, browser: Browser) -> None:
    org = await make_org(served.harness)
    context = await browser.new_context(base_url=served.url, java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in(page, org.username, org.password)
        await page.goto("/console/dashboard")
        tables = page.get_by_test_id("chart-numbers")
        await expect(tables).to_have_count(5)
        for table in await tables.all():
            await expect(table).to_be_visible()
        assert await page.locator("canvas").count() == 0
    finally:
        await context.close()


async def test_the_dashboard_wants_a_session(served: Served, page: Page) -> None:
    await page.goto("/console/dashboard")
    await expect(page).to_have_url(f"{served.url}/console/login")
    answer = await page.request.get("/console/dashboard", max_redirects=0)
    assert answer.status == 303 and answer.headers["location"] == "/console/login"


def _ctx(org: OrgClient) -> RequestContext:
    return RequestContext(org.org_id, Actor(1, "t", "t", "s", "s"), "req", OrgConfig.model_validate(CONFIG))


async def test_the_read_model_buckets_utc_days_and_ranks_latencies(served: Served) -> None:
    """Attempts placed at the window's edges, and latencies whose nearest ranks are known."""
    org = await make_org(served.harness)
    other = await make_org(served.harness)
    db = served.harness.app.state.db
    now = datetime(2031, 3, 15, 10, 30, tzinfo=UTC)
    first = datetime(2031, 2, 14, tzinfo=UTC)  # 29 days before the 15th: the window's first day
    placed: list[tuple[int, datetime, int, str]] = [
        (org.org_id, first, 7, "delivered"),  # the first instant of the window
        (org.org_id, first - timedelta(microseconds=1), 9999, "dead"),  # just before it: out
        (org.org_id, datetime(2031, 3, 16, tzinfo=UTC), 9999, "dead"),  # tomorrow: out
        (other.org_id, datetime(2031, 3, 15, 1, tzinfo=UTC), 9999, "dead"),  # another org: out
    ]
    # 100 attempts on the 15th, latencies 1..100 ms: p50 is 50, p99 is 99 (nearest rank).
    for ms in range(1, 101):
        placed.append(
            (
                org.org_id,
                datetime(2031, 3, 15, 23, 59, 59, tzinfo=UTC),
                ms,
                "retry" if ms > 97 else "delivered",
            )
        )
    # 3 attempts on the 1st: 5, 10, 20 ms: p50 is 10, p99 is 20.
    for ms in (20, 5, 10):
        placed.append((org.org_id, datetime(2031, 3, 1, 0, 0, tzinfo=UTC), ms, "delivered"))
    for n, (org_id, at, ms, outcome) in enumerate(placed):
        await execute(
            db,
            "INSERT INTO webhook_attempt (org_id, attempt_id, endpoint_id, event_id, attempt_number,"
            " attempted_at, status_code, latency_ms, outcome)"
            " VALUES (:o, :a, :e, 1, 1, :at, 200, :ms, :outcome)",
            o=org_id,
            a=9_000_000_000 + org_id * 1000 + n,
            e=777,
            at=at,
            ms=ms,
            outcome=outcome,
        )
    d = await db.read(dashboard, _ctx(org), now)
    assert len(d.days) == DAYS and d.days[0] == first.date() and d.days[-1] == now.date()
    by_day: dict[str, Any] = {
        day.isoformat(): (d.attempts[i], d.latency_p50[i], d.latency_p99[i], d.failures[i])
        for i, day in enumerate(d.days)
        if d.attempts[i]
    }
    assert by_day == {
        "2031-02-14": (1, 7, 7, 0),
        "2031-03-01": (3, 10, 20, 0),
        "2031-03-15": (100, 50, 99, 3),
    }
    assert d.p99_window == _nearest_rank([7, 20, 5, 10, *range(1, 101)], 99)
    [endpoint] = d.failures_by_endpoint
    assert (endpoint.endpoint_id, endpoint.label, endpoint.total) == (777, "#777 (deleted)", 3)
    assert endpoint.per_day[-1] == 3
    assert sum(d.registrations) == sum(d.purchases) == sum(d.points_earned) == 0
