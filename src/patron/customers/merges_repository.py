"""The statements of merges (customers/merges.py): the `customer_merge` row each merge
writes, what stayed with a merged-away customer, a customer's merges newest first, and
the statements of an undo (customers/merge_undo.py) that give rows back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx
from patron.loyalty.ledger import Balances, apply

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


# The undo (customers/merge_undo.py). The merge row is held for the transaction, so two
# undos of one merge apply one after the other and the second finds it undone.
_GET = Q(
    sqlite="SELECT kind, survivor_id, victim_id, created_at, change_set, undone_at FROM customer_merge"
    " WHERE org_id = :org_id AND merge_id = :merge_id",
    postgresql="SELECT kind, survivor_id, victim_id, created_at, change_set, undone_at FROM customer_merge"
    " WHERE org_id = :org_id AND merge_id = :merge_id FOR UPDATE",
)
_UNDONE = Q(
    "UPDATE customer_merge SET undone_at = :now, undo_till_id = :till_id, undo_request_id = :request_id"
    " WHERE org_id = :org_id AND merge_id = :merge_id"
)
# Each statement gives `target` (the victim, or the customer a registration merge is split
# into) rows the survivor still holds, and answers what it gave.
_BACK_PROFILE = Q(
    "UPDATE customer_profile SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND source = :source AND account_id = :account_id"
)
_DROP_PROFILE = Q(
    "DELETE FROM customer_profile WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND source = :source AND account_id = :account_id"
)
_BACK_IDENTIFIERS = Q(
    "UPDATE customer_identifier SET customer_id = :target WHERE org_id = :org_id"
    " AND customer_id = :survivor AND source = :source AND account_id = :account_id"
    " RETURNING id_type, value"
)
_BACK_CARDS = Q(
    "UPDATE card SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND card_number IN (:numbers*) RETURNING card_id, card_number"
)
_BACK_ENROLLMENTS = Q(
    "UPDATE loyalty_enrollment SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND program_id IN (:programs*) RETURNING program_id"
)
_BACK_ENTRIES = Q(
    "UPDATE points_ledger SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND entry_id IN (:ids*) RETURNING entry_id"
)
_BACK_BILLS = Q(
    "UPDATE loyalty_bill SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND bill_id IN (:ids*) RETURNING bill_id"
)
# A registration merge lists no entry ids: the entries of the programs it enrolled the
# survivor in are those written by then (the survivor held none of these programs before).
_BACK_ENTRIES_UNTIL = Q(
    "UPDATE points_ledger SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND program_id IN (:programs*) AND group_id IS NULL AND created_at <= :since RETURNING entry_id"
)
_BACK_BILLS_UNTIL = Q(
    "UPDATE loyalty_bill SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND program_id IN (:programs*) AND created_at <= :since RETURNING bill_id"
)
_LEFT_ENTRIES = Q(
    "SELECT entry_id FROM points_ledger WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND program_id IN (:programs*) AND group_id IS NULL"
)
_LEFT_BILLS = Q(
    "SELECT bill_id FROM loyalty_bill WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND program_id IN (:programs*)"
)
# A coupon redeemed since the merge stays with the customer that redeemed it.
_BACK_COUPONS = Q(
    "UPDATE coupon SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND coupon_id IN (:ids*) AND NOT EXISTS (SELECT 1 FROM coupon_redemption r"
    " WHERE r.org_id = :org_id AND r.coupon_id = coupon.coupon_id AND r.redeemed_at > :since)"
    " RETURNING coupon_id"
)
_BACK_SUBSCRIPTION = Q(
    "UPDATE customer_subscription SET customer_id = :target WHERE org_id = :org_id"
    " AND customer_id = :survivor AND source = :source AND account_id = :account_id"
    " AND channel = :channel AND priority = :priority AND updated_at <= :since"
)
_BACK_USER_RECORDS = Q(
    "UPDATE user_record SET customer_id = :target WHERE org_id = :org_id AND customer_id = :survivor"
    " AND record_id IN (:ids*) AND updated_at <= :since RETURNING record_id"
)
# One customer's summaries in some programs folded from its ledger and its bills, as
# `patron loyalty rebuild` folds them (loyalty/rebuild.py).
_FOLD_ENTRIES = Q(
    "SELECT program_id, kind, points FROM points_ledger WHERE org_id = :org_id"
    " AND customer_id = :customer_id AND program_id IN (:programs*) AND group_id IS NULL"
    " ORDER BY program_id, entry_id"
)
_FOLD_BILLS = Q(
    sqlite="SELECT program_id,"
    " SUM(CASE type WHEN 'RETURN' THEN -1 ELSE 1 END * CAST(ROUND(bill_amount * 100) AS INTEGER))"
    " FROM loyalty_bill WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND program_id IN (:programs*) GROUP BY program_id",
    postgresql="SELECT program_id,"
    " SUM(CASE type WHEN 'RETURN' THEN -1 ELSE 1 END * bill_amount * 100)::bigint"
    " FROM loyalty_bill WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND program_id IN (:programs*) GROUP BY program_id",
)
_SET_BALANCES = Q(
    "UPDATE loyalty_enrollment SET loyalty_points = :loyalty_points, lifetime_points = :lifetime_points,"
    " redeemed = :redeemed, expired = :expired, returned = :returned, adjusted = :adjusted,"
    " cumulative_purchases = :cumulative_purchases, updated_at = :now"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND program_id = :program_id"
)
_CENTS = Decimal(100)


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A merge as its undo reads it (held for the transaction)."""

    merge_id: int
    kind: str
    survivor_id: int
    victim_id: int | None
    created_at: datetime
    change_set: dict[str, Any]
    undone_at: datetime | None


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

    async def get(self, org_id: int, merge_id: int) -> MergeRecord | None:
        """The merge, held for the transaction (PostgreSQL)."""
        r = await self.tx.one(_GET, org_id=org_id, merge_id=merge_id)
        if r is None:
            return None
        victim = None if r[2] is None else int(r[2])
        return MergeRecord(merge_id, r[0], int(r[1]), victim, r[3], dict(r[4]), r[5])

    async def mark_undone(
        self, org_id: int, merge_id: int, *, now: datetime, till_id: int, request_id: str
    ) -> None:
        await self.tx.later(
            _UNDONE, org_id=org_id, merge_id=merge_id, now=now, till_id=till_id, request_id=request_id
        )

    async def give_account(
        self, org_id: int, survivor: int, target: int, source: str, account_id: str
    ) -> list[tuple[str, str]]:
        """Give `target` the survivor's profile in one source account and every identifier it
        holds there; the (type, value) of those identifiers."""
        keys = {"org_id": org_id, "survivor": survivor, "target": target, "source": source}
        await self.tx.run(_BACK_PROFILE, **keys, account_id=account_id)
        rows = await self.tx.all(_BACK_IDENTIFIERS, **keys, account_id=account_id)
        return sorted((r[0], r[1]) for r in rows)

    async def drop_profile(self, org_id: int, customer_id: int, source: str, account_id: str) -> None:
        await self.tx.run(
            _DROP_PROFILE, org_id=org_id, customer_id=customer_id, source=source, account_id=account_id
        )

    async def give_cards(
        self, org_id: int, survivor: int, target: int, numbers: list[str]
    ) -> list[tuple[int, str]]:
        if not numbers:
            return []
        rows = await self.tx.all(
            _BACK_CARDS, org_id=org_id, survivor=survivor, target=target, numbers=sorted(numbers)
        )
        return sorted((int(r[0]), r[1]) for r in rows)

    async def give_enrollments(
        self, org_id: int, survivor: int, target: int, programs: list[int]
    ) -> list[int]:
        if not programs:
            return []
        rows = await self.tx.all(
            _BACK_ENROLLMENTS, org_id=org_id, survivor=survivor, target=target, programs=sorted(programs)
        )
        return sorted(int(r[0]) for r in rows)

    async def give_ledger(
        self,
        org_id: int,
        survivor: int,
        target: int,
        *,
        entries: list[int] | None = None,
        bills: list[int] | None = None,
        programs: list[int] | None = None,
        since: datetime | None = None,
    ) -> tuple[list[int], list[int]]:
        """Give `target` ledger entries and bills the survivor holds: by id, or (with
        `programs` and `since`) those of the programs written by then; what it gave."""
        keys = {"org_id": org_id, "survivor": survivor, "target": target}
        if programs is not None:
            if not programs:
                return [], []
            found_entries = await self.tx.all(_BACK_ENTRIES_UNTIL, **keys, programs=programs, since=since)
            found_bills = await self.tx.all(_BACK_BILLS_UNTIL, **keys, programs=programs, since=since)
        else:
            found_entries = await self.tx.all(_BACK_ENTRIES, **keys, ids=entries or []) if entries else []
            found_bills = await self.tx.all(_BACK_BILLS, **keys, ids=bills or []) if bills else []
        return sorted(int(r[0]) for r in found_entries), sorted(int(r[0]) for r in found_bills)

    async def ledger_left(
        self, org_id: int, customer_id: int, programs: list[int]
    ) -> tuple[list[int], list[int]]:
        """The entries and bills a customer holds in these programs."""
        if not programs:
            return [], []
        keys = {"org_id": org_id, "customer_id": customer_id, "programs": sorted(programs)}
        entries = await self.tx.all(_LEFT_ENTRIES, **keys)
        bills = await self.tx.all(_LEFT_BILLS, **keys)
        return sorted(int(r[0]) for r in entries), sorted(int(r[0]) for r in bills)

    async def give_coupons(
        self, org_id: int, survivor: int, target: int, ids: list[int], since: datetime
    ) -> list[int]:
        if not ids:
            return []
        rows = await self.tx.all(
            _BACK_COUPONS, org_id=org_id, survivor=survivor, target=target, ids=sorted(ids), since=since
        )
        return sorted(int(r[0]) for r in rows)

    async def give_subscription(
        self, org_id: int, survivor: int, target: int, key: tuple[str, str, str, str], since: datetime
    ) -> bool:
        source, account_id, channel, priority = key
        changed = await self.tx.run(
            _BACK_SUBSCRIPTION,
            org_id=org_id,
            survivor=survivor,
            target=target,
            source=source,
            account_id=account_id,
            channel=channel,
            priority=priority,
            since=since,
        )
        return changed > 0

    async def give_user_records(
        self, org_id: int, survivor: int, target: int, ids: list[int], since: datetime
    ) -> list[int]:
        if not ids:
            return []
        rows = await self.tx.all(
            _BACK_USER_RECORDS, org_id=org_id, survivor=survivor, target=target, ids=sorted(ids), since=since
        )
        return sorted(int(r[0]) for r in rows)

    async def fold(self, org_id: int, customer_id: int, programs: list[int]) -> dict[int, Balances]:
        """The customer's summaries in these programs as its ledger and bills add up."""
        if not programs:
            return {}
        keys = {"org_id": org_id, "customer_id": customer_id, "programs": sorted(programs)}
        folded = {p: Balances() for p in programs}
        for r in await self.tx.all(_FOLD_BILLS, **keys):
            cents = Decimal(int(r[1] or 0))
            folded[int(r[0])].cumulative_purchases = max(Decimal(0), cents / _CENTS).quantize(Decimal("0.01"))
        for r in await self.tx.all(_FOLD_ENTRIES, **keys):
            apply(folded[int(r[0])], r[1], int(r[2]))
        return folded

    async def set_balances(
        self, org_id: int, customer_id: int, program_id: int, b: Balances, now: datetime
    ) -> None:
        await self.tx.later(
            _SET_BALANCES,
            org_id=org_id,
            customer_id=customer_id,
            program_id=program_id,
            loyalty_points=b.loyalty_points,
            lifetime_points=b.lifetime_points,
            redeemed=b.redeemed,
            expired=b.expired,
            returned=b.returned,
            adjusted=b.adjusted,
            cumulative_purchases=b.cumulative_purchases,
            now=now,
        )

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
