"""Groups (hierarchies) through the bulk operations of seed 003, on both engines: Associate
Customer with Customer/Hierarchy creates a group around its parent and adds the children,
Update Association Details changes roles and parents, Get Customers (Group Loyalty) lists a
parent's children; and the rules that keep a hierarchy two levels deep."""

from __future__ import annotations

import asyncio
from typing import Any

from patron.api.v2.group_schemas import BulkAnswer, ChangesAnswer, ChildrenAnswer
from patron.loyalty.rebuild import rebuild
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
    move,
    number_of,
    person,
)
from tests.loyalty.support import summary
from tests.support import codes, email, mobile, register_body, rows


def ids_of(answer: dict[str, Any]) -> tuple[int, list[int]]:
    return answer["entity"]["id"], [c["id"] for c in answer["childEntities"]]


async def test_an_association_registers_the_parent_and_children_and_makes_one_group(harness: Harness) -> None:
    client = await group_org(harness)
    children = [person(first="Becky"), person(first="Huck")]
    [answer] = await associated(
        client, family(person(), children, roleCode="FA", childRoleCode="FC", groupName="Sawyers")
    )
    parent_id, child_ids = ids_of(answer)
    assert (answer["childCount"], answer["childSuccessCount"], answer["childFailureCount"]) == (2, 2, 0)
    details = answer["entity"]["associationDetails"]
    assert details["hierarchyCode"] == "FAMILY" and details["roleCode"] == "FA"
    assert details["childRoleCode"] == "FC" and details["new"] is True and details["childCustomer"] is False
    assert [c["id"] for c in details["childCustomers"]] == child_ids
    assert answer["entity"]["sideEffects"] == [{"type": "points", "awardedPoints": 100}]
    for child in answer["childEntities"]:
        assert child["associationDetails"]["roleCode"] == "FC"
        assert child["associationDetails"]["childCustomer"] is True
        assert child["associationDetails"]["parentRoleCode"] == "FA"
        assert child["errors"] == [] and child["loyaltyInfo"] == {"loyaltyType": "loyalty"}
    [group] = await group_rows(client)
    assert (group.primary_customer_id, group.primary_role, group.hierarchy_code) == (
        parent_id,
        "FA",
        "FAMILY",
    )
    assert (group.name, group.group_program_id, group.loyalty_points) == ("Sawyers", 7, 0)
    assert details["groupId"] == group.group_id and details["hierarchyId"] == 7
    assert await members(client, group.group_id) == {cid: "FC" for cid in child_ids}
    assert await event_names(client) == [
        "customerAdded",
        "groupCreated",
        "customerAdded",
        "groupMemberAdded",
        "customerAdded",
        "groupMemberAdded",
    ]


async def test_known_customers_are_reused_and_a_repeated_association_changes_nothing(
    harness: Harness,
) -> None:
    client = await group_org(harness)
    parent, child = person(), person(first="Becky")
    r = await client.post("/v2/customers", json=register_body(number_of(child), first="Becky"))
    assert r.status_code == 200, r.text
    known_child = r.json()["createdId"]
    [first] = await associated(client, family(parent, [child]))
    parent_id, [child_id] = ids_of(first)
    assert child_id == known_child
    assert first["entity"]["associationDetails"]["new"] is True
    assert first["childEntities"][0]["associationDetails"]["new"] is False
    assert first["childEntities"][0]["sideEffects"] == []
    customers, events = await customer_count(client), await event_names(client)
    [again] = await associated(client, family(parent, [child]))
    assert ids_of(again) == (parent_id, [child_id])
    assert again["entity"]["associationDetails"]["new"] is False
    assert (again["childSuccessCount"], again["childFailureCount"]) == (1, 0)
    assert await customer_count(client) == customers
    assert await event_names(client) == events
    assert len(await group_rows(client)) == 1


