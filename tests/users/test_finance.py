"""Credit cards, bank accounts, identifications and accounts of the user namespace
(users/finance.py, api/user/finance.py): the seed's samples replayed, numbers sealed at rest
and masked in answers, history rows masked, bad numbers refused naming the field."""

from __future__ import annotations

import base64
import io
import json
import random
from typing import Any

import pytest
from PIL import Image
from stdnum import iban as stdnum_iban
from stdnum import luhn

from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import email, mobile, outbox, register_body, rows
from tests.users.secrets_scan import assert_no_secrets
from tests.users.seed004 import assert_same_keys, request_of, response_of

USER_CONFIG = {**CONFIG, "sources": {**CONFIG["sources"], "WEBSITE": []}}
# till1 is the first till of every org make_org creates.
REVEALING = {**USER_CONFIG, "sensitiveDataTills": ["till1"]}
SHOW = {"show_sensitive_data": "1"}


@pytest.fixture
async def client(harness: Harness) -> OrgClient:
    return await make_org(harness, REVEALING)


@pytest.fixture
async def other_client(harness: Harness) -> OrgClient:
    return await make_org(harness, {**USER_CONFIG, "sensitiveDataTills": ["till9"]})


def new_pan() -> str:
    body = "4" + "".join(random.choices("0123456789", k=14))
    return body + luhn.calc_check_digit(body)


def new_iban() -> str:
    bban = "BARC" + "".join(random.choices("0123456789", k=14))
    return "GB" + stdnum_iban.calc_check_digits("GB00" + bban) + bban


def new_bank_number() -> str:
    return "".join(random.choices("123456789", k=10))


def new_id_number() -> str:
    return "R6" + "".join(random.choices("0123456789", k=11))


async def new_user(client: OrgClient) -> int:
    body = {
        "personal_info": {"first_name": "Marcos", "last_name": "Collier"},
        "email": [{"address": email(), "is_primary": 1}],
    }
    r = await client.post("/user", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["info"]["id"])


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["result"]["code"] == "0000", r.text
    return body


