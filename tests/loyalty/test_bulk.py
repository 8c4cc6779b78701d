"""The bulk operations as batches, on both engines: a plain array is batch registration (each
item on its own, the batch limit 1060), Idempotency-Key on a batch, and the seed's samples
of the three bulk operations replayed (003:L610-831, L1571-1672, L1953) with our answers
held to the seed's sample answers key by key (003:L839-1491, L1678-1873, L1959-2108)."""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from patron.api.v2.group_schemas import BulkAnswer, ChangesAnswer, ChildrenAnswer
from patron.loyalty.groups import BATCH_LIMIT
from tests.api.seedtext import SEED_003, seed_json, seed_line, shape
from tests.conftest import Harness
from tests.loyalty.group_support import (
    associate,
    associated,
    customer_count,
    event_names,
    family,
    group_org,
    group_rows,
    members,
    number_of,
    person,
)
from tests.support import codes, email, mobile, register_body, token

ACCOUNT = "WECHAT-CM"


async def test_a_plain_array_registers_each_item_on_its_own(harness: Harness) -> None:
    client = await group_org(harness)
    taken = mobile()
    assert (await client.post("/v2/customers", json=register_body(taken))).status_code == 200
    items = [person(), person(taken), {"profiles": []}, person(loyalty="non_loyalty")]
    answers = await associated(client, *items)
    BulkAnswer.model_validate(answers)
    first, duplicate, empty, last = (a["entity"] for a in answers)
    assert first["id"] and last["id"] and first["errors"] == [] == last["errors"]
    assert first["sideEffects"] == [{"type": "points", "awardedPoints": 100}] and last["sideEffects"] == []
    assert codes(duplicate) == [1032] and duplicate["id"] is None
    assert codes(empty) == [400]
    assert "associationDetails" not in first and first["referralCode"] == ""
    assert all(a["childEntities"] == [] and a["childCount"] == 0 for a in answers)
    assert await customer_count(client) == 3
    assert await event_names(client) == ["customerAdded"] * 3
    assert await group_rows(client) == []


async def test_a_plain_item_follows_register_customer_even_when_known_in_another_source(
    harness: Harness,
) -> None:
    client = await group_org(harness)
    number = mobile()
    known = (await client.post("/v2/customers", json=register_body(number))).json()["createdId"]
    [answer] = await associated(client, person(number, source="WECHAT", account_id=ACCOUNT))
    assert answer["entity"]["id"] == known and codes(answer["entity"], "warnings") == [8050]


async def test_the_batch_limit_counts_every_customer_and_refuses_past_it(harness: Harness) -> None:
    client = await group_org(harness)
    r = await associate(client, *[person() for _ in range(BATCH_LIMIT + 1)])
    assert r.status_code == 400 and codes(r.json()) == [1060]
    assert r.json()["errors"][0]["message"].startswith("Batch limit exceeded.")
    # Children count: 60 items with one child each are 120 customers.
    r = await associate(client, *[family(person(), [person()]) for _ in range(60)])
    assert r.status_code == 400 and codes(r.json()) == [1060]
    assert await customer_count(client) == 0
    r = await associate(client, *[person() for _ in range(BATCH_LIMIT)])
    assert r.status_code == 200 and len(r.json()) == BATCH_LIMIT
    assert await customer_count(client) == BATCH_LIMIT


async def test_a_body_that_is_not_an_array_of_customers_is_400(harness: Harness) -> None:
    client = await group_org(harness)
    for body, status in (([], 400), ({"profiles": []}, 400), ([3], 400), ([{"profiles": 3}], 400)):
        r = await client.post("/v2/customers/bulk", json=body)
        assert r.status_code == status, body
    r = await client.post("/v2/customers/bulk", json={"profiles": []})
    assert r.json()["errors"][0]["message"] == "Input is invalid. The body must be a JSON array."
    r = await client.put("/v2/customers/bulk", params={"source": "INSTORE"}, json=[{"profiles": []}])
    assert r.status_code == 400  # associationDetails is required
    assert await customer_count(client) == 0