async def test_a_customer_known_in_another_source_is_merged_not_duplicated(harness: Harness) -> None:
    client = await group_org(harness)
    number = mobile()
    r = await client.post("/v2/customers", json=register_body(number))
    known = r.json()["createdId"]
    child = person(number, source="WECHAT", account_id="WECHAT-CM")
    [answer] = await associated(client, family(person(), [child]))
    [entity] = answer["childEntities"]
    assert entity["id"] == known
    assert 8050 in codes(entity, "warnings")
    assert {p["source"] for p in entity["profiles"]} == {"INSTORE", "WECHAT"}
    assert "customerUpdated" in await event_names(client)


async def test_a_failing_child_fails_alone(harness: Harness) -> None:
    client = await group_org(harness)
    taken = person()
    await associated(client, family(taken, []))  # heads a FAMILY group: cannot be a child
    broken = {
        "profiles": [
            {"firstName": "X", "source": "NOPE", "identifiers": [{"type": "mobile", "value": mobile()}]}
        ]
    }
    children = [person(first="Becky"), broken, taken, person(first="Huck")]
    [answer] = await associated(client, family(person(), children))
    assert (answer["childCount"], answer["childSuccessCount"], answer["childFailureCount"]) == (4, 2, 2)
    BulkAnswer.model_validate([answer])
    ok1, bad, heads, ok2 = answer["childEntities"]
    assert codes(bad) == [8012] and bad["id"] is None
    assert codes(heads) == [2066]
    assert ok1["id"] and ok2["id"] and ok1["errors"] == [] == ok2["errors"]
    details = answer["entity"]["associationDetails"]
    assert [c["id"] for c in details["childCustomers"]] == [ok1["id"], ok2["id"]]
    group = (await group_rows(client))[-1]
    assert set(await members(client, group.group_id)) == {ok1["id"], ok2["id"]}


async def test_an_invalid_mobile_is_dropped_with_warnings_and_the_child_registered(harness: Harness) -> None:
    client = await group_org(harness)
    address = email()
    child = {
        "loyaltyInfo": {"loyaltyType": "non_loyalty"},
        "profiles": [
            {
                "firstName": "Becky",
                "source": "INSTORE",
                "identifiers": [{"type": "mobile", "value": "12"}, {"type": "email", "value": address}],
                "commChannels": [{"type": "mobile", "value": "34", "primary": True}],
            }
        ],
    }
    [answer] = await associated(client, family(person(), [child]))
    [entity] = answer["childEntities"]
    assert codes(entity, "warnings")[:2] == [8056, 8058] and entity["errors"] == []
    assert [i["type"] for i in entity["profiles"][0]["identifiers"]] == ["email"]
    assert entity["profiles"][0]["commChannels"] == []
    assert answer["childFailureCount"] == 0


async def test_children_without_loyalty_info_take_the_items(harness: Harness) -> None:
    client = await group_org(harness)
    [answer] = await associated(
        client, family(person(loyalty="non_loyalty"), [person(loyalty=None), person(loyalty="loyalty")])
    )
    assert [c["loyaltyInfo"]["loyaltyType"] for c in answer["childEntities"]] == ["non_loyalty", "loyalty"]


async def test_an_unknown_hierarchy_is_refused_and_nothing_is_written(harness: Harness) -> None:
    client = await group_org(harness)
    [answer] = await associated(client, family(person(), [person()], hierarchy="NOPE"))
    assert codes(answer["entity"]) == [2063] and answer["entity"]["id"] is None
    assert answer["childEntities"] == [] and answer["childCount"] == 0
    assert await customer_count(client) == 0 and await event_names(client) == []


async def test_a_child_of_another_group_of_the_hierarchy_is_refused_but_may_join_another_hierarchy(
    harness: Harness,
) -> None:
    client = await group_org(harness)
    child = person(first="Becky")
    [first] = await associated(client, family(person(), [child]))
    [second] = await associated(client, family(person(), [child]))
    group_id = first["entity"]["associationDetails"]["groupId"]
    assert codes(second["childEntities"][0]) == [2064]
    assert str(group_id) in second["childEntities"][0]["errors"][0]["message"]
    [fleet] = await associated(client, family(person(), [child], hierarchy="FLEET"))
    assert fleet["childEntities"][0]["id"] == first["childEntities"][0]["id"]
    assert fleet["childEntities"][0]["associationDetails"]["hierarchyCode"] == "FLEET"


