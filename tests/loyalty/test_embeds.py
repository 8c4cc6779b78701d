"""The loyalty embeds of Fetch Customer Details on both engines, with real figures:
`points` (pointsSummary, 003:L2500-2515), `mlp` (loyaltyProgramDetails, L2574-2609; by
identifier with the programs' titles, L5129-5265, and groupLoyaltyProgramDetails,
L5266-5338), `promotionalPoints` (the goodwill credits, L2617-2667), and `expirySchedules` and
`expiredPoints`, which have no sample (their shape: docs and the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from patron.api.v2 import schemas
from patron.loyalty.reads import Expiry, expiry_schedule
from tests.api.seedtext import assert_shape
from tests.conftest import Harness
from tests.loyalty.partner_support import EXTERNAL, link
from tests.loyalty.reads_support import (
    add_group,
    customer_details,
    entry,
    expire_points,
    loyalty_details,
    sample,
    set_expiry,
)
from tests.loyalty.support import loyalty_org, new_member, purchase
from tests.support import codes, register_body

POINTS_FIXES = (('"pointsSummary": {', '{"pointsSummary": {'), ("\n}", "\n}}"))
PROMOTIONAL_FIXES = (('"promotionalPoints": {', '{"promotionalPoints": {'), ("\n    },", "\n    }}"))
MLP_FIXES = (('"loyaltyProgramDetails": [', '{"loyaltyProgramDetails": ['), ("    ],", "    ]}"))
DETAILS_BY_IDENTIFIER = (5016, 5345)
LOYALTY_BLOCKS = {
    "pointsSummary",
    "loyaltyProgramDetails",
    "groupLoyaltyProgramDetails",
    "promotionalPoints",
    "expirySchedules",
    "expiredPoints",
}
# Silver never lapses: no expiry date, where the samples show far-future ones (decision).
NEVER_LAPSES = {"$.loyaltyProgramDetails[0].slabExpiryDate: null where the sample has string": "no validity"}
EVERY_EMBED = "points,mlp,promotionalPoints,expirySchedules,expiredPoints"


async def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def by_identifier(client: Any, number: str, embed: str) -> dict[str, Any]:
    params = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": number, "embed": embed}
    return await ok(await client.get("/v2/customers/lookup/customerDetails", params=params))


async def goodwill(client: Any, customer_id: int, points: int, **extra: Any) -> int:
    body = {"goodwillType": "POINTS", "points": points, "reason": "late delivery", **extra}
    r = await client.post(f"/v2/customers/{customer_id}/goodwillRequest", json=body)
    return int((await ok(r))["createdId"])


def near(stamp: str, moment: datetime, slack: timedelta = timedelta(seconds=30)) -> bool:
    return abs(datetime.fromisoformat(stamp) - moment) <= slack


# --- points ---------------------------------------------------------------------------------


async def test_points_summary_is_the_default_programs_summary(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 12000, "P-1"))  # 1200 + 100: Gold, the top tier
    await ok(await client.post("/v2/points/redeem", json={"customer": {"id": cid}, "points": 300}))
    await ok(await purchase(client, cid, 50, "P-2", programId=2020))  # not the default program
    got = (await customer_details(client, cid, "points"))["pointsSummary"]
    seed = sample(2500, 2515, POINTS_FIXES)
    assert_shape({"pointsSummary": got}, seed)
    assert set(got) == set(seed["pointsSummary"]) | {"programId"}
    figures = entry(await ok(await loyalty_details(client, cid)), 1016)
    assert got == {
        "adjusted": 0,
        "cumulativePurchases": 12000.0,
        "currentSlab": "Gold",
        "expired": 0,
        "lifetimePoints": 1300,
        "loyaltyId": cid,
        "loyaltyPoints": 1000,
        "nextSlab": "",
        "nextSlabDescription": "",
        "nextSlabSerialNumber": -1,  # the top tier (003:L2508-2510)
        "redeemed": 300,
        "returned": 0,
        "slabExpiryDate": figures["slabExpiryDate"],
        "slabSNo": 2,
        "programId": 1016,
    }
    assert got["slabExpiryDate"] is not None


# --- mlp ------------------------------------------------------------------------------------


async def test_mlp_shows_the_summaries_with_tiers_and_partner_links(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 3000, "M-1"))
    await ok(await purchase(client, cid, 40, "M-2", programId=2020))
    await ok(await link(client, cid, EXTERNAL, membershipNumber="AIR-1", partnerTierNumber=2))
    mlp = (await customer_details(client, cid, "mlp"))["loyaltyProgramDetails"]
    assert_shape({"loyaltyProgramDetails": mlp}, sample(2574, 2609, MLP_FIXES), known=NEVER_LAPSES)
    details = await ok(await loyalty_details(client, cid))
    # The same entries as the loyalty details, with the stated points expiry.
    assert [{k: v for k, v in e.items() if k != "pointsExpiryDate"} for e in mlp] == details["data"]
    first = mlp[0]
    assert (
        first["programId"],
        first["loyaltyPoints"],
        first["lifetimePoints"],
        first["cumulativePurchases"],
    ) == (
        1016,
        400,
        400,
        3000.0,
    )
    assert (first["currentSlab"], first["nextSlab"], first["nextSlabSerialNumber"]) == ("Silver", "Gold", 2)
    assert first["pointsExpiryDate"] is None
    [airline] = first["linkedPartnerPrograms"]
    assert (airline["partnerTierNumber"], airline["partnerTierName"]) == (2, "Gold")
    assert "programTitle" not in first  # by identifier only (003:L5153)


async def test_mlp_by_identifier_adds_titles_and_group_pools(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    child, _ = await new_member(client)
    head, _ = await new_member(client)
    await ok(await purchase(client, cid, 4200, "G-1"))
    own = await add_group(client, cid, [child], points=(420, 420, 0))
    # A group the customer is a member of, whose program follows from its hierarchy code.
    joined = await add_group(client, head, [cid], group_program_id=None, points=(50, 80, 10))
    await add_group(client, head, [cid], hierarchy_code="NO-PROGRAM", group_program_id=None)
    body = await by_identifier(client, number, "mlp")
    seed = sample(*DETAILS_BY_IDENTIFIER)
    assert_shape(body, seed, known=NEVER_LAPSES)
    programs = body["loyaltyProgramDetails"]
    assert set(programs[0]) == set(seed["loyaltyProgramDetails"][0]) | {"pointsExpiryDate"}
    assert (
        programs[0]["programTitle"],
        programs[0]["programDescription"],
        programs[0]["programPointsToCurrencyRatio"],
    ) == (
        "Club",
        "Main program",
        0.1,
    )
    groups = body["groupLoyaltyProgramDetails"]
    assert [g["groupId"] for g in groups] == sorted([own, joined])  # the unconfigured one is left out
    for g in groups:
        assert set(g) == set(seed["groupLoyaltyProgramDetails"][0]) | {"groupId"}
    mine = next(g for g in groups if g["groupId"] == own)
    assert mine == {
        "groupId": own,
        "groupProgramId": 7,
        "title": "Family pool",
        "description": "Points pooled by a family",
        "programsList": [{"id": 1016, "name": "Club", "description": "Main program"}],
        "lifetimePoints": 420,
        "loyaltyPoints": 420,
        "promisedPoints": 0,
        "pointsToCurrencyRatio": 0.1,
    }
    other = next(g for g in groups if g["groupId"] == joined)
    assert (
        other["groupProgramId"],
        other["loyaltyPoints"],
        other["lifetimePoints"],
        other["promisedPoints"],
    ) == (
        7,
        50,
        80,
        10,
    )
    # The child sees its group too; by user id there are no group details (003:L5266 is #27's).
    child_number = (await ok(await client.get(f"/v2/customers/{child}", params={"source": "INSTORE"})))[
        "profiles"
    ][0]["identifiers"][0]["value"]
    assert [
        g["groupId"] for g in (await by_identifier(client, child_number, "mlp"))["groupLoyaltyProgramDetails"]
    ] == [own]
    assert "groupLoyaltyProgramDetails" not in await customer_details(client, cid, "mlp")


async def test_group_details_are_empty_without_groups_and_scoped_to_the_org(harness: Harness) -> None:
    client = await loyalty_org(harness)
    other = await loyalty_org(harness)
    cid, number = await new_member(client)
    stranger, _ = await new_member(other)
    # Another org's group naming this customer's id (ids are unique across orgs, so only a
    # forged row could): never shown.
    await add_group(other, cid, [stranger])
    body = await by_identifier(client, number, "mlp")
    assert body["groupLoyaltyProgramDetails"] == []


# --- promotionalPoints ----------------------------------------------------------------------


async def test_promotional_points_list_the_goodwill_credits(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    first = await goodwill(client, cid, 200, autoApprove=True)
    pending = await goodwill(client, cid, 34)
    rejected = await goodwill(client, cid, 99)
    await ok(await client.put(f"/v2/customers/{cid}/goodwillRequest/{rejected}", json={"status": "REJECTED"}))
    before = datetime.now(UTC)
    await ok(
        await client.put(
            f"/v2/customers/{cid}/goodwillRequest/{pending}", json={"status": "APPROVED", "approvedValue": 32}
        )
    )
    got = (await customer_details(client, cid, "promotionalPoints"))["promotionalPoints"]
    assert_shape({"promotionalPoints": got}, sample(2617, 2667, PROMOTIONAL_FIXES))
    assert (got["transactionPromotionType"], got["lineitemPromotionType"]) == ([], [])
    items = got["customerPromotionType"]
    # Newest first, as the sample (003:L2625, L2640, L2655); the pending and rejected ones are not credits.
    assert [(i["points"], i["promotionSource"]["promotionSourceId"]) for i in items] == [
        (32, pending),
        (200, first),
    ]
    till = client.username.split("@")[0]
    for item in items:
        assert item["issuedAt"]["code"] == till and item["issuedAt"]["name"].endswith("till 1")
        assert item["promotionSource"]["promotionSourceType"] == "GOODWILL"
        assert (item["programId"], item["promotionName"]) == (1016, "Goodwill Promotion")
        # Goodwill points expire as the program's points do (pointsExpiryDays 365).
        assert near(
            item["expiryDate"],
            datetime.fromisoformat(item["issuedOn"]) + timedelta(days=365),
            timedelta(seconds=2),
        )
    assert near(items[0]["issuedOn"], before)


async def test_no_goodwill_is_an_empty_promotion_list(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 100, "N-1"))
    got = (await customer_details(client, cid, "promotionalPoints"))["promotionalPoints"]
    assert got == {"customerPromotionType": [], "transactionPromotionType": [], "lineitemPromotionType": []}


# --- expirySchedules and expiredPoints ------------------------------------------------------


async def test_expiry_schedule_is_fifo_over_the_credits_still_held(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)  # 100 registration points
    await ok(await purchase(client, cid, 1000, "E-1"))  # 100 earned, expiring in 365 days
    soon = datetime.now(UTC) + timedelta(days=10)
    await set_expiry(client, cid, "registration", soon)
    await ok(await client.post("/v2/points/redeem", json={"customer": {"id": cid}, "points": 30}))
    await ok(await purchase(client, cid, 7, "E-2", programId=2020))  # 2020's points never expire
    body = await customer_details(client, cid, "expirySchedules")
    club, second = body["expirySchedules"]
    # The redemption used the points that expire first: 70 of the 100 are left to expire in 10 days.
    assert (club["programId"], club["totalPoints"]) == (1016, 170)
    assert [x["points"] for x in club["expiries"]] == [70, 100]
    assert near(club["expiries"][0]["expiryDate"], soon, timedelta(seconds=1))
    assert near(club["expiries"][1]["expiryDate"], datetime.now(UTC) + timedelta(days=365))
    assert second == {"programId": 2020, "totalPoints": 0, "expiries": []}
    # Spending past the first credit takes from the next one.
    await ok(await client.post("/v2/points/redeem", json={"customer": {"id": cid}, "points": 80}))
    [club, _] = (await customer_details(client, cid, "expirySchedules"))["expirySchedules"]
    assert (club["totalPoints"], [x["points"] for x in club["expiries"]]) == (90, [90])


async def test_points_already_due_are_left_to_the_expiry_job(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 1000, "D-1"))
    await set_expiry(client, cid, "registration", datetime.now(UTC) - timedelta(days=1))
    [club] = (await customer_details(client, cid, "expirySchedules"))["expirySchedules"]
    # The overdue 100 are not scheduled (the expiry job takes them); the earned 100 are.
    assert (club["totalPoints"], [x["points"] for x in club["expiries"]]) == (100, [100])
    assert entry(await ok(await loyalty_details(client, cid)), 1016)["loyaltyPoints"] == 200


async def test_expired_points_list_the_expiry_entries(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await ok(await purchase(client, cid, 20, "X-1", programId=2020))
    empty = (await customer_details(client, cid, "expiredPoints"))["expiredPoints"]
    assert empty == [
        {"programId": 1016, "totalPoints": 0, "expiries": []},
        {"programId": 2020, "totalPoints": 0, "expiries": []},
    ]
    before = datetime.now(UTC)
    await expire_points(client, cid, 40)
    await expire_points(client, cid, 25)
    club = (await customer_details(client, cid, "expiredPoints"))["expiredPoints"][0]
    assert (club["programId"], club["totalPoints"]) == (1016, 65)
    assert [x["points"] for x in club["expiries"]] == [40, 25]
    assert all(near(x["expiryDate"], before) for x in club["expiries"])
    figures = entry(await ok(await loyalty_details(client, cid)), 1016)
    assert (figures["expired"], figures["loyaltyPoints"]) == (65, 35)


# --- together, and the refusals -------------------------------------------------------------


async def test_every_loyalty_embed_at_once_and_none_without_embed(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    await goodwill(client, cid, 5, autoApprove=True)
    await ok(await link(client, cid, EXTERNAL, membershipNumber="AIR-2", partnerTierNumber=1))
    await add_group(client, cid, [])
    body = await by_identifier(client, number, EVERY_EMBED)
    assert set(body) >= LOYALTY_BLOCKS
    # Every key is declared in the OpenAPI answer model (extra keys are refused there).
    schemas.CustomerDetailsByIdentifier.model_validate(body)
    assert body["groupLoyaltyProgramDetails"] and body["promotionalPoints"]["customerPromotionType"]
    keys = list(body)
    assert keys.index("extendedFields") < keys.index("pointsSummary") < keys.index("cardDetails")
    by_id = await customer_details(client, cid, EVERY_EMBED)
    assert LOYALTY_BLOCKS - {"groupLoyaltyProgramDetails"} <= set(by_id)
    schemas.CustomerDetails.model_validate(by_id)
    assert by_id["pointsSummary"]["loyaltyPoints"] == 105
    plain = await ok(await client.get(f"/v2/customers/{cid}", params={"source": "ALL"}))
    assert not LOYALTY_BLOCKS & set(plain)  # EMB-3
    for embed in ("nonsense", "mlp,nonsense"):  # the embeds of issue 10: tests/engagement
        r = await client.get(f"/v2/customers/{cid}", params={"source": "ALL", "embed": embed})
        assert r.status_code == 400 and codes(r.json()) == [400], embed


async def test_a_customer_in_no_program_has_zero_figures(harness: Harness) -> None:
    client = await loyalty_org(harness)
    r = await client.post("/v2/customers", json=register_body(loyalty="non_loyalty"))
    cid = (await ok(r))["createdId"]
    body = await customer_details(client, cid, EVERY_EMBED)
    assert (
        body["loyaltyProgramDetails"] == [] and body["expirySchedules"] == [] and body["expiredPoints"] == []
    )
    summary = body["pointsSummary"]
    assert (summary["programId"], summary["loyaltyPoints"], summary["slabSNo"], summary["currentSlab"]) == (
        1016,
        0,
        None,
        "",
    )
    # Not in a tier yet: the next one is the first.
    assert (summary["nextSlab"], summary["nextSlabSerialNumber"]) == ("Silver", 1)


def test_the_schedule_is_what_the_expiry_job_will_take() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    soon, later = now + timedelta(days=5), now + timedelta(days=30)
    # A redemption spends what the account held when it was written: the credit written
    # after it (expiring sooner) is untouched and expires in full.
    entries = [(100, later), (-100, None), (50, soon), (20, now - timedelta(days=1)), (7, None)]
    assert expiry_schedule(entries, now) == [Expiry(soon, 50)]  # the overdue 20 are the job's now
    # Soonest expiry first: a debit of 40 leaves 10 of the 50 due soon; one of 60 spends them
    # all and 10 of the 100 due later.
    entries = [(50, soon), (100, later), (-40, None)]
    assert expiry_schedule(entries, now) == [Expiry(soon, 10), Expiry(later, 100)]
    entries = [(50, soon), (100, later), (-60, None)]
    assert expiry_schedule(entries, now) == [Expiry(later, 90)]
