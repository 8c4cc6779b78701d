"""The console's webhooks pages in headless Chromium against the real server, on SQLite and
PostgreSQL: endpoints with their last 24 hours, dead letters redelivered to a real receiver
on loopback, secret rotation shown once, test sends, replay, the add form's refusals, the
live tail over server-sent events, CSRF and sign-in refusals. Deliveries are made by the
app's own in-process worker, with the harness's short retry schedule (a dead letter in about
a second)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from standardwebhooks.webhooks import Webhook
from tests.conftest import OrgClient, make_org
from tests.console.conftest import Served, check_page, sign_in
from tests.support import execute, register_body, rows
from tests.webhooks.receiver import Receiver, Reply

from patron.console import webhooks as console_webhooks
from patron.db.base import utcnow
from patron.security.sessions import IDLE


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        r.answer = lambda _: Reply(500, body=b"receiver is down")
        yield r


async def _register(org: OrgClient, first: str = "Tom") -> int:
    answer = await org.post("/v2/customers", json=register_body(first=first))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["createdId"])


async def _add_endpoint(org: OrgClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    answer = await org.post("/v2/webhooks", json={"url": receiver.url(), **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _until(check: Any, what: str, timeout: float = 30.0) -> Any:
    """Poll `check()` (a coroutine function) until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.1)
    raise AssertionError(what)  # pragma: no cover


async def _dead_letters(org: OrgClient, endpoint_id: int) -> list[dict[str, Any]]:
    answer = await org.get(f"/v2/webhooks/{endpoint_id}/dead-letters")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def _pending(org: OrgClient, endpoint_id: int) -> int:
    found = await rows(
        org.harness.app.state.db,
        "SELECT count(*) AS n FROM webhook_delivery WHERE org_id = :o AND endpoint_id = :e"
        " AND status <> 'delivered'",
        o=org.org_id,
        e=endpoint_id,
    )
    return int(found[0].n)


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