async def test_a_hierarchy_is_two_levels_deep(harness: Harness) -> None:
    client = await group_org(harness)
    parent, child = person(), person(first="Becky")
    await associated(client, family(parent, [child]))
    # A member cannot head a group of the same hierarchy ...
    [answer] = await associated(client, family(child, [person()]))
    assert codes(answer["entity"]) == [2067]
    # ... nor be its own child.
    [own] = await associated(client, family(parent, [parent]))
    assert codes(own["childEntities"][0]) == [2065]


async def test_an_association_never_changes_a_role_it_finds(harness: Harness) -> None:
    client = await group_org(harness)
    parent, child = person(), person(first="Becky")
    await associated(client, family(parent, [child], roleCode="FA", childRoleCode="FC"))
    [again] = await associated(client, family(parent, [child], roleCode="XX", childRoleCode="YY"))
    assert codes(again["entity"], "warnings") == [2068]
    assert again["entity"]["associationDetails"]["roleCode"] == "FA"
    assert codes(again["childEntities"][0], "warnings") == [2068]
    assert again["childEntities"][0]["associationDetails"]["roleCode"] == "FC"


async def test_default_roles_and_group_name(harness: Harness) -> None:
    client = await group_org(harness)
    [answer] = await associated(client, family(person(first="Ann", last="Lee"), [person()]))
    assert answer["entity"]["associationDetails"]["roleCode"] == "PRIMARY"
    assert answer["childEntities"][0]["associationDetails"]["roleCode"] == "MEMBER"
    [group] = await group_rows(client)
    assert group.name == "Ann Lee"


async def test_a_bad_role_code_is_refused(harness: Harness) -> None:
    client = await group_org(harness)
    [answer] = await associated(client, family(person(), [], roleCode="not a code"))
    assert codes(answer["entity"]) == [400] and "roleCode" in answer["entity"]["errors"][0]["message"]


async def test_an_item_may_join_its_parents_group(harness: Harness) -> None:
    client = await group_org(harness)
    parent = person(first="Polly")
    item = {
        **person(first="Becky"),
        "associationDetails": {
            "hierarchyCode": "FAMILY",
            "roleCode": "FC",
            "parentCustomer": {"profiles": parent["profiles"]},
        },
    }
    [answer] = await associated(client, item)
    BulkAnswer.model_validate([answer])
    details = answer["entity"]["associationDetails"]
    assert details["childCustomer"] is True and details["roleCode"] == "FC"
    assert details["parentRoleCode"] == "PRIMARY"
    parent_id = details["parentCustomer"]["id"]
    [group] = await group_rows(client)
    assert group.primary_customer_id == parent_id and details["groupId"] == group.group_id
    assert await members(client, group.group_id) == {answer["entity"]["id"]: "FC"}
    assert await event_names(client) == ["customerAdded", "groupCreated", "customerAdded", "groupMemberAdded"]
    # A second child of the same parent joins the same group.
    other = {
        **person(first="Sid"),
        "associationDetails": {"hierarchyCode": "FAMILY", "parentCustomer": {"profiles": parent["profiles"]}},
    }
    [second] = await associated(client, other)
    assert second["entity"]["associationDetails"]["groupId"] == group.group_id
    assert len(await group_rows(client)) == 1


async def test_children_and_a_parent_together_are_refused(harness: Harness) -> None:
    client = await group_org(harness)
    item = family(person(), [person()], parentCustomer={"profiles": person()["profiles"]})
    [answer] = await associated(client, item)
    assert codes(answer["entity"]) == [400] and await customer_count(client) == 0


# --- Update Association Details -------------------------------------------------------------


