"""Get User answers the whole user (004:L15808-16452): one record of every kind, each rendered
as its own route renders it, numbers masked unless revealed (docs/users.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness, OrgClient, make_org
from tests.support import email, mobile
from tests.users.seed004 import assert_same_keys, request_of, response_of
from tests.users.test_documents import b64, png
from tests.users.test_finance import (
    REVEALING,
    SHOW,
    USER_CONFIG,
    bank_body,
    new_bank_number,
    new_iban,
    new_id_number,
    new_pan,
    ok,
)


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, REVEALING)


async def full_user(client: OrgClient) -> tuple[int, dict[str, str]]:
    """A user with one record of every kind; the numbers given, by name."""
    nums = {"id": new_id_number(), "pan": new_pan(), "bank": new_bank_number(), "iban": new_iban()}
    body: dict[str, Any] = request_of("Create User")
    body["email"] = [{"address": email(), "is_primary": "1"}]
    body["phone"] = [{"type": "1", "country_code": "840", "number": mobile(), "is_primary": 1}]
    body["security"] = {
        "password": "correct horse battery",
        "security_code": "4821",
        "secret_question_1": "1",
        "secret_answer_1": "wilson",
        "secret_question_2": "2",
        "secret_answer_2": "alex",
    }
    body["identification"] = [
        {
            "type": 1,
            "country_of_issue": "840",
            "country_of_residence": "840",
            "number": nums["id"],
            "issue_date": "2015-09-21",
            "expiry_date": "2035-09-21",
        }
    ]
    uid = int(ok(await client.post("/user", json=body))["info"]["id"])
    card = request_of("Create Credit Card")
    card["credit_card"][0].update({"number": nums["pan"], "expiry_year": "2031"})
    ok(await client.post(f"/user/credit_card/{uid}", json=card))
    bank = bank_body(nums["bank"], nums["iban"])
    ok(await client.post(f"/user/bank_account/{uid}", json=bank))
    doc = request_of("Create User Document")
    doc["info"]["entity_id"] = 0
    for a in doc["attachment"]:
        a["content"] = b64(png())
    ok(await client.post(f"/user/document/{uid}", json=doc))
    friend = int(ok(await client.post("/user", json={"email": [{"address": email()}]}))["info"]["id"])
    rel = {"relationship": [{"on_entity": 7, "on_entity_id": friend, "type": 3}]}
    ok(await client.post(f"/user/relationship/{uid}", json=rel))
    ext = {
        "external_auth": [
            {"login_id": "16447222423" + str(uid)[-5:].zfill(5), "type": 3, "token": "tok-Zq81"}
        ]
    }
    ok(await client.post(f"/user/external_auth/{uid}", json=ext))
    ok(await client.post(f"/user/currency/{uid}", json={"currency": [{"code": "EUR"}]}))
    return uid, nums


async def test_get_user_answers_every_record_kind(client: OrgClient, harness: Harness) -> None:
    uid, nums = await full_user(client)
    got = ok(await client.get(f"/user/{uid}"))
    # custom_field: the org's own field names (the sample answers null).
    assert_same_keys(got, response_of("Get User"), ignore=("custom_field",))
    for key in (
        "address",
        "addresses",
        "email",
        "phone",
        "security",
        "preferences",
        "identification",
        "bank_account",
        "credit_card",
        "documents",
        "currency",
        "terms_conditions",
        "external_auth",
        "relationship",
        "geo_coordinates",
        "last_activity",
    ):
        assert got[key], key
    assert got["security"]["password"] == "____"
    assert (
        got["identification"][0]["number"] == nums["id"][:2] + "*" * (len(nums["id"]) - 4) + nums["id"][-2:]
    )
    assert got["credit_card"][0]["number"] == nums["pan"][:6] + "******" + nums["pan"][-4:]
    assert got["bank_account"][0]["iban"] != nums["iban"] and got["bank_account"][0]["number"] != nums["bank"]
    assert got["documents"][0]["attachment"][0]["content"] == "____"
    assert got["external_auth"][0]["token"] is None
    assert got["relationship"][0]["on_entity_name"] is not None
    text = (await client.get(f"/user/{uid}")).text
    for secret in nums.values():
        assert secret not in text
    # Revealed only for show_sensitive_data 1 from a till in sensitiveDataTills.
    shown = ok(await client.get(f"/user/{uid}", headers=SHOW))
    assert shown["credit_card"][0]["number"] == nums["pan"]
    assert shown["identification"][0]["number"] == nums["id"]
    assert shown["bank_account"][0]["iban"] == nums["iban"]
    assert shown["bank_account"][0]["number"] == nums["bank"]
    assert shown["security"]["password"] == "____"
    other = await make_org(harness, {**USER_CONFIG, "sensitiveDataTills": ["till9"]})
    uid2, nums2 = await full_user(other)
    hidden = (await other.get(f"/user/{uid2}", headers=SHOW)).text
    for secret in nums2.values():
        assert secret not in hidden
    assert (await other.get(f"/user/{uid}")).status_code == 404