def refused(r: Any, status: int, code: str, field: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["result"]["code"] == code, r.text
    assert field in body["result"]["message"], r.text


async def records(client: OrgClient, uid: int, kind: str) -> list[Any]:
    return await rows(
        client.harness.app.state.db,
        "SELECT record_id, data, sealed FROM user_record WHERE org_id = :org_id AND customer_id = :cid"
        " AND kind = :kind ORDER BY record_id",
        org_id=client.org_id,
        cid=uid,
        kind=kind,
    )


async def change_log(client: OrgClient, uid: int) -> str:
    found = await rows(
        client.harness.app.state.db,
        "SELECT field_name, field_type, previous_value, current_value FROM customer_change"
        " WHERE org_id = :org_id AND customer_id = :cid AND kind = 'USER_RECORD' ORDER BY change_id",
        org_id=client.org_id,
        cid=uid,
    )
    return json.dumps([vars(r) for r in found])


async def everything_stored(client: OrgClient, uid: int) -> str:
    """The change log and the outbox: what could leave the database."""
    events = await outbox(client.harness, client.org_id)
    return await change_log(client, uid) + json.dumps(events)


# Credit cards ---------------------------------------------------------------------------


def card_body(pan: str) -> dict[str, Any]:
    """The seed's Create Credit Card request (004:L4488-4522) with a fresh PAN and a future expiry."""
    body: dict[str, Any] = request_of("Create Credit Card")
    body["credit_card"][0].update({"number": pan, "expiry_year": "2031"})
    return body


async def test_the_cvv_length_follows_the_cards_network(client: OrgClient) -> None:
    uid = await new_user(client)
    amex = card_body("378282246310005")  # a Luhn-valid American Express test number
    amex["credit_card"][0]["security_code"] = "123"
    r = await client.post(f"/user/credit_card/{uid}", json=amex)
    assert r.status_code == 400 and "security_code" in r.json()["result"]["message"], r.text
    amex["credit_card"][0]["security_code"] = "1234"
    card = ok(await client.post(f"/user/credit_card/{uid}", json=amex))["credit_card"][0]
    assert card["number"] == "378282*****0005" and card["security_code"] is None
    visa = card_body(new_pan())
    visa["credit_card"][0]["security_code"] = "1234"
    r = await client.post(f"/user/credit_card/{uid}", json=visa)
    assert r.status_code == 400 and "security_code" in r.json()["result"]["message"], r.text


async def test_credit_card_create_update_get_delete(client: OrgClient) -> None:
    uid = await new_user(client)
    pan = new_pan()
    created = ok(await client.post(f"/user/credit_card/{uid}", json=card_body(pan)))
    assert_same_keys(created, response_of("Create Credit Card"))
    card = created["credit_card"][0]
    assert card["number"] == pan[:6] + "******" + pan[-4:]
    assert card["security_code"] is None and card["type"] == 1 and card["expiry_month"] == "12"
    assert created["info"]["id"] == uid
    cid = card["id"]

    update = request_of("Update User CreditCard")
    update["credit_card"][0]["id"] = str(cid)
    updated = ok(await client.put(f"/user/credit_card/{uid}", json=update))
    assert_same_keys(updated, response_of("Update User CreditCard"))
    after = updated["credit_card"][0]
    assert (after["first_name"], after["last_name"], after["is_primary"], after["verification_status"]) == (
        "Tierney",
        "Collier",
        1,
        1,
    )
    assert after["number"] == card["number"]

    got = ok(await client.get(f"/user/credit_card/{uid}"))
    assert_same_keys(got, response_of("Get User Credit Card(s)"))
    assert [c["id"] for c in got["credit_card"]] == [cid]

    stored = await records(client, uid, "credit_card")
    assert len(stored) == 1 and stored[0].sealed and pan not in stored[0].sealed
    data = stored[0].data if isinstance(stored[0].data, dict) else json.loads(stored[0].data)
    assert (data["bin"], data["last4"]) == (pan[:6], pan[-4:])
    assert "123" not in json.dumps({k: v for k, v in data.items() if k not in ("bin", "last4", "masked")})

    delete = request_of("Delete User Credit Card")
    delete["credit_card"][0]["id"] = cid
    deleted = ok(await client.request("DELETE", f"/user/credit_card/{uid}", json=delete))
    assert_same_keys(deleted, response_of("Delete User Credit Card"))
    assert deleted["credit_card"][0]["id"] == cid and deleted["credit_card"][0]["number"] is None
    assert ok(await client.get(f"/user/credit_card/{uid}"))["credit_card"] == []
    assert await records(client, uid, "credit_card") == []

    log = await change_log(client, uid)
    assert f'"credit_card:{cid}"' in log
    assert pan[:6] + "******" + pan[-4:] in log
    for text in (json.dumps([created, updated, got, deleted]), await everything_stored(client, uid)):
        assert_no_secrets(text, [pan])


async def test_a_second_primary_card_takes_the_place_of_the_first(client: OrgClient) -> None:
    uid = await new_user(client)
    first = card_body(new_pan())
    first["credit_card"][0]["is_primary"] = 1
    one = ok(await client.post(f"/user/credit_card/{uid}", json=first))["credit_card"][0]
    second = card_body(new_pan())
    second["credit_card"][0]["is_primary"] = "1"
    ok(await client.post(f"/user/credit_card/{uid}", json=second))
    cards = ok(await client.get(f"/user/credit_card/{uid}"))["credit_card"]
    assert [(c["id"], c["is_primary"]) for c in cards][0] == (one["id"], 0)
    assert [c["is_primary"] for c in cards] == [0, 1]


# Masking --------------------------------------------------------------------------------


async def test_numbers_show_in_clear_only_to_a_granted_till_asking(
    client: OrgClient, other_client: OrgClient
) -> None:
    pan, number, account_iban, id_number = new_pan(), new_bank_number(), new_iban(), new_id_number()
    for org in (client, other_client):
        uid = await new_user(org)
        ok(await org.post(f"/user/credit_card/{uid}", json=card_body(pan)))
        ok(await org.post(f"/user/bank_account/{uid}", json=bank_body(number, account_iban)))
        ok(await org.post(f"/user/identification/{uid}", json=identification_body(id_number)))
        clear = org is client
        answers = []
        for headers in ({}, {"show_sensitive_data": "0"}, SHOW):
            shown = clear and headers == SHOW
            c = ok(await org.get(f"/user/credit_card/{uid}", headers=headers))["credit_card"][0]
            b = ok(await org.get(f"/user/bank_account/{uid}", headers=headers))["bank_account"][0]
            i = ok(await org.get(f"/user/identification/{uid}", headers=headers))["identification"][0]
            assert c["security_code"] is None
            if shown:
                assert (c["number"], b["number"], b["iban"], i["number"]) == (
                    pan,
                    number,
                    account_iban,
                    id_number,
                )
            else:
                assert c["number"] == pan[:6] + "*" * 6 + pan[-4:]
                assert b["number"] == number[:2] + "****" + number[-4:]
                assert b["iban"] == account_iban[:4] + "*" * (len(account_iban) - 8) + account_iban[-4:]
                assert i["number"] == id_number[:2] + "*" * (len(id_number) - 4) + id_number[-2:]
                answers.append(json.dumps([c, b, i]))
        for text in [*answers, await everything_stored(org, uid)]:
            assert_no_secrets(text, [pan, number, account_iban, id_number])
    bad = await client.get(f"/user/credit_card/{uid}", headers={"show_sensitive_data": "yes"})
    assert bad.status_code == 400 and bad.json()["result"]["code"] == "3001"


# Bank accounts --------------------------------------------------------------------------


def bank_body(number: str, account_iban: str) -> dict[str, Any]:
    """The seed's Create Bank Account request (004:L5817-5859) with fresh numbers; its routing
    number 123456789 fails the ABA check digit, so 123456780 replays it."""
    body: dict[str, Any] = request_of("Create Bank Account")
    body["bank_account"][0].update({"number": int(number), "iban": account_iban, "routing_number": 123456780})
    return body


async def test_bank_account_create_update_get_delete(client: OrgClient) -> None:
    uid = await new_user(client)
    number, account_iban = new_bank_number(), new_iban()
    created = ok(await client.post(f"/user/bank_account/{uid}", json=bank_body(number, account_iban)))
    assert_same_keys(created, response_of("Create Bank Account"))
    bank = created["bank_account"][0]
    assert bank["number"] == number[:2] + "****" + number[-4:]
    assert bank["iban"].startswith(account_iban[:4]) and bank["iban"].endswith(account_iban[-4:])
    assert (bank["country_code"], bank["routing_number"], bank["swift_code"]) == (
        "840",
        "123456780",
        "AAFMGB21",
    )
    assert (bank["is_primary"], bank["beneficiary_type"], bank["transit_number"]) == (1, 2, "98745")
    bid = bank["id"]

    update = request_of("Update User Bank Account")
    update["bank_account"][0]["id"] = bid
    updated = ok(await client.put(f"/user/bank_account/{uid}", json=update))
    assert_same_keys(updated, response_of("Update User Bank Account"))
    assert updated["bank_account"][0]["name"] == "Bank of America"
    assert updated["bank_account"][0]["number"] == bank["number"]

    got = ok(await client.get(f"/user/bank_account/{uid}", headers=SHOW))
    # The seed's Get Bank Account(s) sample answers identifications by mistake (rules 6.11):
    # the envelope is checked against it, the items against the Create answer's.
    assert_same_keys(got, response_of("Get User Bank Account(s)"))
    assert got["identification"] is None
    assert_same_keys(got["bank_account"], response_of("Create Bank Account")["bank_account"])
    assert (got["bank_account"][0]["number"], got["bank_account"][0]["iban"]) == (number, account_iban)

    stored = await records(client, uid, "bank_account")
    assert stored[0].sealed and number not in stored[0].sealed and account_iban not in stored[0].sealed

    delete = request_of("Delete User Bank Account")
    delete["bank_account"][0]["id"] = bid
    deleted = ok(await client.request("DELETE", f"/user/bank_account/{uid}", json=delete))
    assert_same_keys(deleted, response_of("Delete User Bank Account"))
    assert deleted["bank_account"][0]["service_provider"] == -1
    assert await records(client, uid, "bank_account") == []
    log = await change_log(client, uid)
    assert f'"bank_account:{bid}"' in log
    for text in (json.dumps([created, updated, deleted]), await everything_stored(client, uid)):
        assert_no_secrets(text, [number, account_iban])


# Identifications ------------------------------------------------------------------------


def identification_body(number: str) -> dict[str, Any]:
    """The seed's Create User Identification request (004:L4692-4718) with a fresh number."""
    body: dict[str, Any] = request_of("Create User Identification")
    body["identification"][0]["number"] = number
    return body


async def test_identification_create_update_get_delete(client: OrgClient) -> None:
    uid = await new_user(client)
    number = new_id_number()
    created = ok(await client.post(f"/user/identification/{uid}", json=identification_body(number)))
    assert_same_keys(created, response_of("Create User Identification"))
    ident = created["identification"][0]
    assert ident["number"] == number[:2] + "*" * (len(number) - 4) + number[-2:]
    assert (ident["type"], ident["country_of_issue"], ident["issue_date"]) == (3, "124", "2020-09-21")
    assert created["personal_info"]["first_name"] == "Marcos"
    iid = ident["id"]

    update = request_of("Update User Identification")
    update["identification"][0]["id"] = iid
    updated = ok(await client.put(f"/user/identification/{uid}", json=update))
    assert_same_keys(updated, response_of("Update User Identification"))
    after = updated["identification"][0]
    assert (after["country_of_issue"], after["expiry_date"], after["number"]) == (
        "826",
        "2027-09-21",
        ident["number"],
    )

    got = ok(await client.get(f"/user/identification/{uid}"))
    assert_same_keys(got, response_of("Get User Identification(s)"))

    stored = await records(client, uid, "identification")
    assert stored[0].sealed and number not in stored[0].sealed

    delete = request_of("Delete User Identification")
    delete["identification"][0]["id"] = iid
    deleted = ok(await client.request("DELETE", f"/user/identification/{uid}", json=delete))
    assert_same_keys(deleted, response_of("Delete User Identification"))
    assert await records(client, uid, "identification") == []
    assert f'"identification:{iid}"' in await change_log(client, uid)
    for text in (json.dumps([created, updated, got, deleted]), await everything_stored(client, uid)):
        assert_no_secrets(text, [number])


def png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def test_an_identification_with_documents_goes_to_the_documents_operation(client: OrgClient) -> None:
    """One route per method: a body with `documents` is Add / Update Identification With
    Document (users/documents.py), its identification sealed and masked as here."""
    uid = await new_user(client)
    number = new_id_number()
    body: dict[str, Any] = request_of("Add Identification With Document")
    body["identification"][0]["number"] = number
    for attachment in body["documents"][0]["attachment"]:
        attachment.update({"file_extension": ".png", "content": png()})
    added = ok(await client.post(f"/user/identification/{uid}", json=body))
    assert_same_keys(added, response_of("Add Identification With Document"))
    ident = added["identification"][0]
    assert ident["number"] == number[:2] + "*" * (len(number) - 4) + number[-2:]
    assert len(added["documents"]) == 1 and added["credit_limit"] is None
    update: dict[str, Any] = request_of("Update Identification With Document")
    update["identification"][0].update({"id": ident["id"], "number": new_id_number()})
    for attachment in update["documents"][0]["attachment"]:
        attachment.update({"file_extension": ".png", "content": png()})
    updated = ok(await client.put(f"/user/identification/{uid}", json=update))
    assert_same_keys(updated, response_of("Update Identification With Document"))
    assert updated["identification"][0]["id"] == ident["id"]
    stored = await records(client, uid, "identification")
    assert len(stored) == 1 and number not in stored[0].sealed
    assert_no_secrets(json.dumps([added, updated]) + await everything_stored(client, uid), [number])
    bad = json.loads(json.dumps(body))
    bad["identification"][0]["number"] = new_id_number()
    bad["documents"][0]["attachment"][1]["content"] = "not base64!"
    refused(await client.post(f"/user/identification/{uid}", json=bad), 400, "3001", "documents[0]")
    assert len(await records(client, uid, "identification")) == 1


# Refusals -------------------------------------------------------------------------------


async def test_bad_numbers_are_refused_naming_the_field_and_nothing_is_written(client: OrgClient) -> None:
    uid = await new_user(client)
    pan = new_pan()
    bad_pan = pan[:-1] + str((int(pan[-1]) + 1) % 10)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("credit_card", card_body(bad_pan), "credit_card[0].number"),
        (
            "credit_card",
            {"credit_card": [card_body(pan)["credit_card"][0], card_body(bad_pan)["credit_card"][0]]},
            "credit_card[1].number",
        ),
        (
            "credit_card",
            {"credit_card": [{**card_body(pan)["credit_card"][0], "security_code": "12"}]},
            "credit_card[0].security_code",
        ),
        (
            "credit_card",
            {"credit_card": [{**card_body(pan)["credit_card"][0], "expiry_year": "2001"}]},
            "credit_card[0]",
        ),
    ]
    number, good = new_bank_number(), new_iban()
    # Other check digits, in the valid range and different modulo 97 (GB00... would pass the
    # mod-97 check whenever the right digits are 97).
    bad_iban = good[:2] + f"{(int(good[2:4]) - 1) % 97 + 2:02d}" + good[4:]
    seed_routing = bank_body(number, good)
    seed_routing["bank_account"][0]["routing_number"] = 123456789
    bad_bic = bank_body(number, good)
    bad_bic["bank_account"][0]["swift_code"] = "AAFMZZ21"
    cases += [
        ("bank_account", bank_body(number, bad_iban), "bank_account[0].iban"),
        ("bank_account", bad_bic, "bank_account[0].swift_code"),
        ("bank_account", seed_routing, "bank_account[0].routing_number"),
    ]
    bad_country = identification_body(new_id_number())
    bad_country["identification"][0]["country_of_issue"] = 999
    cases.append(("identification", bad_country, "identification[0].country_of_issue"))
    for kind, body, field in cases:
        r = await client.post(f"/user/{kind}/{uid}", json=body)
        refused(r, 400, "3001", field)
        assert_no_secrets(r.text, [pan, bad_pan, number, good, bad_iban])
    missing = await client.post(f"/user/credit_card/{uid}", json={})
    refused(missing, 400, "3002", "credit_card")
    for kind in ("credit_card", "bank_account", "identification"):
        assert await records(client, uid, kind) == []
    assert await change_log(client, uid) == "[]"


