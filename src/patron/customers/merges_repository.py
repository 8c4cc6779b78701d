"""The statements of merges (customers/merges.py): the `customer_merge` row each merge
writes, what stayed with a merged-away customer, and a customer's merges newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx

MERGE = Table(
    "customer_merge",
    (
        ("org_id", "bigint"),
        ("merge_id", "bigint"),
        ("kind", "text"),
        ("survivor_id", "bigint"),
        ("victim_id", "bigint"),
        ("created_at", "timestamptz"),
        ("till_id", "bigint"),
        ("request_id", "text"),
        ("change_set", "jsonb"),
    ),
)
# What a merge leaves with the victim, each through an index that starts (org_id,
# customer_id ...): enrollments of programs the survivor holds and their ledger entries and
# bills, group and partner memberships, coupons, subscriptions, user-namespace records.
_STAYED = Q(
    " UNION ALL ".join(
        f"SELECT '{name}', {number}, {text} FROM {table} WHERE org_id = :org_id AND {column} = :customer_id"
        for name, number, text, table, column in (
            ("enrollments", "program_id", "CAST(NULL AS TEXT)", "loyalty_enrollment", "customer_id"),
            ("ledgerEntries", "entry_id", "CAST(NULL AS TEXT)", "points_ledger", "customer_id"),
            ("bills", "bill_id", "CAST(NULL AS TEXT)", "loyalty_bill", "customer_id"),
            ("groupMemberships", "group_id", "CAST(NULL AS TEXT)", "group_member", "customer_id"),
            (
                "partnerMemberships",
                "partner_program_id",
                "CAST(NULL AS TEXT)",
                "partner_membership",
                "customer_id",
            ),
            ("coupons", "coupon_id", "CAST(NULL AS TEXT)", "coupon", "customer_id"),
            (
                "subscriptions",
                "CAST(NULL AS BIGINT)",
                "source || ' ' || account_id || ' ' || channel || ' ' || priority",
                "customer_subscription",
                "customer_id",
            ),
            ("userRecords", "record_id", "CAST(NULL AS TEXT)", "user_record", "customer_id"),
        )
    )
)
_CUSTOMER = Q("SELECT merged_into_id FROM customer WHERE org_id = :org_id AND customer_id = :customer_id")
# A customer's merges as survivor or as victim, through the two indexes, newest first.
_OF_CUSTOMER = Q(
    "SELECT m.merge_id, m.kind, m.survivor_id, m.victim_id, m.created_at, m.till_id, t.code, t.name,"
    " m.change_set, m.undone_at, m.undo_till_id FROM ("
    " SELECT merge_id FROM customer_merge WHERE org_id = :org_id AND survivor_id = :customer_id"
    " UNION ALL"
    " SELECT merge_id FROM customer_merge WHERE org_id = :org_id AND victim_id = :customer_id) k"
    " JOIN customer_merge m ON m.org_id = :org_id AND m.merge_id = k.merge_id"
    " LEFT JOIN till t ON t.org_id = m.org_id AND t.till_id = m.till_id"
    " ORDER BY m.merge_id DESC LIMIT :limit OFFSET :offset"
)
_COUNT = Q(
    "SELECT (SELECT COUNT(*) FROM customer_merge WHERE org_id = :org_id AND survivor_id = :customer_id)"
    " + (SELECT COUNT(*) FROM customer_merge WHERE org_id = :org_id AND victim_id = :customer_id)"
)


@dataclass(frozen=True, slots=True)
class MergeRow:
    merge_id: int
    kind: str
    survivor_id: int
    victim_id: int | None
    created_at: datetime
    till_id: int
    till_code: str | None
    till_name: str | None
    change_set: dict[str, Any]
    undone_at: datetime | None
    undo_till_id: int | None


class MergeRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, row: dict[str, Any]) -> None:
        await self.tx.insert(MERGE, [row])

    async def stayed(self, org_id: int, customer_id: int) -> dict[str, list[Any]]:
        """What the customer still holds, by kind (ids, or the subscription's keys)."""
        found: dict[str, list[Any]] = {}
        for r in await self.tx.all(_STAYED, org_id=org_id, customer_id=customer_id):
            found.setdefault(r[0], []).append(int(r[1]) if r[1] is not None else r[2])
        return {kind: sorted(values) for kind, values in found.items()}

    async def merged_into(self, org_id: int, customer_id: int) -> tuple[bool, int | None]:
        """(whether the customer exists, the customer it was merged into)."""
        r = await self.tx.one(_CUSTOMER, org_id=org_id, customer_id=customer_id)
        return (False, None) if r is None else (True, None if r[0] is None else int(r[0]))

    async def count(self, org_id: int, customer_id: int) -> int:
        return int(await self.tx.val(_COUNT, org_id=org_id, customer_id=customer_id) or 0)

    async def of_customer(self, org_id: int, customer_id: int, *, limit: int, offset: int) -> list[MergeRow]:
        rows = await self.tx.all(
            _OF_CUSTOMER, org_id=org_id, customer_id=customer_id, limit=limit, offset=offset
        )
        return [_row(r) for r in rows]


def _row(r: Row) -> MergeRow:
    return MergeRow(
        merge_id=int(r[0]),
        kind=r[1],
        survivor_id=int(r[2]),
        victim_id=None if r[3] is None else int(r[3]),
        created_at=r[4],
        till_id=int(r[5]),
        till_code=r[6],
        till_name=r[7],
        change_set=dict(r[8]),
        undone_at=r[9],
        undo_till_id=None if r[10] is None else int(r[10]),
    )