async def test_a_role_change_of_the_primary_or_a_member_updates_the_group(harness: Harness) -> None:
    client = await group_org(harness)
    parent, child = person(), person(first="Becky")
    [answer] = await associated(client, family(parent, [child], roleCode="FA", childRoleCode="FC"))
    group_id = answer["entity"]["associationDetails"]["groupId"]
    before = len(await event_names(client))
    changed = await move(client, parent, roleCode="HEAD", groupName="The Sawyers")
    assert changed["errors"] == [] and changed["associationDetails"]["roleCode"] == "HEAD"
    assert changed["associationDetails"]["childCustomer"] is False
    [group] = await group_rows(client)
    assert (group.primary_role, group.name) == ("HEAD", "The Sawyers")
    member = await move(client, child, roleCode="KID")
    assert member["associationDetails"]["roleCode"] == "KID"
    assert member["associationDetails"]["parentCustomer"]["id"] == answer["entity"]["id"]
    assert await members(client, group_id) == {answer["childEntities"][0]["id"]: "KID"}
    assert (await event_names(client))[before:] == ["groupUpdated", "groupUpdated"]
    # The same again changes nothing and raises nothing.
    await move(client, child, roleCode="KID")
    await move(client, parent, roleCode="HEAD")
    assert len(await event_names(client)) == before + 2


async def test_a_new_parent_moves_the_member_between_groups(harness: Harness) -> None:
    client = await group_org(harness)
    old_parent, new_parent, child = person(), person(first="Polly"), person(first="Becky")
    [old] = await associated(client, family(old_parent, [child], childRoleCode="FC"))
    await associated(client, family(new_parent, []))
    before = len(await event_names(client))
    moved = await move(client, child, parent=new_parent)
    details = moved["associationDetails"]
    assert details["childCustomer"] is True and details["roleCode"] == "FC"
    old_group, new_group = await group_rows(client)
    assert details["groupId"] == new_group.group_id
    assert await members(client, old_group.group_id) == {}
    assert await members(client, new_group.group_id) == {old["childEntities"][0]["id"]: "FC"}
    assert (await event_names(client))[before:] == ["groupMemberRemoved", "groupMemberAdded"]


async def test_a_new_parent_heading_no_group_gets_one(harness: Harness) -> None:
    client = await group_org(harness)
    parent, child = person(), person()
    await associated(client, parent, child)  # plain registrations
    moved = await move(client, child, parent=parent, roleCode="FC")
    assert moved["associationDetails"]["roleCode"] == "FC"
    assert (await event_names(client))[-2:] == ["groupCreated", "groupMemberAdded"]


async def test_update_association_refusals(harness: Harness) -> None:
    client = await group_org(harness)
    parent, child, loner = person(), person(), person()
    await associated(client, family(parent, [child]), loner)
    r = await client.put(
        "/v2/customers/bulk",
        params={"source": "INSTORE"},
        json=[
            {"profiles": person()["profiles"], "associationDetails": {"hierarchyCode": "FAMILY"}},
            {
                "profiles": loner["profiles"],
                "associationDetails": {"hierarchyCode": "FAMILY", "roleCode": "X"},
            },
            {
                "profiles": parent["profiles"],
                "associationDetails": {
                    "hierarchyCode": "FAMILY",
                    "parentCustomer": {"profiles": loner["profiles"]},
                },
            },
            {
                "profiles": loner["profiles"],
                "associationDetails": {
                    "hierarchyCode": "FAMILY",
                    "parentCustomer": {"profiles": loner["profiles"]},
                },
            },
            {"profiles": loner["profiles"], "associationDetails": {"hierarchyCode": "NOPE"}},
            {
                "profiles": loner["profiles"],
                "associationDetails": {
                    "hierarchyCode": "FAMILY",
                    "parentCustomer": {"profiles": child["profiles"]},
                },
            },
        ],
    )
    assert r.status_code == 200, r.text
    assert [codes(item) for item in r.json()] == [[8015], [2069], [2066], [2065], [2063], [2067]]
    ChangesAnswer.model_validate(r.json())
    assert all(item["id"] is None for item in r.json())


