"""Helpers of the group tests: an org whose group program lists the hierarchies the tests
use, request bodies of the bulk operations, and reads of groups and events."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.conftest import Harness, OrgClient
from tests.loyalty.support import LOYALTY, loyalty_org
from tests.support import mobile, outbox, rows

# FAMILY (the example), FLEET (a second hierarchy of the same program) and the
# seed's own code-association2 (003:L670).
HIERARCHIES = ["FAMILY", "FLEET", "code-association2"]


async def group_org(harness: Harness, **overrides: Any) -> OrgClient:
    programs = copy.deepcopy(LOYALTY["groupPrograms"])
    programs[0]["hierarchyCodes"] = list(HIERARCHIES)
    return await loyalty_org(harness, **{"groupPrograms": programs, **overrides})


def person(
    number: str | None = None,
    *,
    first: str = "Tom",
    last: str = "Sawyer",
    source: str = "INSTORE",
    account_id: str | None = None,
    loyalty: str | None = "loyalty",
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A customer object of the bulk arrays (loyaltyInfo omitted when `loyalty` is None)."""
    profile: dict[str, Any] = {
        "firstName": first,
        "lastName": last,
        "source": source,
        "identifiers": [{"type": "mobile", "value": number or mobile()}, *(extra or [])],
    }
    if account_id is not None:
        profile["accountId"] = account_id
    body: dict[str, Any] = {"profiles": [profile]}
    if loyalty is not None:
        body["loyaltyInfo"] = {"loyaltyType": loyalty}
    return body


def number_of(body: dict[str, Any]) -> str:
    return str(body["profiles"][0]["identifiers"][0]["value"])


def family(
    parent: dict[str, Any], children: list[dict[str, Any]], hierarchy: str = "FAMILY", **details: Any
) -> dict[str, Any]:
    return {
        **parent,
        "associationDetails": {"hierarchyCode": hierarchy, "childCustomers": children, **details},
    }


async def associate(client: OrgClient, *items: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return await client.post("/v2/customers/bulk", json=list(items), **kwargs)


async def associated(client: OrgClient, *items: dict[str, Any]) -> list[dict[str, Any]]:
    r = await associate(client, *items)
    assert r.status_code == 200, r.text
    answer: list[dict[str, Any]] = r.json()
    assert len(answer) == len(items)
    return answer


async def move(
    client: OrgClient,
    member: dict[str, Any],
    hierarchy: str = "FAMILY",
    *,
    parent: dict[str, Any] | None = None,
    source: str = "INSTORE",
    **details: Any,
) -> dict[str, Any]:
    """One item of Update Association Details, answered without error."""
    association: dict[str, Any] = {"hierarchyCode": hierarchy, **details}
    if parent is not None:
        association["parentCustomer"] = {"profiles": parent["profiles"]}
    r = await client.put(
        "/v2/customers/bulk",
        params={"source": source},
        json=[{"profiles": member["profiles"], "associationDetails": association}],
    )
    assert r.status_code == 200, r.text
    [item] = r.json()
    return dict(item)


async def group_rows(client: OrgClient) -> list[Any]:
    return await rows(
        client.harness.app.state.db,
        "SELECT group_id, name, hierarchy_code, group_program_id, primary_customer_id, primary_role,"
        " loyalty_points, lifetime_points FROM customer_group WHERE org_id = :o ORDER BY group_id",
        o=client.org_id,
    )


async def members(client: OrgClient, group_id: int) -> dict[int, str]:
    found = await rows(
        client.harness.app.state.db,
        "SELECT customer_id, role_code FROM group_member WHERE org_id = :o AND group_id = :g",
        o=client.org_id,
        g=group_id,
    )
    return {r.customer_id: r.role_code for r in found}


async def event_names(client: OrgClient) -> list[str]:
    return [e["eventType"] for e in await outbox(client.harness, client.org_id)]


async def events_named(client: OrgClient, name: str) -> list[dict[str, Any]]:
    return [e for e in await outbox(client.harness, client.org_id) if e["eventType"] == name]


async def customer_count(client: OrgClient) -> int:
    found = await rows(
        client.harness.app.state.db, "SELECT COUNT(*) AS n FROM customer WHERE org_id = :o", o=client.org_id
    )
    return int(found[0].n)
