"""Verify and Confirm (seed-004-rules.md 1.2 G3/G6, 4.3 a/b): email code, email link and phone
code, end to end through HTTP and the file sender, on both engines."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest

from patron.db.base import utcnow
from tests.conftest import Harness, OrgClient, make_org
from tests.support import email, execute, mobile, outbox
from tests.users.messages import next_message, read_code, sent
from tests.users.secrets_scan import assert_no_secrets
from tests.users.seed004 import ENVELOPE_KEYS, assert_same_keys, request_of, response_of
from tests.users.test_security_foundation import USER_CONFIG

VERIFY = "/user/security/verify/{}"
CONFIRM = "/user/security/confirm/{}"
LINK_PATH = "/user/security/link/verify_email"


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


async def new_user(client: OrgClient) -> tuple[int, str, str]:
    address, number = email(), mobile()
    body = {
        "personal_info": {"first_name": "Stephen", "last_name": "Wilson"},
        "email": [{"address": address}],
        "phone": [{"type": 1, "number": number}],
    }
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["info"]["id"]), address, number


def verify_body(kind: str, value: str, method: str | None = None) -> dict[str, Any]:
    """The seed's Verify request (004:L10977-10989, L11253-11265) with our address or number."""
    if kind == "email":
        body: dict[str, Any] = request_of("Verify User Email Code")
        body["verify_data"]["email"]["address"] = value
    else:
        body = request_of("Verify User Phone Code")
        body["verify_data"]["phone"]["number"] = value
    if method is not None:
        body["info"]["method"] = method
    return body


def confirm_body(kind: str, value: str, code: Any) -> dict[str, Any]:
    """The seed's Confirm request (004:L9449-9467, L9597-9615) with our value and code."""
    if kind == "email":
        body: dict[str, Any] = request_of("Confirm User Email Code")
        body["verify_data"]["email"]["address"] = value
    else:
        body = request_of("Confirm User SMS Code")
        body["verify_data"]["phone"]["number"] = value
    body["confirm_data"]["verification_code"] = code
    return body


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def status_of(client: OrgClient, uid: int, kind: str) -> list[int]:
    r = await client.get(f"/user/{kind}/{uid}")
    assert r.status_code == 200, r.text
    return [item["verification_status"] for item in r.json()[kind]]


def result_code(r: Any) -> str:
    return str(r.json()["result"]["code"])


async def customer_updates(client: OrgClient) -> list[dict[str, Any]]:
    found = await outbox(client.harness, client.org_id)
    return [e["attributes"]["data"] for e in found if e["eventType"] == "customerUpdated"]


# --- email code -----------------------------------------------------------------------------


async def test_email_code_verifies_the_email_and_a_new_address_resets_it(client: OrgClient) -> None:
    uid, address, _ = await new_user(client)
    r = await client.post(VERIFY.format(uid), json=verify_body("email", address))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ENVELOPE_KEYS["security_verify"]
    assert_same_keys(answer, response_of("Verify User Email Code"))
    assert_same_keys(answer, response_of("Verify User Email Link"))
    email_row = answer["verify_data"]["email"]
    assert (email_row["address"], email_row["verification_status"]) == (address, 0)
    assert answer["info"]["type"] == 8 and answer["info"]["user_id"] == uid
    assert answer["authentication"] == [{"type": 2, "code": str(answer["info"]["id"])}]
    code = await read_code(client.harness, uid, "verify_email")
    message = sent(client.harness, userId=uid, purpose="verify_email")[0]
    assert (message["channel"], message["to"], message.get("link")) == ("email", address, None)
    assert_no_secrets(r.text, [code])

    events_before = len(await customer_updates(client))
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address.upper(), code))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert list(answer) == ENVELOPE_KEYS["security_confirm"]
    assert_same_keys(answer, response_of("Confirm User Email Code"))
    assert answer["verify_data"]["email"]["verification_status"] == 1
    assert answer["verify_data"]["email"]["id"] == email_row["id"]
    assert answer["confirm_data"] == {"verification_code": "____"}
    assert answer["info"]["type"] == 9
    assert answer["authentication"] == [{"type": 2, "code": str(answer["info"]["id"])}]
    assert_no_secrets(r.text, [code])
    assert await status_of(client, uid, "email") == [1]
    updates = (await customer_updates(client))[events_before:]
    assert [f["fieldName"] for e in updates for f in e["updatedFields"]] == [f"email:{email_row['id']}"]
    history = (await client.get(f"/user/history/{uid}")).json()["history"]
    assert any('"verification_status":1' in (h.get("new_data") or "").replace(" ", "") for h in history)

    # Used: the same code again is refused and changes nothing.
    again = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, code))
    assert (again.status_code, result_code(again)) == (422, "3015")

    # Changing the address resets verification_status (Update User Email).
    moved = email()
    r = await client.put(f"/user/email/{uid}", json={"email": [{"id": email_row["id"], "address": moved}]})
    assert r.status_code == 200, r.text
    assert await status_of(client, uid, "email") == [0]


