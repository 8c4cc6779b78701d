"""Many processes, one truth, on both engines: `patron till revoke` and `patron till role`
run as real commands against the harness's database, and a second app on that same database
(`another_process`: its own engine, pool and caches, as a second API process has) sees every
change made through the first on its next request: a revoked till, a role, a configuration,
a throttle, an idempotency key, a rate limit, a disabled webhook endpoint."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
import time
from typing import Any

from patron.orgs import service as orgs
from patron.orgs.config import OrgConfig
from patron.security.ratelimit import ISSUE_CARD
from tests.api.test_auth_isolation import another_process, basic
from tests.conftest import CONFIG, Harness, make_org
from tests.engagement.test_rate_limits import customer, issue_card
from tests.support import codes, register_body
from tests.webhooks.receiver import Receiver, Reply

SEARCH = "/v2/customers/search"


def patron(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATRON_DATABASE_URL": harness.settings.database_url}
    return subprocess.run(
        [sys.executable, "-m", "patron.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def cli(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(patron, harness, *args)


async def test_a_till_revoked_by_the_cli_is_refused_by_every_process(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    org = await make_org(harness)
    auth = basic(org.username, org.password)
    async with another_process(harness, unscoped_queries) as b:
        assert (await b.get(SEARCH, params={"q": "a"}, headers=auth)).status_code == 200
        assert (await org.get(SEARCH, params={"q": "a"})).status_code == 200
        out = await cli(
            harness, "till", "revoke", "--org", str(org.org_id), "--username", org.username, "--json"
        )
        done = time.monotonic()
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {
            "orgId": org.org_id,
            "username": org.username,
            "active": False,
            "role": orgs.OPERATOR,
            "changed": True,
        }
        refused = await b.get(SEARCH, params={"q": "a"}, headers=auth)
        assert time.monotonic() - done < 1.0
        assert refused.status_code == 401 and codes(refused.json()) == [401]
        assert (await org.get(SEARCH, params={"q": "a"})).status_code == 401
    again = await cli(harness, "till", "revoke", "--org", str(org.org_id), "--username", "till1")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"till {org.username}: revoked, role operator (unchanged)"


async def test_a_role_set_by_the_cli_holds_from_the_next_login(harness: Harness) -> None:
    org = await make_org(harness)
    authenticator = harness.app.state.authenticator
    assert (await authenticator.authenticate(org.username, org.password)).role == orgs.OPERATOR
    args = ("till", "role", "--org", str(org.org_id), "--username", org.username)
    out = await cli(harness, *args, "--role", "till")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"till {org.username}: active, role till"
    assert (await authenticator.authenticate(org.username, org.password)).role == orgs.TILL
    back = await cli(harness, *args, "--role", "operator", "--json")
    assert json.loads(back.stdout)["role"] == "operator" and json.loads(back.stdout)["changed"] is True
    assert (await authenticator.authenticate(org.username, org.password)).role == orgs.OPERATOR


async def test_unknown_orgs_tills_and_roles_end_with_status_1(harness: Harness) -> None:
    org = await make_org(harness)
    missing_org = await cli(harness, "till", "revoke", "--org", "999999999999", "--username", "till1")
    assert missing_org.returncode == 1
    assert "error: Org 999999999999 does not exist." in missing_org.stderr
    missing_till = await cli(harness, "till", "revoke", "--org", str(org.org_id), "--username", "nobody")
    assert missing_till.returncode == 1
    assert f"error: Org {org.org_id} has no till nobody." in missing_till.stderr
    other_org = await cli(
        harness, "till", "revoke", "--org", str(org.org_id), "--username", f"till1@{org.org_id + 1}"
    )
    assert other_org.returncode == 1 and "is not a username of org" in other_org.stderr
    bad_role = await cli(
        harness, "till", "role", "--org", str(org.org_id), "--username", "till1", "--role", "admin"
    )
    assert bad_role.returncode == 1 and "--role is one of till, operator" in bad_role.stderr
    # Nothing was changed by the refusals.
    assert (await org.get(SEARCH, params={"q": "a"})).status_code == 200


async def test_a_configuration_and_a_rate_limit_changed_in_one_process_hold_in_another(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    config: dict[str, Any] = copy.deepcopy(CONFIG)
    config["rateLimitsPerHour"] = {ISSUE_CARD: 100}
    org = await make_org(harness, config)
    first, second, third = [await customer(org) for _ in range(3)]
    async with another_process(harness, unscoped_queries) as b:
        # B reads (and keeps) the configuration with its limit of 100.
        assert (await issue_card(b, first, org.auth)).status_code == 200
        config["rateLimitsPerHour"] = {ISSUE_CARD: 2}
        await harness.app.state.db.write(orgs.replace_config, org.org_id, OrgConfig.model_validate(config))
        changed = time.monotonic()
        assert (await issue_card(org, second)).status_code == 200  # A counts the second
        refused = await issue_card(b, third, org.auth)  # B: the new limit, and A's count
        assert time.monotonic() - changed < 1.0
        assert refused.status_code == 429 and codes(refused.json()) == [2120]


async def test_failed_logins_counted_through_one_process_throttle_another(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    org = await make_org(harness)
    async with another_process(harness, unscoped_queries, host="198.51.100.14") as a:
        for _ in range(harness.settings.auth_max_failures):
            r = await a.get(SEARCH, params={"q": "a"}, headers=basic(org.username, "guess"))
            assert r.status_code == 401
        async with another_process(harness, unscoped_queries, host="198.51.100.14") as b:
            r = await b.get(SEARCH, params={"q": "a"}, headers=basic(org.username, org.password))
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_an_idempotency_key_used_through_one_process_replays_through_another(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    org = await make_org(harness)
    headers = {**org.auth, "Idempotency-Key": "many-processes-1"}
    body = register_body()
    first = await org.post("/v2/customers", json=body, headers={"Idempotency-Key": "many-processes-1"})
    assert first.status_code == 200, first.text
    async with another_process(harness, unscoped_queries) as b:
        again = await b.post("/v2/customers", json=body, headers=headers)
    assert again.status_code == 200 and "idempotent-replayed" in again.headers
    assert again.json()["createdId"] == first.json()["createdId"]


async def test_an_endpoint_disabled_through_one_process_gets_nothing_more_from_another_worker(
    harness: Harness, unscoped_queries: list[str]
) -> None:
    """The harness app's worker delivers; the endpoint is disabled and re-enabled through a
    second app, which tells that worker nothing (its `endpoints_changed` is its own)."""
    org = await make_org(harness)
    gate = asyncio.Event()
    async with Receiver() as receiver:
        receiver.answer = lambda _: Reply(gate=gate)
        r = await org.post("/v2/webhooks", json={"url": receiver.url()})
        assert r.status_code == 201, r.text
        endpoint = r.json()["id"]
        cid = await customer(org)
        await receiver.wait_for(lambda got: len(got) == 1)  # held open at the receiver
        body = {"profiles": [{"firstName": "Ann", "source": "INSTORE"}]}
        r = await org.put(f"/v2/customers/{cid}?source=INSTORE", json=body)
        assert r.status_code == 200, r.text  # its event waits behind the first (per customer)
        async with another_process(harness, unscoped_queries) as b:
            r = await b.patch(f"/v2/webhooks/{endpoint}", json={"enabled": False}, headers=org.auth)
            assert r.status_code == 200 and r.json()["enabled"] is False
            gate.set()  # the first is answered; the second is due, to a disabled endpoint
            await asyncio.sleep(1.5)
            assert len(receiver.requests) == 1
            r = await b.patch(f"/v2/webhooks/{endpoint}", json={"enabled": True}, headers=org.auth)
            assert r.status_code == 200 and r.json()["enabled"] is True
            enabled = time.monotonic()
            await receiver.wait_for(lambda got: len(got) == 2, timeout=5.0)
            # The worker's directory is at most DIRECTORY_SECONDS old, plus one round.
            assert time.monotonic() - enabled < 1.5
        assert receiver.requests[0].event_id != receiver.requests[1].event_id
