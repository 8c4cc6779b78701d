"""Every sample request of seed 003's customer operations, replayed against our API, and
our responses checked against the seed's sample responses key by key (tests/api/seedtext.py).

The samples are read by line range from verbatim copies of the seed (tests/fixtures/seed003/,
see tests/fixtures/README.md); the tests never read the seed itself. Each replay changes only
what a fresh org requires, and says so where it does:
- identifier values are fresh (mobile(), email(), token()) so tests never collide;
- a source account the org config lacks becomes a configured one: the seed's WECHAT account
  "22232" (003:L280, L470, L2331, L5009), "1234" (L329) and "WeChat1234" (L4730) become
  "WECHAT-CM"; MOBILE_APP "400" (L81) is configured as is;
- custom fields the config lacks become configured ones (see UPDATE_FIELDS).

Intentional differences from the samples (decisions, see docs/decisions.md):
- an identifier of a card is rendered with type "cardnumber", never "cardNumber"
  (003:L2369, L5053 write "cardNumber"; the requests and the enums write "cardnumber", I-17);
- `loyaltyInfo.lifetimePurchases` is a JSON number (230 at 003:L2437, 24000.0 at L5112);
- the loyalty embeds (points, mlp, promotionalPoints, expirySchedules, expiredPoints) are
  replayed with real figures in tests/loyalty/test_embeds.py, and `embed=subscriptions`
  (003:L2518-2567) in tests/engagement/test_subscriptions.py.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.api.seedtext import SEED_003, assert_shape, seed_json, seed_line, shape
from tests.conftest import OrgClient
from tests.support import codes, email, mobile, register_body, token

ACCOUNT = "WECHAT-CM"  # stands for the seed's unconfigured WECHAT accounts (module docstring)

# Seed 003's Register Customer request (003:L20-101) is not JSON (I-15); the fixes:
REGISTER_FIXES = (
    # L81: no comma after "accountId":"400".
    ('"accountId":"400"\n', '"accountId":"400",\n'),
    # L85: a trailing comma after the profile's last member, "fields": {...},
    ('"dateofbirth": "22-10-2000"\n      },\n    }', '"dateofbirth": "22-10-2000"\n      }\n    }'),
)
# The external-card fragment (003:L107-113) is one identifier item between "..." lines.
FRAGMENT_FIXES = ((" ... \n", ""), ("\n ...", ""))
# The embed=mlp fragment (003:L2574-2609) is one member of the response object, with a
# trailing comma; wrapped in braces it parses.
MLP_FIXES = (('"loyaltyProgramDetails": [', '{"loyaltyProgramDetails": ['), ("    ],", "    ]}"))

# The update samples send custom fields "gender" and "city" (003:L290-293, L4695-4698); this
# org configures those as extended fields and has custom fields employee and dateofbirth
# (unknown custom fields are 1017), so the replay sends configured ones.
UPDATE_FIELDS = {"employee": "true", "dateofbirth": "22-10-2000"}

REGISTER_RESPONSE = (123, 142)  # 003:L123-142, {createdId, warnings, sideEffects}
# This org has no loyalty program and no couponOnRegistration, so sideEffects is []; the
# shape check compares list items only when both lists have one. The sample's coupon item
# is compared key for key by tests/engagement/test_coupons.py, whose org issues one.


def sample(first: int, last: int, fixes: tuple[tuple[str, str], ...] = ()) -> Any:
    return seed_json(SEED_003, first, last, fixes)


def sample_url(line: int) -> tuple[str, dict[str, str]]:
    """The path and query parameters of the sample request URL on a seed line."""
    text = seed_line(SEED_003, line).strip()
    parts = urlsplit(text)
    assert parts.path.startswith("/v2/customers"), text
    return parts.path, dict(parse_qsl(parts.query))


def with_account(params: dict[str, str]) -> dict[str, str]:
    if params.get("accountId") == "22232":  # unconfigured WECHAT account (module docstring)
        return {**params, "accountId": ACCOUNT}
    return params


async def register(client: OrgClient, body: dict[str, Any]) -> int:
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


async def details(client: OrgClient, cid: int, **params: str) -> dict[str, Any]:
    r = await client.get(f"/v2/customers/{cid}", params={"source": "ALL", **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def till_code(client: OrgClient) -> str:
    """The code of the client's own till. `associatedWith` must name a till of the org
    (91020 otherwise, docs/decisions.md); the seed's "bukl.till" (003:L24) and "sit.admin"
    (L5124) are tills of the seed's org, so the replays name this org's till instead."""
    return client.username.split("@")[0]


def register_sample(client: OrgClient, number: str | None = None) -> dict[str, Any]:
    """003:L20-101 with fresh identifiers; source MOBILE_APP / account "400" is configured."""
    body = sample(20, 101, REGISTER_FIXES)
    assert body["associatedWith"] == "bukl.till"
    body["associatedWith"] = till_code(client)
    profile = body["profiles"][0]
    assert (profile["source"], profile["accountId"]) == ("MOBILE_APP", "400")
    number = number or mobile()
    fresh = {
        "mobile": number,
        "cuid": token("cuid_"),
        "unionId": token("unionId_"),
        "cardnumber": token("TEST"),
    }
    for ident in profile["identifiers"]:
        ident["value"] = fresh[ident["type"]]
    for channel in profile["commChannels"]:
        # The sample's mobile channel "91901000001" (L70) has 11 digits and is no valid
        # number (8058); the channel gets the customer's own mobile instead.
        channel["value"] = number if channel["type"] == "mobile" else token("fcm")
    return body


# --- Register Customer (003:L5-160) ----------------------------------------------------------


async def test_register_customer_sample(client: OrgClient) -> None:
    body = register_sample(client)
    r = await client.post("/v2/customers", json=body)
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(*REGISTER_RESPONSE))
    # What the sample registered is on the record: the card of series 19, the fields.
    got = await details(client, r.json()["createdId"], source="MOBILE_APP", accountId="400")
    card = next(i for i in got["profiles"][0]["identifiers"] if i["type"] == "cardnumber")
    assert (card["seriesId"], card["statusLabel"]) == (19, "ACTIVE")
    assert got["profiles"][0]["fields"] == {"employee": "true", "dateofbirth": "22-10-2000"}
    assert got["extendedFields"] == {"gender": "Male", "city": "Bangalore"}


async def test_register_with_the_external_card_fragment(client: OrgClient) -> None:
    card = sample(107, 113, FRAGMENT_FIXES)
    assert card == {"type": "cardnumber", "value": "EXTERNALCARD9875692", "seriesCode": "GOLDPHY98"}
    card["value"] = token("EXTERNALCARD")
    r = await client.post("/v2/customers", json=register_body(extra=[card]))
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(*REGISTER_RESPONSE))
    got = await details(client, r.json()["createdId"], source="INSTORE")
    [issued] = got["cardDetails"]
    assert (issued["cardNumber"], issued["seriesCode"], issued["seriesId"]) == (
        card["value"],
        "GOLDPHY98",
        19,
    )


async def test_register_in_a_different_source_sample_8050(client: OrgClient) -> None:
    number = mobile()
    first = await register(client, register_body(number))
    r = await client.post("/v2/customers", json=register_sample(client, number))
    assert r.status_code == 200, r.text
    seed = sample(148, 173)
    assert_shape(r.json(), seed)
    assert r.json()["createdId"] == first
    # 8050, status, code and message verbatim (L151-155); the sample card's extended fields
    # (card_balance, year_of_registration, L47-50) are the org's card-level extended fields.
    assert r.json()["warnings"] == seed["warnings"]


# --- Update Customer Details (using userId) (003:L274-377) -----------------------------------


async def test_update_customer_by_user_id_sample(client: OrgClient) -> None:
    number, mail, wechat = mobile(), email(), token("wc_")
    cid = await register(
        client,
        register_body(
            number,
            source="WECHAT",
            account_id=ACCOUNT,
            extra=[{"type": "email", "value": mail}, {"type": "wechat", "value": wechat}],
        ),
    )
    path, params = sample_url(280)
    assert (path, params) == ("/v2/customers/329", {"source": "WECHAT", "accountId": "22232"})
    body = sample(285, 348)
    profile = body["profiles"][0]
    assert profile["identifiers"][0]["value"] == 919111111111  # the sample sends a number
    held = {"mobile": int(number), "email": mail, "wechat": wechat}
    for ident in profile["identifiers"]:
        ident["value"] = held[ident["type"]]  # the customer's own identifiers (I-19)
    for channel in profile["commChannels"]:
        channel["value"] = held[channel["type"]]
    assert profile["fields"] == {"gender": "Male", "city": "Bangalore"}
    profile["fields"] = UPDATE_FIELDS
    assert profile["accountId"] == "1234"
    profile["accountId"] = ACCOUNT
    r = await client.put(f"/v2/customers/{cid}", params=with_account(params), json=body)
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(368, 377))
    assert r.json()["createdId"] == cid and r.json()["warnings"] == []
    got = await details(client, cid, source="WECHAT", accountId=ACCOUNT)
    assert got["extendedFields"] == {"gender": "Male", "city": "Bangalore"}
    assert got["profiles"][0]["fields"] == UPDATE_FIELDS


# --- Update Customer Identifiers/Issue Card (003:L465-513) ------------------------------------


async def test_change_identifier_sample(client: OrgClient) -> None:
    mail = email()
    cid = await register(
        client, register_body(source="WECHAT", account_id=ACCOUNT, extra=[{"type": "email", "value": mail}])
    )
    path, params = sample_url(470)
    assert path == "/v2/customers/418/changeIdentifier"
    body = sample(475, 488)
    assert body["remove"] == [{"type": "email", "value": "tom.sawyer@example.com"}]
    added = token("ray")
    body["add"][0]["value"] = added
    body["remove"][0]["value"] = mail
    r = await client.post(f"/v2/customers/{cid}/changeIdentifier", params=with_account(params), json=body)
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(510, 513))
    profile = (await details(client, cid, source="WECHAT", accountId=ACCOUNT))["profiles"][0]
    held = {(i["type"], i["value"]) for i in profile["identifiers"]}
    assert ("wechat", added) in held and ("email", mail) not in held


async def test_change_identifier_issue_card_sample(client: OrgClient) -> None:
    cid = await register(client, register_body(source="WECHAT", account_id=ACCOUNT))
    _, params = sample_url(470)
    body = sample(494, 503)
    number = token("TTM")
    body["add"][0]["value"] = number
    r = await client.post(f"/v2/customers/{cid}/changeIdentifier", params=with_account(params), json=body)
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(510, 513))
    [card] = (await details(client, cid, source="WECHAT", accountId=ACCOUNT))["cardDetails"]
    assert (card["cardNumber"], card["seriesId"], card["statusInfo"]["label"]) == (number, 19, "ACTIVE")


# --- Get Customers (Advanced Customer Search) (003:L2145-2239) -------------------------------


async def test_search_sample(client: OrgClient) -> None:
    ids = {await register(client, register_body(first="Tom", last="Sawyer")) for _ in range(2)}
    path, params = sample_url(2150)
    assert params == {"limit": "10", "offset": "0", "q": "tom"}
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    seed = sample(2156, 2239)
    assert_shape(r.json(), seed)
    body = r.json()
    assert {d["userId"] for d in body["data"]} == ids
    # The sample's hit: matched on firstName "Tom" in INSTORE (L2166-2171).
    assert body["data"][0]["matchedIdentifiers"] == seed["data"][0]["matchedIdentifiers"]


# --- Fetch Customer ID (003:L2267-2283) -------------------------------------------------------


async def test_fetch_customer_id_sample(client: OrgClient) -> None:
    number = mobile()
    cid = await register(client, register_body(number))
    path, params = sample_url(2273)
    assert params["identifierValue"] == "919111111111"
    r = await client.get(path, params={**params, "identifierValue": number})
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(2280, 2283))
    assert r.json() == {"entity": cid, "warnings": []}


# --- Fetch Customer Details (by User ID) (003:L2325-2494) ------------------------------------


def customer_from_sample_profile(
    client: OrgClient, profile: dict[str, Any], number: str
) -> tuple[dict[str, Any], str]:
    """A registration of the customer a details sample describes: its profile's identifiers
    and channels with fresh values, in WECHAT/WECHAT-CM (where the sample request looks),
    plus the org's primary identifier (mobile) when the profile lacks one. Returns the body
    and the card number it issues."""
    card_number = token("TTM")
    fresh = {
        "line": token("line"),
        "email": email(),
        "externalId": token("EXT"),
        "mobile": number,
        "cardNumber": card_number,
        "wechat": token("wx"),
    }
    identifiers = []
    for item in profile["identifiers"]:
        ident = {**item, "value": fresh[item["type"]]}
        if item["type"] == "cardNumber":
            # Sent as the response spells the type (accepted as an alias); a card external
            # id so that cardDetails[].cardExternalId is a string, as at L2455.
            ident["cardExternalId"] = token("orea")
        identifiers.append(ident)
    if not any(i["type"] == "mobile" for i in identifiers):
        identifiers.insert(0, {"type": "mobile", "value": number})
    channels = [{**ch, "value": fresh.get(ch["type"], token("ch"))} for ch in profile["commChannels"]]
    body = {
        # The #9 sample says non_loyalty while holding a card (I-27); cards need loyalty (1013).
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [
            {
                "firstName": profile["firstName"] or "Tom",
                "lastName": profile["lastName"] or "Sawyer",
                "identifiers": identifiers,
                "commChannels": channels,
                "source": "WECHAT",
                "accountId": ACCOUNT,
                "fields": UPDATE_FIELDS,
            }
        ],
        "extendedFields": {"city": "Bangalore", "gender": "Male"},
        "loyaltyProgramEnrollments": copy.deepcopy(register_sample(client)["loyaltyProgramEnrollments"]),
    }
    return body, card_number


def card_identifier(response: dict[str, Any], number: str) -> dict[str, Any]:
    return next(i for i in response["profiles"][0]["identifiers"] if i["value"] == number)


async def test_fetch_details_by_user_id_sample(client: OrgClient) -> None:
    seed = sample(2337, 2494)
    body, card = customer_from_sample_profile(client, seed["profiles"][0], mobile())
    cid = await register(client, body)
    path, params = sample_url(2331)
    assert (path, params) == ("/v2/customers/17742", {"source": "WECHAT", "accountId": "22232"})
    r = await client.get(f"/v2/customers/{cid}", params=with_account(params))
    assert r.status_code == 200, r.text
    got = r.json()
    assert_shape(got, seed)
    assert isinstance(got["loyaltyInfo"]["lifetimePurchases"], int | float)  # decision; L2437
    # The card identifier: the sample's keys, and type "cardnumber" (decision; L2369 "cardNumber").
    seed_card = next(i for i in seed["profiles"][0]["identifiers"] if i["type"] == "cardNumber")
    ours = card_identifier(got, card)
    assert shape(ours, seed_card) == []
    assert ours["type"] == "cardnumber"
    assert (ours["seriesId"], ours["statusLabel"]) == (19, "ACTIVE")
    # Without embed none of the embed blocks appear (EMB-3).
    assert not {"pointsSummary", "subscriptionInfo", "loyaltyProgramDetails", "promotionalPoints"} & set(got)


async def test_fetch_details_embed_samples(client: OrgClient) -> None:
    seed = sample(2337, 2494)
    body, _ = customer_from_sample_profile(client, seed["profiles"][0], mobile())
    cid = await register(client, body)
    params = with_account(sample_url(2331)[1])
    # embed=mlp (003:L2570-2611): one entry per enrolled program.
    r = await client.get(f"/v2/customers/{cid}", params={**params, "embed": "mlp"})
    assert r.status_code == 200, r.text
    mlp = sample(2574, 2609, MLP_FIXES)
    assert_shape({"loyaltyProgramDetails": r.json()["loyaltyProgramDetails"]}, mlp)
    assert [p["programId"] for p in r.json()["loyaltyProgramDetails"]] == [1016]
    # embed=subscriptions (L2518-2567): a new customer's defaults, every channel and priority
    # of the sample (replayed item for item in tests/engagement/test_subscriptions.py).
    r = await client.get(f"/v2/customers/{cid}", params={**params, "embed": "subscriptions"})
    assert r.status_code == 200, r.text
    items = r.json()["subscriptionInfo"]["subscriptions"]
    assert {(i["channel"], i["priority"], i["type"]) for i in items} == {
        (c, p, "OPTIN") for c in ("EMAIL", "SMS", "ANDROID", "IOS") for p in ("TRANS", "BULK")
    }


# --- Issue Card to an Existing Customer (003:L4335-4365) --------------------------------------


async def test_issue_card_sample(client: OrgClient) -> None:
    cid = await register(client, register_body())
    path, params = sample_url(4342)
    assert (path, params) == ("/v2/customers/161670039/changeIdentifier", {"source": "INSTORE"})
    body = sample(4348, 4356)
    number = token("GOLD")
    body["add"][0]["value"] = number
    # The sample names no series (the seed expects the card pre-created with /v2/card, D-9).
    # This org has two series, so the replay names one with the seriesId query parameter
    # the seed lists for this endpoint (003:L554).
    r = await client.post(
        f"/v2/customers/{cid}/changeIdentifier", params={**params, "seriesId": "19"}, json=body
    )
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(4362, 4365))
    assert r.json() == {"createdId": cid, "warnings": []}
    [card] = (await details(client, cid, source="INSTORE"))["cardDetails"]
    assert (card["cardNumber"], card["statusInfo"]["label"], card["statusInfo"]["isActive"]) == (
        number,
        "ACTIVE",
        True,
    )


# --- Update Customer Details (using identifier) (003:L4678-4760) ------------------------------


async def test_update_customer_by_identifier_sample(client: OrgClient) -> None:
    number, mail, wechat = mobile(), email(), token("wc_")
    cid = await register(
        client,
        register_body(number, extra=[{"type": "email", "value": mail}, {"type": "wechat", "value": wechat}]),
    )
    path, params = sample_url(4684)
    assert params == {"source": "INSTORE", "identifierName": "mobile", "identifierValue": "919999000001"}
    body = sample(4690, 4749)
    profile = body["profiles"][0]
    held = {"email": mail, "wechat": wechat}
    for item in (*profile["identifiers"], *profile["commChannels"]):
        item["value"] = held[item["type"]]
    profile["fields"] = UPDATE_FIELDS  # sample: gender/city, not custom fields here
    assert (profile["source"], profile["accountId"]) == ("WECHAT", "WeChat1234")
    profile["accountId"] = ACCOUNT
    r = await client.put(path, params={**params, "identifierValue": number}, json=body)
    assert r.status_code == 200, r.text
    assert_shape(r.json(), sample(4756, 4760))
    assert r.json()["createdId"] == cid
    # The sample addresses INSTORE in the URL but names WECHAT in the body; a profile's
    # source cannot change (003:L385), so the body's source is ignored with 91006 where the
    # sample shows no warning.
    assert codes(r.json(), "warnings") == [91006]
    got = await details(client, cid, source="INSTORE")
    assert got["profiles"][0]["fields"] == UPDATE_FIELDS and got["extendedFields"]["gender"] == "Male"


# --- Update customer status (003:L4821-4847) --------------------------------------------------


@pytest.mark.parametrize("label", ["Active", "Inactive"])
async def test_update_status_sample(client: OrgClient, label: str) -> None:
    number = mobile()
    await register(client, register_body(number))
    path, params = sample_url(4828)
    body = sample(4834, 4838)
    assert body["label"] == "Active"  # a new customer's label already; Inactive changes it
    r = await client.put(path, params={**params, "identifierValue": number}, json={**body, "label": label})
    assert r.status_code == 200, r.text
    seed = sample(4844, 4847)
    assert_shape(r.json(), seed)
    assert r.json() == seed  # {"warnings": [], "error": []}: "error" singular as the seed (I-37)


# --- Fetch Customer Details (by Identifier) (003:L5001-5345) ----------------------------------


async def test_fetch_details_by_identifier_sample(client: OrgClient) -> None:
    seed = sample(5016, 5345)
    number = mobile()
    body, card = customer_from_sample_profile(client, seed["profiles"][0], number)
    assert seed["associatedWith"] == "sit.admin"
    body["associatedWith"] = till_code(client)
    cid = await register(client, body)
    path, params = sample_url(5009)
    assert params == {
        "source": "WECHAT",
        "accountId": "22232",
        "identifierName": "mobile",
        "identifierValue": "919999000001",
        "embed": "mlp",
    }
    r = await client.get(path, params={**with_account(params), "identifierValue": number})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["id"] == cid
    assert_shape(got, seed)
    assert got["associatedWith"] == till_code(client) and got["fraudDetails"]["status"] == "NOT_FRAUD"
    seed_card = next(i for i in seed["profiles"][0]["identifiers"] if i["type"] == "cardNumber")
    ours = card_identifier(got, card)
    assert shape(ours, seed_card) == [] and ours["type"] == "cardnumber"  # decision; L5053
    # The seed's cardDetails is empty (L5339-5341); ours lists the card, in #9's item shape.
    assert_shape(got["cardDetails"], sample(2337, 2494)["cardDetails"])