async def test_update_user_with_a_new_address_or_number_resets_the_status(client: OrgClient) -> None:
    uid, address, number = await new_user(client)
    for kind, value, purpose in (("email", address, "verify_email"), ("phone", number, "verify_phone")):
        assert (await client.post(VERIFY.format(uid), json=verify_body(kind, value))).status_code == 200
        code = await read_code(client.harness, uid, purpose)
        r = await client.post(CONFIRM.format(uid), json=confirm_body(kind, value, code))
        assert r.status_code == 200, r.text
    assert await status_of(client, uid, "email") == [1] and await status_of(client, uid, "phone") == [1]
    rows = (await client.get(f"/user/{uid}")).json()
    body = {
        "email": [{"id": rows["email"][0]["id"], "address": email()}],
        "phone": [{"id": rows["phone"][0]["id"], "number": mobile()}],
    }
    r = await client.put(f"/user/{uid}", json=body)
    assert r.status_code == 200, r.text
    assert await status_of(client, uid, "email") == [0] and await status_of(client, uid, "phone") == [0]


async def test_a_code_sent_before_the_address_changed_does_not_verify_the_new_one(client: OrgClient) -> None:
    uid, address, _ = await new_user(client)
    r = await client.post(VERIFY.format(uid), json=verify_body("email", address))
    row_id = r.json()["verify_data"]["email"]["id"]
    code = await read_code(client.harness, uid, "verify_email")
    moved = email()
    r = await client.put(f"/user/email/{uid}", json={"email": [{"id": row_id, "address": moved}]})
    assert r.status_code == 200, r.text
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", moved, code))
    assert (r.status_code, result_code(r)) == (422, "3015")
    assert await status_of(client, uid, "email") == [0]


# --- phone code -----------------------------------------------------------------------------


async def test_phone_code_goes_by_sms_and_verifies_the_phone(client: OrgClient) -> None:
    uid, _, number = await new_user(client)
    r = await client.post(VERIFY.format(uid), json=verify_body("phone", "+" + number))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert_same_keys(answer, response_of("Verify User Phone Code"))
    assert answer["info"]["type"] == 10 and answer["verify_data"]["phone"]["verification_status"] == 0
    code = await read_code(client.harness, uid, "verify_phone")
    message = sent(client.harness, userId=uid, purpose="verify_phone")[0]
    assert (message["channel"], message["to"]) == ("sms", "+" + number)
    wrong_try = await client.post(CONFIRM.format(uid), json=confirm_body("phone", number, wrong(code)))
    assert (wrong_try.status_code, result_code(wrong_try)) == (422, "3015")
    assert await status_of(client, uid, "phone") == [0]  # a wrong code changes nothing
    r = await client.post(CONFIRM.format(uid), json=confirm_body("phone", number, int(code)))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert_same_keys(answer, response_of("Confirm User SMS Code"))
    assert answer["verify_data"]["phone"]["verification_status"] == 1
    assert answer["verify_data"]["email"] is None and answer["confirm_data"]["verification_code"] == "____"
    assert await status_of(client, uid, "phone") == [1]
    assert await status_of(client, uid, "email") == [0]


# --- email link -----------------------------------------------------------------------------


async def _link_of(client: OrgClient, uid: int, after: int = 0) -> str:
    message = await next_message(client.harness, uid, "verify_email_link", after=after)
    assert message.get("code") is None and message["channel"] == "email"
    link = message["link"]
    assert isinstance(link, str) and link.startswith("http://patron.test" + LINK_PATH + "?token=")
    return link


