"""Authentication, throttling, request ids, and isolation between orgs."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from patron.main import create_app
from tests.conftest import Harness, OrgClient, make_org
from tests.orgscope import OrgScopeGuard
from tests.support import codes, execute, mobile, register_body, rows

SEARCH = "/v2/customers/search"


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@asynccontextmanager
async def from_address(harness: Harness, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the harness's app whose connections come from `host`."""
    transport = httpx.ASGITransport(app=harness.app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as http:
        yield http


@asynccontextmanager
async def another_process(
    harness: Harness, sink: list[str], host: str = "127.0.0.1", **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A second app (as a second API process would be) on the harness's database."""
    app = create_app(harness.settings.model_copy(update={"worker_enabled": False, **settings}))
    async with app.router.lifespan_context(app):
        app.state.db.observers.append(OrgScopeGuard(sink))
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as http:
            yield http


async def failure_rows(harness: Harness, org_id: int) -> list[Any]:
    return await rows(
        harness.app.state.db,
        "SELECT till_code, client, failures FROM login_failure WHERE org_id = :o ORDER BY client",
        o=org_id,
    )


async def test_missing_credentials_are_401_in_the_v2_envelope(client: OrgClient) -> None:
    r = await client.harness.http.get("/v2/customers/search", params={"q": "tom"})
    assert r.status_code == 401
    assert codes(r.json()) == [401]
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_wrong_password_is_401(client: OrgClient) -> None:
    r = await client.harness.http.get(
        "/v2/customers/search", params={"q": "a"}, headers=basic(client.username, "wrong")
    )
    assert r.status_code == 401


async def test_malformed_authorization_header_is_401(client: OrgClient) -> None:
    for header in ("Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()):
        r = await client.harness.http.get(
            "/v2/customers/search", params={"q": "a"}, headers={"Authorization": header}
        )
        assert r.status_code == 401


async def test_repeated_failures_throttle_that_username_only(harness) -> None:  # type: ignore[no-untyped-def]
    victim = await make_org(harness)
    bystander = await make_org(harness)
    for _ in range(harness.settings.auth_max_failures):
        r = await harness.http.get(
            "/v2/customers/search", params={"q": "a"}, headers=basic(victim.username, "bad")
        )
        assert r.status_code == 401
    r = await harness.http.get(
        "/v2/customers/search", params={"q": "a"}, headers=basic(victim.username, "bad")
    )
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert codes(r.json()) == [429]
    ok = await bystander.get("/v2/customers/search", params={"q": "a"})
    assert ok.status_code == 200


async def test_cached_valid_credentials_keep_working_while_failures_are_throttled(harness) -> None:  # type: ignore[no-untyped-def]
    org = await make_org(harness)
    assert (await org.get("/v2/customers/search", params={"q": "a"})).status_code == 200
    for _ in range(harness.settings.auth_max_failures + 1):
        await harness.http.get("/v2/customers/search", params={"q": "a"}, headers=basic(org.username, "bad"))
    assert (await org.get("/v2/customers/search", params={"q": "a"})).status_code == 200


async def test_every_response_carries_a_request_id_and_echoes_the_clients(client: OrgClient) -> None:
    r = await client.get("/v2/customers/search", params={"q": "a"})
    assert len(r.headers["x-request-id"]) >= 16
    r = await client.get("/v2/customers/search", params={"q": "a"}, headers={"X-Request-Id": "till-42.req-7"})
    assert r.headers["x-request-id"] == "till-42.req-7"


async def test_another_orgs_customer_reads_as_not_found_by_id(
    client: OrgClient, other_client: OrgClient
) -> None:
    cid = (await client.post("/v2/customers", json=register_body())).json()["createdId"]
    theirs = await other_client.get(f"/v2/customers/{cid}", params={"source": "ALL"})
    missing = await other_client.get("/v2/customers/999999999999", params={"source": "ALL"})
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert codes(theirs.json()) == [8015]


async def test_another_orgs_customer_cannot_be_changed(client: OrgClient, other_client: OrgClient) -> None:
    number = mobile()
    cid = (await client.post("/v2/customers", json=register_body(number))).json()["createdId"]
    put = await other_client.put(
        f"/v2/customers/{cid}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": "Mallory"}]}
    )
    assert put.status_code == 404 and codes(put.json()) == [8009]
    change = await other_client.post(
        f"/v2/customers/{cid}/changeIdentifier",
        params={"source": "INSTORE"},
        json={"add": [{"type": "email", "value": "x@example.com"}]},
    )
    assert change.status_code == 404 and codes(change.json()) == [8009]
    mine = (await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})).json()
    assert mine["profiles"][0]["firstName"] == "Tom"
    assert [i["type"] for i in mine["profiles"][0]["identifiers"]] == ["mobile"]


