"""The merges of a customer in the console, in headless Chromium on SQLite and PostgreSQL: a
changeIdentifier merge made through the API shows on both customers' pages (the merged-away
one links to the survivor), an undo from the console gives the victim its record back and is
recorded as made through the console, and refusals (the typed confirmation, the org's
mergeUndoDays, CSRF) write nothing."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect
from tests.api.test_identifiers import WECHAT, change, lookup, register
from tests.conftest import OrgClient, make_org
from tests.console.conftest import Served, check_page, sign_in
from tests.support import codes, mobile, register_body, token


async def _merged(org: OrgClient) -> tuple[int, int, int, str, str]:
    """A survivor (INSTORE, a mobile) and a victim (WECHAT-CM, a wechat id) merged by adding the
    survivor's mobile to the victim (8051): (survivor, victim, merge id, mobile, wechat id)."""
    number, wx = mobile(), token("wx")
    survivor = await register(org, number, first="Grace", last="Hopper")
    victim = await register(
        org, source="WECHAT", account_id="WECHAT-CM", first="Grace", extra=[{"type": "wechat", "value": wx}]
    )
    r = await change(org, victim, add=[{"type": "mobile", "value": number}], where=WECHAT)
    assert r.status_code == 200 and codes(r.json(), "warnings") == [8051], r.text
    return survivor, victim, int(r.json()["mergeId"]), number, wx


async def _merges(org: OrgClient, cid: int) -> list[dict[str, Any]]:
    r = await org.get(f"/v2/customers/{cid}/merges")
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


async def test_a_merge_shows_on_both_pages_and_the_console_undoes_it(served: Served, page: Page) -> None:
    engine = served.harness.engine
    org = await make_org(served.harness)
    survivor, victim, merge_id, number, wx = await _merged(org)
    code = org.username.split("@")[0]
    await sign_in(page, org.username, org.password)

    # The survivor's page lists the merge: kind, till, the other customer, what moved.
    await page.goto(f"/console/customers/{survivor}")
    item = page.locator(f'[data-testid="merge"][data-merge="{merge_id}"]')
    await expect(item).to_have_attribute("data-kind", "changeIdentifier")
    await expect(item).to_have_attribute("data-undone", "false")
    await expect(item).to_contain_text("Identifier change")
    await expect(item).to_contain_text(code)
    await expect(item.get_by_test_id("merge-role")).to_have_text("The survivor")
    await expect(item.get_by_test_id("merge-moved")).to_have_text("1 profile, 3 identifiers")
    await expect(item.get_by_test_id("merge-other")).to_have_attribute("href", f"/console/customers/{victim}")
    await expect(item.get_by_test_id("undo-form")).to_have_count(1)
    await check_page(page, engine, "customer-merges")

    # The victim's page says where it went, links there, and shows the same merge.
    await item.get_by_test_id("merge-other").click()
    await expect(page.get_by_test_id("merged-into")).to_contain_text(f"customer {survivor}")
    await expect(page.get_by_test_id("merged-survivor")).to_have_attribute(
        "href", f"/console/customers/{survivor}"
    )
    item = page.locator(f'[data-testid="merge"][data-merge="{merge_id}"]')
    await expect(item.get_by_test_id("merge-role")).to_have_text("Merged away")
    await check_page(page, engine, "customer-merged")

    # A wrong confirmation is refused beside the merge, nothing undone.
    await item.get_by_test_id("undo-confirm").fill(str(merge_id + 1))
    await item.get_by_test_id("undo-submit").click()
    await expect(item.get_by_test_id("undo-refused")).to_have_text(
        f"Type the merge's id, {merge_id}, exactly, to confirm the undo."
    )
    await expect(item.get_by_test_id("undo-confirm")).to_have_attribute(
        "aria-describedby", f"undo-{merge_id}-error"
    )
    assert [m["undone"] for m in await _merges(org, victim)] == [False]

    # Undone: the victim's page is whole again, with what went back and what stayed.
    await item.get_by_test_id("undo-confirm").fill(str(merge_id))
    await item.get_by_test_id("undo-submit").click()
    await expect(page.get_by_test_id("done")).to_have_text("The merge was undone.")
    result = page.get_by_test_id("undo-result")
    await expect(result.get_by_test_id("undo-restored")).to_have_text("1 profile, 2 identifiers")
    await expect(result.get_by_test_id("undo-identifiers")).to_contain_text(
        f"wechat {wx} in WECHAT / WECHAT-CM"
    )
    await expect(result.get_by_test_id("undo-kept")).to_contain_text(
        f"mobile {number} in WECHAT / WECHAT-CM: the survivor holds the same value"
    )
    await expect(page.get_by_test_id("customer-id")).to_have_text(str(victim))
    await expect(page.get_by_test_id("customer-identifiers")).to_contain_text(wx)
    # The answer's links lead to the customer's page, not to the form's address.
    await expect(page.locator('a[href*="/undo"]')).to_have_count(0)
    await check_page(page, engine, "customer-merge-undone")

    # Read again: the merge is undone, by the signed-in till, and the history says the
    # console did it, on both customers.
    for cid in (victim, survivor):
        await page.goto(f"/console/customers/{cid}")
        item = page.locator(f'[data-testid="merge"][data-merge="{merge_id}"]')
        await expect(item).to_have_attribute("data-undone", "true")
        await expect(item.get_by_test_id("merge-undone")).to_contain_text(code)
        await expect(item.get_by_test_id("undo-form")).to_have_count(0)
        row = page.locator('[data-testid="history-entry"][data-field="mergeUndone"]')
        await expect(row).to_have_count(1)
        await expect(row).to_have_attribute("data-surface", "console")
        await expect(row).to_contain_text(str(merge_id))
    # The API finds the victim again by its own identifier, and lists the merge undone.
    r = await lookup(org, "wechat", wx, WECHAT)
    assert r.status_code == 200 and r.json()["entity"] == victim, r.text
    [listed] = await _merges(org, survivor)
    assert (listed["mergeId"], listed["undone"]) == (merge_id, True)


