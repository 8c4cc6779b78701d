"""Partner program links: POST /v2/customers/{id}/partnerPrograms links, PUT .../{partnerProgramId}
updates (updateType UPGRADE, DOWNGRADE, RENEWAL, UPDATE), DELETE delinks; each raises its
event in the same transaction, on both engines; the events reach a real receiver with the
seed samples' keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from patron.events.registry import REGISTRY
from patron.loyalty import partner_events as partner_events_module
from patron.loyalty.partners import send_membership_reminders
from patron.scheduler import jobs
from tests.api.test_event_contract import PROMISED, as_enriched, full_customer, samples, shape
from tests.conftest import Harness, OrgClient
from tests.loyalty.partner_support import (
    EXTERNAL,
    PARTNER_EVENTS,
    SUPPLEMENTARY,
    change,
    days_before,
    delink,
    far_date,
    link,
    partner_path,
    run_reminders,
)
from tests.loyalty.support import loyalty_org, new_member
from tests.support import codes, mobile, outbox, register_body, rows, token
from tests.webhooks.receiver import Receiver


async def memberships(harness: Harness, org_id: int, customer_id: int) -> list[dict[str, Any]]:
    found = await rows(
        harness.app.state.db,
        "SELECT partner_program_id, membership_number, membership_expiry_date, partner_tier_number,"
        " partner_tier_expiry_date FROM partner_membership WHERE org_id = :o AND customer_id = :c"
        " ORDER BY partner_program_id",
        o=org_id,
        c=customer_id,
    )
    return [vars(r) for r in found]


async def partner_events(client: OrgClient) -> list[dict[str, Any]]:
    """The org's partner events in commit order: each one's data, its type and its envelope."""
    return [
        {"type": e["eventType"], **e["attributes"]["data"], "_envelope": e}
        for e in await outbox(client.harness, client.org_id)
        if e["eventType"] in PARTNER_EVENTS
    ]


def details(event: dict[str, Any]) -> dict[str, Any]:
    return dict(event["customerPartnerProgramDetails"])


def test_the_four_partner_events_are_registered_with_their_classes() -> None:
    classes = {
        "partnerProgramLinked": partner_events_module.PartnerProgramLinked,
        "partnerProgramUpdated": partner_events_module.PartnerProgramUpdated,
        "partnerProgramDelinked": partner_events_module.PartnerProgramDelinked,
        "supplementaryMembershipExpiryReminder": partner_events_module.SupplementaryMembershipExpiryReminder,
    }
    for name, cls in classes.items():
        assert REGISTRY[name].event_class is cls and REGISTRY[name].trigger
    assert dict(jobs())["partner_membership_reminders"] is send_membership_reminders


# Linking ----------------------------------------------------------------------------------


async def test_a_link_is_stored_and_raises_partner_program_linked(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, number = await new_member(client)
    r = await link(client, cid, SUPPLEMENTARY, membershipNumber=" D-1001 ", membershipExpiryDate="2123-05-12")
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": cid, "warnings": [], "sideEffects": []}
    assert await memberships(harness, client.org_id, cid) == [
        {
            "partner_program_id": SUPPLEMENTARY,
            "membership_number": "D-1001",
            "membership_expiry_date": "2123-05-12",
            "partner_tier_number": None,
            "partner_tier_expiry_date": None,
        }
    ]
    [event] = await partner_events(client)
    assert event["type"] == "partnerProgramLinked"
    assert event["customerIdentifiers"]["customerId"] == cid
    assert event["customerIdentifiers"]["instore"]["mobile"] == number
    assert event["entityInformation"] == {"entityType": "USER", "entityId": cid}
    assert (event["loyaltyProgramId"], event["partnerProgramId"]) == (1016, SUPPLEMENTARY)
    assert (event["partnerProgramName"], event["partnerProgramType"]) == ("Drivers", "SUPPLEMENTARY")
    # Only the values the membership has (002:L5-38 shows a program without tiers so).
    assert details(event) == {"membershipNumber": "D-1001", "membershipExpiryDate": "2123-05-12"}
    attributes = event["_envelope"]["attributes"]
    assert attributes["refId"] == f"{client.org_id}_{cid}_{SUPPLEMENTARY}"
    assert attributes["apiRequestId"] and attributes["orgId"] == client.org_id


async def test_a_tier_based_link_without_a_tier_starts_in_the_lowest_tier(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    r = await link(client, cid, EXTERNAL, membershipNumber="A-7")
    assert r.status_code == 200, r.text
    [row] = await memberships(harness, client.org_id, cid)
    assert row["partner_tier_number"] == 1
    [event] = await partner_events(client)
    assert details(event) == {"partnerTierNumber": 1, "membershipNumber": "A-7"}
    assert event["partnerProgramType"] == "EXTERNAL"


async def test_a_tier_based_link_keeps_the_tier_and_dates_given(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    fields = {
        "membershipNumber": "123-asa3",
        "membershipExpiryDate": "2031-01-31",
        "partnerTierNumber": 2,
        "partnerTierExpiryDate": "2030-06-29",
    }
    assert (await link(client, cid, EXTERNAL, **fields)).status_code == 200
    [event] = await partner_events(client)
    assert details(event) == {
        "partnerTierExpiryDate": "2030-06-29",
        "partnerTierNumber": 2,
        "membershipNumber": "123-asa3",
        "membershipExpiryDate": "2031-01-31",
    }


@pytest.mark.parametrize(
    ("program", "fields", "status", "code"),
    [
        (99, {}, 400, 2040),
        (SUPPLEMENTARY, {"partnerTierNumber": 1}, 400, 2041),
        (SUPPLEMENTARY, {"partnerTierExpiryDate": "2130-01-01"}, 400, 2041),
        (EXTERNAL, {"partnerTierNumber": 3}, 400, 2042),
        (EXTERNAL, {"partnerTierNumber": 0}, 400, 400),
        (SUPPLEMENTARY, {"membershipExpiryDate": "2027-02-30"}, 400, 2043),
        (SUPPLEMENTARY, {"membershipExpiryDate": "2027/02/01"}, 400, 2043),
        (SUPPLEMENTARY, {"membershipExpiryDate": "27-02-01"}, 400, 2043),
        (SUPPLEMENTARY, {"membershipExpiryDate": "2027-02-01T00:00:00"}, 400, 400),
        (EXTERNAL, {"partnerTierNumber": 1, "partnerTierExpiryDate": "2030-13-01"}, 400, 2043),
        (SUPPLEMENTARY, {"membershipNumber": "   "}, 400, 2046),
        (SUPPLEMENTARY, {"membershipNumber": "x" * 101}, 400, 400),
    ],
)
async def test_bad_links_are_refused_with_their_code_and_write_nothing(
    harness: Harness, program: int, fields: dict[str, Any], status: int, code: int
) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    r = await link(client, cid, program, **fields)
    assert r.status_code == status, r.text
    assert codes(r.json()) == [code]
    assert await memberships(harness, client.org_id, cid) == []
    assert await partner_events(client) == []


async def test_only_a_loyalty_customer_of_the_org_is_linked(harness: Harness) -> None:
    client = await loyalty_org(harness)
    other = await loyalty_org(harness)
    foreign, _ = await new_member(other)
    r = await client.post("/v2/customers", json=register_body(loyalty="non_loyalty"))
    plain = r.json()["createdId"]
    victim, survivor = await merged_customer(client)
    for who, status, code in [
        (foreign, 404, 8015),
        (99_999_999_999, 404, 8015),
        (plain, 422, 1013),
        (victim, 404, 8069),
    ]:
        r = await link(client, who, SUPPLEMENTARY)
        assert r.status_code == status, (who, r.text)
        assert codes(r.json()) == [code]
    r = await client.post("/v2/customers/abc/partnerPrograms", json={"partnerProgramId": SUPPLEMENTARY})
    assert r.status_code == 404 and codes(r.json()) == [8015]
    assert await partner_events(client) == [] and await partner_events(other) == []
    assert (await link(client, survivor, SUPPLEMENTARY)).status_code == 200


async def merged_customer(client: OrgClient) -> tuple[int, int]:
    """(a customer merged into another, the survivor), merged by Update Customer Identifiers."""
    number = mobile()
    survivor = (await client.post("/v2/customers", json=register_body(number))).json()["createdId"]
    body = register_body(
        source="WECHAT", account_id="WECHAT-CM", extra=[{"type": "wechat", "value": token("wx")}]
    )
    victim = (await client.post("/v2/customers", json=body)).json()["createdId"]
    r = await client.post(
        f"/v2/customers/{victim}/changeIdentifier",
        params={"source": "WECHAT", "accountId": "WECHAT-CM"},
        json={"add": [{"type": "mobile", "value": number}]},
    )
    assert r.status_code == 200 and r.json()["createdId"] == survivor, r.text
    return victim, survivor


async def test_linking_twice_is_409_and_changes_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    assert (await link(client, cid, SUPPLEMENTARY, membershipExpiryDate="2130-01-01")).status_code == 200
    again = await link(client, cid, SUPPLEMENTARY, membershipExpiryDate="2131-01-01")
    assert again.status_code == 409 and codes(again.json()) == [2044]
    [row] = await memberships(harness, client.org_id, cid)
    assert row["membership_expiry_date"] == "2130-01-01"
    assert [e["type"] for e in await partner_events(client)] == ["partnerProgramLinked"]
    # Another program is another link.
    assert (await link(client, cid, EXTERNAL)).status_code == 200
    assert [m["partner_program_id"] for m in await memberships(harness, client.org_id, cid)] == [25, 45]


async def test_a_repeated_idempotency_key_links_once(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    headers = {"Idempotency-Key": f"link-{token('k')}"}
    first = await client.post(partner_path(cid), json={"partnerProgramId": SUPPLEMENTARY}, headers=headers)
    again = await client.post(partner_path(cid), json={"partnerProgramId": SUPPLEMENTARY}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    other = await client.post(partner_path(cid), json={"partnerProgramId": EXTERNAL}, headers=headers)
    assert other.status_code == 409
    assert len(await partner_events(client)) == 1


# Updating ---------------------------------------------------------------------------------


async def test_updates_name_their_kind(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    base = {"membershipNumber": "M-1", "membershipExpiryDate": "2030-01-31", "partnerTierNumber": 1}
    assert (await link(client, cid, EXTERNAL, **base)).status_code == 200
    steps: list[tuple[dict[str, Any], str]] = [
        ({"partnerTierNumber": 2, "partnerTierExpiryDate": "2030-06-29"}, "UPGRADE"),
        ({"partnerTierNumber": 1}, "DOWNGRADE"),
        ({"membershipExpiryDate": "2031-01-31"}, "RENEWAL"),
        ({"membershipExpiryDate": "2032-01-31", "membershipNumber": "M-2"}, "RENEWAL"),
        ({"membershipExpiryDate": "2031-06-30"}, "UPDATE"),  # earlier: a correction, not a renewal
        ({"membershipNumber": "M-3"}, "UPDATE"),
        ({"partnerTierExpiryDate": "2031-06-29"}, "UPDATE"),
        ({"partnerTierNumber": 2, "membershipExpiryDate": "2033-01-31"}, "UPGRADE"),
    ]
    for fields, _ in steps:
        r = await change(client, cid, EXTERNAL, **fields)
        assert r.status_code == 200, r.text
        assert r.json() == {"createdId": cid, "warnings": [], "sideEffects": []}
    events = await partner_events(client)
    assert [e["updateType"] for e in events[1:]] == [kind for _, kind in steps]
    assert all(e["type"] == "partnerProgramUpdated" for e in events[1:])
    assert details(events[-1]) == {
        "partnerTierExpiryDate": "2031-06-29",
        "partnerTierNumber": 2,
        "membershipNumber": "M-3",
        "membershipExpiryDate": "2033-01-31",
    }
    assert await memberships(harness, client.org_id, cid) == [
        {
            "partner_program_id": EXTERNAL,
            "membership_number": "M-3",
            "membership_expiry_date": "2033-01-31",
            "partner_tier_number": 2,
            "partner_tier_expiry_date": "2031-06-29",
        }
    ]


async def test_an_update_that_changes_nothing_raises_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await link(client, cid, EXTERNAL, partnerTierNumber=2, membershipNumber="M-1")
    for fields in ({}, {"partnerTierNumber": 2}, {"membershipNumber": "M-1", "membershipExpiryDate": None}):
        r = await change(client, cid, EXTERNAL, **fields)
        assert r.status_code == 200, r.text
    assert [e["type"] for e in await partner_events(client)] == ["partnerProgramLinked"]


async def test_bad_updates_are_refused_and_change_nothing(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    other, _ = await new_member(client)
    await link(client, cid, SUPPLEMENTARY, membershipExpiryDate="2130-01-01")
    await link(client, cid, EXTERNAL)
    cases: list[tuple[int, int, dict[str, Any], int, int]] = [
        (other, SUPPLEMENTARY, {"membershipExpiryDate": "2131-01-01"}, 404, 2045),
        (cid, 99, {"membershipExpiryDate": "2131-01-01"}, 404, 2040),
        (cid, SUPPLEMENTARY, {"partnerTierNumber": 1}, 400, 2041),
        (cid, EXTERNAL, {"partnerTierNumber": 5}, 400, 2042),
        (cid, SUPPLEMENTARY, {"membershipExpiryDate": "2031-02-29"}, 400, 2043),
        (99_999_999_999, SUPPLEMENTARY, {"membershipExpiryDate": "2131-01-01"}, 404, 8015),
    ]
    for who, program, fields, status, code in cases:
        r = await change(client, who, program, **fields)
        assert r.status_code == status, (fields, r.text)
        assert codes(r.json()) == [code]
    r = await client.put(partner_path(cid) + "/x", json={})
    assert r.status_code == 404 and codes(r.json()) == [2040]
    assert [m["membership_expiry_date"] for m in await memberships(harness, client.org_id, cid)] == [
        None,
        "2130-01-01",
    ]
    assert len(await partner_events(client)) == 2


# Delinking --------------------------------------------------------------------------------


async def test_a_delink_removes_the_membership_and_raises_partner_program_delinked(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await link(client, cid, SUPPLEMENTARY, membershipExpiryDate="2130-01-01")
    await link(client, cid, EXTERNAL)
    r = await delink(client, cid, SUPPLEMENTARY)
    assert r.status_code == 200, r.text
    assert r.json() == {"createdId": cid, "warnings": [], "sideEffects": []}
    assert [m["partner_program_id"] for m in await memberships(harness, client.org_id, cid)] == [EXTERNAL]
    event = (await partner_events(client))[-1]
    assert event["type"] == "partnerProgramDelinked"
    assert "customerPartnerProgramDetails" not in event
    assert event["entityInformation"] == {"entityType": "USER", "entityId": cid}
    assert (event["partnerProgramId"], event["partnerProgramName"]) == (SUPPLEMENTARY, "Drivers")
    again = await delink(client, cid, SUPPLEMENTARY)
    assert again.status_code == 404 and codes(again.json()) == [2045]
    unknown = await delink(client, cid, 99)
    assert unknown.status_code == 404 and codes(unknown.json()) == [2040]
    assert len(await partner_events(client)) == 3
    # A delinked customer may be linked again.
    assert (await link(client, cid, SUPPLEMENTARY)).status_code == 200


async def test_a_repeated_idempotency_key_delinks_once(harness: Harness) -> None:
    client = await loyalty_org(harness)
    cid, _ = await new_member(client)
    await link(client, cid, SUPPLEMENTARY)
    headers = {"Idempotency-Key": f"delink-{token('k')}"}
    first = await delink(client, cid, SUPPLEMENTARY, headers=headers)
    again = await delink(client, cid, SUPPLEMENTARY, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [e["type"] for e in await partner_events(client)] == [
        "partnerProgramLinked",
        "partnerProgramDelinked",
    ]


# Delivery ---------------------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


# A link to a program without tiers carries no tier values (002:L5-38 shows one so).
NO_TIER = {
    f"$.attributes.data.customerPartnerProgramDetails.{key}: missing"
    for key in ("partnerTierExpiryDate", "partnerTierNumber")
}


async def test_the_four_events_reach_a_receiver_with_the_seed_keys(
    harness: Harness, receiver: Receiver
) -> None:
    client = await loyalty_org(harness)
    r = await client.post("/v2/webhooks", json={"url": receiver.url(), "events": list(PARTNER_EVENTS)})
    assert r.status_code == 201, r.text
    cid, _ = await full_customer(client)
    expiry = far_date()
    full = {
        "membershipNumber": "123-asa3",
        "membershipExpiryDate": "2031-01-31",
        "partnerTierNumber": 1,
        "partnerTierExpiryDate": "2030-06-29",
    }
    assert (await link(client, cid, EXTERNAL, **full)).status_code == 200
    assert (await change(client, cid, EXTERNAL, partnerTierNumber=2)).status_code == 200
    assert (await delink(client, cid, EXTERNAL)).status_code == 200
    r = await link(
        client, cid, SUPPLEMENTARY, membershipNumber="D-1", membershipExpiryDate=expiry.isoformat()
    )
    assert r.status_code == 200, r.text
    assert await run_reminders(harness, days_before(expiry, 3)) == 1
    await receiver.wait_for(lambda reqs: len(reqs) >= 5)
    received = [req.json for req in receiver.requests]
    assert [p["eventType"] for p in received] == [
        "partnerProgramLinked",
        "partnerProgramUpdated",
        "partnerProgramDelinked",
        "partnerProgramLinked",
        "supplementaryMembershipExpiryReminder",
    ]
    for n, payload in enumerate(received):
        name = payload["eventType"]
        assert payload["attributes"]["data"]["customerIdentifiers"]["customerId"] == cid
        allowed = NO_TIER if n == 3 else set()
        for sample in samples(name):
            problems = [p for p in shape(payload, as_enriched(sample), PROMISED) if p not in allowed]
            assert not problems, f"{name} against {sample.where}: {problems}"
    assert received[1]["attributes"]["data"]["updateType"] == "UPGRADE"
    reminder = received[-1]["attributes"]
    assert reminder["data"]["scheduledExpiryDate"] == expiry.isoformat()
    assert reminder["data"]["partnerProgramName"] == "Drivers" and reminder["apiRequestId"] == ""
    assert "entityInformation" not in reminder["data"] and "partnerProgramType" not in reminder["data"]
