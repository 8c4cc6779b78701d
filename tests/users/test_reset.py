"""User Security Reset (reset password, with 2FA, security code, security questions, forget
password) and the forget-password completion route of ours, through HTTP on both engines
(users/resets.py, api/user/reset.py): the seed's shapes, the credentials each needs, the
throttle, the change log and customerUpdated without any secret."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher

from patron.db.base import utcnow
from patron.users import challenges, sensitive
from patron.users.lookups import USER_RECORD_KIND
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import email, execute, history, mobile, outbox, rows
from tests.users.messages import read_code, sent
from tests.users.secrets_scan import assert_no_secrets
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of

USER_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}}
RESET_PASSWORD = "User Security Reset-Reset Password"
RESET_2FA = "User Security Reset-Reset Password (With 2FA)"
RESET_CODE = "User Security Reset-Reset Security Code"
RESET_QUESTIONS = "User Security Reset-Reset Security Questions"
FORGET = "User Security Reset-Forget Password"


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


def secret(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


async def new_user(client: OrgClient, password: str | None = None) -> tuple[int, str, str]:
    """A user with a primary email and a mobile (and, given one, a password set through
    Update User Security, as the sample requests need a current password)."""
    address, number = email(), mobile()
    body = {
        "personal_info": {"first_name": "Ada", "last_name": "Byron"},
        "email": [{"address": address, "is_primary": 1}],
        "phone": [{"type": 1, "country_code": "356", "number": number, "is_primary": 1}],
    }
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    uid = int(r.json()["info"]["id"])
    if password is not None:
        security = {"password": password, "security_code": "4821"}
        r = await client.put(f"/user/security/{uid}", json={"security": security})
        assert r.status_code == 200, r.text
    return uid, address, number


async def security_row(client: OrgClient, uid: int) -> dict[str, Any]:
    (found,) = await rows(
        client.harness.app.state.db,
        "SELECT data FROM user_record WHERE org_id = :org_id AND customer_id = :cid AND kind = 'security'",
        org_id=client.org_id,
        cid=uid,
    )
    return dict(json.loads(found.data) if isinstance(found.data, str) else found.data)


async def password_events(client: OrgClient, uid: int) -> list[dict[str, Any]]:
    """The updatedFields entries naming the password in the user's customerUpdated events."""
    out = []
    for e in await outbox(client.harness, client.org_id):
        data = e["attributes"]["data"]
        if e["eventType"] != "customerUpdated" or data["customerIdentifiers"]["customerId"] != uid:
            continue
        out += [f for f in data["updatedFields"] if f["fieldName"].endswith(".password")]
    return out


async def reset(client: OrgClient, uid: int, body: dict[str, Any]) -> Any:
    return await client.post(f"/user/security/reset/{uid}", json=body)


def password_body(current: str, new: str, name: str = RESET_PASSWORD) -> dict[str, Any]:
    body: dict[str, Any] = request_of(name)
    body["reset_security_data"]["reset_password"].update(current_password=current, new_password=new)
    return body


async def everything_said(client: OrgClient, uid: int) -> str:
    """The org's outbox (events) and the user's change log, as text to scan."""
    changes = [vars(c) for c in await history(client.harness, client.org_id, uid)]
    return json.dumps(await outbox(client.harness, client.org_id), default=str) + json.dumps(
        changes, default=str
    )


# --- reset password ------------------------------------------------------------------------


