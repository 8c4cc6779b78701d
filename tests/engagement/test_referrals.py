"""Referrals on both engines: referral campaigns in the org configuration, Add Customer
Referrals, Get Customer Referrals, and registration with a referral code or as an invitee
(engagement/referrals.py, docs/engagement.md "Referrals")."""

from __future__ import annotations

import copy
from typing import Any

from tests.api.seedtext import SEED_003, assert_shape, seed_json
from tests.conftest import Harness, OrgClient, make_org
from tests.loyalty.support import loyalty_config
from tests.support import codes, email, mobile, register_body, rows

COUPON_SERIES = [
    {
        "seriesId": 11,
        "description": "Welcome 10%",
        "discountType": "PERC",
        "discountValue": 10,
        "discountUpto": 500,
        "validityDays": 30,
    }
]
CAMPAIGNS = [
    {
        "campaignToken": "CWRME",
        "name": "Bring a friend",
        "refereePoints": 50,
        "referrerPoints": 200,
        "couponSeriesId": 11,
        "default": True,
    },
    {"campaignToken": "SECOND", "name": "Second wave", "referrerPoints": 10, "programId": 2020},
    {"campaignToken": "PAUSED", "name": "Paused", "referrerPoints": 999, "active": False},
]
REGISTRATION_POINTS = 100  # program 1016's, tests/loyalty/support.py


def referral_config(**overrides: Any) -> dict[str, Any]:
    base = {"couponSeries": copy.deepcopy(COUPON_SERIES), "referralCampaigns": copy.deepcopy(CAMPAIGNS)}
    return loyalty_config(**{**base, **overrides})


async def referral_org(harness: Harness, **overrides: Any) -> OrgClient:
    return await make_org(harness, referral_config(**overrides))


async def member(client: OrgClient, number: str | None = None, **top: Any) -> tuple[int, dict[str, Any]]:
    """Register a loyalty customer; (id, the registration's answer)."""
    r = await client.post("/v2/customers", json=register_body(number or mobile(), **top))
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"]), r.json()


def invite_body(
    referrer: dict[str, Any], *people: tuple[str, str], token: str = "CWRME", on: str = "2021-12-16 13:15:45"
) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for kind, value in people:
        groups.setdefault(kind, []).append({"name": "A friend", "identifier": value, "invitedOn": on})
    return {
        "customerReferrals": [
            {
                "customer": referrer,
                "campaignToken": token,
                "referrals": [{"type": k, "referral": v} for k, v in groups.items()],
            }
        ]
    }


async def invite(client: OrgClient, referrer: dict[str, Any], *people: tuple[str, str], **kw: Any) -> Any:
    return await client.post("/v2/customers/referrals", json=invite_body(referrer, *people, **kw))