async def test_an_operator_sees_failures_redelivers_dead_letters_rotates_tests_and_replays(
    served: Served, page: Page, receiver: Receiver
) -> None:
    engine = served.harness.engine
    org = await make_org(served.harness)
    endpoint = await _add_endpoint(org, receiver, description="CRM sync")
    eid = endpoint["id"]
    customers = [await _register(org, first=f"Dead{n}") for n in range(6)]
    # Five failed attempts each (the harness's schedule), then a dead letter.
    await _until(lambda: _dead_lists(org, eid, 6), "six dead letters")

    await sign_in(page, org.username, org.password)
    await page.goto("/console/webhooks")
    row = page.locator(f'[data-testid="webhook-row"][data-endpoint-id="{eid}"]')
    await expect(row).to_contain_text(receiver.url())
    await expect(row).to_contain_text("CRM sync")
    await expect(row).to_contain_text("All events")
    await expect(row.get_by_test_id("webhook-state")).to_have_text("Enabled")
    await expect(row.get_by_test_id("webhook-attempts")).to_contain_text("30")
    await expect(row.get_by_test_id("webhook-failure-rate")).to_have_text("100.0%")
    await expect(row.get_by_test_id("webhook-dead")).to_have_text("6")
    await check_page(page, engine, "webhooks")

    await row.get_by_test_id("webhook-link").click()
    await expect(page).to_have_url(f"{served.url}/console/webhooks/{eid}")
    dead = page.get_by_test_id("dead-letter")
    await expect(dead).to_have_count(6)
    await expect(dead.first).to_contain_text("customerAdded")
    await expect(dead.first).to_contain_text("500")
    # The delivery log: 30 attempts, 25 a page, newest first.
    await expect(page.get_by_test_id("attempt-row")).to_have_count(25)
    await expect(page.get_by_test_id("attempt-row").first).to_have_attribute("data-outcome", "dead")
    await check_page(page, engine, "webhook")
    await page.get_by_test_id("log-older").click()
    await expect(page.get_by_test_id("attempt-row")).to_have_count(5)
    await expect(page.get_by_test_id("log-older")).to_have_count(0)
    await page.get_by_test_id("log-newest").click()
    await expect(page.get_by_test_id("attempt-row")).to_have_count(25)

    # The receiver recovers; one dead letter is redelivered, then all the others.
    receiver.answer = lambda _: Reply(200)
    first_event = await dead.first.get_attribute("data-event-id")
    await dead.first.get_by_test_id("redeliver").click()
    await expect(page.get_by_test_id("webhook-done")).to_have_text(
        "1 dead letter(s) put back in the queue; the worker sends them again now."
    )
    await receiver.wait_for(lambda reqs: any(r.event_id == first_event for r in reqs[30:]))
    await page.get_by_test_id("redeliver-all").click()
    await expect(page.get_by_test_id("webhook-done")).to_contain_text("5 dead letter(s) put back")
    await _until(lambda: _all_delivered(org, eid), "every delivery delivered")
    await page.reload()
    await expect(page.get_by_test_id("dead-none")).to_be_visible()
    await expect(page.get_by_test_id("attempt-row").first).to_have_attribute("data-outcome", "delivered")
    delivered_customers = {
        int(r.json["attributes"]["data"]["customerIdentifiers"]["customerId"]) for r in receiver.requests[30:]
    }
    assert delivered_customers == set(customers)

    # Rotation: the new secret once, on the answer page; a reload shows the page without it.
    await page.get_by_test_id("rotate-secret").click()
    secret_box = page.get_by_test_id("webhook-secret")
    await expect(secret_box).to_be_visible()
    secret = (await secret_box.text_content() or "").strip()
    assert secret.startswith("whsec_") and secret != endpoint["secret"]
    await expect(page.get_by_test_id("webhook-secret-box")).to_contain_text("will not be shown again")
    await expect(page).to_have_url(f"{served.url}/console/webhooks/{eid}")  # set by webhooks.js
    await check_page(page, engine, "webhook-rotated")
    await page.reload()
    await expect(page.get_by_test_id("dead-none")).to_be_visible()
    await expect(page.get_by_test_id("webhook-secret")).to_have_count(0)
    assert secret not in await page.content()

    # A test send is the API's signed test event: it verifies with the new secret.
    seen = len(receiver.requests)
    await page.get_by_test_id("test-send").click()
    result = page.get_by_test_id("test-result")
    await expect(result).to_contain_text("Delivered")
    await expect(result).to_contain_text("HTTP 200")
    test_request = receiver.requests[seen]
    payload = Webhook(secret).verify(test_request.body, test_request.headers)
    assert payload["eventType"] == "webhookTest"
    receiver.answer = lambda _: Reply(503, body=b"maintenance")
    await page.get_by_test_id("test-send").click()
    await expect(result).to_contain_text("Not delivered")
    await expect(result).to_contain_text("HTTP 503")
    await expect(result).to_contain_text("maintenance")
    receiver.answer = lambda _: Reply(200)

    # Replay: refusals beside the fields, then the range holding the six events.
    now = datetime.now(UTC)
    await page.get_by_test_id("replay-from").fill("")
    await page.get_by_test_id("replay-submit").click()
    await expect(page.get_by_test_id("replay-from-error")).to_have_text("Give the start (From) of the range.")
    await page.get_by_test_id("replay-from").fill(_minute(now + timedelta(hours=1)))
    await page.get_by_test_id("replay-to").fill(_minute(now))
    await page.get_by_test_id("replay-submit").click()
    await expect(page.get_by_test_id("replay-to-error")).to_have_text("to must be after from.")
    await expect(page.get_by_test_id("replay-from")).to_have_value(_minute(now + timedelta(hours=1)))
    await page.get_by_test_id("replay-from").fill(_minute(now - timedelta(days=40)))
    await page.get_by_test_id("replay-submit").click()
    await expect(page.get_by_test_id("replay-to-error")).to_have_text("Replay at most 31 days at a time.")
    seen = len(receiver.requests)
    await page.get_by_test_id("replay-from").fill(_minute(now - timedelta(hours=1)))
    await page.get_by_test_id("replay-to").fill(_minute(now + timedelta(minutes=2)))
    await page.get_by_test_id("replay-submit").click()
    await expect(page.get_by_test_id("webhook-done")).to_have_text(
        "6 event(s) of that range queued for this endpoint."
    )
    await receiver.wait_for(lambda reqs: len(reqs) >= seen + 6)

    # Disable, then enable again (the API's update with `enabled`).
    await page.get_by_test_id("toggle-enabled").click()
    await expect(page.get_by_test_id("webhook-done")).to_contain_text("The endpoint is disabled")
    await expect(page.get_by_test_id("webhook-state")).to_contain_text("Disabled")
    listed = (await org.get(f"/v2/webhooks/{eid}")).json()
    assert listed["enabled"] is False
    await page.get_by_test_id("toggle-enabled").click()
    await expect(page.get_by_test_id("webhook-state")).to_have_text("Enabled")
    assert (await org.get(f"/v2/webhooks/{eid}")).json()["enabled"] is True