async def test_another_orgs_user_and_records_are_not_found(
    client: OrgClient, other_client: OrgClient
) -> None:
    uid = await new_user(client)
    cid = ok(await client.post(f"/user/credit_card/{uid}", json=card_body(new_pan())))["credit_card"][0]["id"]
    theirs = await new_user(other_client)
    r = await other_client.post(f"/user/credit_card/{uid}", json=card_body(new_pan()))
    refused(r, 404, "3005", str(uid))
    assert (await other_client.get(f"/user/credit_card/{uid}")).json()["result"]["code"] == "3005"
    assert (await other_client.get(f"/user/account/{uid}")).json()["result"]["code"] == "3005"
    body = {"credit_card": [{"id": cid, "first_name": "Mallory"}]}
    refused(
        await other_client.put(f"/user/credit_card/{theirs}", json=body), 404, "3005", "credit_card[0].id"
    )
    gone = await other_client.request(
        "DELETE", f"/user/credit_card/{theirs}", json={"credit_card": [{"id": cid}]}
    )
    refused(gone, 404, "3005", "credit_card[0].id")
    assert len(await records(client, uid, "credit_card")) == 1
    assert ok(await client.get(f"/user/credit_card/{uid}"))["credit_card"][0]["first_name"] == "Winston"


# Accounts -------------------------------------------------------------------------------