async def test_update_association_finds_customers_in_the_named_source(harness: Harness) -> None:
    client = await group_org(harness)
    parent, child = person(), person()
    await associated(client, family(parent, [child]))
    r = await client.put(
        "/v2/customers/bulk",
        params={"source": "WECHAT", "accountId": "WECHAT-CM"},
        json=[
            {
                "profiles": child["profiles"],
                "associationDetails": {"hierarchyCode": "FAMILY", "roleCode": "Z"},
            }
        ],
    )
    assert codes(r.json()[0]) == [8015]
    r = await client.put("/v2/customers/bulk", params={"source": "NOPE"}, json=[])
    assert r.status_code == 400 and codes(r.json()) == [8012]
    all_sources = await move(client, child, roleCode="Z", source="ALL")
    assert all_sources["associationDetails"]["roleCode"] == "Z"


# --- Get Customers (Group Loyalty) ----------------------------------------------------------


async def children_of(client: Any, parent: dict[str, Any], **params: Any) -> dict[str, Any]:
    query = {
        "source": "INSTORE",
        "associationEntityType": "parentCustomer",
        "associationEntityIdentifierType": "mobile",
        "associationEntityIdentifierValue": number_of(parent),
        **params,
    }
    r = await client.get("/v2/customers/bulk", params=query)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_children_of_a_parent_page_by_page_in_the_order_asked(harness: Harness) -> None:
    client = await group_org(harness)
    parent = person()
    kids = [person(first=f"Kid{i}") for i in range(5)]
    [answer] = await associated(client, family(parent, kids, childRoleCode="FC"))
    ids = [c["id"] for c in answer["childEntities"]]
    page = await children_of(client, parent, limit="2")
    ChildrenAnswer.model_validate(page)
    assert page["success"] is True and page["entity"]["count"] == 5
    assert [c["id"] for c in page["entity"]["customers"]] == ids[::-1][:2]  # newest first
    page = await children_of(client, parent, limit="2", offset="2", sortOrder="ASC")
    assert [c["id"] for c in page["entity"]["customers"]] == ids[2:4]
    customer = page["entity"]["customers"][0]
    assert customer["associationDetails"]["roleCode"] == "FC"
    assert customer["profiles"][0]["source"] == "INSTORE"
    page = await children_of(client, parent, sortBy="lastUpdatedOn", offset="10")
    assert page["entity"]["customers"] == [] and page["entity"]["count"] == 5
    # A child updated last comes first by lastUpdatedOn, descending.
    r = await client.put(
        f"/v2/customers/{ids[0]}", params={"source": "INSTORE"}, json={"profiles": [{"firstName": "Renamed"}]}
    )
    assert r.status_code == 200, r.text
    page = await children_of(client, parent, sortBy="lastUpdatedOn", limit="1")
    assert [c["id"] for c in page["entity"]["customers"]] == [ids[0]]


async def test_children_in_every_hierarchy_or_one(harness: Harness) -> None:
    client = await group_org(harness)
    parent = person()
    await associated(
        client, family(parent, [person()]), family(parent, [person(), person()], hierarchy="FLEET")
    )
    assert (await children_of(client, parent))["entity"]["count"] == 3
    fleet = await children_of(client, parent, hierarchyCode="FLEET")
    assert fleet["entity"]["count"] == 2
    assert {c["associationDetails"]["hierarchyCode"] for c in fleet["entity"]["customers"]} == {"FLEET"}
    wechat = await children_of(client, parent, source="ALL")
    assert wechat["entity"]["count"] == 3


async def test_get_customers_refuses_what_it_cannot_answer(harness: Harness) -> None:
    client = await group_org(harness)
    parent = person()
    await associated(client, family(parent, [person()]))
    base = {
        "source": "INSTORE",
        "associationEntityType": "parentCustomer",
        "associationEntityIdentifierType": "mobile",
        "associationEntityIdentifierValue": number_of(parent),
    }
    for bad in (
        {"associationEntityType": "company"},
        {"limit": "0"},
        {"limit": "101"},
        {"offset": "-1"},
        {"sortBy": "name"},
        {"sortOrder": "UP"},
        {"associationEntityIdentifierType": "nope"},
    ):
        r = await client.get("/v2/customers/bulk", params={**base, **bad})
        assert r.status_code == 400, bad
    r = await client.get("/v2/customers/bulk", params={**base, "associationEntityIdentifierValue": mobile()})
    assert r.status_code == 404 and codes(r.json()) == [8015]
    lonely = person()
    await associated(client, lonely)
    page = await children_of(client, lonely)
    assert page["entity"] == {"customers": [], "count": 0, "errors": [], "warnings": []}


