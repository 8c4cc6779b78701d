"""Configuration in the browser, on SQLite and PostgreSQL: the org configuration as a JSON
editor saving through PUT /v2/org/config's validation and use case, each problem beside the
field it names, the loyalty programs and tiers as tables, and the refusals."""

from __future__ import annotations

import copy
import json
from typing import Any

from playwright.async_api import Page, expect
from tests.conftest import CONFIG, OrgClient, make_org
from tests.console.conftest import Served, check_page, sign_in

PROGRAMS: list[dict[str, Any]] = [
    {
        "programId": 7001,
        "name": "Acme Rewards",
        "default": True,
        "earnRate": 0.5,
        "pointsToCurrencyRatio": 0.25,
        "pointsExpiryDays": 365,
        "registrationPoints": 100,
        "tiers": [
            {"number": 1, "name": "Blue"},
            {"number": 2, "name": "Silver", "threshold": 1000, "validityDays": 365},
            {"number": 3, "name": "Gold", "threshold": 5000, "description": "Free delivery"},
        ],
    },
    {"programId": 7002, "name": "Acme Kids", "tiers": [{"number": 1, "name": "Sprout"}]},
]


async def _org(served: Served) -> OrgClient:
    return await make_org(served.harness, {**CONFIG, "loyaltyPrograms": PROGRAMS})


async def _api_config(org: OrgClient) -> dict[str, Any]:
    answer = await org.get("/v2/org/config")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


async def _save(page: Page, text: str) -> int:
    """Put `text` in the editor and save it; the status of the answer to the POST."""
    await page.get_by_test_id("config-editor").fill(text)
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_test_id("config-save").click()
    await page.wait_for_load_state()
    return (await posted.value).status


async def test_the_page_shows_the_document_and_the_programs_and_tiers(served: Served, page: Page) -> None:
    org = await _org(served)
    await page.goto("/console/config")
    await expect(page).to_have_url(f"{served.url}/console/login")  # signed in first
    await sign_in(page, org.username, org.password)
    await page.get_by_role("link", name="Configuration").click()
    await expect(page).to_have_url(f"{served.url}/console/config")
    editor = page.get_by_test_id("config-editor")
    await expect(page.get_by_label("The org configuration (JSON)")).to_be_visible()
    assert json.loads(await editor.input_value()) == await _api_config(org)

    programs = page.get_by_role("table", name="Loyalty programs", exact=True)
    rewards = programs.locator('tr[data-program-id="7001"]')
    for text in ("Acme Rewards", "yes", "0.5", "0.25", "365 days", "100"):
        await expect(rewards).to_contain_text(text)
    await expect(programs.locator('tr[data-program-id="7002"]')).to_contain_text("never")
    tiers = page.get_by_role("table", name="Tiers of the loyalty programs")
    await expect(tiers.locator("tbody tr")).to_have_count(4)
    gold = tiers.locator('tr[data-program-id="7001"][data-tier="3"]')
    for text in ("Gold", "5000", "does not lapse", "Free delivery"):
        await expect(gold).to_contain_text(text)
    await expect(tiers.locator('tr[data-program-id="7001"][data-tier="2"]')).to_contain_text("365 days")
    await expect(page.get_by_test_id("config-error")).to_have_count(0)
    await check_page(page, served.harness.engine, "config")


