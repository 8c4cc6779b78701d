"""The statements of points transfers (loyalty/transfers.py)."""

from __future__ import annotations

from datetime import datetime

from patron.db.sql import Q
from patron.db.tx import Table, Tx

TRANSFER = Table(
    "points_transfer",
    (
        ("org_id", "bigint"),
        ("transfer_id", "bigint"),
        ("from_customer_id", "bigint"),
        ("to_customer_id", "bigint"),
        ("program_id", "bigint"),
        ("points", "bigint"),
        ("notes", "text"),
        ("till_id", "bigint"),
        ("created_at", "timestamptz"),
    ),
)
_CUSTOMER = Q("SELECT merged_into_id FROM customer WHERE org_id = :org_id AND customer_id = :customer_id")
# Both indexes of points_transfer serve the OR (a bitmap OR on PostgreSQL, SQLite's OR
# optimisation); a customer's transfers are few, so they are sorted in memory.
_TRANSFERS = Q(
    "SELECT transfer_id, from_customer_id, to_customer_id, program_id, points, notes, created_at"
    " FROM points_transfer WHERE org_id = :org_id"
    " AND (from_customer_id = :customer_id OR to_customer_id = :customer_id)"
    " ORDER BY created_at DESC, transfer_id DESC LIMIT :limit OFFSET :offset"
)
_NAMES = Q(
    "SELECT customer_id, first_name, last_name, created_at, source, account_id FROM customer_profile"
    " WHERE org_id = :org_id AND customer_id IN (:ids*)"
)


class TransferRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, row: dict[str, object]) -> None:
        await self.tx.insert(TRANSFER, [row])

    async def merged_into(self, org_id: int, customer_id: int) -> tuple[bool, int | None]:
        """(whether the customer exists, the customer it was merged into)."""
        r = await self.tx.one(_CUSTOMER, org_id=org_id, customer_id=customer_id)
        return (False, None) if r is None else (True, r[0])

    async def of_customer(
        self, org_id: int, customer_id: int, limit: int, offset: int
    ) -> list[tuple[int, int, int, int, int, str, datetime]]:
        rows = await self.tx.all(
            _TRANSFERS, org_id=org_id, customer_id=customer_id, limit=limit, offset=offset
        )
        return [(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5] or "", r[6]) for r in rows]

    async def names(self, org_id: int, customer_ids: set[int]) -> dict[int, tuple[str, str]]:
        """Each customer's names: those of its oldest profile that has a name."""
        rows = await self.tx.all(_NAMES, org_id=org_id, ids=sorted(customer_ids))
        found: dict[int, tuple[str, str]] = {}
        for r in sorted(rows, key=lambda r: (r[3], r[4], r[5])):
            cid, first, last = int(r[0]), r[1] or "", r[2] or ""
            if cid not in found and (first or last):
                found[cid] = (first, last)
        return found
