"""Helpers of the loyalty read tests: the two loyalty-details calls, the seed samples they
are compared with, rows the other loyalty slices would write (groups, expiries), and a
count of the statements a request issues."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.api.seedtext import SEED_003, seed_json
from tests.conftest import OrgClient
from tests.support import execute

_ids = itertools.count(random.Random().randrange(10**12, 9 * 10**12, 10**6))


def sample(first: int, last: int, fixes: tuple[tuple[str, str], ...] = ()) -> Any:
    return seed_json(SEED_003, first, last, fixes)


async def loyalty_details(client: OrgClient, customer_id: int | str, **params: str) -> httpx.Response:
    return await client.get(f"/v2/customers/{customer_id}/loyaltyDetails", params=params)


async def lookup_details(client: OrgClient, **params: str) -> httpx.Response:
    return await client.get("/v2/customers/lookup/loyaltyDetails", params=params)


def entry(body: dict[str, Any], program_id: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [e for e in body["data"] if e["programId"] == program_id]
    assert len(found) == 1, body
    return found[0]


async def customer_details(client: OrgClient, customer_id: int, embed: str, **params: str) -> dict[str, Any]:
    r = await client.get(f"/v2/customers/{customer_id}", params={"source": "ALL", "embed": embed, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def add_group(
    client: OrgClient,
    primary: int,
    members: list[int],
    *,
    hierarchy_code: str = "FAMILY",
    group_program_id: int | None = 7,
    points: tuple[int, int, int] = (0, 0, 0),
) -> int:
    """A group with its pool, as the groups slice stores one (its routes may not exist yet)."""
    db, org_id, group_id, now = client.harness.app.state.db, client.org_id, next(_ids), datetime.now(UTC)
    await execute(
        db,
        "INSERT INTO customer_group (org_id, group_id, name, hierarchy_code, group_program_id,"
        " primary_customer_id, primary_role, loyalty_points, lifetime_points, promised_points,"
        " created_at, updated_at) VALUES (:org_id, :group_id, :name, :code, :program, :primary, 'FA',"
        " :loyalty, :lifetime, :promised, :now, :now)",
        org_id=org_id,
        group_id=group_id,
        name=f"Group {group_id}",
        code=hierarchy_code,
        program=group_program_id,
        primary=primary,
        loyalty=points[0],
        lifetime=points[1],
        promised=points[2],
        now=now,
    )
    for member in members:
        await execute(
            db,
            "INSERT INTO group_member (org_id, group_id, customer_id, role_code, joined_at)"
            " VALUES (:org_id, :group_id, :customer_id, 'FC', :now)",
            org_id=org_id,
            group_id=group_id,
            customer_id=member,
            now=now,
        )
    return group_id


async def expire_points(client: OrgClient, customer_id: int, points: int, program_id: int = 1016) -> None:
    """An expiry as the expiry job writes one: an `expire` entry and the summary moved by it."""
    db, org_id, now = client.harness.app.state.db, client.org_id, datetime.now(UTC)
    await execute(
        db,
        "INSERT INTO points_ledger (org_id, entry_id, customer_id, program_id, kind, points, ref_kind,"
        " till_id, request_id, created_at) VALUES (:org_id, :entry_id, :customer_id, :program_id,"
        " 'expire', :points, 'scheduler', 0, '', :now)",
        org_id=org_id,
        entry_id=next(_ids),
        customer_id=customer_id,
        program_id=program_id,
        points=-points,
        now=now,
    )
    await execute(
        db,
        "UPDATE loyalty_enrollment SET loyalty_points = loyalty_points - :points, expired = expired + :points"
        " WHERE org_id = :org_id AND customer_id = :customer_id AND program_id = :program_id",
        org_id=org_id,
        customer_id=customer_id,
        program_id=program_id,
        points=points,
    )


async def set_expiry(client: OrgClient, customer_id: int, kind: str, expires_at: datetime) -> None:
    """Move the expiry of a customer's credits of one kind (as if earned long ago)."""
    await execute(
        client.harness.app.state.db,
        "UPDATE points_ledger SET expires_at = :at WHERE org_id = :org_id AND customer_id = :customer_id"
        " AND kind = :kind",
        org_id=client.org_id,
        customer_id=customer_id,
        kind=kind,
        at=expires_at,
    )


@asynccontextmanager
async def statements(client: OrgClient) -> AsyncIterator[list[str]]:
    """The statements the caller's task issues meanwhile (requests through the ASGI
    transport run in it; the in-process worker runs in tasks of its own), but the till's
    authentication."""
    seen: list[str] = []
    caller = asyncio.current_task()

    def observe(dialect: str, text: str) -> None:
        if asyncio.current_task() is caller and " till" not in text:
            seen.append(text)

    observers = client.harness.app.state.db.observers
    observers.append(observe)
    try:
        yield seen
    finally:
        observers.remove(observe)