async def test_a_batch_with_an_idempotency_key_runs_once(harness: Harness) -> None:
    client = await group_org(harness)
    headers = {"Idempotency-Key": f"bulk-{mobile()}"}
    body = [family(person(), [person(), person()]), person()]
    first = await client.post("/v2/customers/bulk", json=body, headers=headers)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    customers, events = await customer_count(client), await event_names(client)
    again = await client.post("/v2/customers/bulk", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (await customer_count(client), await event_names(client)) == (customers, events)
    other = await client.post("/v2/customers/bulk", json=[person()], headers=headers)
    assert other.status_code == 409 and await customer_count(client) == customers
    # Update Association Details takes a key too.
    change = [
        {"profiles": body[0]["profiles"], "associationDetails": {"hierarchyCode": "FAMILY", "roleCode": "FA"}}
    ]
    put_headers = {"Idempotency-Key": f"put-{mobile()}"}
    first = await client.put(
        "/v2/customers/bulk", params={"source": "INSTORE"}, json=change, headers=put_headers
    )
    again = await client.put(
        "/v2/customers/bulk", params={"source": "INSTORE"}, json=change, headers=put_headers
    )
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert (await event_names(client)).count("groupUpdated") == 1


# --- the seed's samples ---------------------------------------------------------------------


def sample(first: int, last: int) -> Any:
    return seed_json(SEED_003, first, last)


def fresh(customer: dict[str, Any], number: str | None = None) -> dict[str, Any]:
    """A seed customer object with fresh identifier values; the channels follow the mobile."""
    customer = copy.deepcopy(customer)
    number = number or mobile()
    for profile in customer["profiles"]:
        assert (profile["source"], profile["accountId"]) == ("WECHAT", ACCOUNT)
        for ident in profile["identifiers"]:
            ident["value"] = number if ident["type"] == "mobile" else token(f"{ident['type']}_")
        for channel in profile.get("commChannels", []):
            channel["value"] = number if channel["type"] == "mobile" else email()
        # The seed's custom fields gender and city are extended fields in this org; its
        # custom fields are employee and dateofbirth.
        if "fields" in profile:
            profile["fields"] = {"employee": "true"}
    return customer


def replayed_association() -> list[dict[str, Any]]:
    """003:L610-774 with fresh identifiers. Its card (series FleetCard1, L629-640) names a
    series this org lacks; the replay issues a card of the org's series GOLDPHY98 instead,
    with a card extended field the org configures."""
    body = sample(610, 774)
    assert isinstance(body, list) and len(body) == 1
    item = fresh(body[0])
    [card] = [i for i in item["profiles"][0]["identifiers"] if i["type"] == "cardnumber"]
    assert card["seriesCode"] == "FleetCard1"
    card.update(seriesCode="GOLDPHY98", cardExternalId=token("carduuid_"))
    card["extendedFields"] = {"card_balance": 10}
    details = item["associationDetails"]
    assert details["hierarchyCode"] == "code-association2" and len(details["childCustomers"]) == 2
    details["childCustomers"] = [fresh(child) for child in details["childCustomers"]]
    return [item]


# Differences from every bulk sample, by path pattern (docs/decisions.md, "Groups"):
# - the bulk samples' tills carry Capillary's till record (adminType, isActive, isOuEnabled,
#   timeZoneId, currencyId, languageId: 003:L853-865); Patron's tills are {id, code,
#   description, name, type}, as in Fetch Customer Details (003:L2344-2356);
# - a channel's `meta` is what the client sent; the samples' requests send none and their
#   answers show {residence: false, office: false}.
PATTERNS = (
    re.compile(
        r".*\.attribution\.(createdBy|modifiedBy)\.(adminType|isActive|isOuEnabled|timeZoneId"
        r"|currencyId|languageId): missing"
    ),
    re.compile(r".*\.commChannels\[0\]\.meta\.(residence|office): missing"),
)


def assert_bulk_shape(ours: Any, seed: Any, known: dict[str, str]) -> None:
    problems = [p for p in shape(ours, seed) if p not in known and not any(x.fullmatch(p) for x in PATTERNS)]
    assert not problems, "response differs from the seed sample:\n" + "\n".join(problems)


# Our answer has what the sample's has, except (docs/decisions.md, "Groups"):
ASSOCIATION_KNOWN = {
    # Child associationDetails carry parentRoleCode; the seed's parentRoleId is an id of its
    # role catalogue, which Patron does not keep (role codes are the org's own).
    "$[0].childEntities[0].associationDetails.parentRoleId: missing": "role codes, no role ids",
    # fleetCompany.companyId: companies are not modelled; the externalId is echoed.
    "$[0].entity.associationDetails.fleetCompany.companyId: missing": "companies are not stored",
    "$[0].childEntities[0].associationDetails.fleetCompany.companyId: missing": "companies are not stored",
}


async def test_the_association_sample_replayed(harness: Harness) -> None:
    client = await group_org(harness)
    body = replayed_association()
    answer = await associated(client, *body)
    assert_bulk_shape(answer, sample(839, 1491), ASSOCIATION_KNOWN)
    BulkAnswer.model_validate(answer)  # and as the OpenAPI document declares it
    [item] = answer
    assert (item["childCount"], item["childSuccessCount"], item["childFailureCount"]) == (2, 2, 0)
    details = item["entity"]["associationDetails"]
    assert (details["hierarchyCode"], details["roleCode"], details["childRoleCode"]) == (
        "code-association2",
        "FA",
        "FC",
    )
    assert details["fleetCompany"] == {"externalId": "ex917471949194"}
    assert [c["associationDetails"]["roleCode"] for c in item["childEntities"]] == ["FC", "FC"]
    assert item["entity"]["extendedFields"] == {"gender": "Male", "city": "city_6878387"}
    [group] = await group_rows(client)
    assert group.primary_customer_id == item["entity"]["id"]
    assert set(await members(client, group.group_id)) == {c["id"] for c in item["childEntities"]}


async def test_the_associate_child_to_parent_sample_replayed(harness: Harness) -> None:
    """003:L781-831 is an item's associationDetails only (its profiles are "..." at L780):
    the replay gives the item a customer of its own."""
    client = await group_org(harness)
    item = sample(781, 831)
    details = item["associationDetails"]
    assert details["roleCode"] == "FC" and "parentCustomer" in details
    details["parentCustomer"] = fresh(details["parentCustomer"])
    details["parentCustomer"]["loyaltyInfo"] = {"loyaltyType": "loyalty"}
    child = person(source="WECHAT", account_id=ACCOUNT)
    [answer] = await associated(client, {**child, **item})
    entity = answer["entity"]
    assert entity["errors"] == [] and entity["associationDetails"]["childCustomer"] is True
    parent = entity["associationDetails"]["parentCustomer"]
    assert parent["profiles"][0]["firstName"] == "慧慧"
    [group] = await group_rows(client)
    assert group.primary_customer_id == parent["id"]
    assert await members(client, group.group_id) == {entity["id"]: "FC"}


def url_params(line: int) -> dict[str, str]:
    parts = urlsplit(seed_line(SEED_003, line).strip())
    assert parts.path == "/v2/customers/bulk"
    return dict(parse_qsl(parts.query))


async def test_the_update_association_sample_replayed(harness: Harness) -> None:
    client = await group_org(harness)
    params = url_params(1571)
    assert params == {"source": "WECHAT", "accountId": ACCOUNT}
    [change] = sample(1577, 1672)
    member, parent = fresh(change), fresh(change["associationDetails"]["parentCustomer"])
    # Both are registered first; the member in another family, which the update leaves.
    member_item = {**member, "loyaltyInfo": {"loyaltyType": "loyalty"}}
    member_item.pop("associationDetails")
    parent_item = {**parent, "loyaltyInfo": {"loyaltyType": "loyalty"}}
    old_parent = person(source="WECHAT", account_id=ACCOUNT)
    await associated(client, family(old_parent, [member_item], hierarchy="code-association2"), parent_item)
    change = {**member, "associationDetails": {**member["associationDetails"], "parentCustomer": parent}}
    r = await client.put("/v2/customers/bulk", params=params, json=[change])
    assert r.status_code == 200, r.text
    # The seed's success item carries `errors: [{}]` (L1871-1873); ours is [] (no error).
    assert_bulk_shape(r.json(), sample(1678, 1873), {})
    ChangesAnswer.model_validate(r.json())
    [item] = r.json()
    assert item["errors"] == [] and item["associationDetails"]["roleCode"] == "FA"
    assert item["associationDetails"]["parentCustomer"]["profiles"][0]["firstName"] == "Jim"
    old_group, new_group = await group_rows(client)
    assert new_group.primary_customer_id == item["associationDetails"]["parentCustomer"]["id"]
    assert await members(client, old_group.group_id) == {}
    assert await members(client, new_group.group_id) == {item["id"]: "FA"}


async def test_the_get_customers_sample_replayed(harness: Harness) -> None:
    client = await group_org(harness)
    params = url_params(1953)
    parent = person(
        params["associationEntityIdentifierValue"] and mobile(), source="WECHAT", account_id=ACCOUNT
    )
    children = [person(source="WECHAT", account_id=ACCOUNT) for _ in range(2)]
    await associated(client, family(parent, children, hierarchy="code-association2"))
    r = await client.get(
        "/v2/customers/bulk", params={**params, "associationEntityIdentifierValue": number_of(parent)}
    )
    assert r.status_code == 200, r.text
    assert_bulk_shape(r.json(), sample(1959, 2108), {})
    ChildrenAnswer.model_validate(r.json())
    assert r.json()["entity"]["count"] == 2
    assert all(c["profiles"][0]["accountId"] == ACCOUNT for c in r.json()["entity"]["customers"])
