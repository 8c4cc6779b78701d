"""The loyalty statements: summaries, ledger entries, bills.

A write to one customer's points holds the customer row (PostgreSQL `FOR UPDATE`; SQLite's
single writer holds the database), so two tills spending the last points of one customer
apply one after the other and the second sees what the first left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from patron.db.sql import POSTGRESQL, Q
from patron.db.tx import Row, Table, Tx
from patron.loyalty.ledger import Balances, Entry

_ACCOUNT_COLUMNS = (
    "program_id, tier_number, loyalty_points, tier_expires_at, points_expire_at, enrolled_at,"
    " lifetime_points, redeemed, expired, returned, adjusted, cumulative_purchases, tier_base, updated_at"
)
_CUSTOMER_AND_ACCOUNT = Q(
    "SELECT c.loyalty_type, c.merged_into_id, "
    + ", ".join(f"e.{c.strip()}" for c in _ACCOUNT_COLUMNS.split(","))
    + " FROM customer c LEFT JOIN loyalty_enrollment e ON e.org_id = c.org_id"
    " AND e.customer_id = c.customer_id AND e.program_id = :program_id"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
# The same, and whether the customer already has a purchase with this bill number (a
# purchase's duplicate check rides along instead of costing a round trip of its own).
_CUSTOMER_ACCOUNT_AND_BILL = Q(
    "SELECT c.loyalty_type, c.merged_into_id, "
    + ", ".join(f"e.{c.strip()}" for c in _ACCOUNT_COLUMNS.split(","))
    + ", EXISTS (SELECT 1 FROM loyalty_bill b WHERE b.org_id = c.org_id AND b.customer_id = c.customer_id"
    " AND b.bill_number = :bill_number AND b.type = 'REGULAR')"
    " FROM customer c LEFT JOIN loyalty_enrollment e ON e.org_id = c.org_id"
    " AND e.customer_id = c.customer_id AND e.program_id = :program_id"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_ADD_PURCHASES = Q(
    "UPDATE customer SET lifetime_purchases = lifetime_purchases + :amount"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)
_ACCOUNTS = Q(
    f"SELECT {_ACCOUNT_COLUMNS} FROM loyalty_enrollment WHERE org_id = :org_id AND customer_id = :customer_id"
    " ORDER BY program_id"
)
_UPDATE_ACCOUNT = Q(
    "UPDATE loyalty_enrollment SET tier_number = :tier_number, loyalty_points = :loyalty_points,"
    " tier_expires_at = :tier_expires_at, lifetime_points = :lifetime_points, redeemed = :redeemed,"
    " expired = :expired, returned = :returned, adjusted = :adjusted,"
    " cumulative_purchases = :cumulative_purchases, tier_base = :tier_base, updated_at = :updated_at"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND program_id = :program_id"
)
ACCOUNT = Table(
    "loyalty_enrollment",
    (
        ("org_id", "bigint"),
        ("customer_id", "bigint"),
        ("program_id", "bigint"),
        ("tier_number", "integer"),
        ("loyalty_points", "bigint"),
        ("tier_expires_at", "timestamptz"),
        ("points_expire_at", "timestamptz"),
        ("enrolled_at", "timestamptz"),
        ("lifetime_points", "bigint"),
        ("redeemed", "bigint"),
        ("expired", "bigint"),
        ("returned", "bigint"),
        ("adjusted", "bigint"),
        ("cumulative_purchases", "numeric"),
        ("tier_base", "bigint"),
        ("updated_at", "timestamptz"),
    ),
)
LEDGER = Table(
    "points_ledger",
    (
        ("org_id", "bigint"),
        ("entry_id", "bigint"),
        ("customer_id", "bigint"),
        ("program_id", "bigint"),
        ("group_id", "bigint"),
        ("kind", "text"),
        ("points", "bigint"),
        ("expires_at", "timestamptz"),
        ("amount", "numeric"),
        ("bill_number", "text"),
        ("ref_kind", "text"),
        ("ref_id", "bigint"),
        ("till_id", "bigint"),
        ("request_id", "text"),
        ("notes", "text"),
        ("created_at", "timestamptz"),
    ),
)
BILL = Table(
    "loyalty_bill",
    (
        ("org_id", "bigint"),
        ("bill_id", "bigint"),
        ("customer_id", "bigint"),
        ("program_id", "bigint"),
        ("type", "text"),
        ("bill_number", "text"),
        ("bill_amount", "numeric"),
        ("bill_date", "timestamptz"),
        ("points", "bigint"),
        ("line_items", "jsonb"),
        ("till_id", "bigint"),
        ("request_id", "text"),
        ("created_at", "timestamptz"),
    ),
)
# What one bill number of a customer earned and what returns took back, by type.
_BILL_TOTALS = Q(
    "SELECT type, COUNT(*), COALESCE(SUM(points), 0), COALESCE(SUM(bill_amount), 0), MIN(program_id)"
    " FROM loyalty_bill WHERE org_id = :org_id AND customer_id = :customer_id AND bill_number = :bill_number"
    " GROUP BY type"
)


@dataclass(slots=True)
class Account:
    """A customer's summary in one program, as read under the customer's lock."""

    customer_id: int
    program_id: int
    exists: bool
    enrolled_at: datetime
    balances: Balances = field(default_factory=Balances)
    tier_number: int | None = None
    tier_expires_at: datetime | None = None
    points_expire_at: datetime | None = None
    tier_base: int = 0


@dataclass(frozen=True, slots=True)
class Holder:
    """The customer a loyalty write addresses, read under its lock."""

    loyalty_type: str
    merged_into_id: int | None
    # Whether a purchase with the bill number asked about is recorded (hold(bill_number=...)).
    bill_taken: bool = False


@dataclass(frozen=True, slots=True)
class BillTotals:
    regular_count: int
    earned: int
    amount: Decimal
    program_id: int | None
    returned_points: int  # negative or 0
    returned_amount: Decimal


_CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """An amount read back from either engine (SQLite sums NUMERIC as REAL) to cents."""
    return Decimal(str(value)).quantize(_CENT)


def account_from_row(customer_id: int, r: Row, offset: int = 0) -> Account:
    o = offset
    return Account(
        customer_id=customer_id,
        program_id=int(r[o]),
        exists=True,
        enrolled_at=r[o + 5],
        balances=Balances(
            int(r[o + 2]),
            int(r[o + 6]),
            int(r[o + 7]),
            int(r[o + 8]),
            int(r[o + 9]),
            int(r[o + 10]),
            money(r[o + 11]),
        ),
        tier_number=r[o + 1],
        tier_expires_at=r[o + 3],
        points_expire_at=r[o + 4],
        tier_base=int(r[o + 12]),
    )


def _account_params(org_id: int, a: Account, now: datetime) -> dict[str, Any]:
    b = a.balances
    return {
        "org_id": org_id,
        "customer_id": a.customer_id,
        "program_id": a.program_id,
        "tier_number": a.tier_number,
        "loyalty_points": b.loyalty_points,
        "tier_expires_at": a.tier_expires_at,
        "points_expire_at": a.points_expire_at,
        "enrolled_at": a.enrolled_at,
        "lifetime_points": b.lifetime_points,
        "redeemed": b.redeemed,
        "expired": b.expired,
        "returned": b.returned,
        "adjusted": b.adjusted,
        "cumulative_purchases": b.cumulative_purchases,
        "tier_base": a.tier_base,
        "updated_at": now,
    }


class LoyaltyRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def hold(
        self, org_id: int, customer_id: int, program_id: int, now: datetime, bill_number: str | None = None
    ) -> tuple[Holder, Account] | None:
        """Lock the customer and read its summary in the program (a fresh, unsaved one when
        the customer is not enrolled yet); None when there is no such customer. With a bill
        number, `Holder.bill_taken` says whether a purchase of that number is recorded."""
        # PostgreSQL: the row lock first, in a statement of its own (a statement that waited
        # for a lock still reads other tables as of its start). SQLite's writer holds the
        # database: the read alone says whether the customer exists.
        if self.tx.dialect == POSTGRESQL and not await self.tx.lock_row(
            "customer", org_id, "customer_id", customer_id
        ):
            return None
        if bill_number is None:
            r = await self.tx.one(
                _CUSTOMER_AND_ACCOUNT, org_id=org_id, customer_id=customer_id, program_id=program_id
            )
        else:
            r = await self.tx.one(
                _CUSTOMER_ACCOUNT_AND_BILL,
                org_id=org_id,
                customer_id=customer_id,
                program_id=program_id,
                bill_number=bill_number,
            )
        if r is None:
            return None
        holder = Holder(r[0], r[1], bill_number is not None and bool(r[-1]))
        if r[2] is None:
            return holder, Account(customer_id, program_id, exists=False, enrolled_at=now)
        return holder, account_from_row(customer_id, r, 2)

    async def accounts(self, org_id: int, customer_id: int) -> list[Account]:
        rows = await self.tx.all(_ACCOUNTS, org_id=org_id, customer_id=customer_id)
        return [account_from_row(customer_id, r) for r in rows]

    async def save(self, org_id: int, accounts: Sequence[Account], now: datetime) -> None:
        """Insert the new summaries and update the others (held back until the next
        statement or COMMIT on PostgreSQL)."""
        new = [_account_params(org_id, a, now) for a in accounts if not a.exists]
        if new:
            await self.tx.insert(ACCOUNT, new)
        for a in accounts:
            if a.exists:
                await self.tx.later(_UPDATE_ACCOUNT, **_account_params(org_id, a, now))
            a.exists = True

    async def append(
        self, org_id: int, entries: Sequence[Entry], till_id: int, request_id: str, now: datetime
    ) -> list[int]:
        """Write ledger entries; their ids, in order."""
        if not entries:
            return []
        ids = await self.tx.ids("ledger", len(entries))
        await self.tx.insert(
            LEDGER,
            [
                {
                    "org_id": org_id,
                    "entry_id": entry_id,
                    "customer_id": e.customer_id,
                    "program_id": e.program_id,
                    "group_id": e.group_id,
                    "kind": e.kind,
                    "points": e.points,
                    "expires_at": e.expires_at,
                    "amount": e.amount,
                    "bill_number": e.bill_number,
                    "ref_kind": e.ref_kind,
                    "ref_id": e.ref_id,
                    "till_id": till_id,
                    "request_id": request_id,
                    "notes": e.notes,
                    "created_at": now,
                }
                for entry_id, e in zip(ids, entries, strict=True)
            ],
        )
        return ids

    async def add_purchases(self, org_id: int, customer_id: int, amount: Decimal) -> None:
        """The customer's lifetimePurchases follow its bills (a return subtracts)."""
        await self.tx.later(_ADD_PURCHASES, org_id=org_id, customer_id=customer_id, amount=amount)

    async def insert_bill(self, row: dict[str, Any]) -> None:
        await self.tx.insert(BILL, [row])

    async def bill_totals(self, org_id: int, customer_id: int, bill_number: str) -> BillTotals:
        rows = await self.tx.all(
            _BILL_TOTALS, org_id=org_id, customer_id=customer_id, bill_number=bill_number
        )
        by_type = {r[0]: r for r in rows}
        regular, ret = by_type.get("REGULAR"), by_type.get("RETURN")
        return BillTotals(
            regular_count=int(regular[1]) if regular else 0,
            earned=int(regular[2]) if regular else 0,
            amount=money(regular[3]) if regular else Decimal(0),
            program_id=int(regular[4]) if regular else None,
            returned_points=int(ret[2]) if ret else 0,
            returned_amount=money(ret[3]) if ret else Decimal(0),
        )
