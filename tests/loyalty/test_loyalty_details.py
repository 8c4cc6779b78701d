"""Fetch Customer Loyalty Details (GET /v2/customers/{id}/loyaltyDetails) and Get Customer
Loyalty Details (GET /v2/customers/lookup/loyaltyDetails) on both engines: the seed samples'
keys (003:L2742-2789, L4900-4971), the figures the summary holds after purchases, returns and
redemptions, the tiers of the program configuration, partner links, the programId filter,
and the errors.

Replays change only what a fresh org requires: fresh identifier values and ids; the seed's
programs (622, 1414, 1679, 1680) are this org's 1016 and 2020 (tests/loyalty/support.py).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from patron.api.v2 import schemas
from tests.api.seedtext import SEED_003, assert_shape, seed_line, shape
from tests.conftest import Harness, make_org
from tests.loyalty.partner_support import EXTERNAL, SUPPLEMENTARY, far_date, link
from tests.loyalty.reads_support import entry, lookup_details, loyalty_details, sample, statements
from tests.loyalty.support import LOYALTY, loyalty_org, new_member, purchase
from tests.support import codes, mobile, register_body, token

FETCH_SAMPLE = (2742, 2789)  # Fetch Customer Loyalty Details response
GET_SAMPLE = (4900, 4971)  # Get Customer Loyalty Details response
# Keys of ours the samples do not show: the membership's own expiry date (SUPPLEMENTARY
# memberships expire; 002's partner events carry it).
EXTRA_PARTNER_KEYS = {"partnerMembershipExpiryDate"}
# A tier that never lapses (Silver: no validityDays) has no expiry date: null where the
# samples show far-future dates such as 2121-02-18 (decision).
NEVER_LAPSES = {"$.data[0].slabExpiryDate: null where the sample has string": "tier without validity"}


def sample_url(line: int) -> tuple[str, dict[str, str]]:
    parts = urlsplit(seed_line(SEED_003, line).strip())
    return parts.path, dict(parse_qsl(parts.query))


async def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def redeem(client: Any, customer_id: int, points: int, **extra: Any) -> None:
    await ok(
        await client.post(
            "/v2/points/redeem", json={"customer": {"id": customer_id}, "points": points, **extra}
        )
    )


async def give_back(client: Any, customer_id: int, bill: str, amount: float) -> None:
    body = {"type": "RETURN", "billNumber": bill, "billAmount": amount, "customer": {"id": customer_id}}
    await ok(await client.post("/v2/transactions", json=body))


# --- the seed samples ---------------------------------------------------------------------


async def test_fetch_loyalty_details_sample(harness: Harness) -> None:
    path, params = sample_url(2736)
    assert (path, params) == ("/v2/customers/29372667/loyaltyDetails", {})
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 9500, "S-1"))  # 950 + 100 registration: Gold, a dated tier
    await redeem(client, cid, 40)
    tier_expiry = far_date().isoformat()
    await ok(
        await link(
            client,
            cid,
            EXTERNAL,
            membershipNumber="916215776456",
            partnerTierNumber=1,
            partnerTierExpiryDate=tier_expiry,
        )
    )
    await ok(await link(client, cid, SUPPLEMENTARY, membershipNumber="916215776456"))
    body = await ok(await client.get(path.replace("29372667", str(cid))))
    seed = sample(*FETCH_SAMPLE)
    assert_shape(body, seed)
    [ours] = body["data"]
    [theirs] = seed["data"]
    assert set(ours) == set(theirs)
    tiered, plain = ours["linkedPartnerPrograms"]
    assert set(tiered) == set(theirs["linkedPartnerPrograms"][0]) | EXTRA_PARTNER_KEYS
    assert set(plain) == set(theirs["linkedPartnerPrograms"][1]) | EXTRA_PARTNER_KEYS
    assert (body["warnings"], body["errors"]) == ([], [])
    schemas.LoyaltyDetails.model_validate(body)  # the OpenAPI answer model declares every key
    assert ours["loyaltyId"] == cid and ours["programId"] == 1016
    assert tiered == {
        "partnerProgramId": EXTERNAL,
        "partnerProgramName": "Airline",
        "partnerProgramDescription": "Airline",
        "partnerTierNumber": 1,
        "partnerTierName": "Blue",
        "partnerTierExpiryDate": f"{tier_expiry}T23:59:59+00:00",
        "partnerMembershipId": "916215776456",
        "partnerMembershipExpiryDate": None,
        "partnerProgramType": "EXTERNAL",
        "tierBased": True,
    }
    assert plain["partnerProgramType"] == "SUPPLEMENTARY" and plain["tierBased"] is False
    assert not {"partnerTierNumber", "partnerTierName", "partnerTierExpiryDate"} & set(plain)  # LOY-2


async def test_get_loyalty_details_sample(harness: Harness) -> None:
    path, params = sample_url(4894)
    assert params == {
        "source": "INSTORE",
        "identifierName": "externalId",
        "identifierValue": "888555888555898855",
    }
    client = await loyalty_org(harness)
    external = token("EXT")
    cid, _ = await new_member(client)
    r = await client.post(
        f"/v2/customers/{cid}/changeIdentifier",
        params={"source": "INSTORE"},
        json={"add": [{"type": "externalId", "value": external}]},
    )
    await ok(r)
    await ok(await purchase(client, cid, 24000, "S-2", programId=2020))
    assert path == "/v2/customers/lookup/loyaltyDetails"
    body = await ok(await client.get(path, params={**params, "identifierValue": external}))
    seed = sample(*GET_SAMPLE)
    assert_shape(body, seed, known=NEVER_LAPSES)
    assert entry(body, 1016)["slabExpiryDate"] is None
    for ours in body["data"]:
        assert set(ours) == set(seed["data"][0])
        assert ours["loyaltyId"] == cid
    # Both programs, in program order: the default one and the one the purchase was in.
    assert [e["programId"] for e in body["data"]] == [1016, 2020]
    second = entry(body, 2020)
    # 2020 has one tier: the customer is at the top (003:L4911-4914, EMB-6).
    assert (
        second["currentSlab"],
        second["nextSlab"],
        second["nextSlabSerialNumber"],
        second["nextSlabDescription"],
    ) == (
        "Basic",
        "",
        -1,
        "",
    )
    assert (second["loyaltyPoints"], second["cumulativePurchases"]) == (24000, 24000.0)
    # The two routes answer the same.
    assert (await ok(await loyalty_details(client, cid))) == body


# --- figures --------------------------------------------------------------------------------


async def test_figures_follow_purchases_returns_and_redemptions(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)  # 100 registration points
    await ok(await purchase(client, cid, 2000, "F-1"))  # +200
    await redeem(client, cid, 50)
    await give_back(client, cid, "F-1", 500)  # -50
    got = entry(await ok(await loyalty_details(client, cid)), 1016)
    assert got == {
        "redeemed": 50,
        "expired": 0,
        "returned": 50,
        "adjusted": 0,
        "lifetimePoints": 250,
        "loyaltyPoints": 200,
        "cumulativePurchases": 1500.0,
        "loyaltyId": cid,
        "currentSlab": "Silver",
        "nextSlab": "Gold",
        "nextSlabSerialNumber": 2,
        "nextSlabDescription": "Gold",
        "slabSNo": 1,
        "slabExpiryDate": None,
        "programId": 1016,
        "delayedPoints": 0,
        "delayedReturnedPoints": 0,
        "totalAvailablePoints": 200,
        "totalReturnedPoints": 50,
        "linkedPartnerPrograms": [],
    }
    # Goodwill points are adjusted (the goodwill slice credits them).
    r = await client.post(
        f"/v2/customers/{cid}/goodwillRequest",
        json={"goodwillType": "POINTS", "points": 30, "reason": "late", "autoApprove": True},
    )
    await ok(r)
    got = entry(await ok(await loyalty_details(client, cid)), 1016)
    assert (got["adjusted"], got["loyaltyPoints"], got["totalAvailablePoints"]) == (30, 230, 230)


async def test_the_top_tier_has_no_next_slab_and_a_dated_tier_shows_its_expiry(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 8999, "T-1"))  # 899 + 100 = 999: still Silver
    below = entry(await ok(await loyalty_details(client, cid)), 1016)
    assert (below["currentSlab"], below["slabSNo"], below["nextSlab"], below["nextSlabSerialNumber"]) == (
        "Silver",
        1,
        "Gold",
        2,
    )
    before = datetime.now(UTC)
    await ok(await purchase(client, cid, 10, "T-2"))  # 1000: Gold, valid 365 days
    top = entry(await ok(await loyalty_details(client, cid)), 1016)
    assert (top["currentSlab"], top["slabSNo"]) == ("Gold", 2)
    assert (top["nextSlab"], top["nextSlabSerialNumber"], top["nextSlabDescription"]) == ("", -1, "")
    expires = datetime.fromisoformat(top["slabExpiryDate"])
    assert (
        before + timedelta(days=365) - timedelta(seconds=5)
        <= expires
        <= datetime.now(UTC) + timedelta(days=365)
    )


async def test_a_tier_description_is_the_next_slab_description(harness: Harness) -> None:
    programs = copy.deepcopy(LOYALTY["loyaltyPrograms"])
    programs[0] = {
        **programs[0],
        "tiers": [
            {"number": 1, "name": "Silver", "threshold": 0},
            {"number": 2, "name": "Gold", "threshold": 1000, "description": "Gold tier"},
        ],
    }
    client = await loyalty_org(harness, loyaltyPrograms=programs)
    cid, _ = await new_member(client)
    got = entry(await ok(await loyalty_details(client, cid)), 1016)
    assert (got["nextSlab"], got["nextSlabDescription"]) == ("Gold", "Gold tier")  # 003:L2585-2587


async def test_a_loyalty_customer_is_in_the_default_program_before_any_points(harness: Harness) -> None:
    programs = copy.deepcopy(LOYALTY["loyaltyPrograms"])
    programs[0]["registrationPoints"] = 0
    client = await loyalty_org(harness, loyaltyPrograms=programs)
    cid, _ = await new_member(client)
    body = await ok(await loyalty_details(client, cid))
    [only] = body["data"]
    assert (
        only["programId"],
        only["loyaltyPoints"],
        only["lifetimePoints"],
        only["currentSlab"],
        only["slabSNo"],
    ) == (
        1016,
        0,
        0,
        "Silver",
        1,
    )
    # A non-loyalty customer holds no program.
    r = await client.post("/v2/customers", json=register_body(loyalty="non_loyalty"))
    assert (await ok(await loyalty_details(client, (await ok(r))["createdId"])))["data"] == []


async def test_partner_links_show_beside_their_program_and_follow_changes(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 10, "P-1", programId=2020))
    expiry = far_date().isoformat()
    await ok(await link(client, cid, SUPPLEMENTARY, membershipNumber="DRV-1", membershipExpiryDate=expiry))
    body = await ok(await loyalty_details(client, cid))
    [item] = entry(body, 1016)["linkedPartnerPrograms"]
    assert item == {
        "partnerProgramId": SUPPLEMENTARY,
        "partnerProgramName": "Drivers",
        "partnerProgramDescription": "Drivers",
        "partnerMembershipId": "DRV-1",
        "partnerMembershipExpiryDate": f"{expiry}T23:59:59+00:00",
        "partnerProgramType": "SUPPLEMENTARY",
        "tierBased": False,
    }
    assert entry(body, 2020)["linkedPartnerPrograms"] == []  # the partner program belongs to 1016
    await ok(await link(client, cid, EXTERNAL))  # tier-based, no tier named: the lowest
    tiered = entry(await ok(await loyalty_details(client, cid)), 1016)["linkedPartnerPrograms"][0]
    assert (tiered["partnerProgramId"], tiered["partnerTierNumber"], tiered["partnerTierName"]) == (
        EXTERNAL,
        1,
        "Blue",
    )
    assert tiered["partnerMembershipId"] is None and tiered["partnerTierExpiryDate"] is None
    r = await client.request("DELETE", f"/v2/customers/{cid}/partnerPrograms/{EXTERNAL}")
    await ok(r)
    links = entry(await ok(await loyalty_details(client, cid)), 1016)["linkedPartnerPrograms"]
    assert [p["partnerProgramId"] for p in links] == [SUPPLEMENTARY]


async def test_a_partner_link_puts_the_customer_in_its_program(harness: Harness) -> None:
    partners = copy.deepcopy(LOYALTY["partnerPrograms"])
    partners[0]["loyaltyProgramId"] = 2020  # Drivers belongs to the second program here
    client = await loyalty_org(harness, partnerPrograms=partners)
    cid, _ = await new_member(client)
    assert [e["programId"] for e in (await ok(await loyalty_details(client, cid)))["data"]] == [1016]
    await ok(await link(client, cid, SUPPLEMENTARY, membershipNumber="D-9"))
    body = await ok(await loyalty_details(client, cid))
    second = entry(body, 2020)
    assert (second["loyaltyPoints"], second["lifetimePoints"], second["currentSlab"], second["slabSNo"]) == (
        0,
        0,
        "Basic",
        1,
    )
    assert [p["partnerMembershipId"] for p in second["linkedPartnerPrograms"]] == ["D-9"]
    assert entry(body, 1016)["linkedPartnerPrograms"] == []
    # Every embed listing programs lists it too.
    r = await client.get(
        f"/v2/customers/{cid}", params={"source": "ALL", "embed": "mlp,expirySchedules,expiredPoints"}
    )
    got = await ok(r)
    for block in ("loyaltyProgramDetails", "expirySchedules", "expiredPoints"):
        assert [e["programId"] for e in got[block]] == [1016, 2020], block


# --- programId, lookups, errors ------------------------------------------------------------


async def test_program_id_keeps_one_program(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    await ok(await purchase(client, cid, 300, "G-1", programId=2020))
    only = await ok(await loyalty_details(client, cid, programId="2020"))
    assert [e["programId"] for e in only["data"]] == [2020]
    by_identifier = await ok(
        await lookup_details(
            client, source="ALL", identifierName="mobile", identifierValue=number, programId="1016"
        )
    )
    assert [e["programId"] for e in by_identifier["data"]] == [1016]
    # A configured program the customer is not in: no entry.
    other, _ = await new_member(client)
    assert (await ok(await loyalty_details(client, other, programId="2020")))["data"] == []


@pytest.mark.parametrize(
    ("raw", "code"), [("999", 2002), ("abc", 400), ("0", 400), ("-1", 400), ("1" * 20, 400)]
)
async def test_a_bad_program_id_is_400(harness: Harness, raw: str, code: int) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    r = await loyalty_details(client, cid, programId=raw)
    assert r.status_code == 400 and codes(r.json()) == [code], r.text


async def test_lookup_by_each_kind_of_identifier(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    for params in (
        {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number},
        {"source": "ALL", "identifierName": "mobile", "identifierValue": number},
        {"source": "INSTORE", "identifierName": "id", "identifierValue": str(cid)},  # 003:L4996
        {"source": "ALL", "identifierName": "id", "identifierValue": str(cid)},
    ):
        body = await ok(await lookup_details(client, **params))
        assert [e["loyaltyId"] for e in body["data"]] == [cid], params


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"source": "INSTORE", "identifierName": "mobile", "identifierValue": "919800000000"}, 404, 8015),
        (
            {
                "source": "WECHAT",
                "accountId": "WECHAT-CM",
                "identifierName": "mobile",
                "identifierValue": "{number}",
            },
            404,
            8065,
        ),
        (
            {
                "source": "WECHAT",
                "accountId": "WECHAT-CM",
                "identifierName": "id",
                "identifierValue": "{cid}",
            },
            404,
            8065,
        ),
        ({"source": "INSTORE", "identifierName": "id", "identifierValue": "99999999999"}, 404, 8015),
        ({"source": "INSTORE", "identifierName": "id", "identifierValue": "x1"}, 404, 8015),
        ({"source": "INSTORE", "identifierName": "id", "identifierValue": ""}, 400, 8013),
        ({"source": "INSTORE", "identifierName": "nickname", "identifierValue": "x"}, 400, 8013),
        ({"source": "INSTORE", "identifierValue": "x"}, 400, 8013),
        ({"source": "INSTORE", "identifierName": "mobile"}, 400, 8013),
        ({"source": "NOWHERE", "identifierName": "mobile", "identifierValue": "{number}"}, 400, 8012),
        ({"source": "WECHAT", "identifierName": "mobile", "identifierValue": "{number}"}, 400, 8045),
        ({"identifierName": "mobile", "identifierValue": "{number}"}, 400, 400),
    ],
)
async def test_lookup_errors(harness: Harness, params: dict[str, str], status: int, code: int) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    filled = {k: v.format(number=number, cid=cid) for k, v in params.items()}
    r = await lookup_details(client, **filled)
    assert r.status_code == status and codes(r.json()) == [code], r.text
    assert r.json()["warnings"] == []


async def test_unknown_and_merged_customers(harness: Harness) -> None:
    client = await loyalty_org(harness)
    for raw in ("99999999999", "abc", "1" * 30):
        r = await loyalty_details(client, raw)
        assert r.status_code == 404 and codes(r.json()) == [8015], raw
    number = mobile()
    survivor = (await ok(await client.post("/v2/customers", json=register_body(number))))["createdId"]
    body = register_body(
        source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
    )
    victim = (await ok(await client.post("/v2/customers", json=body)))["createdId"]
    await ok(await purchase(client, victim, 500, "M-1"))
    r = await client.post(
        f"/v2/customers/{victim}/changeIdentifier",
        params={"source": "WECHAT", "accountId": "WECHAT-CM"},
        json={"add": [{"type": "mobile", "value": number}]},
    )
    assert (await ok(r))["createdId"] == survivor
    gone = await loyalty_details(client, victim)
    assert gone.status_code == 404 and codes(gone.json()) == [8069]
    assert str(survivor) in gone.json()["errors"][0]["message"]
    by_id = await lookup_details(client, source="ALL", identifierName="id", identifierValue=str(victim))
    assert by_id.status_code == 404 and codes(by_id.json()) == [8069]


async def test_another_orgs_customer_is_not_found(harness: Harness) -> None:
    mine = await loyalty_org(harness)
    theirs = await loyalty_org(harness)
    cid, number = await new_member(theirs)
    await ok(await purchase(theirs, cid, 100, "O-1"))
    r = await loyalty_details(mine, cid)
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await lookup_details(mine, source="ALL", identifierName="mobile", identifierValue=number)
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await lookup_details(mine, source="ALL", identifierName="id", identifierValue=str(cid))
    assert r.status_code == 404 and codes(r.json()) == [8015]


async def test_an_org_without_loyalty_programs_shows_stated_enrollments(harness: Harness) -> None:
    client = await make_org(harness)
    body = register_body(loyaltyProgramEnrollments=[{"programId": 77, "tierNumber": 2, "loyaltyPoints": 40}])
    cid = (await ok(await client.post("/v2/customers", json=body)))["createdId"]
    [only] = (await ok(await loyalty_details(client, cid)))["data"]
    # No configuration names program 77: figures, but no tier names.
    assert (only["programId"], only["loyaltyPoints"], only["lifetimePoints"], only["slabSNo"]) == (
        77,
        40,
        40,
        2,
    )
    assert (only["currentSlab"], only["nextSlab"], only["nextSlabSerialNumber"]) == ("", "", -1)


# --- lean -----------------------------------------------------------------------------------


async def test_the_read_issues_one_statement_on_postgresql_and_two_on_sqlite(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    await ok(await link(client, cid, SUPPLEMENTARY, membershipNumber="L-1"))
    async with statements(client) as seen:
        body = await ok(await loyalty_details(client, cid))
    assert entry(body, 1016)["linkedPartnerPrograms"]
    assert len(seen) == (1 if harness.engine == "postgresql" else 2), seen
    async with statements(client) as seen:
        await ok(
            await lookup_details(client, source="INSTORE", identifierName="mobile", identifierValue=number)
        )
    assert len(seen) == (2 if harness.engine == "postgresql" else 3), seen
    # The summary row, never the ledger.
    assert not any("points_ledger" in s for s in seen)


def test_shape_helper_sees_a_missing_key() -> None:
    # The shape checks above can fail: a sample key we lacked would be named.
    theirs = sample(*FETCH_SAMPLE)["data"][0]
    ours = {k: v for k, v in theirs.items() if k != "nextSlab"}
    assert shape(ours, theirs) == ["$.nextSlab: missing"]
