"""The foundation of the security flows: the credential-failure throttle, one-time codes
and the message outbox, driven directly through the service layer on both engines (the
flows' own tests drive them through HTTP)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from patron.context import Actor, RequestContext
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.errors import PatronError, Throttled
from patron.orgs.config import OrgConfig
from patron.security.attempts import AttemptPolicy, Attempts, wait_of
from patron.users import challenges
from patron.users.challenges import Redeemed
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import email, rows
from tests.users.messages import next_message, read_code, sent

USER_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}}
SCOPE = {"type": "http", "client": ("203.0.113.9", 5000), "headers": []}


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def new_user(client: OrgClient) -> int:
    body = {"personal_info": {"first_name": "Ada", "last_name": "Byron"}, "email": [{"address": email()}]}
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["info"]["id"])


def ctx_of(client: OrgClient) -> RequestContext:
    return RequestContext(
        client.org_id, Actor(1, "t", "t", "s", "s"), "req", OrgConfig.model_validate(USER_CONFIG)
    )


def test_the_policy_doubles_the_wait_up_to_the_cap_and_counts_the_hour() -> None:
    p = AttemptPolicy(threshold=10, address_threshold=30, base_delay=30, cap=900, hourly=100)
    assert [p.delay(n, 10) for n in (9, 10, 11, 12, 14, 15, 40)] == [0, 30, 60, 120, 480, 900, 900]
    assert p.threshold_of("u:7") == 10 and p.threshold_of("a:10.0.0.1") == 30
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    row = {"locked_until": None, "window_start": now - timedelta(minutes=10), "window_failures": 100}
    assert wait_of(p, row, now) == 50 * 60  # the hour's 100 failures: wait for its end
    assert wait_of(p, {**row, "window_failures": 99}, now) == 0
    locked = {**row, "window_failures": 12, "locked_until": now + timedelta(seconds=2.2)}
    assert wait_of(p, locked, now) == 3


async def test_ten_failures_lock_the_account_until_a_growing_delay_passes(client: OrgClient) -> None:
    attempts: Attempts = client.harness.app.state.attempts
    user = 10**12 + client.org_id  # no such user: counted all the same
    for _ in range(10):
        gate = await attempts.check(client.org_id, user, None)
        await attempts.failed(gate)
    with pytest.raises(Throttled) as refused:
        await attempts.check(client.org_id, user, None)
    assert refused.value.retry_after == 1 and refused.value.code == 3012
    await asyncio.sleep(1.05)
    gate = await attempts.check(client.org_id, user, None)  # released by itself
    await attempts.failed(gate)  # the 11th failure: twice the wait
    with pytest.raises(Throttled) as again:
        await attempts.check(client.org_id, user, None)
    assert again.value.retry_after == 2
    await asyncio.sleep(2.05)
    gate = await attempts.check(client.org_id, user, None)
    await attempts.succeeded(gate)  # a success forgets the run of failures
    (row,) = await rows(
        client.harness.app.state.db,
        "SELECT consecutive, window_failures, locked_until FROM credential_failure"
        " WHERE org_id = :org_id AND subject = :subject",
        org_id=client.org_id,
        subject=f"u:{user}",
    )
    assert (row.consecutive, row.window_failures, row.locked_until) == (0, 11, None)
    other = await attempts.check(client.org_id, user + 1, None)  # another account is untouched
    assert other.known == set()


async def test_failures_from_one_address_lock_that_address_for_every_account(client: OrgClient) -> None:
    attempts: Attempts = client.harness.app.state.attempts
    scope = {**SCOPE, "client": (f"198.51.100.{client.org_id % 250}", 1)}
    for n in range(30):  # 30 accounts, 1 failure each: no account is locked, the address is
        await attempts.failed(await attempts.check(client.org_id, 10**12 + n, scope))
    with pytest.raises(Throttled):
        await attempts.check(client.org_id, 10**12 + 99, scope)
    await attempts.check(client.org_id, 10**12 + 99, {**scope, "client": ("192.0.2.1", 1)})


async def test_a_code_is_sent_after_commit_redeemed_once_and_hashed_at_rest(client: OrgClient) -> None:
    app, harness = client.harness.app, client.harness
    db, box, ctx = app.state.db, app.state.box, ctx_of(client)
    uid = await new_user(client)
    to = email()

    async def issue(uow: Any) -> challenges.Issued:
        return await challenges.issue(uow, ctx, box, uid, challenges.VERIFY_EMAIL, channel="email", to=to)

    issued = await db.write(issue)
    code = await read_code(harness, uid, challenges.VERIFY_EMAIL)
    message = sent(harness, userId=uid, purpose=challenges.VERIFY_EMAIL)[0]
    assert message["channel"] == "email" and message["to"] == to and message["orgId"] == client.org_id
    assert len(code) == 6 and code.isdigit()
    stored = await rows(
        db,
        "SELECT code_hash, expires_at FROM user_challenge WHERE org_id = :org_id AND customer_id = :uid",
        org_id=client.org_id,
        uid=uid,
    )
    assert code not in json.dumps([r.code_hash for r in stored])
    # Sent, so the outbox row goes (the sender deletes it after the gateway took the message).
    for _ in range(100):
        if not await rows(db, "SELECT * FROM message_outbox WHERE org_id = :o", o=client.org_id):
            break
        await asyncio.sleep(0.05)
    assert await rows(db, "SELECT * FROM message_outbox WHERE org_id = :o", o=client.org_id) == []

    async def then(uow: Any, redeemed: Redeemed) -> int:
        return redeemed.challenge_id

    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(PatronError) as bad:
        await challenges.redeem(db, client.org_id, box, uid, challenges.VERIFY_EMAIL, wrong, then)
    assert bad.value.code == 3015
    got = await challenges.redeem(db, client.org_id, box, uid, challenges.VERIFY_EMAIL, int(code), then)
    assert got == issued.challenge_id
    with pytest.raises(PatronError):  # single use
        await challenges.redeem(db, client.org_id, box, uid, challenges.VERIFY_EMAIL, code, then)


async def test_five_wrong_tries_burn_a_code_and_a_new_request_replaces_it(client: OrgClient) -> None:
    app, harness = client.harness.app, client.harness
    db, box, ctx = app.state.db, app.state.box, ctx_of(client)
    uid = await new_user(client)

    async def issue(uow: Any) -> challenges.Issued:
        return await challenges.issue(
            uow, ctx, box, uid, challenges.VERIFY_PHONE, channel="sms", to="+15550100"
        )

    async def then(uow: Any, redeemed: Redeemed) -> bool:
        return True

    await db.write(issue)
    first = await read_code(harness, uid, challenges.VERIFY_PHONE)
    await db.write(issue)
    second = await read_code(harness, uid, challenges.VERIFY_PHONE, after=1)
    if first != second:
        with pytest.raises(PatronError):  # replaced: the first code no longer works
            await challenges.redeem(db, client.org_id, box, uid, challenges.VERIFY_PHONE, first, then)
    wrong = "000000" if second != "000000" else "111111"
    for _ in range(4 if first != second else 5):
        with pytest.raises(PatronError):
            await challenges.redeem(db, client.org_id, box, uid, challenges.VERIFY_PHONE, wrong, then)
    with pytest.raises(PatronError):  # burnt by the fifth wrong try: the right code is refused
        await challenges.redeem(db, client.org_id, box, uid, challenges.VERIFY_PHONE, second, then)


async def test_an_expired_code_is_refused_and_the_resend_limit_holds(client: OrgClient) -> None:
    app, harness = client.harness.app, client.harness
    db, box, ctx = app.state.db, app.state.box, ctx_of(client)
    uid = await new_user(client)

    async def issue(uow: Any) -> challenges.Issued:
        return await challenges.issue(
            uow, ctx, box, uid, challenges.FORGET_PASSWORD, channel="email", to="a@b.c"
        )

    async def then(uow: Any, redeemed: Redeemed) -> bool:
        return True

    await db.write(issue)
    code = await read_code(harness, uid, challenges.FORGET_PASSWORD)
    await db.write(
        lambda uow: uow.tx.run(
            Q("UPDATE user_challenge SET expires_at = :t WHERE org_id = :o AND customer_id = :u"),
            t=utcnow() - timedelta(seconds=1),
            o=client.org_id,
            u=uid,
        )
    )
    with pytest.raises(PatronError) as expired:
        await challenges.redeem(db, client.org_id, box, uid, challenges.FORGET_PASSWORD, code, then)
    assert expired.value.code == 3015
    for _ in range(challenges.RESENDS_PER_HOUR - 1):
        await db.write(issue)
    with pytest.raises(Throttled) as limited:
        await db.write(issue)
    assert limited.value.code == 3012 and 3500 < limited.value.retry_after <= 3601
    await next_message(harness, uid, challenges.FORGET_PASSWORD, after=challenges.RESENDS_PER_HOUR - 1)
    assert len(sent(harness, userId=uid, purpose=challenges.FORGET_PASSWORD)) == challenges.RESENDS_PER_HOUR


async def test_the_count_is_shared_by_every_process_on_the_database(client: OrgClient) -> None:
    """A second process (here: a second database pool and throttle on the same database, as
    another API process has) sees the failures the first counted, and the other way round."""
    from patron.config import Settings
    from patron.db.engine import create_database
    from patron.security.throttle import ClientAddresses

    harness = client.harness
    here: Attempts = harness.app.state.attempts
    other_db = create_database(Settings(database_url=harness.settings.database_url))
    await other_db.start()
    try:
        there = Attempts(other_db, here.policy, ClientAddresses())
        user = 10**12 + 500 + client.org_id
        for n in range(10):
            side = here if n % 2 else there
            await side.failed(await side.check(client.org_id, user, None))
        for side in (here, there):
            with pytest.raises(Throttled):
                await side.check(client.org_id, user, None)
    finally:
        await other_db.dispose()
