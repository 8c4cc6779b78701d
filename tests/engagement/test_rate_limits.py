"""Rate limits per org and operation (security/ratelimit.py), on both engines: the card
issues of changeIdentifier over HTTP, and the limiter itself driven with its own clock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends

from patron.api.http import JSONResponse
from patron.api.ratelimits import rate_limited
from patron.api.routing import LeanRoute
from patron.context import RequestContext
from patron.errors import Throttled
from patron.main import create_app
from patron.security import ratelimit
from patron.security.ratelimit import GET_REFERRALS, ISSUE_CARD, prune_closed, take
from tests.api.test_auth_isolation import another_process
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.orgscope import OrgScopeGuard
from tests.support import codes, execute, register_body, rows, token

# Far enough ahead that no housekeeping pass of the running worker prunes these windows.
HOUR = datetime(2099, 3, 1, 10, 0, tzinfo=UTC)


async def org_limiting_cards(harness: Harness, limit: int) -> OrgClient:
    config = copy.deepcopy(CONFIG)
    config["rateLimitsPerHour"] = {ISSUE_CARD: limit}
    return await make_org(harness, config)


async def customer(client: OrgClient) -> int:
    r = await client.post("/v2/customers", json=register_body())
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


async def issue_card(client: Any, cid: int, auth: dict[str, str] | None = None) -> Any:
    body = {"add": [{"type": "cardnumber", "value": token("CARD_"), "seriesId": 19}]}
    params = {"source": "INSTORE"}
    if auth is not None:  # another process's client
        return await client.post(
            f"/v2/customers/{cid}/changeIdentifier", params=params, json=body, headers=auth
        )
    return await client.post(f"/v2/customers/{cid}/changeIdentifier", params=params, json=body)


async def window_counts(harness: Harness, org_id: int) -> list[tuple[str, int]]:
    found = await rows(
        harness.app.state.db,
        "SELECT operation, count FROM rate_limit_window WHERE org_id = :o ORDER BY operation, window_start",
        o=org_id,
    )
    return [(r.operation, r.count) for r in found]


async def cards_of(harness: Harness, org_id: int, cid: int) -> int:
    found = await rows(
        harness.app.state.db,
        "SELECT COUNT(*) AS n FROM card WHERE org_id = :o AND customer_id = :c",
        o=org_id,
        c=cid,
    )
    return int(found[0].n)


async def test_card_issues_past_the_limit_are_429_with_retry_after(harness: Harness) -> None:
    client = await org_limiting_cards(harness, 2)
    first, second, third = [await customer(client) for _ in range(3)]
    assert (await issue_card(client, first)).status_code == 200
    assert (await issue_card(client, second)).status_code == 200
    r = await issue_card(client, third)
    assert r.status_code == 429
    body = r.json()
    assert body["warnings"] == [] and codes(body) == [2120]
    assert body["errors"][0]["status"] is False
    message = body["errors"][0]["message"]
    assert "2 requests per hour" in message and ISSUE_CARD in message
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    # The refused request changed nothing: no card, and the window still counts two.
    assert await cards_of(harness, client.org_id, third) == 0
    assert await window_counts(harness, client.org_id) == [(ISSUE_CARD, 2)]


async def test_every_card_issue_counts_even_a_failed_one(harness: Harness) -> None:
    client = await org_limiting_cards(harness, 1)
    r = await issue_card(client, 999_999_999)  # no such customer: 404, but counted
    assert r.status_code == 404
    cid = await customer(client)
    r = await issue_card(client, cid)
    assert r.status_code == 429 and codes(r.json()) == [2120]


async def test_only_card_issues_are_limited_and_other_orgs_are_unaffected(harness: Harness) -> None:
    client = await org_limiting_cards(harness, 1)
    other = await make_org(harness)  # the default: 1,000 per hour
    cid = await customer(client)
    assert (await issue_card(client, cid)).status_code == 200
    assert (await issue_card(client, cid)).status_code == 429
    # Update Customer Identifiers without a card is not limited.
    r = await client.post(
        f"/v2/customers/{cid}/changeIdentifier",
        params={"source": "INSTORE"},
        json={"add": [{"type": "email", "value": f"{token('rl')}@example.com"}]},
    )
    assert r.status_code == 200, r.text
    # Another org's card issues are counted apart.
    other_cid = await customer(other)
    assert (await issue_card(other, other_cid)).status_code == 200
    assert await window_counts(harness, other.org_id) == [(ISSUE_CARD, 1)]
    assert await window_counts(harness, client.org_id) == [(ISSUE_CARD, 1)]


async def test_limits_are_per_operation_and_per_org(harness: Harness, client: OrgClient) -> None:
    db = harness.app.state.db
    other = await make_org(harness)
    limits = {GET_REFERRALS: 2, ISSUE_CARD: 1}
    assert await take(db, client.org_id, GET_REFERRALS, limits, HOUR) == 1
    assert await take(db, client.org_id, GET_REFERRALS, limits, HOUR) == 2
    with pytest.raises(Throttled) as refused:
        await take(db, client.org_id, GET_REFERRALS, limits, HOUR + timedelta(minutes=15))
    assert refused.value.status == 429 and refused.value.code == 2120
    assert refused.value.retry_after == 45 * 60
    # Another operation of the same org, and the same operation of another org, still pass.
    assert await take(db, client.org_id, ISSUE_CARD, limits, HOUR) == 1
    assert await take(db, other.org_id, GET_REFERRALS, limits, HOUR) == 1


async def test_configured_limits_override_the_defaults(harness: Harness, client: OrgClient) -> None:
    db = harness.app.state.db
    for operation in (ISSUE_CARD, ratelimit.ADD_REFERRALS, GET_REFERRALS):
        assert ratelimit.limit_of(operation, {}) == 1000  # the seed's figure
    assert ratelimit.limit_of(GET_REFERRALS, {GET_REFERRALS: 3}) == 3
    # The default holds: a window at 999 takes one more request, then refuses.
    await execute(
        db,
        "INSERT INTO rate_limit_window (org_id, operation, window_start, count) VALUES (:o, :op, :w, 999)",
        o=client.org_id,
        op=GET_REFERRALS,
        w=HOUR,
    )
    assert await take(db, client.org_id, GET_REFERRALS, {}, HOUR) == 1000
    with pytest.raises(Throttled):
        await take(db, client.org_id, GET_REFERRALS, {}, HOUR)
    # A configured figure above the default lets the same window go on.
    assert await take(db, client.org_id, GET_REFERRALS, {GET_REFERRALS: 1001}, HOUR) == 1001
    # Over HTTP: an org configuration set through PUT /v2/org/config takes effect.
    document = (await client.get("/v2/org/config")).json()
    document["rateLimitsPerHour"] = {ISSUE_CARD: 1}
    r = await client.put("/v2/org/config", json=document)
    assert r.status_code == 200, r.text
    assert r.json()["rateLimitsPerHour"] == {ISSUE_CARD: 1}
    cid = await customer(client)
    assert (await issue_card(client, cid)).status_code == 200
    assert (await issue_card(client, cid)).status_code == 429


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ({"Get Points Transfer Summary of Customer": 5}, "is not a rate-limited operation"),
        ({"Get Customer Referrals": 0}, "from 1 to 10,000,000"),
        ({"Get Customer Referrals": 10_000_001}, "from 1 to 10,000,000"),
        ({"Get Customer Referrals": "5"}, "valid integer"),
    ],
)
async def test_a_bad_configuration_is_refused_and_names_the_problem(
    client: OrgClient, limits: dict[str, Any], named: str
) -> None:
    before = (await client.get("/v2/org/config")).json()
    r = await client.put("/v2/org/config", json={**before, "rateLimitsPerHour": limits})
    assert r.status_code == 400
    message = r.json()["errors"][0]["message"]
    assert "rateLimitsPerHour" in message and named in message
    assert next(iter(limits)) in message
    assert (await client.get("/v2/org/config")).json() == before


async def test_the_window_rolls_over_at_the_hour(harness: Harness, client: OrgClient) -> None:
    db = harness.app.state.db
    limits = {GET_REFERRALS: 2}
    late = HOUR + timedelta(minutes=59, seconds=59, microseconds=400_000)
    assert await take(db, client.org_id, GET_REFERRALS, limits, HOUR + timedelta(minutes=5)) == 1
    assert await take(db, client.org_id, GET_REFERRALS, limits, late) == 2
    with pytest.raises(Throttled) as refused:
        await take(db, client.org_id, GET_REFERRALS, limits, late)
    assert refused.value.retry_after == 1
    next_hour = HOUR + timedelta(hours=1)
    assert await take(db, client.org_id, GET_REFERRALS, limits, next_hour) == 1
    assert await window_counts(harness, client.org_id) == [(GET_REFERRALS, 2), (GET_REFERRALS, 1)]


async def test_closed_windows_are_pruned(harness: Harness, client: OrgClient) -> None:
    db = harness.app.state.db
    other = await make_org(harness)
    for org in (client, other):
        for hours in (-3, -1, 0):
            await take(db, org.org_id, GET_REFERRALS, {}, HOUR + timedelta(hours=hours))
    await db.write(prune_closed, HOUR + timedelta(minutes=30))
    for org in (client, other):
        found = await rows(db, "SELECT window_start FROM rate_limit_window WHERE org_id = :o", o=org.org_id)
        assert [r.window_start for r in found] == [HOUR]


async def test_counted_across_two_serving_processes(harness: Harness, unscoped_queries: list[str]) -> None:
    client = await org_limiting_cards(harness, 2)
    first, second, third = [await customer(client) for _ in range(3)]
    assert (await issue_card(client, first)).status_code == 200
    async with another_process(harness, unscoped_queries) as http:
        assert (await issue_card(http, second, client.auth)).status_code == 200
        r = await issue_card(http, third, client.auth)
        assert r.status_code == 429 and codes(r.json()) == [2120]
        assert int(r.headers["retry-after"]) >= 1
    r = await issue_card(client, third)
    assert r.status_code == 429
    assert await window_counts(harness, client.org_id) == [(ISSUE_CARD, 2)]


async def test_the_dependency_factory_limits_a_route(harness: Harness, unscoped_queries: list[str]) -> None:
    """`rate_limited(operation)` in place of `Ctx`: the route runs under the limit and is
    answered 429 past it, on the lean path."""
    with pytest.raises(ValueError, match="not a rate-limited operation"):
        rate_limited("Get Points Transfer Summary of Customer")

    async def referrals(
        ctx: Annotated[RequestContext, Depends(rate_limited(GET_REFERRALS))],
    ) -> JSONResponse:
        return JSONResponse({"org": ctx.org_id})

    config = copy.deepcopy(CONFIG)
    config["rateLimitsPerHour"] = {GET_REFERRALS: 1}
    client = await make_org(harness, config)
    app = create_app(harness.settings.model_copy(update={"worker_enabled": False}))
    app.router.add_api_route("/v2/test/referrals", referrals, methods=["GET"], route_class_override=LeanRoute)
    route = next(r for r in app.router.routes if getattr(r, "path", "") == "/v2/test/referrals")
    assert isinstance(route, LeanRoute)
    async with app.router.lifespan_context(app):
        app.state.db.observers.append(OrgScopeGuard(unscoped_queries))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as http:
            r = await http.get("/v2/test/referrals", headers=client.auth)
            assert r.status_code == 200 and r.json() == {"org": client.org_id}
            assert route.lean
            r = await http.get("/v2/test/referrals", headers=client.auth)
            assert r.status_code == 429 and codes(r.json()) == [2120]
            assert "retry-after" in r.headers
            r = await http.get("/v2/test/referrals")  # authentication comes first
            assert r.status_code == 401
    assert await window_counts(harness, client.org_id) == [(GET_REFERRALS, 1)]