async def test_accounts_are_the_customers_cards_masked(client: OrgClient) -> None:
    # A loyalty customer (registered through v2 with a mobile): cards go to loyalty customers.
    r = await client.post("/v2/customers", json=register_body(mobile()))
    assert r.status_code == 200, r.text
    uid = r.json()["createdId"]
    number = "9" + "".join(random.choices("0123456789", k=15))
    r = await client.post(
        f"/v2/customers/{uid}/changeIdentifier",
        params={"source": "INSTORE"},
        json={"add": [{"type": "cardnumber", "value": number, "seriesId": 19, "statusLabel": "ACTIVE"}]},
    )
    assert r.status_code == 200, r.text
    got = ok(await client.get(f"/user/account/{uid}"))
    assert_same_keys(got, response_of("Get User Account(s)"))
    info = got["account"][0]["info"]
    assert info["number"] == number[:6] + "******" + number[-4:]
    assert (info["user_id"], info["status"], info["name"]) == (uid, "1", "GOLDPHY98")
    assert info["security"] == {
        "security_code": None,
        "activation_code": None,
        "expiry_date": None,
        "pin_code": None,
    }
    assert_no_secrets(json.dumps(got), [number])
    shown = ok(await client.get(f"/user/account/{uid}", headers=SHOW))
    assert shown["account"][0]["info"]["number"] == number
    assert ok(await client.get(f"/user/account/{await new_user(client)}"))["account"] == []


