"""The password policy of issue 12 (docs/decisions.md, "Passwords (issue 12)"): 8 to 128
characters, no composition rules, and not on the shipped list of common passwords, in any
case or Unicode form; a refused password is named by its field and never repeated."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from patron.users import sensitive
from tests.conftest import Harness, OrgClient, make_org
from tests.support import rows
from tests.users.secrets_scan import assert_no_secrets
from tests.users.seed004 import request_of
from tests.users.test_users_core import USER_CONFIG, create_body

COMMON = ("password123", "qwertyuiop", "PassWord123", "QWERTYUIOP", "ｐａｓｓｗｏｒｄ１２３")


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


def passphrase() -> str:
    """A long random passphrase: lower-case words only (no digit, capital or symbol)."""
    words = ("tulip", "walrus", "banjo", "copper", "lantern", "meadow", "quartz", "saffron")
    return (
        " ".join(secrets.choice(words) for _ in range(6))
        + " "
        + secrets.token_hex(4).translate(str.maketrans("0123456789", "ghijklmnop"))
    )


def security(password: str) -> dict[str, Any]:
    return {
        "password": password,
        "security_code": "482913",
        "secret_question_1": "1",
        "secret_answer_1": "Soma Street",
        "secret_question_2": "2",
        "secret_answer_2": "Alexandria",
    }


async def user_count(client: OrgClient) -> int:
    found = await rows(
        client.harness.app.state.db,
        "SELECT customer_id FROM customer WHERE org_id = :org_id",
        org_id=client.org_id,
    )
    return len(found)


async def stored_password(client: OrgClient, uid: int) -> str | None:
    found = await rows(
        client.harness.app.state.db,
        "SELECT data FROM user_record WHERE org_id = :org_id AND customer_id = :cid AND kind = 'security'",
        org_id=client.org_id,
        cid=uid,
    )
    if not found:
        return None
    data = found[0].data
    value = (json.loads(data) if isinstance(data, str) else data).get("password")
    return str(value) if value is not None else None


def assert_refused(r: Any, field: str, password: str, why: str) -> None:
    assert r.status_code == 400, r.text
    result = r.json()["result"]
    assert result["code"] == "3001", r.text
    assert field in result["message"] and why in result["message"], r.text
    assert_no_secrets(r.text, [password])


# --- the list itself ---------------------------------------------------------------------


def test_the_list_ships_with_the_package_and_is_read_once() -> None:
    listed = sensitive._common_passwords()
    assert len(listed) > 19_000
    assert sensitive._common_passwords() is listed  # loaded once
    assert "password123" in listed and "qwertyuiop" in listed


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_refused_in_any_case_or_width(password: str) -> None:
    with pytest.raises(sensitive.SensitiveInputError) as caught:
        sensitive.check_password(password, "security.password")
    assert caught.value.field == "security.password"
    assert "too common" in caught.value.message and password not in str(caught.value)


def test_the_suites_own_passwords_are_not_on_the_list() -> None:
    # The seed's samples (L2863, L9985 ...) and the fixed ones of tests/users.
    for password in ("Pass1234!", "pass1234!", "Pass+1234", "a--b<c>d|e", "pässwörd", "x" * 128):
        assert not sensitive.is_common_password(password), password


# --- through HTTP ------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["password123", "qwertyuiop"])
async def test_create_user_refuses_a_common_password_and_writes_nothing(
    client: OrgClient, password: str
) -> None:
    before = await user_count(client)
    r = await client.post("/user", json={**create_body(), "security": security(password)})
    assert_refused(r, "security.password", password, "too common")
    assert await user_count(client) == before


@pytest.mark.parametrize("password", ["password123", "QwertyUiop"])
async def test_update_user_security_refuses_a_common_password_and_keeps_the_old_one(
    client: OrgClient, password: str
) -> None:
    uid = (await client.post("/user", json=create_body())).json()["info"]["id"]
    body = request_of("Update User Security")
    first = passphrase()
    body["security"].update(password=first)
    assert (await client.put(f"/user/security/{uid}", json=body)).status_code == 200
    kept = await stored_password(client, uid)
    r = await client.put(f"/user/security/{uid}", json={"security": {"password": password}})
    assert_refused(r, "security.password", password, "too common")
    assert await stored_password(client, uid) == kept


async def test_a_long_random_passphrase_without_composition_is_accepted(client: OrgClient) -> None:
    password = passphrase()
    assert password.islower() and not any(c.isdigit() for c in password) and len(password) > 40
    r = await client.post("/user", json={**create_body(), "security": security(password)})
    assert r.status_code == 200, r.text
    assert r.json()["security"]["password"] == "____"
    assert_no_secrets(r.text, [password])
    uid = r.json()["info"]["id"]
    stored = await stored_password(client, uid)
    assert stored is not None and await sensitive.verify_secret(stored, password, kind="password")


async def test_length_bounds_are_8_and_128_characters(client: OrgClient) -> None:
    uid = (await client.post("/user", json=create_body())).json()["info"]["id"]
    body = request_of("Update User Security")
    body["security"].update(password=passphrase())
    assert (await client.put(f"/user/security/{uid}", json=body)).status_code == 200
    alphabet = "bcdfghjkmnpqrstvwxz"
    for size, ok in ((7, False), (8, True), (128, True), (129, False)):
        password = "".join(secrets.choice(alphabet) for _ in range(size))
        r = await client.put(f"/user/security/{uid}", json={"security": {"password": password}})
        if ok:
            assert r.status_code == 200, (size, r.text)
            stored = await stored_password(client, uid)
            assert stored is not None and await sensitive.verify_secret(stored, password, kind="password")
        else:
            assert_refused(r, "security.password", password, "8 to 128")