async def test_reset_password_replaces_the_hash_and_raises_customer_updated(client: OrgClient) -> None:
    old, new = secret("Old"), secret("New")
    uid, _, _ = await new_user(client, old)
    # Update User Security with a password raises customerUpdated too (none was held before).
    assert [(f["previousValue"], f["currentValue"]) for f in await password_events(client, uid)] == [
        (None, "____")
    ]
    r = await reset(client, uid, password_body(old, new))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ENVELOPE_KEYS["security_reset"]
    assert_same_keys(answer, response_of(RESET_PASSWORD))
    assert answer["result"]["code"] == "0000"
    assert answer["info"]["user_id"] == uid and answer["info"]["type"] == 1 and answer["info"]["id"] == 0
    assert answer["reset_security_data"] == {
        "reset_password": {"current_password": "____", "new_password": "____"},
        "reset_security_code": None,
        "forget_password": None,
        "reset_security_questions": None,
    }
    assert answer["authentication"] is None  # no TOTP was checked, and no code is echoed
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["password"], new, kind="password")
    assert not await sensitive.verify_secret(data["password"], old, kind="password")
    assert await sensitive.verify_secret(data["security_code"], "4821", kind="security_code")  # kept
    fields = await password_events(client, uid)
    assert len(fields) == 2
    assert fields[-1]["previousValue"] == fields[-1]["currentValue"] == "____"
    assert fields[-1]["fieldType"] == "UserRecord" and fields[-1]["fieldName"].startswith("security:")
    changes = [
        h
        for h in await history(client.harness, client.org_id, uid)
        if h.kind == USER_RECORD_KIND and h.field_name.startswith("security:")
    ]
    assert len(changes) == 2 and json.loads(changes[-1].current_value)["password"] == "____"
    said = await everything_said(client, uid)
    assert "argon2" not in said
    assert_no_secrets(r.text + said, [old, new])
    # The old password no longer resets anything; the new one does.
    again = await reset(client, uid, password_body(old, secret("Third")))
    assert again.status_code == 422 and again.json()["result"]["code"] == "3014"
    ok = await reset(client, uid, password_body(new, secret("Fourth")))
    assert ok.status_code == 200, ok.text


async def test_a_wrong_current_password_is_3014_and_changes_nothing(client: OrgClient) -> None:
    password = secret("Pass")
    uid, _, _ = await new_user(client, password)
    before = await security_row(client, uid)
    events_before = len(await outbox(client.harness, client.org_id))
    wrong = await reset(client, uid, password_body(password.upper(), secret("New")))  # case-sensitive
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["result"]["code"] == "3014"
    assert await security_row(client, uid) == before
    assert len(await outbox(client.harness, client.org_id)) == events_before
    # No password held, and no such user: the same answer.
    bare, _, _ = await new_user(client)
    for target in (bare, 10**12 + client.org_id):
        r = await reset(client, target, password_body(password, secret("New")))
        assert r.status_code == 422 and r.json()["result"] == wrong.json()["result"]
    assert_no_secrets(wrong.text, [password])


async def test_the_new_password_is_checked_before_anything_is_verified(client: OrgClient) -> None:
    password = secret("Pass")
    uid, _, _ = await new_user(client, password)
    for new in ("short", "password123", "Password123"):  # too short; on the deny list
        r = await reset(client, uid, password_body(password, new))
        assert r.status_code == 400 and r.json()["result"]["code"] == "3001", r.text
        assert "reset_password.new_password" in r.json()["result"]["message"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"reset_security_data": {"reset_password": {"current_password": password}}}, "3002"),
        ({"reset_security_data": {}, "info": {"type": "1"}}, "3002"),
        ({**password_body(password, secret("N")), "info": {"type": "7"}}, "3001"),
        ({**password_body(password, secret("N")), "info": {"type": "2"}}, "3001"),
    ]
    for body, code in cases:
        r = await reset(client, uid, body)
        assert r.status_code == 400 and r.json()["result"]["code"] == code, (body, r.text)
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["password"], password, kind="password")
    (row,) = await rows(
        client.harness.app.state.db,
        "SELECT count(*) AS n FROM credential_failure WHERE org_id = :org_id",
        org_id=client.org_id,
    )
    assert row.n == 0  # a malformed request is no guess


async def test_ten_wrong_current_passwords_answer_429_until_the_delay_passes(client: OrgClient) -> None:
    password = secret("Pass")
    uid, _, _ = await new_user(client, password)
    for _ in range(10):
        r = await reset(client, uid, password_body(secret("Guess"), secret("New")))
        assert r.json()["result"]["code"] == "3014"
    locked = await reset(client, uid, password_body(password, secret("New")))  # even the right one
    assert locked.status_code == 429 and locked.json()["result"]["code"] == "3012"
    assert int(locked.headers["Retry-After"]) >= 1
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["password"], password, kind="password")


# --- security code and questions -----------------------------------------------------------