async def test_identifiers_do_not_cross_orgs(client: OrgClient, other_client: OrgClient) -> None:
    number = mobile()
    mine = (await client.post("/v2/customers", json=register_body(number))).json()["createdId"]
    params = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number}
    assert (await other_client.get("/v2/customers/lookup", params=params)).status_code == 404
    # The same mobile is a new, separate customer in the other org: no merge across orgs.
    theirs = await other_client.post("/v2/customers", json=register_body(number))
    assert theirs.status_code == 200 and theirs.json()["warnings"] == []
    assert theirs.json()["createdId"] != mine
    search = (await other_client.get("/v2/customers/search", params={"q": number})).json()
    assert [d["userId"] for d in search["data"]] == [theirs.json()["createdId"]]


async def test_a_till_stored_with_an_argon2_hash_logs_in_once_and_is_stored_as_a_digest(harness) -> None:  # type: ignore[no-untyped-def]
    from tests.support import execute, hash_password, rows

    org = await make_org(harness)
    org_id, code = org.org_id, org.username.split("@")[0]
    db = harness.app.state.db
    # As a till made before API-key digests was stored.
    await execute(
        db,
        "UPDATE till SET password_hash = :h WHERE org_id = :o AND code = :c",
        h=hash_password(org.password),
        o=org_id,
        c=code,
    )
    assert (await org.get("/v2/customers/search", params={"q": "a"})).status_code == 200
    stored = (
        await rows(db, "SELECT password_hash FROM till WHERE org_id = :o AND code = :c", o=org_id, c=code)
    )[0]
    assert stored.password_hash.startswith("hmac-sha256$")
    assert (await org.get("/v2/customers/search", params={"q": "a"})).status_code == 200
    wrong = await harness.http.get(
        "/v2/customers/search", params={"q": "a"}, headers=basic(org.username, "x")
    )
    assert wrong.status_code == 401


async def test_a_username_in_any_other_spelling_is_refused(client: OrgClient) -> None:
    code, org_id = client.username.split("@")
    for spelling in (f"{code}@0{org_id}", f"{code.upper()}@{org_id}", f"{code}@{org_id} ", f"{code}@١٠٠٠"):
        r = await client.harness.http.get(
            "/v2/customers/search", params={"q": "a"}, headers=basic(spelling, client.password)
        )
        assert r.status_code == 401, spelling


async def test_other_spellings_and_unknown_tills_get_no_counters(harness: Harness) -> None:
    org = await make_org(harness)
    code, org_id = org.username.split("@")
    spellings = [f"{code}@0{org_id}", f"{code}@00{org_id}", f"{code.upper()}@{org_id}", f" {code}@{org_id}"]
    spellings += [f"{code}@{org_id}".replace("1", "١"), f"{code}@{org_id}\x00", f"ghost@{org_id}"]
    for spelling in spellings:
        for _ in range(harness.settings.auth_max_failures + 1):
            r = await harness.http.get(SEARCH, params={"q": "a"}, headers=basic(spelling, "bad"))
            assert r.status_code == 401, spelling
    assert await failure_rows(harness, org_id=int(org_id)) == []
    # None of them counted against the till itself.
    assert (await org.get(SEARCH, params={"q": "a"})).status_code == 200


async def test_an_attackers_address_is_throttled_while_the_owner_logs_in_from_another(
    harness: Harness,
) -> None:
    org = await make_org(harness)
    limit = harness.settings.auth_max_failures
    async with (
        from_address(harness, "203.0.113.7") as attacker,
        from_address(harness, "198.51.100.9") as owner,
    ):
        for _ in range(limit):
            r = await attacker.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "guess"))
            assert r.status_code == 401
        r = await attacker.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "guess"))
        assert r.status_code == 429 and codes(r.json()) == [429]
        assert 1 <= int(r.headers["retry-after"]) <= harness.settings.auth_failure_window_seconds
        # Throttled means the key is not even checked from that address, right or wrong.
        r = await attacker.get(SEARCH, params={"q": "a"}, headers=basic(org.username, org.password))
        assert r.status_code == 429
        # The owner, elsewhere, is not locked out; nor is another till from the attacker's address.
        r = await owner.get(SEARCH, params={"q": "a"}, headers=basic(org.username, org.password))
        assert r.status_code == 200
        other = await make_org(harness)
        r = await attacker.get(SEARCH, params={"q": "a"}, headers=basic(other.username, other.password))
        assert r.status_code == 200
    found = await failure_rows(harness, org.org_id)
    assert [(f.client, f.failures) for f in found] == [("203.0.113.7", limit)]