async def _dead_lists(org: OrgClient, endpoint_id: int, count: int) -> bool:
    return len(await _dead_letters(org, endpoint_id)) >= count


async def _all_delivered(org: OrgClient, endpoint_id: int) -> bool:
    return await _pending(org, endpoint_id) == 0


async def test_the_add_form_refuses_as_the_service_does_and_shows_the_secret_once(
    served: Served, page: Page
) -> None:
    engine = served.harness.engine
    org = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    await page.goto("/console/webhooks")
    await expect(page.get_by_test_id("webhooks-none")).to_be_visible()

    await page.get_by_test_id("webhook-add-url").fill("ftp://example.com/hook")
    await page.get_by_test_id("webhook-add-description").fill("Billing")
    await page.get_by_test_id("webhook-add-submit").click()
    await expect(page.get_by_test_id("add-url-error")).to_have_text(
        "url must start with https:// or http://."
    )
    await expect(page.get_by_test_id("webhook-add-description")).to_have_value("Billing")
    await expect(page.get_by_test_id("webhook-add-url")).to_have_attribute("aria-invalid", "true")
    await check_page(page, engine, "webhooks-refused")

    # A private address is refused unless the operator allows it (the tests allow it).
    settings = served.harness.settings
    settings.webhook_allow_private = False
    try:
        await page.get_by_test_id("webhook-add-url").fill("http://127.0.0.1:9/hook")
        await page.get_by_test_id("webhook-add-submit").click()
        await expect(page.get_by_test_id("add-url-error")).to_contain_text("url is refused")
        await expect(page.get_by_test_id("add-url-error")).to_contain_text("PATRON_WEBHOOK_ALLOW_PRIVATE")
    finally:
        settings.webhook_allow_private = True
    assert (await org.get("/v2/webhooks")).json()["data"] == []

    await page.get_by_test_id("webhook-add-url").fill("https://203.0.113.10/patron-hooks")
    await page.get_by_label("customerUpdated").check()
    await page.get_by_label("groupCreated").check()
    await page.get_by_test_id("webhook-add-submit").click()
    secret = (await page.get_by_test_id("webhook-secret").text_content() or "").strip()
    assert secret.startswith("whsec_")
    await expect(page.get_by_test_id("webhook-secret-box")).to_contain_text("Endpoint added")
    [listed] = (await org.get("/v2/webhooks")).json()["data"]
    assert listed["url"] == "https://203.0.113.10/patron-hooks"
    assert listed["description"] == "Billing"
    assert listed["events"] == ["customerUpdated", "groupCreated"]
    await expect(page).to_have_url(f"{served.url}/console/webhooks/{listed['id']}")  # set by webhooks.js
    await check_page(page, engine, "webhook-added")
    await page.reload()
    await expect(page.get_by_test_id("webhook-url")).to_have_text("https://203.0.113.10/patron-hooks")
    await expect(page.get_by_test_id("webhook-secret")).to_have_count(0)
    await page.goto("/console/webhooks")
    row = page.locator(f'[data-testid="webhook-row"][data-endpoint-id="{listed["id"]}"]')
    await expect(row).to_contain_text("customerUpdated, groupCreated")
    await expect(row.get_by_test_id("webhook-failure-rate")).to_have_text("–")
    # Another org's endpoint is not found here.
    other = await make_org(served.harness)
    await page.goto(f"/console/webhooks/{listed['id']}")
    await expect(page.get_by_test_id("webhook-url")).to_be_visible()
    await page.get_by_test_id("logout").click()
    await sign_in(page, other.username, other.password)
    answer = await page.goto(f"/console/webhooks/{listed['id']}")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_test_id("error-message")).to_contain_text("does not exist")