async def test_reset_security_code(client: OrgClient) -> None:
    password = secret("Pass")
    uid, _, _ = await new_user(client, password)
    body = request_of(RESET_CODE)
    body["reset_security_data"]["reset_security_code"].update(
        current_password=password, new_security_code="907"
    )
    r = await reset(client, uid, body)
    assert r.status_code == 200, r.text
    assert_same_keys(r.json(), response_of(RESET_CODE))
    assert r.json()["info"]["type"] == 2
    assert r.json()["reset_security_data"]["reset_security_code"] == {
        "current_password": "____",
        "new_security_code": "____",
    }
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["security_code"], "907", kind="security_code")
    assert await sensitive.verify_secret(data["password"], password, kind="password")  # kept
    assert len(await password_events(client, uid)) == 1  # only Update User Security's
    body["reset_security_data"]["reset_security_code"]["new_security_code"] = "12a"
    bad = await reset(client, uid, body)
    assert bad.status_code == 400 and "new_security_code" in bad.json()["result"]["message"]
    body["reset_security_data"]["reset_security_code"].update(
        current_password="nope-nope", new_security_code="1"
    )
    assert (await reset(client, uid, body)).json()["result"]["code"] == "3014"
    assert_no_secrets(r.text + await everything_said(client, uid), [password])


async def test_reset_security_questions_stores_answers_casefolded(client: OrgClient) -> None:
    password = secret("Pass")
    uid, _, _ = await new_user(client, password)
    body = request_of(RESET_QUESTIONS)
    answers = body["reset_security_data"]["reset_security_questions"]
    answers.update(current_password=password, secret_answer_1="Alix Tremaine", secret_answer_2="SOMA Verde")
    r = await reset(client, uid, body)
    assert r.status_code == 200, r.text
    assert_same_keys(r.json(), response_of(RESET_QUESTIONS))
    assert set(r.json()["reset_security_data"]["reset_security_questions"].values()) == {"____"}
    data = await security_row(client, uid)
    assert (data["secret_question_1"], data["secret_question_2"]) == ("7", "8")
    raw = PasswordHasher()  # the hash is of the casefolded answer itself
    assert raw.verify(data["secret_answer_1"], "alix tremaine")
    assert raw.verify(data["secret_answer_2"], "soma verde")
    assert await sensitive.verify_secret(data["secret_answer_1"], "ALIX TREMAINE", kind="secret_answer")
    got = (await client.get(f"/user/security/{uid}")).json()["security"]
    assert got["secret_answer_1"] == "____" and got["secret_question_1"] == "7"
    assert_no_secrets(r.text + await everything_said(client, uid), [password, "Alix Tremaine", "SOMA Verde"])


# --- reset password with 2FA ----------------------------------------------------------------


async def enable_two_factor(client: OrgClient, uid: int) -> str:
    r = await client.post(f"/user/auth/enroll/{uid}", json={"authentication_data": [{"type": 11}]})
    assert r.status_code == 200, r.text
    key = str(r.json()["authentication_data"][0]["manual_entry_key"])
    code = pyotp.TOTP(key).now()
    r = await client.post(
        f"/user/auth/activate/{uid}", json={"authentication_data": [{"type": 11, "code": code}]}
    )
    assert r.status_code == 200 and r.json()["authentication_data"][0]["is_enabled"] == 1, r.text
    return key


def next_code(key: str) -> str:
    """The next step's code (the activation spent the current one)."""
    return pyotp.TOTP(key).at(utcnow() + timedelta(seconds=30))


def wrong_code(key: str) -> str:
    valid = {pyotp.TOTP(key).at(utcnow() + timedelta(seconds=30 * k)) for k in range(-2, 3)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)