async def test_add_identifications_for_create_user_seals_and_checks_all_first(client: OrgClient) -> None:
    """The hook Create User calls (users/finance.py add_identifications)."""
    from patron.context import Actor, RequestContext
    from patron.db.base import utcnow
    from patron.orgs.config import OrgConfig
    from patron.users import finance
    from patron.users.fields import FieldError

    uid = await new_user(client)
    app = client.harness.app
    ctx = RequestContext(
        client.org_id, Actor(1, "till1", "till 1", "s", "s"), "req", OrgConfig.model_validate(REVEALING)
    )
    number = new_id_number()
    items = identification_body(number)["identification"]
    with pytest.raises(FieldError, match=r"identification\[1\]\.country_of_issue"):
        await app.state.db.write(
            finance.add_identifications,
            ctx,
            uid,
            [*items, {**items[0], "country_of_issue": "XX"}],
            app.state.box,
            utcnow(),
        )
    assert await records(client, uid, "identification") == []
    made = await app.state.db.write(finance.add_identifications, ctx, uid, items, app.state.box, utcnow())
    assert [r.kind for r in made] == ["identification"]
    got = ok(await client.get(f"/user/identification/{uid}", headers=SHOW))["identification"]
    assert [(i["id"], i["number"]) for i in got] == [(made[0].record_id, number)]
