"""Security access rules where they apply: the validate, verify/confirm and 2FA flows
refuse what a rule denies (3004) and count what a frequency rule limits (3012)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest

from patron.db.base import utcnow
from patron.users import access_rules
from tests.conftest import Harness, OrgClient, make_org
from tests.support import rows
from tests.users.test_access_rules import USER_CONFIG, add, failed, new_user

PASSWORD = "Zebra-Quill-Lantern-42"


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


def deny(action: str, uid: int) -> dict[str, Any]:
    return {"info": {"access_type": 0, "user_id": uid}, "action": {"action": action}}


async def with_password(client: OrgClient) -> int:
    uid = await new_user(client)
    r = await client.put(f"/user/security/{uid}", json={"security": {"password": PASSWORD}})
    assert r.status_code == 200, r.text
    return uid


async def validate(client: OrgClient, uid: int) -> Any:
    body = {"validate_data": {"password": PASSWORD}, "info": {"type": "10"}}
    return await client.post(f"/user/security/validate/{uid}", json=body)


async def email_of(client: OrgClient, uid: int) -> str:
    r = await client.get(f"/user/email/{uid}")
    assert r.status_code == 200, r.text
    return str(r.json()["email"][0]["address"])


async def test_a_deny_rule_refuses_validate_for_its_user_only(client: OrgClient) -> None:
    denied, other = await with_password(client), await with_password(client)
    await add(client, deny("1", denied))
    failed(await validate(client, denied), 403, "3004")
    assert (await validate(client, other)).json()["result"]["code"] == "0000"


async def test_a_frequency_rule_limits_validate_attempts(client: OrgClient) -> None:
    uid = await with_password(client)
    limit = {
        "info": {"user_id": uid},
        "action": {"action": "1"},
        "frequency": {"calc_method": "0", "frequency_time": {"name": "hour", "value": 2}},
    }
    await add(client, limit)
    for _ in range(2):
        assert (await validate(client, uid)).json()["result"]["code"] == "0000"
    r = await validate(client, uid)
    failed(r, 429, "3012")
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    db = client.harness.app.state.db
    counted = "SELECT count FROM access_rule_use WHERE org_id = :org_id AND customer_id = :uid"
    assert [x.count for x in await rows(db, counted, org_id=client.org_id, uid=uid)] == [2]
    # Once the period has ended the worker's housekeeping forgets the count.
    await db.write(access_rules.prune_ended, utcnow() + timedelta(hours=1, seconds=1))
    assert await rows(db, counted, org_id=client.org_id, uid=uid) == []


async def test_a_deny_rule_refuses_verify_and_confirm(client: OrgClient) -> None:
    uid = await new_user(client)
    address = await email_of(client, uid)
    await add(client, deny("3", uid))
    verify = {"verify_data": {"email": {"address": address}}, "info": {"type": "8"}}
    failed(await client.post(f"/user/security/verify/{uid}", json=verify), 403, "3004")
    confirm = {**verify, "confirm_data": {"verification_code": "123456"}, "info": {"type": "9"}}
    failed(await client.post(f"/user/security/confirm/{uid}", json=confirm), 403, "3004")


async def test_a_deny_rule_refuses_2fa_enrolment_and_activation(client: OrgClient) -> None:
    uid = await new_user(client)
    enrolled = await client.post(f"/user/auth/enroll/{uid}", json={"authentication_data": [{"type": 11}]})
    assert enrolled.status_code == 200, enrolled.text
    key = enrolled.json()["authentication_data"][0]["manual_entry_key"]
    await add(client, deny("4", uid))
    failed(
        await client.post(f"/user/auth/enroll/{uid}", json={"authentication_data": [{"type": 11}]}),
        403,
        "3004",
    )
    code = pyotp.TOTP(key).now()
    body = {"authentication_data": [{"type": 11, "code": code}]}
    failed(await client.post(f"/user/auth/activate/{uid}", json=body), 403, "3004")


async def test_a_deny_rule_refuses_the_resets_and_the_forget_completion(client: OrgClient) -> None:
    uid = await with_password(client)
    await add(client, deny("2", uid))
    reset = {
        "reset_security_data": {
            "reset_password": {"current_password": PASSWORD, "new_password": "Other-Quill-77"}
        },
        "info": {"type": "1"},
    }
    failed(await client.post(f"/user/security/reset/{uid}", json=reset), 403, "3004")
    forget = {
        "reset_security_data": {"forget_password": {"verified_email": "x@example.com"}},
        "info": {"type": "3"},
    }
    failed(await client.post(f"/user/security/reset/{uid}", json=forget), 403, "3004")
    complete = {"forget_password": {"verification_code": "123456", "new_password": "Other-Quill-77"}}
    failed(await client.post(f"/user/security/forget_password/{uid}", json=complete), 403, "3004")
    assert (await validate(client, uid)).json()["result"]["code"] == "0000"  # the password is unchanged