async def test_reset_password_with_2fa_needs_a_current_totp_code(client: OrgClient) -> None:
    password, new = secret("Pass"), secret("New")
    uid, _, _ = await new_user(client, password)
    key = await enable_two_factor(client, uid)
    without = password_body(password, new)  # the plain sample: no authentication
    r = await reset(client, uid, without)
    assert r.status_code == 422 and r.json()["result"]["code"] == "3015", r.text
    body = password_body(password, new, RESET_2FA)
    body["authentication"][0]["code"] = wrong_code(key)
    r = await reset(client, uid, body)
    assert r.status_code == 422 and r.json()["result"]["code"] == "3015", r.text
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["password"], password, kind="password")
    good = next_code(key)
    body["authentication"][0]["code"] = good
    r = await reset(client, uid, body)
    assert r.status_code == 200, r.text
    assert_same_keys(r.json(), response_of(RESET_2FA))
    assert r.json()["authentication"] == [{"type": 11, "code": None}]
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["password"], new, kind="password")
    # The code is spent: the same one again is refused.
    body["reset_security_data"]["reset_password"].update(current_password=new, new_password=secret("Again"))
    again = await reset(client, uid, body)
    assert again.json()["result"]["code"] == "3015"
    assert_no_secrets(r.text + again.text + await everything_said(client, uid), [password, new, good, key])


# --- forget password -------------------------------------------------------------------------


async def verify_all(client: OrgClient, uid: int) -> None:
    """Mark the user's emails and phones verified directly: Confirm User Email/SMS Code is
    built at the same time as this (issue 12), so the setup does not go through it."""
    await execute(
        client.harness.app.state.db,
        "UPDATE user_record SET verification_status = 1 WHERE org_id = :org_id AND customer_id = :cid"
        " AND kind IN ('email', 'phone')",
        org_id=client.org_id,
        cid=uid,
    )


def forget_body(**given: str) -> dict[str, Any]:
    body: dict[str, Any] = request_of(FORGET)
    body["reset_security_data"]["forget_password"] = given
    return body


async def complete(client: OrgClient, uid: int, code: str, new: str, **extra: Any) -> Any:
    body = {"forget_password": {"verification_code": code, "new_password": new}, **extra}
    return await client.post(f"/user/security/forget_password/{uid}", json=body)


async def test_forget_password_end_to_end_by_verified_email(client: OrgClient) -> None:
    old, new = secret("Old"), secret("New")
    uid, address, _ = await new_user(client, old)
    await verify_all(client, uid)
    r = await reset(client, uid, forget_body(verified_email=address.upper()))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert_same_keys(answer, response_of(FORGET))
    assert answer["info"]["type"] == 3 and answer["info"]["id"] > 0
    assert answer["authentication"] == [{"type": 2, "code": str(answer["info"]["id"])}]
    assert answer["reset_security_data"]["forget_password"] == {
        "verified_email": address.upper(),
        "verified_mobile": None,
        "account_number": None,
    }
    code = await read_code(client.harness, uid, challenges.FORGET_PASSWORD)
    (message,) = sent(client.harness, userId=uid, purpose=challenges.FORGET_PASSWORD)
    assert message["channel"] == "email" and message["to"] == address
    assert code not in r.text
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    bad = await complete(client, uid, wrong, new)
    assert bad.status_code == 422 and bad.json()["result"]["code"] == "3015", bad.text
    done = await complete(client, uid, code, new)
    assert done.status_code == 200, done.text
    assert list(done.json()) == ENVELOPE_KEYS["security_reset"]
    assert done.json()["info"]["id"] == answer["info"]["id"]
    shown = done.json()["reset_security_data"]
    assert shown["reset_password"] == {"current_password": None, "new_password": "____"}
    assert shown["forget_password"]["verified_email"] == address
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["password"], new, kind="password")
    assert not await sensitive.verify_secret(data["password"], old, kind="password")
    reused = await complete(client, uid, code, secret("Other"))
    assert reused.status_code == 422 and reused.json()["result"]["code"] == "3015"
    assert await sensitive.verify_secret((await security_row(client, uid))["password"], new, kind="password")
    assert [f["currentValue"] for f in await password_events(client, uid)] == ["____", "____"]
    said = await everything_said(client, uid)
    assert_no_secrets(r.text + done.text + reused.text + said, [old, new, code])


async def test_forget_password_by_verified_mobile_sends_an_sms(client: OrgClient) -> None:
    uid, _, number = await new_user(client, secret("Pass"))
    await verify_all(client, uid)
    r = await reset(client, uid, forget_body(verified_mobile="+" + number))
    assert r.status_code == 200, r.text
    code = await read_code(client.harness, uid, challenges.FORGET_PASSWORD)
    (message,) = sent(client.harness, userId=uid, purpose=challenges.FORGET_PASSWORD)
    assert message["channel"] == "sms" and message["to"] == "+" + number
    done = await complete(client, uid, code, secret("New"))
    assert done.status_code == 200, done.text
    assert done.json()["reset_security_data"]["forget_password"]["verified_mobile"] == "+" + number