async def listing(client: OrgClient, cid: int, **params: Any) -> dict[str, Any]:
    r = await client.get(f"/v2/customers/{cid}/referrals", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def code_of(client: OrgClient, cid: int) -> str:
    return str((await listing(client, cid))["data"][0]["referralCode"])


async def points(client: OrgClient, cid: int, program_id: int = 1016) -> int:
    r = await client.get(f"/v2/customers/{cid}/loyaltyDetails")
    assert r.status_code == 200, r.text
    entry = next((p for p in r.json()["data"] if p["programId"] == program_id), None)
    return 0 if entry is None else int(entry["loyaltyPoints"])


def points_effects(answer: dict[str, Any]) -> list[int]:
    return [e["awardedPoints"] for e in answer.get("sideEffects", []) if e.get("type") == "points"]


def coupon_effects(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in answer.get("sideEffects", []) if e.get("type") == "coupon"]


def warning_codes(answer: dict[str, Any]) -> list[int]:
    return [w["code"] for w in answer.get("warnings", [])]


# Configuration ------------------------------------------------------------------------------


async def test_campaigns_are_validated_and_each_problem_names_its_place(client: OrgClient) -> None:
    before = (await client.get("/v2/org/config")).json()
    bad = [
        {"campaignToken": "A", "name": "One", "couponSeriesId": 99},
        {"campaignToken": "A", "name": "Two", "refereePoints": 5},
        {"campaignToken": "B", "name": "Three", "programId": 7},
    ]
    r = await client.put("/v2/org/config", json={**before, "referralCampaigns": bad})
    assert r.status_code == 400, r.text
    message = r.json()["errors"][0]["message"]
    assert "referralCampaigns: a campaignToken is declared twice" in message
    assert "referralCampaigns[A].couponSeriesId: no coupon series 99" in message
    assert "referralCampaigns[A]: points need a loyalty program" in message
    assert "referralCampaigns[B].programId: no loyalty program 7" in message
    negative = [{"campaignToken": "N", "name": "Neg", "referrerPoints": -1}]
    r = await client.put("/v2/org/config", json={**before, "referralCampaigns": negative})
    assert r.status_code == 400, r.text
    assert (await client.get("/v2/org/config")).json() == before
    good = {**referral_config(), "referralCampaigns": CAMPAIGNS}
    r = await client.put("/v2/org/config", json=good)
    assert r.status_code == 200, r.text
    stored = (await client.get("/v2/org/config")).json()["referralCampaigns"]
    assert [c["campaignToken"] for c in stored] == ["CWRME", "SECOND", "PAUSED"]


# Add Customer Referrals ---------------------------------------------------------------------


async def test_add_referrals_replays_the_seed_sample_and_echoes_it_key_for_key(harness: Harness) -> None:
    client = await referral_org(harness)
    number, mail = mobile(), email()
    cid, _ = await member(client, number, extra=[{"type": "email", "value": mail}])
    request = seed_json(SEED_003, 4417, 4441)
    sample = seed_json(SEED_003, 4448, 4472)
    assert request == sample  # the seed's answer is its request
    referrer = request["customerReferrals"][0]["customer"]
    referrer.update(id=cid, mobile=number, email=mail)
    invited = mobile()
    request["customerReferrals"][0]["referrals"][0]["referral"][0]["identifier"] = invited
    r = await client.post("/v2/customers/referrals", json=request)
    assert r.status_code == 200, r.text
    assert r.json() == request
    assert_shape(r.json(), sample)
    found = await listing(client, cid)
    (invitee,) = found["data"][0]["invitees"]
    assert {k: v for k, v in invitee.items() if k != "till"} == {
        "type": "MOBILE",
        "identifier": invited,
        "invitedOn": "2021-12-16 13:15:45.0",
    }
    assert set(invitee["till"]) == {"code", "name"} and invitee["till"]["code"]


async def test_invitations_are_normalised_stored_once_and_listed(harness: Harness) -> None:
    client = await referral_org(harness)
    cid, _ = await member(client)
    friend = mobile()
    mail = email()
    r = await invite(client, {"id": cid}, ("MOBILE", "+" + friend), ("EMAIL", mail.upper()))
    assert r.status_code == 200, r.text
    # Again, and with the same person twice: accepted, nothing new stored.
    r = await invite(client, {"id": cid}, ("MOBILE", friend), ("MOBILE", friend))
    assert r.status_code == 200, r.text
    stored = await rows(
        client.harness.app.state.db,
        "SELECT id_type, identifier, campaign_token FROM referral_invitation"
        " WHERE org_id = :o AND referrer_id = :c ORDER BY id_type",
        o=client.org_id,
        c=cid,
    )
    assert [(s.id_type, s.identifier, s.campaign_token) for s in stored] == [
        ("EMAIL", mail.lower(), "CWRME"),
        ("MOBILE", friend, "CWRME"),
    ]


async def test_the_referrer_is_found_by_mobile_email_or_external_id(harness: Harness) -> None:
    client = await referral_org(harness)
    number, mail = mobile(), email()
    cid, _ = await member(client, number, extra=[{"type": "email", "value": mail}])
    for ref in ({"mobile": number}, {"email": mail}, {"id": cid, "mobile": number, "externalId": ""}):
        r = await invite(client, ref, ("MOBILE", mobile()))
        assert r.status_code == 200, (ref, r.text)
    assert len((await listing(client, cid))["data"][0]["invitees"]) == 3


async def test_every_error_code_of_add_referrals(harness: Harness) -> None:
    client = await referral_org(harness)
    cid, _ = await member(client)
    other, _ = await member(client)
    non_loyalty, _ = await member(client, loyalty="non_loyalty")

    async def refused(body: dict[str, Any], status: int, code: int) -> None:
        r = await client.post("/v2/customers/referrals", json=body)
        assert (r.status_code, codes(r.json())) == (status, [code]), r.text

    friend = ("MOBILE", mobile())
    await refused(invite_body({"id": cid}, friend, token="NOPE"), 400, 1202)
    await refused(invite_body({"id": cid}, friend, token=""), 400, 1202)
    await refused(invite_body({"id": cid}, friend, token="PAUSED"), 422, 1203)
    await refused(invite_body({"id": non_loyalty}, friend), 422, 1204)
    await refused(invite_body({"id": 999_999_999_999}, friend), 404, 1205)
    await refused(invite_body({"mobile": mobile()}, friend), 404, 1205)
    # The id and the mobile name two different customers.
    r = await client.get(f"/v2/customers/{other}", params={"source": "INSTORE"})
    other_mobile = r.json()["profiles"][0]["identifiers"][0]["value"]
    await refused(invite_body({"id": cid, "mobile": other_mobile}, friend), 404, 1205)
    await refused(invite_body({"id": cid}, ("WECHAT", "abc")), 400, 1206)
    await refused(invite_body({"id": cid}, ("MOBILE", "12")), 400, 2150)
    await refused(invite_body({"id": cid}, ("EMAIL", "not-an-email")), 400, 2150)
    await refused({"customerReferrals": []}, 400, 2151)
    many = [("MOBILE", mobile()) for _ in range(101)]
    await refused(invite_body({"id": cid}, *many), 400, 2152)
    await refused(invite_body({"id": cid}, friend, on="yesterday"), 400, 2153)
    r = await client.get(f"/v2/customers/{cid}", params={"source": "INSTORE"})
    own = r.json()["profiles"][0]["identifiers"][0]["value"]
    await refused(invite_body({"id": cid}, ("MOBILE", own)), 400, 2154)
    await refused(invite_body({"externalId": ""}, friend), 400, 2155)
    await refused(invite_body({"mobile": "xx"}, friend), 400, 2155)
    # A later item's error refuses the whole request: nothing was stored.
    body = invite_body({"id": cid}, friend)
    body["customerReferrals"].append(invite_body({"id": cid}, friend, token="NOPE")["customerReferrals"][0])
    await refused(body, 400, 1202)
    assert (await listing(client, cid))["data"][0]["invitees"] == []


async def test_add_and_get_referrals_are_rate_limited(harness: Harness) -> None:
    client = await referral_org(
        harness, rateLimitsPerHour={"Add Customer Referrals": 2, "Get Customer Referrals": 1}
    )
    cid, _ = await member(client)
    for _ in range(2):
        r = await invite(client, {"id": cid}, ("MOBILE", mobile()))
        assert r.status_code == 200, r.text
    r = await invite(client, {"id": cid}, ("MOBILE", mobile()))
    assert r.status_code == 429 and codes(r.json()) == [2120], r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert (await client.get(f"/v2/customers/{cid}/referrals")).status_code == 200
    r = await client.get(f"/v2/customers/{cid}/referrals")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, r.text


# Get Customer Referrals ---------------------------------------------------------------------


async def test_the_referral_code_is_made_once_and_stable(harness: Harness) -> None:
    client = await referral_org(harness)
    cid, _ = await member(client)
    other, _ = await member(client)
    code = await code_of(client, cid)
    assert len(code) == 10 and set(code) <= set("23456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert await code_of(client, cid) == code
    await invite(client, {"id": cid}, ("MOBILE", mobile()))
    assert await code_of(client, cid) == code
    assert await code_of(client, other) != code


async def test_get_referrals_replays_the_seed_sample_key_for_key(harness: Harness) -> None:
    client = await referral_org(harness)
    cid, _ = await member(client)
    friend = mobile()
    await invite(client, {"id": cid}, ("EMAIL", email()), ("MOBILE", friend))
    await member(client, friend, extra=[{"type": "email", "value": email()}])
    sample = seed_json(
        SEED_003, 4522, 4648, fixes=(("},\n            {\n            {", "},\n            {"),)
    )
    body = await listing(client, cid)
    assert_shape(body, sample)
    data = body["data"][0]
    assert set(data) == set(sample["data"][0])
    assert set(data["referee"][0]) == {
        "eventType",
        "userId",
        "firstName",
        "lastName",
        "email",
        "mobile",
        "addedOn",
    }
    assert set(body) == set(sample) and set(body["pagination"]) == set(sample["pagination"])


async def test_get_referrals_of_an_unknown_or_other_orgs_customer_is_not_found(harness: Harness) -> None:
    client = await referral_org(harness)
    other = await referral_org(harness)
    theirs, _ = await member(other)
    for cid in (theirs, 999_999_999_999, "abc"):
        r = await client.get(f"/v2/customers/{cid}/referrals")
        assert r.status_code == 404 and codes(r.json()) == [8015], r.text
    r = await invite(client, {"id": theirs}, ("MOBILE", mobile()))
    assert r.status_code == 404 and codes(r.json()) == [1205], r.text
    mine, _ = await member(client)
    r = await client.get(f"/v2/customers/{mine}/referrals", params={"campaignToken": "NOPE"})
    assert r.status_code == 400 and codes(r.json()) == [1202], r.text


# Registration with a referral code ------------------------------------------------------------


async def test_a_registration_with_a_code_links_the_referee_and_grants_points_and_a_coupon(
    harness: Harness,
) -> None:
    client = await referral_org(harness)
    referrer, _ = await member(client)
    code = await code_of(client, referrer)
    assert await points(client, referrer) == REGISTRATION_POINTS
    friend = mobile()
    referee, answer = await member(client, friend, first="Becky", last="Thatcher", referralCode=code.lower())
    # The referee: registration points and the campaign's, and the campaign's coupon.
    assert points_effects(answer) == [REGISTRATION_POINTS, 50]
    (coupon,) = coupon_effects(answer)
    assert coupon["couponCode"] and coupon["description"] == "Welcome 10%"
    assert await points(client, referee) == REGISTRATION_POINTS + 50
    assert await points(client, referrer) == REGISTRATION_POINTS + 200
    r = await client.get("/v2/customers/coupons", params={"id": referee})
    assert r.status_code == 200, r.text
    listed = r.json()["entity"]["customers"][0]["coupons"]
    assert [c["code"] for c in listed] == [coupon["couponCode"]]
    body = await listing(client, referrer)
    (item,) = body["data"][0]["referee"]
    assert item["eventType"] == "REGISTRATION" and item["userId"] == referee
    assert (item["firstName"], item["lastName"], item["mobile"]) == ("Becky", "Thatcher", friend)
    assert "email" not in item and "externalId" not in item
    (mine,) = body["data"][0]["incentives"]
    assert mine["type"] == "POINTS" and mine["role"] == "REFERRER" and mine["points"] == 200
    assert mine["userId"] == referee and mine["campaignToken"] == "CWRME"
    theirs = (await listing(client, referee))["data"][0]["incentives"]
    assert [(i["type"], i["role"]) for i in theirs] == [("COUPON", "REFEREE"), ("POINTS", "REFEREE")]
    assert next(i for i in theirs if i["type"] == "COUPON")["couponCode"] == coupon["couponCode"]


async def test_batch_registration_with_a_code_links_the_referee(harness: Harness) -> None:
    client = await referral_org(harness)
    referrer, _ = await member(client)
    code = await code_of(client, referrer)
    item = {**register_body(mobile()), "referralCode": code}
    r = await client.post("/v2/customers/bulk", json=[item])
    assert r.status_code == 200, r.text
    entity = r.json()[0]["entity"]
    assert entity["referralCode"] == code
    referee = entity["id"]
    assert [e["userId"] for e in (await listing(client, referrer))["data"][0]["referee"]] == [referee]
    assert await points(client, referrer) == REGISTRATION_POINTS + 200


async def test_an_invited_identifier_that_registers_is_a_referee_under_its_campaign(harness: Harness) -> None:
    client = await referral_org(harness)
    referrer, _ = await member(client)
    friend = mobile()
    r = await invite(client, {"id": referrer}, ("MOBILE", friend), token="SECOND")
    assert r.status_code == 200, r.text
    referee, answer = await member(client, friend)
    assert points_effects(answer) == [REGISTRATION_POINTS]  # SECOND grants the referee nothing
    assert coupon_effects(answer) == []
    body = await listing(client, referrer)
    assert [e["userId"] for e in body["data"][0]["referee"]] == [referee]
    assert await points(client, referrer, 2020) == 10
    assert (await listing(client, referrer, campaignToken="CWRME"))["data"][0]["referee"] == []


async def test_a_code_without_invitation_uses_the_default_campaign_and_a_paused_one_grants_nothing(
    harness: Harness,
) -> None:
    paused_default = [dict(CAMPAIGNS[2], default=True), dict(CAMPAIGNS[0], default=False)]
    client = await referral_org(harness, referralCampaigns=paused_default)
    referrer, _ = await member(client)
    code = await code_of(client, referrer)
    referee, answer = await member(client, referralCode=code)
    assert points_effects(answer) == [REGISTRATION_POINTS] and coupon_effects(answer) == []
    assert await points(client, referrer) == REGISTRATION_POINTS
    (linked,) = (await listing(client, referrer))["data"][0]["referee"]
    assert linked["userId"] == referee


async def test_an_unknown_code_registers_with_a_warning_and_links_nobody(harness: Harness) -> None:
    client = await referral_org(harness)
    referrer, _ = await member(client)
    await code_of(client, referrer)
    cid, answer = await member(client, referralCode="ZZZZZZZZZZ")
    assert warning_codes(answer) == [2156]
    assert points_effects(answer) == [REGISTRATION_POINTS]
    assert (await listing(client, referrer))["data"][0]["referee"] == []
    assert cid > referrer


async def test_a_merge_into_an_existing_customer_grants_no_incentive(harness: Harness) -> None:
    client = await referral_org(harness)
    referrer, _ = await member(client)
    code = await code_of(client, referrer)
    number = mobile()
    existing, _ = await member(client, number)
    # The same mobile in another source merges into the existing customer.
    r = await client.post(
        "/v2/customers",
        json=register_body(number, source="WECHAT", account_id="WECHAT-CM", referralCode=code),
    )
    assert r.status_code == 200, r.text
    assert r.json()["createdId"] == existing
    assert set(warning_codes(r.json())) >= {8050, 2157}
    assert points_effects(r.json()) == []
    # The referrer's own code on a merge into the referrer: no self-referral either.
    r = await client.get(f"/v2/customers/{referrer}", params={"source": "INSTORE"})
    own = r.json()["profiles"][0]["identifiers"][0]["value"]
    r = await client.post(
        "/v2/customers",
        json=register_body(own, source="WECHAT", account_id="WECHAT-CM", referralCode=code),
    )
    assert r.status_code == 200 and r.json()["createdId"] == referrer, r.text
    assert await points(client, referrer) == REGISTRATION_POINTS
    assert (await listing(client, referrer))["data"][0]["referee"] == []


async def test_another_orgs_referral_code_does_not_link(harness: Harness) -> None:
    client = await referral_org(harness)
    other = await referral_org(harness)
    theirs, _ = await member(other)
    code = await code_of(other, theirs)
    _, answer = await member(client, referralCode=code)
    assert warning_codes(answer) == [2156]
    assert (await listing(other, theirs))["data"][0]["referee"] == []
    assert await points(other, theirs) == REGISTRATION_POINTS


async def test_a_non_loyalty_referee_is_linked_without_points(harness: Harness) -> None:
    client = await referral_org(harness)
    referrer, _ = await member(client)
    code = await code_of(client, referrer)
    referee, answer = await member(client, loyalty="non_loyalty", referralCode=code)
    assert 2158 in warning_codes(answer)
    assert points_effects(answer) == [] and len(coupon_effects(answer)) == 1
    assert await points(client, referrer) == REGISTRATION_POINTS + 200
    assert [e["userId"] for e in (await listing(client, referrer))["data"][0]["referee"]] == [referee]
