"""TOTP two-factor authentication (Enroll User In 2FA, Activate User 2FA; users/two_factor.py)
through HTTP on both engines: the seed's shapes, enrol -> a code computed from
`manual_entry_key` -> activate, one use per code, the throttle, and the secret shown once."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from patron.context import Actor, RequestContext
from patron.db.base import utcnow
from patron.orgs.config import OrgConfig
from patron.users import service as users
from patron.users import two_factor
from patron.users.sensitive import unseal
from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import email, mobile, outbox, rows
from tests.users.secrets_scan import assert_no_secrets, find_secrets
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of

# The user profile's source (userSource, WEBSITE by default) enabled.
USER_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}}
ENROLL = "Enroll User In 2FA"
ACTIVATE = "Activate User 2FA"


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def new_user(client: OrgClient, *, with_email: bool = True) -> tuple[int, str]:
    address = email()
    body: dict[str, Any] = {
        "personal_info": {"first_name": "Ada", "last_name": "Lovelace"},
        "phone": [{"type": 1, "country_code": "356", "number": mobile(), "is_primary": 1}],
    }
    if with_email:
        body["email"] = [{"address": address, "is_primary": 1}]
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["info"]["id"]), address


async def enroll(client: OrgClient, uid: int, **headers: str) -> dict[str, Any]:
    r = await client.post(f"/user/auth/enroll/{uid}", json=request_of(ENROLL), headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def activate(client: OrgClient, uid: int, code: object) -> Any:
    body = request_of(ACTIVATE)
    body["authentication_data"][0]["code"] = code
    return await client.post(f"/user/auth/activate/{uid}", json=body)


def secret_of(answer: dict[str, Any]) -> str:
    return str(answer["authentication_data"][0]["manual_entry_key"])


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current time step (or one `steps_ahead` of it)."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * steps_ahead))


def wrong_code(secret: str) -> str:
    """A code no step of the drift window has."""
    valid = {code_at(secret, k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(0, 10**6, 7919)) if c not in valid)


def result_code(r: Any) -> str:
    return str(r.json()["result"]["code"])


async def two_factor_row(client: OrgClient, uid: int) -> Any:
    (row,) = await rows(
        client.harness.app.state.db,
        "SELECT record_id, data, sealed FROM user_record"
        " WHERE org_id = :org_id AND customer_id = :customer_id AND kind = 'two_factor'",
        org_id=client.org_id,
        customer_id=uid,
    )
    return row


def data_of(row: Any) -> dict[str, Any]:
    data = row.data
    return json.loads(data) if isinstance(data, str) else dict(data)


async def test_enroll_then_activate_with_a_code_from_the_manual_entry_key(client: OrgClient) -> None:
    uid, address = await new_user(client)
    enrolled = await enroll(client, uid)
    assert list(enrolled) == ENVELOPE_KEYS["two_factor"]
    assert_same_keys(enrolled, response_of(ENROLL))
    (item,) = enrolled["authentication_data"]
    (org,) = await rows(
        client.harness.app.state.db, "SELECT name FROM org WHERE org_id = :org_id", org_id=client.org_id
    )
    assert (item["type"], item["is_enabled"], item["code"]) == (11, 0, None)
    assert (item["issuer"], item["title"]) == (org.name, address)
    secret = item["manual_entry_key"]
    assert item["secret_key"] == secret and len(base64.b32decode(secret)) == 20  # 160 bits
    assert enrolled["info"]["id"] == uid and enrolled["info"]["risk_rate"] is None
    # The QR code is drawn here: an SVG in a data: URI, no third party (seed L11695).
    prefix = "data:image/svg+xml;base64,"
    assert item["qr_image_url"].startswith(prefix)
    svg = base64.b64decode(item["qr_image_url"][len(prefix) :], validate=True).decode()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")

    # The seed sends the code as a number (L11741); ours is computed from manual_entry_key.
    code = code_at(secret)
    r = await activate(client, uid, int(code))
    assert r.status_code == 200, r.text
    active = r.json()
    assert list(active) == ENVELOPE_KEYS["two_factor"]
    assert_same_keys(active, response_of(ACTIVATE))
    (item,) = active["authentication_data"]
    # is_enabled 1 (the seed's L11853 shows 0); the code is not echoed (L11861 is).
    assert item["is_enabled"] == 1 and item["code"] is None
    assert (item["secret_key"], item["manual_entry_key"], item["qr_image_url"]) == (None, None, None)
    assert data_of(await two_factor_row(client, uid))["is_enabled"] == 1


async def test_a_code_is_accepted_once(client: OrgClient) -> None:
    uid, _ = await new_user(client)
    secret = secret_of(await enroll(client, uid))
    code = code_at(secret)
    assert (await activate(client, uid, code)).status_code == 200
    replay = await activate(client, uid, code)
    assert (replay.status_code, result_code(replay)) == (422, "3015")
    # The next step's code (within the drift window) is good once; an older step's then is not.
    later = await activate(client, uid, code_at(secret, 1))
    assert later.status_code == 200, later.text
    assert later.json()["authentication_data"][0]["is_enabled"] == 1
    older = await activate(client, uid, code_at(secret, -1))
    assert (older.status_code, result_code(older)) == (422, "3015")


async def test_two_requests_with_one_code_spend_it_once(client: OrgClient) -> None:
    uid, _ = await new_user(client)
    secret = secret_of(await enroll(client, uid))
    code = code_at(secret)
    answers = await asyncio.gather(*(activate(client, uid, code) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 422, 422, 422]


async def test_a_wrong_code_is_3015_and_changes_nothing(client: OrgClient) -> None:
    uid, _ = await new_user(client)
    secret = secret_of(await enroll(client, uid))
    before = await two_factor_row(client, uid)
    r = await activate(client, uid, wrong_code(secret))
    assert (r.status_code, result_code(r)) == (422, "3015")
    assert list(r.json()) == ENVELOPE_KEYS["user"]  # every failure answers the user envelope
    after = await two_factor_row(client, uid)
    assert data_of(after) == data_of(before) and after.sealed == before.sealed
    assert data_of(after)["is_enabled"] == 0


async def test_activation_needs_an_enrolment_and_enabled_2fa_refuses_enrolment(client: OrgClient) -> None:
    uid, _ = await new_user(client)
    r = await activate(client, uid, "123456")
    assert (r.status_code, result_code(r)) == (422, "3011")
    first = secret_of(await enroll(client, uid))
    second = secret_of(await enroll(client, uid))  # enrolling again while pending: a new secret
    assert first != second
    assert (
        code_at(first) == code_at(second)
        or result_code(await activate(client, uid, code_at(first))) == "3015"
    )
    assert (await activate(client, uid, code_at(second))).status_code == 200
    again = await client.post(f"/user/auth/enroll/{uid}", json=request_of(ENROLL))
    assert (again.status_code, result_code(again)) == (422, "3011")
    # The history shows the enrolment and the activation, never the secret.
    history = await client.get(f"/user/history/{uid}")
    assert history.status_code == 200
    entries = [h for h in history.json()["history"] if '"is_enabled"' in h["new_data"]]
    assert len(entries) == 3  # two enrolments, one activation
    assert_no_secrets(history.text, [first, second])


async def test_the_request_is_checked(client: OrgClient) -> None:
    uid, _ = await new_user(client)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("enroll", {"authentication_data": [{"type": 10}]}, "3001"),
        ("enroll", {"authentication_data": [{}]}, "3002"),
        ("enroll", {"authentication_data": []}, "3001"),
        ("activate", {"authentication_data": [{"type": 11}]}, "3002"),
        ("activate", {"authentication_data": [{"type": "11", "code": "12345"}]}, "3001"),
        ("activate", {"authentication_data": [{"type": 11, "code": "12a456"}]}, "3001"),
        ("activate", {"authentication_data": [{"type": 11, "code": True}]}, "3001"),
    ]
    for what, body, expected in cases:
        r = await client.post(f"/user/auth/{what}/{uid}", json=body)
        assert (r.status_code, result_code(r)) == (400, expected), (what, body, r.text)
    for what in ("enroll", "activate"):
        body = request_of(ENROLL if what == "enroll" else ACTIVATE)
        r = await client.post(f"/user/auth/{what}/{10**15}", json=body)
        assert (r.status_code, result_code(r)) == (404, "3005")


async def test_another_orgs_user_cannot_be_enrolled(client: OrgClient, other_client: OrgClient) -> None:
    uid, _ = await new_user(client)
    r = await other_client.post(f"/user/auth/enroll/{uid}", json=request_of(ENROLL))
    assert (r.status_code, result_code(r)) == (404, "3005")


async def test_without_an_email_the_title_is_the_mobile(client: OrgClient) -> None:
    uid, _ = await new_user(client, with_email=False)
    item = (await enroll(client, uid))["authentication_data"][0]
    assert item["title"].startswith("+") and item["title"][1:].isdigit()


async def test_ten_wrong_codes_then_429_even_for_the_right_one(client: OrgClient) -> None:
    uid, _ = await new_user(client)
    secret = secret_of(await enroll(client, uid))
    bad = wrong_code(secret)
    for _ in range(10):
        r = await activate(client, uid, bad)
        assert result_code(r) == "3015", r.text
    r = await activate(client, uid, code_at(secret))
    assert (r.status_code, result_code(r)) == (429, "3012")
    assert int(r.headers["Retry-After"]) >= 1
    assert data_of(await two_factor_row(client, uid))["is_enabled"] == 0


async def test_the_secret_never_leaves_after_enrolment(
    client: OrgClient, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    uid, _ = await new_user(client)
    # An idempotent enrolment: the stored answer (which holds the secret) is sealed.
    key = {"Idempotency-Key": f"enroll-{uid}"}
    enrolled = await enroll(client, uid, **key)
    replayed = await client.post(f"/user/auth/enroll/{uid}", json=request_of(ENROLL), headers=key)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.json()["authentication_data"] == enrolled["authentication_data"]
    secret = secret_of(enrolled)
    assert find_secrets(json.dumps(enrolled), [secret]) == [secret]  # shown once, and the scan sees it
    code = code_at(secret)
    activated = await activate(client, uid, code)
    assert activated.status_code == 200
    bodies = [activated.text, (await activate(client, uid, code)).text]
    for path in (
        f"/user/{uid}",
        f"/user/security/{uid}",
        f"/user/history/{uid}",
        f"/user/history/latest/{uid}",
    ):
        r = await client.get(path, headers={"show_sensitive_data": "1"})
        assert r.status_code == 200, r.text
        bodies.append(r.text)
    whole = json.loads(bodies[2])
    assert whole["authentication"] is None and "authentication_data" not in whole
    assert whole["security"] is None  # this user set no security record; 2FA is not shown there
    for text in bodies:
        assert_no_secrets(text, [secret])
        assert f'"{code}"' not in text and f":{int(code)}," not in text  # the code is never echoed
    assert_no_secrets(capfd.readouterr().err + caplog.text, [secret])
    assert_no_secrets(json.dumps(await outbox(client.harness, client.org_id), default=str), [secret])
    stored = ""
    for table in ("customer_change", "idempotency_key", "user_record"):
        found = await rows(
            client.harness.app.state.db, f"SELECT * FROM {table} WHERE org_id = :org_id", org_id=client.org_id
        )
        stored += json.dumps([vars(r) for r in found], default=str)
    assert_no_secrets(stored, [secret])
    # Sealed at rest: the row's ciphertext opens to the secret with the server's key, bound
    # to this org, kind and record.
    row = await two_factor_row(client, uid)
    box = client.harness.app.state.box
    assert unseal(box, client.org_id, "two_factor", row.record_id, row.sealed) == secret
    assert "secret" not in json.dumps(data_of(row))


def ctx_of(client: OrgClient) -> RequestContext:
    return RequestContext(
        client.org_id, Actor(1, "t", "t", "s", "s"), "req", OrgConfig.model_validate(USER_CONFIG)
    )


async def test_check_code_spends_a_step_once(client: OrgClient) -> None:
    """The helper other flows call (Reset Password with 2FA) in their unit of work."""
    db, box, ctx = client.harness.app.state.db, client.harness.app.state.box, ctx_of(client)
    uid, _ = await new_user(client)

    async def check(uow: Any, code: object) -> bool:
        user = await users.read_user(uow, ctx, uid)
        return await two_factor.check_code(uow, ctx, box, user, code)

    secret = secret_of(await enroll(client, uid))
    assert not await db.write(check, code_at(secret))  # pending: not enabled yet
    assert (await activate(client, uid, code_at(secret))).status_code == 200

    async def enabled(uow: Any) -> bool:
        return two_factor.is_enabled(await users.read_user(uow, ctx, uid))

    assert await db.read(enabled)
    assert not await db.write(check, code_at(secret))  # this step is spent by the activation
    assert await db.write(check, int(code_at(secret, 1)))  # the next step, as a number
    assert not await db.write(check, code_at(secret, 1))  # and only once
    for malformed in ("12345", "abcdef", None, True, 10**6, -1, 1.5):
        assert not await db.write(check, malformed)
    other, _ = await new_user(client)

    async def plain(uow: Any) -> bool:
        user = await users.read_user(uow, ctx, other)
        return two_factor.is_enabled(user) or await two_factor.check_code(uow, ctx, box, user, "123456")

    assert not await db.write(plain)


def test_codes_are_six_digits_and_a_step_matches_once() -> None:
    assert two_factor.normalise_code(42137) == "042137"
    assert two_factor.normalise_code(" 848201 ") == "848201"
    assert [two_factor.normalise_code(v) for v in ("８４８２０１", "84820", 10**6, False, 1.0)] == [None] * 5
    secret = two_factor.new_secret()
    now = utcnow()
    step = two_factor.step_at(now)
    totp = pyotp.TOTP(secret)
    assert two_factor.matching_step(secret, totp.generate_otp(step - 1), now, None) == step - 1
    assert two_factor.matching_step(secret, totp.generate_otp(step + 1), now, step) == step + 1
    assert two_factor.matching_step(secret, totp.generate_otp(step), now, step) is None
    assert two_factor.matching_step(secret, totp.generate_otp(step - 2), now, None) is None