async def test_the_live_tail_shows_the_orgs_new_events_as_they_are_written(
    served: Served, page: Page, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await make_org(served.harness)
    other = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    await page.goto("/console/webhooks")
    await page.get_by_test_id("tail-link").click()
    section = page.locator("[data-stream]")
    await expect(section).to_have_attribute("data-live", "true")
    await expect(page.get_by_test_id("tail-nojs")).to_be_hidden()
    await _register(other, first="Elsewhere")  # another org's event is never shown
    cid = await _register(org, first="Tailed")
    event = page.locator(f'[data-testid="tail-event"][data-customer-id="{cid}"]')
    await expect(event).to_have_count(1, timeout=5000)
    await expect(event).to_contain_text("customerAdded")
    await expect(page.get_by_test_id("tail-event")).to_have_count(1)
    assert "Tailed" not in await page.content()  # no payload, no personal data
    await check_page(page, served.harness.engine, "webhook-tail")

    # The session ends (idle past the limit): the stream says so at its next check and stops.
    monkeypatch.setattr(console_webhooks, "HEARTBEAT_SECONDS", 0.3)
    stale = utcnow() - IDLE - timedelta(minutes=1)
    await execute(
        served.harness.app.state.db,
        "UPDATE console_session SET last_seen_at = :t WHERE org_id = :org_id",
        t=stale,
        org_id=org.org_id,
    )
    await expect(section).to_have_attribute("data-live", "false", timeout=5000)
    await expect(page.get_by_test_id("tail-status")).to_contain_text("The console session is over")

    # Without JavaScript the page says what the tail needs and where the logs are.
    plain = await browser.new_context(base_url=served.url, java_script_enabled=False)
    try:
        nojs = await plain.new_page()
        await sign_in(nojs, org.username, org.password)
        await nojs.goto("/console/webhooks/tail")
        await expect(nojs.get_by_test_id("tail-nojs")).to_be_visible()
        await expect(nojs.get_by_test_id("tail-nojs")).to_contain_text("needs JavaScript")
        await expect(nojs.locator("[data-stream]")).to_be_hidden()
    finally:
        await plain.close()


async def test_the_stream_sends_ids_and_types_only_and_needs_a_session(served: Served, page: Page) -> None:
    org = await make_org(served.harness)
    await sign_in(page, org.username, org.password)
    cookie = next(c for c in await page.context.cookies() if c["name"] == "patron_console")
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
        refused = await http.get("/console/webhooks/tail/stream")
        assert refused.status_code == 401
        http.cookies.set("patron_console", cookie["value"], path="/console")
        before = console_webhooks.open_streams()
        async with http.stream("GET", "/console/webhooks/tail/stream") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-store"
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith("retry:")
            cid = await _register(org, first="Streamed")
            found: list[str] = []
            async with asyncio.timeout(5):
                async for line in lines:
                    found.append(line)
                    if line.startswith("data:"):
                        break
            assert console_webhooks.open_streams() == before + 1
        # The client went away: the server's loop ends (it checks between polls).
        await _until(_streams_back_to(before), "the stream's loop ended", timeout=5)
        event_line = next(line for line in found if line.startswith("event:"))
        assert event_line == "event: outbox"
        data = json.loads(found[-1].removeprefix("data: "))
        assert set(data) == {"eventId", "type", "at", "customerId"}
        assert data["type"] == "customerAdded" and data["customerId"] == cid
        assert any(line.startswith("id: ") for line in found)


def _streams_back_to(count: int) -> Any:
    async def check() -> bool:
        return console_webhooks.open_streams() == count

    return check


async def test_posts_need_the_csrf_token_and_pages_a_session(
    served: Served, page: Page, browser: Browser, receiver: Receiver
) -> None:
    org = await make_org(served.harness)
    endpoint = await _add_endpoint(org, receiver)
    eid = endpoint["id"]
    db = served.harness.app.state.db
    secret_sql = "SELECT secret_encrypted FROM webhook_endpoint WHERE org_id = :o AND endpoint_id = :e"
    before = await rows(db, secret_sql, o=org.org_id, e=eid)

    anonymous = await browser.new_context(base_url=served.url)
    try:
        for path in ("/console/webhooks", f"/console/webhooks/{eid}", "/console/webhooks/tail"):
            answer = await anonymous.request.get(path, max_redirects=0)
            assert answer.status == 303 and answer.headers["location"] == "/console/login", path
        answer = await anonymous.request.post(f"/console/webhooks/{eid}/rotate", form={}, max_redirects=0)
        assert answer.status == 303 and answer.headers["location"] == "/console/login"
    finally:
        await anonymous.close()

    await sign_in(page, org.username, org.password)
    request = page.context.request
    for path in ("rotate", "test", "redeliver", "replay", "enabled"):
        for form in ({}, {"csrf": "0" * 64}):
            answer = await request.post(f"/console/webhooks/{eid}/{path}", form=form, max_redirects=0)
            assert answer.status == 403, path
            assert "CSRF" in await answer.text()
    answer = await request.post("/console/webhooks", form={"url": receiver.url("/other")}, max_redirects=0)
    assert answer.status == 403
    assert await rows(db, secret_sql, o=org.org_id, e=eid) == before  # not rotated
    assert len((await org.get("/v2/webhooks")).json()["data"]) == 1  # nothing added
    assert (await org.get(f"/v2/webhooks/{eid}")).json()["enabled"] is True
    assert receiver.requests == []  # no test event sent