async def test_failures_are_counted_in_a_window_and_forgiven_by_a_success(harness: Harness) -> None:
    org = await make_org(harness)
    code = org.username.split("@")[0]
    limit = harness.settings.auth_max_failures
    async with from_address(harness, "192.0.2.10") as till:
        for _ in range(limit - 1):
            assert (
                await till.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "typo"))
            ).status_code == 401
        assert [f.failures for f in await failure_rows(harness, org.org_id)] == [limit - 1]
        # A success from the address forgets its failures: the owner's typos do not add up.
        assert (
            await till.get(SEARCH, params={"q": "a"}, headers=basic(org.username, org.password))
        ).status_code == 200
        assert await failure_rows(harness, org.org_id) == []
        for _ in range(limit):
            await till.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "typo"))
        assert (
            await till.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "typo"))
        ).status_code == 429
        # The window opened by the first failure closes: the address may try again, and a
        # failure then opens a new window with a count of one.
        window = harness.settings.auth_failure_window_seconds
        await execute(
            harness.app.state.db,
            "UPDATE login_failure SET window_start = :t WHERE org_id = :o AND till_code = :c",
            t=datetime.now(UTC) - timedelta(seconds=window + 1),
            o=org.org_id,
            c=code,
        )
        assert (
            await till.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "typo"))
        ).status_code == 401
        assert [f.failures for f in await failure_rows(harness, org.org_id)] == [1]


async def test_a_failure_prunes_the_tills_closed_windows_from_other_addresses(harness: Harness) -> None:
    org = await make_org(harness)
    code = org.username.split("@")[0]
    for host in ("192.0.2.1", "192.0.2.2"):
        async with from_address(harness, host) as http:
            await http.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "bad"))
    window = harness.settings.auth_failure_window_seconds
    await execute(
        harness.app.state.db,
        "UPDATE login_failure SET window_start = :t WHERE org_id = :o AND till_code = :c AND client = :a",
        t=datetime.now(UTC) - timedelta(seconds=window + 1),
        o=org.org_id,
        c=code,
        a="192.0.2.1",
    )
    async with from_address(harness, "192.0.2.3") as http:
        await http.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "bad"))
    assert [f.client for f in await failure_rows(harness, org.org_id)] == ["192.0.2.2", "192.0.2.3"]


async def test_failure_counts_are_shared_by_every_process(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    org = await make_org(harness)
    limit = harness.settings.auth_max_failures
    async with (
        another_process(harness, unscoped_queries, host="203.0.113.50") as first,
        another_process(harness, unscoped_queries, host="203.0.113.50") as second,
    ):
        for n in range(limit):
            process = first if n % 2 else second
            r = await process.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "guess"))
            assert r.status_code == 401
        for process in (first, second):
            r = await process.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "guess"))
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) >= 1
    async with from_address(harness, "203.0.113.50") as third:
        r = await third.get(SEARCH, params={"q": "a"}, headers=basic(org.username, org.password))
        assert r.status_code == 429


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    org = await make_org(harness)
    limit = harness.settings.auth_max_failures
    # By default a client cannot escape its count by naming another address.
    async with from_address(harness, "203.0.113.60") as http:
        for n in range(limit + 1):
            r = await http.get(
                SEARCH,
                params={"q": "a"},
                headers={**basic(org.username, "guess"), "X-Forwarded-For": f"198.51.100.{n}"},
            )
        assert r.status_code == 429
    # Behind a configured proxy, the client its X-Forwarded-For names is what counts.
    async with another_process(
        harness, unscoped_queries, host="10.0.0.5", trusted_proxies=["10.0.0.0/8"]
    ) as proxy:
        for _ in range(limit + 1):
            r = await proxy.get(
                SEARCH,
                params={"q": "a"},
                headers={**basic(org.username, "guess"), "X-Forwarded-For": "198.51.100.77, 10.0.0.9"},
            )
        assert r.status_code == 429
        r = await proxy.get(
            SEARCH,
            params={"q": "a"},
            headers={**basic(org.username, org.password), "X-Forwarded-For": "198.51.100.78"},
        )
        assert r.status_code == 200
    clients = {f.client for f in await failure_rows(harness, org.org_id)}
    assert clients == {"203.0.113.60", "198.51.100.77"}


async def test_a_successful_login_costs_no_statement_more(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    org = await make_org(harness)
    number = mobile()
    assert (await org.post("/v2/customers", json=register_body(number))).status_code == 200
    lookup = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number}
    async with another_process(harness, unscoped_queries, host="192.0.2.77", statement_header=True) as http:

        async def statements(password: str) -> tuple[int, int]:
            r = await http.get("/v2/customers/lookup", params=lookup, headers=basic(org.username, password))
            return r.status_code, int(r.headers["x-patron-statements"])

        assert (await statements(org.password))[0] == 200  # this process reads the org's config once
        # The login statement (the till, the org's stamp and this address's failures) and
        # the holders: two, as before failures were counted in the database.
        assert await statements(org.password) == (200, 2)
        # A failure reads the till and writes its count.
        status, count = await statements("bad")
        assert status == 401 and count >= 2
        # The next success forgets that count once (a DELETE; on PostgreSQL in its own
        # transaction: BEGIN, DELETE, COMMIT); after that, two statements again.
        assert await statements(org.password) == (200, 3 if harness.engine == "sqlite" else 5)
        assert await statements(org.password) == (200, 2)