async def test_an_email_link_is_confirmed_by_its_page_and_only_once(client: OrgClient) -> None:
    uid, address, _ = await new_user(client)
    r = await client.post(VERIFY.format(uid), json=verify_body("email", address, method="link"))
    assert r.status_code == 200, r.text
    assert_same_keys(r.json(), response_of("Verify User Email Link"))
    link = await _link_of(client, uid)
    token = link.split("token=", 1)[1]
    assert_no_secrets(r.text, [token])
    http = client.harness.http  # the person clicking has no till credentials

    page = await http.get(link)
    assert page.status_code == 200 and "Confirm my email" in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    await http.get(link)  # a mail scanner's fetch spends nothing
    assert await status_of(client, uid, "email") == [0]

    done = await http.post(LINK_PATH, data={"token": token})
    assert done.status_code == 200 and "Email confirmed" in done.text, done.text
    assert await status_of(client, uid, "email") == [1]
    again = await http.post(LINK_PATH, data={"token": token})
    assert again.status_code == 422 and "not valid" in again.text
    history = (await client.get(f"/user/history/{uid}")).json()["history"]
    assert any('"verification_status":1' in (h.get("new_data") or "").replace(" ", "") for h in history)


async def test_the_org_setting_makes_links_the_default_and_a_code_does_not_redeem_a_link(
    harness: Harness,
) -> None:
    client = await make_org(harness, {**USER_CONFIG, "userEmailVerification": "link"})
    uid, address, _ = await new_user(client)
    r = await client.post(VERIFY.format(uid), json=verify_body("email", address))
    assert r.status_code == 200, r.text
    link = await _link_of(client, uid)
    assert sent(harness, userId=uid, purpose="verify_email") == []
    token = link.split("token=", 1)[1]
    secret = token.rsplit(".", 1)[1]
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, secret))
    assert (r.status_code, result_code(r)) == (422, "3015")
    # The query's token works for the POST as well; a tampered token does not.
    bad = await harness.http.post(LINK_PATH + "?token=" + token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert bad.status_code == 422
    ok = await harness.http.post(LINK_PATH + "?token=" + token)
    assert ok.status_code == 200, ok.text
    assert await status_of(client, uid, "email") == [1]
    # info.method overrides the setting.
    r = await client.post(VERIFY.format(uid), json=verify_body("email", address, method="code"))
    assert r.status_code == 200
    assert len(await read_code(harness, uid, "verify_email")) == 6


async def test_a_malformed_or_foreign_link_shows_the_failure_page(client: OrgClient) -> None:
    http = client.harness.http
    for token in ("", "nonsense", "1.2.short"):
        page = await http.get(LINK_PATH, params={"token": token})
        assert page.status_code == 400 and "not valid" in page.text
    forged = f"{client.org_id}.999999999.{'A' * 43}"
    assert (await http.post(LINK_PATH, data={"token": forged})).status_code == 422
    missing_org = f"{10**15}.1.{'A' * 43}"
    assert (await http.post(LINK_PATH, data={"token": missing_org})).status_code == 422


# --- refusals -------------------------------------------------------------------------------


async def test_expired_used_and_wrong_codes_are_refused_and_change_nothing(client: OrgClient) -> None:
    uid, address, _ = await new_user(client)
    await client.post(VERIFY.format(uid), json=verify_body("email", address))
    code = await read_code(client.harness, uid, "verify_email")
    await execute(
        client.harness.app.state.db,
        "UPDATE user_challenge SET expires_at = :t WHERE org_id = :o AND customer_id = :u",
        t=utcnow() - timedelta(seconds=1),
        o=client.org_id,
        u=uid,
    )
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, code))
    assert (r.status_code, result_code(r)) == (422, "3015")
    for bad in ("12345", "abcdef", 1234567, True):
        r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, bad))
        assert (r.status_code, result_code(r)) == (422, "3015"), bad
    assert await status_of(client, uid, "email") == [0]


async def test_five_wrong_tries_burn_the_code_and_a_new_verify_replaces_it(client: OrgClient) -> None:
    uid, address, _ = await new_user(client)
    await client.post(VERIFY.format(uid), json=verify_body("email", address))
    first = await read_code(client.harness, uid, "verify_email")
    await client.post(VERIFY.format(uid), json=verify_body("email", address))
    second = await read_code(client.harness, uid, "verify_email", after=1)
    if first != second:  # replaced: the first code no longer works
        r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, first))
        assert result_code(r) == "3015"
    for _ in range(4 if first != second else 5):
        r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, wrong(second)))
        assert result_code(r) == "3015"
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, second))
    assert (r.status_code, result_code(r)) == (422, "3015")  # burnt
    await client.post(VERIFY.format(uid), json=verify_body("email", address))
    third = await read_code(client.harness, uid, "verify_email", after=2)
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, third))
    assert r.status_code == 200, r.text