# --- Contributions to the pool --------------------------------------------------------------


async def ledger_of(client: Any, customer_id: int) -> list[tuple[str, int, Any, str | None, Any]]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT kind, points, group_id, ref_kind, ref_id FROM points_ledger WHERE org_id = :o"
        " AND customer_id = :c ORDER BY entry_id",
        o=client.org_id,
        c=customer_id,
    )
    return [(r.kind, r.points, r.group_id, r.ref_kind, r.ref_id) for r in found]


async def a_family(client: Any) -> tuple[int, int, int]:
    """(group id, parent id, child id) of a new FAMILY group with one child."""
    [answer] = await associated(client, family(person(), [person(first="Becky")]))
    parent_id, [child_id] = ids_of(answer)
    return answer["entity"]["associationDetails"]["groupId"], parent_id, child_id


async def contribute(
    client: Any, group_id: Any, customer_id: int, points: int, headers: Any = None, **extra: Any
) -> Any:
    return await client.post(
        f"/v2/groups/{group_id}/contributions",
        json={"customerId": customer_id, "points": points, **extra},
        headers=headers or {},
    )


async def test_a_member_moves_points_into_the_pool(harness: Harness) -> None:
    client = await group_org(harness)
    group_id, parent_id, child_id = await a_family(client)
    r = await contribute(client, group_id, child_id, 40)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sideEffects"] == [{"type": "points", "contributedPoints": 40}] and body["warnings"] == []
    assert await ledger_of(client, child_id) == [
        ("registration", 100, None, None, None),
        ("group_contribution", -40, None, "group", group_id),
        ("group_pool_in", 40, group_id, "group", group_id),
    ]
    acc = await summary(client, child_id)
    assert (acc["loyaltyPoints"], acc["lifetimePoints"], acc["adjusted"]) == (60, 100, -40)
    r = await contribute(client, group_id, parent_id, 100)  # the primary contributes too
    assert r.status_code == 200, r.text
    [group] = await group_rows(client)
    assert (group.loyalty_points, group.lifetime_points) == (140, 140)
    assert body["createdId"] != r.json()["createdId"]


async def test_more_than_the_balance_is_refused_and_nothing_written(harness: Harness) -> None:
    client = await group_org(harness)
    group_id, _, child_id = await a_family(client)
    r = await contribute(client, group_id, child_id, 101)
    assert r.status_code == 422 and codes(r.json()) == [2010]
    assert len(await ledger_of(client, child_id)) == 1
    [group] = await group_rows(client)
    assert group.loyalty_points == 0
    assert "pointsContributionToGroup" not in await event_names(client)


async def test_contribution_refusals(harness: Harness) -> None:
    client = await group_org(harness)
    group_id, _, child_id = await a_family(client)
    other_group, _, stranger = await a_family(client)
    r = await contribute(client, group_id, stranger, 10)
    assert r.status_code == 422 and codes(r.json()) == [2061]
    r = await contribute(client, group_id, child_id, 10, programId=2020)  # not pooled by program 7
    assert r.status_code == 422 and codes(r.json()) == [2062]
    r = await contribute(client, group_id, child_id, 10, programId=999)
    assert r.status_code == 400 and codes(r.json()) == [2002]
    for missing in (other_group + 1000, "abc", "1" * 19):
        r = await contribute(client, missing, child_id, 10)
        assert r.status_code == 404 and codes(r.json()) == [2060], missing
    r = await contribute(client, group_id, child_id + 1000, 10)
    assert r.status_code == 404 and codes(r.json()) == [8015]
    r = await contribute(client, group_id, child_id, 0)
    assert r.status_code == 400
    assert len(await ledger_of(client, child_id)) == 1


async def test_a_non_loyalty_member_holds_no_points_to_give(harness: Harness) -> None:
    client = await group_org(harness)
    [answer] = await associated(client, family(person(), [person(loyalty="non_loyalty")]))
    group_id = answer["entity"]["associationDetails"]["groupId"]
    r = await contribute(client, group_id, answer["childEntities"][0]["id"], 1)
    assert r.status_code == 422 and codes(r.json()) == [1013]