async def test_a_bad_configuration_is_refused_with_each_problem_beside_its_field(
    served: Served, page: Page
) -> None:
    org = await _org(served)
    before = await _api_config(org)
    await sign_in(page, org.username, org.password)
    await page.goto("/console/config")

    bad = copy.deepcopy(before)
    bad["loyaltyPrograms"][0]["tiers"][1]["threshold"] = -5
    bad["timezone"] = "Mars/Olympus_Mons"
    bad["imageMaxBytes"] = "large"
    text = json.dumps(bad, indent=2)
    assert await _save(page, text) == 400
    await expect(page).to_have_url(f"{served.url}/console/config")
    errors = page.get_by_test_id("config-error")
    await expect(errors).to_have_count(3)
    threshold = page.locator('[data-testid="config-error"][data-field="loyaltyPrograms.0.tiers.1.threshold"]')
    await expect(threshold).to_contain_text("greater than or equal to 0")
    # Beside the section it lies in, with the line of the text where the field is.
    line = text.splitlines().index('          "threshold": -5,') + 1
    section = page.locator(
        ".sections > li.has-problems", has=page.locator("code", has_text="loyaltyPrograms")
    )
    await expect(section.locator('[data-field="loyaltyPrograms.0.tiers.1.threshold"]')).to_contain_text(
        f"line {line}"
    )
    await expect(page.locator('[data-testid="config-error"][data-field="timezone"]')).to_contain_text(
        "is not an IANA time zone"
    )
    await expect(page.locator('[data-testid="config-error"][data-field="imageMaxBytes"]')).to_contain_text(
        "valid integer"
    )
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    # The editor holds what was sent; nothing changed.
    assert await page.get_by_test_id("config-editor").input_value() == text
    assert await _api_config(org) == before
    await check_page(page, served.harness.engine, "config-error")

    # With the page's script, "line N" selects that line in the editor.
    await threshold.get_by_role("link").click()
    assert await page.evaluate("document.activeElement.id") == "config-editor"
    selected = await page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e.value.slice(e.selectionStart, e.selectionEnd); })()"
    )
    assert selected.strip() == '"threshold": -5,'

    # A problem across fields (tiers out of order) names its place by the program's index.
    bad = copy.deepcopy(before)
    bad["loyaltyPrograms"][1]["tiers"].append({"number": 2, "name": "Sapling", "threshold": 0})
    bad["referralCampaigns"] = [{"campaignToken": "friends", "name": "Friends", "programId": 99}]
    assert await _save(page, json.dumps(bad, indent=2)) == 400
    await expect(errors).to_have_count(2)
    await expect(
        page.locator('[data-testid="config-error"][data-field="loyaltyPrograms.1.tiers"]')
    ).to_contain_text("thresholds must rise")
    await expect(
        page.locator('[data-testid="config-error"][data-field="referralCampaigns.0.programId"]')
    ).to_contain_text("no loyalty program 99")
    # An unknown key is named, and shown in the outline as a section of its own.
    assert await _save(page, json.dumps({**before, "loyaltyProgramz": []}, indent=2)) == 400
    await expect(page.locator('[data-testid="config-error"][data-field="loyaltyProgramz"]')).to_contain_text(
        "Extra inputs are not permitted"
    )
    assert await _api_config(org) == before


async def test_invalid_json_shows_its_line_and_column(served: Served, page: Page) -> None:
    org = await _org(served)
    before = await _api_config(org)
    await sign_in(page, org.username, org.password)
    await page.goto("/console/config")
    text = '{\n  "timezone": "UTC",\n  oops: 1\n}'
    assert await _save(page, text) == 400
    error = page.get_by_test_id("config-error")
    await expect(error).to_have_count(1)
    await expect(error).to_have_attribute("data-field", "")
    await expect(error).to_contain_text("line 3, column 3")
    assert await page.get_by_test_id("config-editor").input_value() == text
    await check_page(page, served.harness.engine, "config-json-error")
    for text, message in (("[1, 2]", "must be a JSON object"), ("  ", "is empty")):
        assert await _save(page, text) == 400
        await expect(error).to_contain_text(message)
    assert await _api_config(org) == before


async def test_a_good_change_is_saved_and_applies_at_once(served: Served, page: Page) -> None:
    org = await _org(served)
    await sign_in(page, org.username, org.password)
    await page.goto("/console/config")
    changed = await _api_config(org)
    changed["timezone"] = "Europe/Warsaw"
    changed["loyaltyPrograms"][0]["tiers"][2]["name"] = "Platinum"
    changed["loyaltyPrograms"][0]["tiers"][2]["threshold"] = 8000
    assert await _save(page, json.dumps(changed, indent=2)) == 303
    await expect(page).to_have_url(f"{served.url}/console/config?done=saved")
    await expect(page.get_by_test_id("config-done")).to_have_text("Configuration saved.")
    assert await _api_config(org) == changed
    # The page after the save already works with the new configuration (the session's copy).
    top = page.get_by_role("table", name="Tiers of the loyalty programs").locator('tr[data-tier="3"]')
    await expect(top).to_contain_text("Platinum")
    await expect(top).to_contain_text("8000")
    assert json.loads(await page.get_by_test_id("config-editor").input_value()) == changed
    # The confirmation is chosen by the server: any other ?done= shows nothing.
    await page.goto("/console/config?done=<b>hello</b>")
    await expect(page.get_by_test_id("config-done")).to_have_count(0)


async def test_a_post_without_the_csrf_token_or_session_is_refused(served: Served, page: Page) -> None:
    org = await _org(served)
    before = await _api_config(org)
    await sign_in(page, org.username, org.password)
    changed = json.dumps({**before, "timezone": "Asia/Tokyo"})
    request = page.context.request
    for form in ({"config": changed}, {"config": changed, "csrf": "0" * 64}):
        answer = await request.post("/console/config", form=form, max_redirects=0)
        assert answer.status == 403
        assert "CSRF" in await answer.text()
    assert await _api_config(org) == before
    # Without a session: to the sign-in page, nothing saved.
    await page.context.clear_cookies()
    answer = await request.post("/console/config", form={"config": changed}, max_redirects=0)
    assert answer.status == 303
    assert answer.headers["location"] == "/console/login"
    assert await _api_config(org) == before
