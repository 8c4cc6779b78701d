"""One user through every security flow, end to end through HTTP and the file sender, then
a scan of everything Patron said or kept: no password, answer, security code, one-time code,
TOTP secret (after its enrolment answer) or TOTP code in any answer, log line, event,
webhook delivery, change-log row or table.

verify -> the code from the messages file -> confirm (email, then phone); validate each
credential; forget password -> the code -> a new password -> validate; enrol 2FA -> a TOTP
from `manual_entry_key` -> activate -> reset the password with a TOTP -> validate."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from patron.db.base import utcnow
from tests.conftest import Harness, OrgClient, make_org
from tests.support import email, mobile, outbox, rows
from tests.users.messages import read_code
from tests.users.secrets_scan import assert_no_secrets
from tests.users.test_access_rules import USER_CONFIG

PASSWORDS = ("Harbour-Lantern-Quill-1", "Second-Orchard-Violet-2", "Third-Compass-Ember-3")
ANSWERS = ("Wilson-Bluebell", "Rivergate Meadow")
SECURITY_CODE = "506718"


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, USER_CONFIG)


def no_code(text: str, codes: list[str]) -> None:
    """A six-digit code is short enough to sit inside a timestamp by chance: look for it as a
    value (JSON, a query pair, a log field), not as a substring."""
    for code in codes:
        found = re.search(rf'(?<=["=:\s]){code}(?=["&,}}\s]|$)', text)
        assert found is None, f"a code leaked near …{text[max(0, found.start() - 30) : found.start()]}"


class Said:
    """Every answer of the journey, but the one enrolment answer that shows the secret."""

    def __init__(self, client: OrgClient) -> None:
        self.client = client
        self.texts: list[str] = []

    async def ok(self, method: str, url: str, body: Any = None, keep: bool = True) -> dict[str, Any]:
        r = await self.client.request(method, url, json=body)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        assert answer["result"]["code"] == "0000", r.text
        if keep:
            self.texts.append(r.text)
        return answer

    async def code(self, method: str, url: str, body: Any, code: str, status: int) -> None:
        r = await self.client.request(method, url, json=body)
        self.texts.append(r.text)
        assert r.status_code == status and r.json()["result"]["code"] == code, r.text


def validate_body(**given: str) -> dict[str, Any]:
    types = {"email": 8, "phone": 9, "password": 10, "security_code": 11, "birth_date": 12}
    kind = types.get(next(iter(given)), 13)
    return {"validate_data": given, "info": {"type": str(kind)}}


async def test_every_flow_end_to_end_and_no_secret_anywhere(
    client: OrgClient, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness, said = client.harness, Said(client)
    hook = await client.post("/v2/webhooks", json={"url": "http://127.0.0.1:9/hook", "enabled": True})
    assert hook.status_code in (200, 201), hook.text
    address, number = email(), "+" + mobile()
    created = await said.ok(
        "POST",
        "/user",
        {
            "personal_info": {"first_name": "Ada", "last_name": "Byron", "date_of_birth": "1990-04-12"},
            "email": [{"address": address, "is_primary": 1}],
            "phone": [{"number": number, "is_primary": 1}],
            "security": {
                "password": PASSWORDS[0],
                "security_code": SECURITY_CODE,
                "secret_question_1": "7",
                "secret_answer_1": ANSWERS[0],
                "secret_question_2": "8",
                "secret_answer_2": ANSWERS[1],
            },
        },
    )
    uid = created["info"]["id"]
    codes: list[str] = [SECURITY_CODE]

    # Verify and confirm the email, then the phone, with the codes the messages file holds.
    for kind, value, verify_type, confirm_type, purpose in (
        ("email", {"address": address}, "8", "9", "verify_email"),
        ("phone", {"number": number}, "10", "10", "verify_phone"),
    ):
        await said.ok(
            "POST",
            f"/user/security/verify/{uid}",
            {"verify_data": {kind: value}, "info": {"type": verify_type}},
        )
        code = await read_code(harness, uid, purpose)
        codes.append(code)
        confirm = {
            "verify_data": {kind: value},
            "confirm_data": {"verification_code": code},
            "info": {"type": confirm_type},
        }
        done = await said.ok("POST", f"/user/security/confirm/{uid}", confirm)
        assert done["verify_data"][kind]["verification_status"] == 1
        await said.code("POST", f"/user/security/confirm/{uid}", confirm, "3015", 422)  # used

    # Validate each credential; a wrong password is 3014.
    for given in (
        {"password": PASSWORDS[0]},
        {"security_code": SECURITY_CODE},
        {"secret_answer_1": ANSWERS[0].upper(), "secret_answer_2": ANSWERS[1].lower()},
        {"email": address},
        {"phone": number},
        {"birth_date": "1990-04-12"},
    ):
        await said.ok("POST", f"/user/security/validate/{uid}", validate_body(**given))
    wrong = validate_body(password=PASSWORDS[0].lower())
    await said.code("POST", f"/user/security/validate/{uid}", wrong, "3014", 422)

    # Forget the password: a code to the verified email, a new password with it, validate.
    forget = {"reset_security_data": {"forget_password": {"verified_email": address}}, "info": {"type": "3"}}
    await said.ok("POST", f"/user/security/reset/{uid}", forget)
    code = await read_code(harness, uid, "forget_password")
    codes.append(code)
    completion = {"forget_password": {"verification_code": code, "new_password": PASSWORDS[1]}}
    await said.ok("POST", f"/user/security/forget_password/{uid}", completion)
    await said.ok("POST", f"/user/security/validate/{uid}", validate_body(password=PASSWORDS[1]))
    await said.code(
        "POST", f"/user/security/validate/{uid}", validate_body(password=PASSWORDS[0]), "3014", 422
    )

    # Two factors: enrol (the only answer that shows the secret), activate, reset with a TOTP.
    enrolled = await said.ok(
        "POST", f"/user/auth/enroll/{uid}", {"authentication_data": [{"type": 11}]}, keep=False
    )
    key = enrolled["authentication_data"][0]["manual_entry_key"]
    assert enrolled["authentication_data"][0]["qr_image_url"].startswith("data:image/svg+xml;base64,")
    first = pyotp.TOTP(key).now()
    activated = await said.ok(
        "POST", f"/user/auth/activate/{uid}", {"authentication_data": [{"type": 11, "code": first}]}
    )
    assert activated["authentication_data"][0]["is_enabled"] == 1
    second = pyotp.TOTP(key).at(utcnow() + timedelta(seconds=30))
    codes += [first, second]
    reset = {
        "reset_security_data": {
            "reset_password": {"current_password": PASSWORDS[1], "new_password": PASSWORDS[2]}
        },
        "info": {"type": "1"},
    }
    await said.code("POST", f"/user/security/reset/{uid}", reset, "3015", 422)  # no TOTP: refused
    await said.ok(
        "POST", f"/user/security/reset/{uid}", {**reset, "authentication": [{"type": 11, "code": second}]}
    )
    await said.ok("POST", f"/user/security/validate/{uid}", validate_body(password=PASSWORDS[2]))

    # Every read of the user and what Patron kept.
    for url in (f"/user/{uid}", f"/user/security/{uid}", f"/user/history/{uid}", f"/user/email/{uid}"):
        await said.ok("GET", url)
    db, org = harness.app.state.db, client.org_id
    kept = []
    for sql in (
        "SELECT payload FROM outbox_event WHERE org_id = :org_id",
        "SELECT * FROM webhook_delivery WHERE org_id = :org_id",
        "SELECT * FROM customer_change WHERE org_id = :org_id",
        "SELECT * FROM user_record WHERE org_id = :org_id",
        "SELECT * FROM user_challenge WHERE org_id = :org_id",
        "SELECT * FROM message_outbox WHERE org_id = :org_id",
    ):
        kept.append(json.dumps([vars(r) for r in await rows(db, sql, org_id=org)], default=str))
    password_changes = [
        f
        for e in await outbox(harness, org)
        if e["eventType"] == "customerUpdated"
        for f in e["attributes"]["data"]["updatedFields"]
        if f["fieldName"].endswith(".password")
    ]
    assert len(password_changes) == 2  # the forget completion and the reset with 2FA
    out, err = capfd.readouterr()
    everything = "\n".join([*said.texts, *kept, out, err, caplog.text])
    assert_no_secrets(everything, [*PASSWORDS, *ANSWERS, key])
    no_code(everything, codes)
