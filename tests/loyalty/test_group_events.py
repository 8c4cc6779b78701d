"""The five group events on both engines: which call raises which, what each says, that
they are written with their change (or not at all), and that a real receiver gets them all,
signed, through the webhook worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from patron.events.registry import REGISTRY
from patron.loyalty.group_events import (
    GroupCreated,
    GroupMemberAdded,
    GroupMemberRemoved,
    GroupUpdated,
    PointsContributedToGroup,
)
from tests.conftest import Harness, OrgClient
from tests.loyalty.group_support import (
    associated,
    event_names,
    events_named,
    family,
    group_org,
    move,
    person,
)
from tests.webhooks.receiver import Receiver

GROUP_EVENTS = {
    "groupCreated": GroupCreated,
    "groupUpdated": GroupUpdated,
    "groupMemberAdded": GroupMemberAdded,
    "groupMemberRemoved": GroupMemberRemoved,
    "pointsContributionToGroup": PointsContributedToGroup,
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


def test_the_five_group_events_are_registered_with_their_triggers() -> None:
    for name, cls in GROUP_EVENTS.items():
        spec = REGISTRY[name]
        assert spec.event_class is cls and spec.trigger
    assert "/v2/groups/{groupId}/contributions" in REGISTRY["pointsContributionToGroup"].trigger


def data(event: dict[str, Any]) -> dict[str, Any]:
    return dict(event["attributes"]["data"])


def member_id(member: dict[str, Any]) -> int:
    return int(member["customerIdentifiers"]["customerId"])


async def one_of_each(client: OrgClient) -> dict[str, int]:
    """Every group event once or more: a group, a role change, a move, a contribution."""
    parent, child, other = person(first="Polly"), person(first="Becky"), person(first="Sid")
    [first, second] = await associated(
        client, family(parent, [child], roleCode="FA", childRoleCode="FC", groupName="Sawyers"), other
    )
    await move(client, parent, roleCode="HEAD")
    moved = await move(client, child, parent=other)
    ids = {
        "parent": first["entity"]["id"],
        "child": first["childEntities"][0]["id"],
        "other": second["entity"]["id"],
        "old_group": first["entity"]["associationDetails"]["groupId"],
        "new_group": moved["associationDetails"]["groupId"],
    }
    r = await client.post(
        f"/v2/groups/{ids['new_group']}/contributions", json={"customerId": ids["child"], "points": 25}
    )
    assert r.status_code == 200, r.text
    return ids


async def test_each_call_raises_its_group_events(harness: Harness) -> None:
    client = await group_org(harness)
    ids = await one_of_each(client)
    names = [n for n in await event_names(client) if n not in ("customerAdded", "customerUpdated")]
    assert names == [
        "groupCreated",  # POST bulk: the parent's group
        "groupMemberAdded",  # ... and its child
        "groupUpdated",  # PUT bulk: the primary's role
        "groupCreated",  # PUT bulk: the new parent heads no group yet
        "groupMemberRemoved",  # ... the child leaves its group
        "groupMemberAdded",  # ... and joins the new one
        "pointsContributionToGroup",  # POST /v2/groups/{groupId}/contributions
    ]
    created, _ = await events_named(client, "groupCreated")
    assert data(created)["groupId"] == ids["old_group"] and data(created)["groupName"] == "Sawyers"
    assert member_id(data(created)["primaryMember"]) == ids["parent"]
    assert data(created)["primaryMember"]["role"] == "FA"
    assert data(created)["primaryMember"]["firstName"] == "Polly"
    assert created["attributes"]["refId"] == f"{client.org_id}_{ids['old_group']}"
    added, moved_in = await events_named(client, "groupMemberAdded")
    assert (
        member_id(data(added)["memberAdded"]) == ids["child"] and data(added)["memberAdded"]["role"] == "FC"
    )
    assert data(moved_in)["groupId"] == ids["new_group"]
    assert member_id(data(moved_in)["primaryMember"]) == ids["other"]
    assert data(moved_in)["memberAdded"]["role"] == "FC"  # the member keeps its role
    [updated] = await events_named(client, "groupUpdated")
    assert data(updated)["primaryMember"]["role"] == "HEAD"
    [removed] = await events_named(client, "groupMemberRemoved")
    assert data(removed)["groupId"] == ids["old_group"]
    assert member_id(data(removed)["memberRemoved"]) == ids["child"]
    assert member_id(data(removed)["primaryMember"]) == ids["parent"]
    [points] = await events_named(client, "pointsContributionToGroup")
    d = data(points)
    assert (d["groupId"], d["loyaltyProgramId"], d["pointsContributedToGroup"]) == (
        ids["new_group"],
        1016,
        25,
    )
    assert (
        member_id(d["contributingMember"]) == ids["child"] and member_id(d["primaryMember"]) == ids["other"]
    )
    assert d["loyaltyProgramDetails"]["isDefault"] is True
    assert d["triggeringActivity"]["entityInformation"] == {"entityType": "USER", "entityId": ids["child"]}
    assert "enteredBy" not in d and "user" not in d["triggeringActivity"]["enteredBy"]
    for event in (created, added, updated, removed):
        assert data(event)["enteredBy"]["user"]["username"] == client.username
        entered_at = data(event)["enteredAt"]  # epoch ms, the change's time: before it was stored
        assert isinstance(entered_at, int) and 0 <= event["attributes"]["createdAt"] - entered_at < 60_000


async def test_a_failed_child_or_refused_contribution_leaves_no_event(harness: Harness) -> None:
    client = await group_org(harness)
    parent, child = person(), person()
    [answer] = await associated(client, family(parent, [child, parent]))
    assert answer["childFailureCount"] == 1
    assert (await event_names(client)).count("groupMemberAdded") == 1
    group_id = answer["entity"]["associationDetails"]["groupId"]
    r = await client.post(
        f"/v2/groups/{group_id}/contributions",
        json={"customerId": answer["childEntities"][0]["id"], "points": 999},
    )
    assert r.status_code == 422
    assert "pointsContributionToGroup" not in await event_names(client)


async def test_a_receiver_gets_all_five_signed(harness: Harness, receiver: Receiver) -> None:
    client = await group_org(harness)
    r = await client.post("/v2/webhooks", json={"url": receiver.url(), "events": list(GROUP_EVENTS)})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    ids = await one_of_each(client)
    await receiver.wait_for(lambda reqs: len(reqs) >= 7)
    payloads = [Webhook(secret).verify(req.body, req.headers) for req in receiver.requests]
    assert sorted(p["eventType"] for p in payloads) == sorted(
        ["groupCreated"] * 2
        + ["groupMemberAdded"] * 2
        + ["groupUpdated", "groupMemberRemoved", "pointsContributionToGroup"]
    )
    assert {req.event_id for req in receiver.requests} == {p["eventId"] for p in payloads}
    # Deliveries are ordered per the customer each event is about: the child's own events
    # arrive in the order they happened.
    childs = [
        p["eventType"]
        for p in payloads
        if p["eventType"] in ("groupMemberAdded", "groupMemberRemoved", "pointsContributionToGroup")
    ]
    assert childs == [
        "groupMemberAdded",
        "groupMemberRemoved",
        "groupMemberAdded",
        "pointsContributionToGroup",
    ]
    assert all(p["attributes"]["orgId"] == client.org_id for p in payloads)
    assert {p["attributes"]["data"]["groupId"] for p in payloads} == {ids["old_group"], ids["new_group"]}
