"""Reads of the ledger and the summaries for the transfer, goodwill and concurrency tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.conftest import OrgClient
from tests.support import rows


async def entries(client: OrgClient, customer_id: int, program_id: int = 1016) -> list[SimpleNamespace]:
    """The customer's ledger entries in a program, oldest first."""
    return await rows(
        client.harness.app.state.db,
        "SELECT kind, points, ref_kind, ref_id, expires_at, notes, created_at FROM points_ledger"
        " WHERE org_id = :o AND customer_id = :c AND program_id = :p ORDER BY entry_id",
        o=client.org_id,
        c=customer_id,
        p=program_id,
    )


async def kinds(client: OrgClient, customer_id: int, program_id: int = 1016) -> list[tuple[str, int]]:
    return [(e.kind, int(e.points)) for e in await entries(client, customer_id, program_id)]


async def account(client: OrgClient, customer_id: int, program_id: int = 1016) -> dict[str, Any] | None:
    """The customer's summary row in a program (None when not enrolled)."""
    found = await rows(
        client.harness.app.state.db,
        "SELECT loyalty_points, lifetime_points, redeemed, expired, returned, adjusted"
        " FROM loyalty_enrollment WHERE org_id = :o AND customer_id = :c AND program_id = :p",
        o=client.org_id,
        c=customer_id,
        p=program_id,
    )
    return {k: int(v) for k, v in vars(found[0]).items()} if found else None


async def balance(client: OrgClient, customer_id: int, program_id: int = 1016) -> int:
    acc = await account(client, customer_id, program_id)
    return 0 if acc is None else acc["loyalty_points"]


async def ledger_sum(client: OrgClient, customer_id: int, program_id: int = 1016) -> int:
    return sum(int(e.points) for e in await entries(client, customer_id, program_id))