async def test_forget_password_refuses_an_address_that_is_not_a_verified_one(client: OrgClient) -> None:
    uid, address, number = await new_user(client, secret("Pass"))
    other, other_address, _ = await new_user(client)
    await verify_all(client, other)
    cases = [
        forget_body(verified_email=address),  # the user's, not verified
        forget_body(verified_mobile="+" + number),
        forget_body(verified_email=other_address),  # another user's verified one
        forget_body(account_number="6015990012345678"),  # no such card of the user
    ]
    for body in cases:
        r = await reset(client, uid, body)
        assert r.status_code == 422 and r.json()["result"]["code"] == "3014", r.text
    r = await reset(client, 10**12 + client.org_id, forget_body(verified_email=address))
    assert r.json()["result"]["code"] == "3014"  # no such user: the same answer
    assert sent(client.harness, userId=uid, purpose=challenges.FORGET_PASSWORD) == []
    for body, code in (
        (forget_body(), "3002"),
        (forget_body(verified_email=address, verified_mobile="+" + number), "3001"),
        (forget_body(verified_email="not an address"), "3001"),
    ):
        r = await reset(client, uid, body)
        assert r.status_code == 400 and r.json()["result"]["code"] == code, r.text
    # Nothing pending: any code is refused.
    assert (await complete(client, uid, "123456", secret("New"))).json()["result"]["code"] == "3015"


async def test_forget_completion_with_2fa_needs_the_totp_code_too(client: OrgClient) -> None:
    uid, address, _ = await new_user(client, secret("Pass"))
    await verify_all(client, uid)
    key = await enable_two_factor(client, uid)
    assert (await reset(client, uid, forget_body(verified_email=address))).status_code == 200
    code = await read_code(client.harness, uid, challenges.FORGET_PASSWORD)
    new = secret("New")
    r = await complete(client, uid, code, new)
    assert r.status_code == 422 and r.json()["result"]["code"] == "3015", r.text
    # The emailed code stays usable after a refused TOTP code.
    r = await complete(client, uid, code, new, authentication=[{"type": 11, "code": next_code(key)}])
    assert r.status_code == 200, r.text
    assert r.json()["authentication"] == [{"type": 11, "code": None}]
    assert await sensitive.verify_secret((await security_row(client, uid))["password"], new, kind="password")
    assert (await complete(client, uid, "12", new)).json()["result"]["code"] == "3015"
    short = await complete(client, uid, code, "short")
    assert short.status_code == 400 and "forget_password.new_password" in short.json()["result"]["message"]


async def test_forget_password_by_a_card_of_the_user_sends_to_the_verified_email(client: OrgClient) -> None:
    old, new = secret("Old"), secret("New")
    uid, address, _ = await new_user(client, old)
    number = f"60{uuid.uuid4().int % 10**14:014d}"  # the seed's account_number: 11-19 digits
    added = await client.post(
        f"/v2/customers/{uid}/changeIdentifier",
        params={"source": "WEBSITE"},
        json={"add": [{"type": "cardnumber", "value": number, "seriesId": 19, "statusLabel": "ACTIVE"}]},
    )
    assert added.status_code == 200, added.text
    unverified = await reset(client, uid, forget_body(account_number=number))
    assert unverified.json()["result"]["code"] == "3014", unverified.text  # no verified address yet
    await verify_all(client, uid)
    r = await reset(client, uid, forget_body(account_number=number))
    assert r.status_code == 200, r.text
    assert number not in r.text  # echoed masked
    code = await read_code(client.harness, uid, challenges.FORGET_PASSWORD)
    (message,) = sent(client.harness, userId=uid, purpose=challenges.FORGET_PASSWORD)
    assert message["channel"] == "email" and message["to"] == address
    done = await complete(client, uid, code, new)
    assert done.status_code == 200, done.text
    data = await security_row(client, uid)
    assert await sensitive.verify_secret(data["password"], new, kind="password")