async def test_a_group_of_another_org_is_not_found(harness: Harness) -> None:
    client = await group_org(harness)
    other = await group_org(harness)
    group_id, _, _ = await a_family(client)
    _, _, member = await a_family(other)
    r = await contribute(other, group_id, member, 1)
    assert r.status_code == 404 and codes(r.json()) == [2060]


async def test_a_contribution_with_an_idempotency_key_is_made_once(harness: Harness) -> None:
    client = await group_org(harness)
    group_id, _, child_id = await a_family(client)
    headers = {"Idempotency-Key": f"contribute-{mobile()}"}
    first = await contribute(client, group_id, child_id, 30, headers=headers)
    again = await contribute(client, group_id, child_id, 30, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    [group] = await group_rows(client)
    assert group.loyalty_points == 30


# --- concurrent writers ---------------------------------------------------------------------


async def test_concurrent_associations_of_one_parent_make_one_group(harness: Harness) -> None:
    client = await group_org(harness)
    parent = person()
    children = [person(first=f"Kid{i}") for i in range(6)]
    answers = await asyncio.gather(*(associate(client, family(parent, [child])) for child in children))
    assert all(r.status_code == 200 for r in answers)
    items = [r.json()[0] for r in answers]
    assert all(item["childSuccessCount"] == 1 for item in items), [item["childEntities"] for item in items]
    [group] = await group_rows(client)
    assert len(await members(client, group.group_id)) == 6
    names = await event_names(client)
    assert names.count("groupCreated") == 1 and names.count("groupMemberAdded") == 6
    assert names.count("customerAdded") == 7


async def test_one_child_claimed_by_two_parents_at_once_joins_one(harness: Harness) -> None:
    client = await group_org(harness)
    child = person()
    answers = await asyncio.gather(*(associate(client, family(person(), [child])) for _ in range(4)))
    outcomes = sorted(tuple(codes(r.json()[0]["childEntities"][0])) for r in answers)
    assert outcomes == [(), (2064,), (2064,), (2064,)]
    assert (await event_names(client)).count("groupMemberAdded") == 1


async def test_concurrent_contributions_never_overdraw(harness: Harness) -> None:
    client = await group_org(harness)
    group_id, _, child_id = await a_family(client)  # the child holds 100 points
    answers = await asyncio.gather(*(contribute(client, group_id, child_id, 30) for _ in range(6)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 422, 422, 422]
    assert (await summary(client, child_id))["loyaltyPoints"] == 10
    [group] = await group_rows(client)
    assert (group.loyalty_points, group.lifetime_points) == (90, 90)


async def test_a_required_mobile_that_is_invalid_is_named_so(harness: Harness) -> None:
    client = await group_org(harness)
    # A loyalty customer of an org whose primary identifier is mobile: without it, no.
    child = person("12", extra=[{"type": "email", "value": email()}])
    alone = person("34")  # a mobile that is all a profile has is not dropped
    [answer] = await associated(client, family(person(), [child, alone]))
    first, second = answer["childEntities"]
    assert codes(first) == [1001] and "'12' is dropped" in first["errors"][0]["message"]
    assert codes(second) == [1001] and "'34'" in second["errors"][0]["message"]


async def test_the_ledger_rebuilds_the_member_summaries_and_pools_as_they_are(harness: Harness) -> None:
    client = await group_org(harness)
    group_id, parent_id, child_id = await a_family(client)
    await a_family(client)  # a second group, its pool empty
    for customer_id, points in ((child_id, 40), (parent_id, 70), (child_id, 10)):
        assert (await contribute(client, group_id, customer_id, points)).status_code == 200
    found: list[Any] = []
    report = await rebuild(harness.app.state.db, client.org_id, dry_run=True, on_difference=found.append)
    assert found == [] and report.differences == 0 and report.groups == 2
    assert report.entries == 4 + 6  # four registrations, two entries per contribution