async def test_ten_wrong_confirmations_answer_429_until_the_wait_passes(client: OrgClient) -> None:
    uid, address, _ = await new_user(client)
    await client.post(VERIFY.format(uid), json=verify_body("email", address))
    code = await read_code(client.harness, uid, "verify_email")
    for _ in range(10):
        r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, wrong(code)))
        assert (r.status_code, result_code(r)) == (422, "3015")
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, code))
    assert (r.status_code, result_code(r)) == (429, "3012")
    assert int(r.headers["Retry-After"]) >= 1
    await asyncio.sleep(int(r.headers["Retry-After"]) + 0.05)
    await client.post(VERIFY.format(uid), json=verify_body("email", address))  # the old one is burnt
    fresh = await read_code(client.harness, uid, "verify_email", after=1)
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, fresh))
    assert r.status_code == 200, r.text


async def test_an_address_or_number_the_user_lacks_is_3013_and_bad_requests_3001(client: OrgClient) -> None:
    uid, address, number = await new_user(client)
    other_uid, other_address, _ = await new_user(client)
    cases = [
        (VERIFY, verify_body("email", other_address), 404, "3013"),
        (VERIFY, verify_body("phone", mobile()), 404, "3013"),
        (CONFIRM, confirm_body("email", email(), "123456"), 404, "3013"),
        (VERIFY, {**verify_body("email", address), "info": {"type": "9"}}, 400, "3001"),
        (VERIFY, verify_body("email", "not-an-address"), 400, "3001"),
        (VERIFY, verify_body("phone", number, method="link"), 400, "3001"),
        (VERIFY, verify_body("email", address, method="carrier-pigeon"), 400, "3001"),
        (CONFIRM, {**confirm_body("email", address, "123456"), "info": {"type": "8"}}, 400, "3001"),
        (CONFIRM, confirm_body("email", address, None), 400, "3002"),
        (VERIFY, {"verify_data": {}, "info": {"type": "10"}}, 400, "3002"),
    ]
    for path, body, status, code in cases:
        r = await client.post(path.format(uid), json=body)
        assert (r.status_code, result_code(r)) == (status, code), (body, r.text)
    r = await client.post(VERIFY.format(10**15), json=verify_body("email", address))
    assert (r.status_code, result_code(r)) == (404, "3005")
    assert sent(client.harness, userId=uid) == [] and sent(client.harness, userId=other_uid) == []


async def test_no_code_or_link_in_answers_logs_or_events(
    client: OrgClient, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    uid, address, number = await new_user(client)
    answers: list[str] = []
    secrets: list[str] = []
    r = await client.post(VERIFY.format(uid), json=verify_body("email", address))
    answers.append(r.text)
    code = await read_code(client.harness, uid, "verify_email")
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, wrong(code)))
    answers.append(r.text)
    r = await client.post(CONFIRM.format(uid), json=confirm_body("email", address, code))
    answers.append(r.text)
    r = await client.post(VERIFY.format(uid), json=verify_body("phone", number))
    answers.append(r.text)
    sms = await read_code(client.harness, uid, "verify_phone")
    answers.append((await client.post(CONFIRM.format(uid), json=confirm_body("phone", number, sms))).text)
    r = await client.post(VERIFY.format(uid), json=verify_body("email", address, method="link"))
    answers.append(r.text)
    token = (await _link_of(client, uid)).split("token=", 1)[1]
    answers.append((await client.harness.http.get(LINK_PATH, params={"token": token})).text)
    answers.append((await client.harness.http.post(LINK_PATH, data={"token": token})).text)
    secret = token.rsplit(".", 1)[1]
    secrets += [code, sms, secret]
    for text in answers:
        assert_no_secrets(re.sub(r'name="token" value="[^"]*"', "", text), secrets)
    # The app's log lines (the test's own HTTP client logs the URLs it fetched: not ours).
    err = "\n".join(line for line in capfd.readouterr().err.splitlines() if '"logger":"httpx"' not in line)
    assert '"logger":"patron.access"' in err
    assert_no_secrets(err, secrets)
    assert_no_secrets("\n".join(r.getMessage() for r in caplog.records if r.name != "httpx"), secrets)
    assert_no_secrets(json.dumps(await outbox(client.harness, client.org_id), default=str), secrets)
    history = (await client.get(f"/user/history/{uid}")).text
    assert_no_secrets(history, secrets)
