"""No secret leaves the process (docs/users.md, "Sensitive data"): a user made and changed
through every operation that takes a secret or a sensitive number, then read through every GET
of the user namespace and the v2 reads; no response body, log line, outbox event, webhook
delivery row or change-log value holds a full PAN, IBAN, account or identification number, a
CVV, password, security code, secret answer, attachment bytes or an external token."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest

from tests.conftest import Harness, OrgClient, make_org
from tests.support import email, mobile, outbox, rows, token
from tests.users.secrets_scan import assert_no_secrets, find_secrets
from tests.users.test_documents import b64, png
from tests.users.test_finance import (
    REVEALING,
    bank_body,
    identification_body,
    new_bank_number,
    new_iban,
    new_id_number,
    new_pan,
    ok,
)


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, REVEALING)


def no_cvv(text: str, cvvs: list[str]) -> None:
    """A CVV has 3 digits (the field table's 1-3), too short for secrets_scan: look for it as
    a value (JSON or a query/form pair) instead."""
    squeezed = text.replace(" ", "").replace('\\"', '"')
    for cvv in cvvs:
        for form in (f':"{cvv}"', f":{cvv},", f":{cvv}}}", f"={cvv}&", f"={cvv}'"):
            assert form not in squeezed, f"a CVV leaked as {form[:2]}…"


def digits(n: int) -> str:
    return "".join(random.choices("123456789", k=n))


async def table(client: OrgClient, sql: str) -> str:
    found = await rows(client.harness.app.state.db, sql, org_id=client.org_id)
    return json.dumps([vars(r) for r in found], default=str)


async def test_no_secret_in_answers_logs_events_or_history(
    client: OrgClient, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A webhook endpoint, so deliveries of the org's events are rows to scan too.
    ok_hook = await client.post("/v2/webhooks", json={"url": "http://127.0.0.1:9/hook", "enabled": True})
    assert ok_hook.status_code in (200, 201), ok_hook.text
    secrets: list[str] = []

    def keep(*values: str) -> None:
        secrets.extend(values)

    password, code = "Zebra-Quill-" + digits(6), digits(6)
    answer_1, answer_2 = "Marigold" + digits(5), "Pumpernickel" + digits(5)
    id_number = new_id_number()
    keep(password, code, answer_1, answer_2, id_number)
    body: dict[str, Any] = {
        "personal_info": {"first_name": "Ada", "last_name": "Secretkeeper"},
        "email": [{"address": email(), "is_primary": 1}],
        "phone": [{"type": 1, "country_code": "840", "number": mobile(), "is_primary": 1}],
        "security": {
            "password": password,
            "security_code": code,
            "secret_question_1": "1",
            "secret_answer_1": answer_1,
            "secret_question_2": "2",
            "secret_answer_2": answer_2,
        },
        "identification": [
            {
                "type": 1,
                "country_of_issue": "840",
                "country_of_residence": "840",
                "number": id_number,
                "issue_date": "2015-09-21",
                "expiry_date": "2035-09-21",
            }
        ],
    }
    created = ok(await client.post("/user", json=body))
    uid = int(created["info"]["id"])
    bodies = [created]

    password_2, code_2 = "Yodel-Harp-" + digits(6), digits(5)
    answer_3 = "Quokka" + digits(5)
    keep(password_2, code_2, answer_3)
    security = {
        "password": password_2,
        "security_code": code_2,
        "secret_question_1": "4",
        "secret_answer_1": answer_3,
    }
    bodies.append(ok(await client.put(f"/user/security/{uid}", json={"security": security})))
    password_3 = "Walrus-Lute-" + digits(6)
    keep(password_3)
    bodies.append(ok(await client.put(f"/user/{uid}", json={"security": {"password": password_3}})))

    pan, cvv = new_pan(), digits(3)
    keep(pan)
    cvvs = [cvv]
    card = {
        "credit_card": [
            {
                "first_name": "Ada",
                "last_name": "Secretkeeper",
                "type": 1,
                "number": pan,
                "currency_code": "USD",
                "expiry_year": "2031",
                "expiry_month": "12",
                "security_code": cvv,
            }
        ]
    }
    made = ok(await client.post(f"/user/credit_card/{uid}", json=card))
    bodies.append(made)
    card_id = made["credit_card"][0]["id"]
    pan_2, cvv_2 = new_pan(), digits(3)
    keep(pan_2)
    cvvs.append(cvv_2)
    change = {"credit_card": [{"id": card_id, "number": pan_2, "security_code": cvv_2, "expiry_month": "11"}]}
    bodies.append(ok(await client.put(f"/user/credit_card/{uid}", json=change)))
    # A refused card: the error must not repeat what was sent.
    bad = {"credit_card": [{**card["credit_card"][0], "number": pan[:-1] + str((int(pan[-1]) + 1) % 10)}]}
    refused = await client.post(f"/user/credit_card/{uid}", json=bad)
    assert refused.status_code == 400, refused.text

    number, iban = new_bank_number(), new_iban()
    keep(number, iban)
    made = ok(await client.post(f"/user/bank_account/{uid}", json=bank_body(number, iban)))
    bodies.append(made)
    number_2, iban_2 = new_bank_number(), new_iban()
    keep(number_2, iban_2)
    change = {"bank_account": [{"id": made["bank_account"][0]["id"], "number": number_2, "iban": iban_2}]}
    bodies.append(ok(await client.put(f"/user/bank_account/{uid}", json=change)))

    id_2, id_3 = new_id_number(), new_id_number()
    keep(id_2, id_3)
    made = ok(await client.post(f"/user/identification/{uid}", json=identification_body(id_2)))
    bodies.append(made)
    change = {"identification": [{"id": made["identification"][0]["id"], "number": id_3}]}
    bodies.append(ok(await client.put(f"/user/identification/{uid}", json=change)))

    content = b64(png((17, 201, 99)))
    keep(content)
    document = {
        "info": {"entity": 25, "entity_id": 0, "type": 2, "subject": "Passport"},
        "attachment": [{"file_name": "passport", "file_extension": ".png", "content": content}],
    }
    bodies.append(ok(await client.post(f"/user/document/{uid}", json=document)))

    external = "oauth-token-" + token("t")
    keep(external)
    login = {"external_auth": [{"login_id": "16447222423" + digits(5), "type": 3, "token": external}]}
    bodies.append(ok(await client.post(f"/user/external_auth/{uid}", json=login)))

    # Every GET of the user namespace about this user, then the v2 reads.
    app = client.harness.app
    gets = sorted(
        path
        for path, ops in app.openapi()["paths"].items()
        if "get" in ops and path.lower().startswith("/user")
    )
    read = 0
    for path in gets:
        if "{file_id}" in path:
            continue
        params: dict[str, Any] = {}
        if "{user_id}" not in path:
            params = {"user_id": uid, "from_date": "2000-01-01", "to_date": "2100-12-31"}
        answer = await client.get(path.replace("{user_id}", str(uid)), params=params)
        assert answer.status_code < 500, (path, answer.text)
        bodies.append(answer.text)
        read += 1
    assert read >= 20  # every user GET but the attachment bytes route
    # The scan finds what is there: the revealing till reads the numbers in clear.
    shown = await client.get(f"/user/{uid}", headers={"show_sensitive_data": "1"})
    assert set(find_secrets(shown.text, secrets)) == {pan_2, number_2, iban_2, id_number, id_3}
    primary = created["email"][0]["address"]
    for url, params in (
        (f"/v2/customers/{uid}", {"source": "ALL"}),
        (
            "/v2/customers/lookup/customerDetails",
            {"source": "ALL", "identifierName": "email", "identifierValue": primary},
        ),
    ):
        answer = await client.get(url, params=params)
        assert answer.status_code == 200, answer.text
        bodies.append(answer.text)

    for b in bodies:
        text = b if isinstance(b, str) else json.dumps(b)
        assert_no_secrets(text, secrets)
        no_cvv(text, cvvs)
    err = capfd.readouterr().err
    assert '"logger":"patron.access"' in err.replace(" ", "")  # the access log was captured
    assert_no_secrets(err, secrets)
    assert_no_secrets(caplog.text, secrets)
    no_cvv(err + caplog.text, cvvs)
    assert_no_secrets(json.dumps(await outbox(client.harness, client.org_id), default=str), secrets)
    stored = ""
    for sql in (
        "SELECT * FROM webhook_delivery WHERE org_id = :org_id",
        "SELECT * FROM webhook_attempt WHERE org_id = :org_id",
        "SELECT * FROM customer_change WHERE org_id = :org_id",
        "SELECT * FROM idempotency_key WHERE org_id = :org_id",
    ):
        stored += await table(client, sql)
    assert_no_secrets(stored, secrets)
    no_cvv(stored, cvvs)
    # The scan can fail: the plain user record holds none of them either, but the sealed
    # columns decrypt to some (they are there, and only there).
    assert_no_secrets(await table(client, "SELECT data FROM user_record WHERE org_id = :org_id"), secrets)
