"""Authentication, throttling, request ids, and isolation between orgs."""

from __future__ import annotations

import base64

from tests.conftest import OrgClient, make_org
from tests.support import codes, mobile, register_body


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


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
    from patron.security.passwords import hash_password
    from tests.support import execute, rows

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