async def test_an_undo_past_the_window_is_refused(served: Served, page: Page) -> None:
    engine = served.harness.engine
    org = await make_org(served.harness)
    survivor, victim, merge_id, _, wx = await _merged(org)
    await sign_in(page, org.username, org.password)
    await page.goto(f"/console/customers/{survivor}")
    item = page.locator(f'[data-testid="merge"][data-merge="{merge_id}"]')
    await expect(item.get_by_test_id("undo-form")).to_have_count(1)

    # Without the CSRF token the undo is refused (403), nothing undone.
    answer = await page.context.request.post(
        f"/console/customers/{survivor}/merges/{merge_id}/undo", form={"confirm": str(merge_id)}
    )
    assert answer.status == 403

    # The org turns undo off while the form is open: the undo is refused beside the merge.
    config = (await org.get("/v2/org/config")).json()
    r = await org.put("/v2/org/config", json={**config, "mergeUndoDays": 0})
    assert r.status_code == 200, r.text
    await item.get_by_test_id("undo-confirm").fill(str(merge_id))
    async with page.expect_response(lambda a: a.request.method == "POST") as posted:
        await item.get_by_test_id("undo-submit").click()
    assert (await posted.value).status == 422
    await expect(item.get_by_test_id("undo-refused")).to_contain_text(
        "older than the 0 days this org allows for an undo"
    )
    await expect(item).to_have_attribute("data-undone", "false")
    await expect(item.get_by_test_id("undo-form")).to_have_count(0)
    await expect(page.get_by_test_id("merges")).to_contain_text("This org allows no undo")
    await check_page(page, engine, "customer-merge-undo-refused")
    assert [m["undone"] for m in await _merges(org, survivor)] == [False]
    r = await lookup(org, "wechat", wx, WECHAT)
    assert r.status_code == 200 and r.json()["entity"] == survivor, r.text
    assert victim != survivor


async def test_undoing_a_registration_merge_splits_off_a_customer(served: Served, page: Page) -> None:
    org = await make_org(served.harness)
    number, wx = mobile(), token("wx")
    survivor = await register(org, number, first="Alan", last="Turing")
    body = register_body(
        number, source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": wx}]
    )
    r = await org.post("/v2/customers", json=body)
    assert r.status_code == 200 and codes(r.json(), "warnings") == [8050], r.text
    merge_id = int(r.json()["mergeId"])

    await sign_in(page, org.username, org.password)
    await page.goto(f"/console/customers/{survivor}")
    item = page.locator(f'[data-testid="merge"][data-merge="{merge_id}"]')
    await expect(item).to_have_attribute("data-kind", "registration")
    await expect(item).to_contain_text("No second customer (a registration)")
    await expect(item.get_by_test_id("merge-moved")).to_have_text("1 profile, 2 identifiers")
    await item.get_by_test_id("undo-confirm").fill(str(merge_id))
    await item.get_by_test_id("undo-submit").click()
    result = page.get_by_test_id("undo-result")
    await expect(result).to_contain_text("became a new customer")
    await expect(result.get_by_test_id("undo-identifiers")).to_have_text(f"wechat {wx} in WECHAT / WECHAT-CM")
    await check_page(page, served.harness.engine, "customer-merge-split")
    r = await lookup(org, "wechat", wx, WECHAT)
    assert r.status_code == 200, r.text
    split = r.json()["entity"]
    assert split != survivor
    await result.locator(f'a[href="/console/customers/{split}"]').click()
    await expect(page.get_by_test_id("customer-identifiers")).to_contain_text(wx)
    await expect(page.get_by_test_id("customer-id")).to_have_text(str(split))
