"""The statements of the loyalty reads (loyalty/reads.py): summaries, partner links, the
customer's ledger for the embeds that list entries, and group pools.

Balances come from the summary rows (`loyalty_enrollment`, `customer_group`), never from
summing the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from patron.customers.views import EnrollmentView
from patron.db.sql import Q
from patron.db.tx import Row, Tx
from patron.loyalty.partners_repository import Membership

_SUMMARY_COLUMNS = (
    "e.program_id, e.tier_number, e.loyalty_points, e.tier_expires_at, e.points_expire_at, e.enrolled_at,"
    " e.lifetime_points, e.redeemed, e.expired, e.returned, e.adjusted, e.cumulative_purchases"
)
# NUMERIC crosses JSON as text, so no digit is lost to a float.
_SUMMARY_JSON = _SUMMARY_COLUMNS.replace("e.cumulative_purchases", "e.cumulative_purchases::text")
_MEMBERSHIP_COLUMNS = (
    "m.partner_program_id, m.membership_number, m.membership_expiry_date, m.partner_tier_number,"
    " m.partner_tier_expiry_date"
)
# The customer, its summaries and its partner links: one statement on PostgreSQL (the
# children as JSON arrays); on SQLite the customer with its summaries, the links apart.
_DETAILS = Q(
    postgresql="SELECT c.merged_into_id, c.loyalty_type, c.registered_at,"
    f" (SELECT json_agg(json_build_array({_SUMMARY_JSON}) ORDER BY e.program_id) FROM loyalty_enrollment e"
    " WHERE e.org_id = c.org_id AND e.customer_id = c.customer_id),"
    f" (SELECT json_agg(json_build_array({_MEMBERSHIP_COLUMNS}) ORDER BY m.partner_program_id)"
    " FROM partner_membership m WHERE m.org_id = c.org_id AND m.customer_id = c.customer_id)"
    " FROM customer c WHERE c.org_id = :org_id AND c.customer_id = :customer_id",
    sqlite=f"SELECT c.merged_into_id, c.loyalty_type, c.registered_at, {_SUMMARY_COLUMNS} FROM customer c"
    " LEFT JOIN loyalty_enrollment e ON e.org_id = c.org_id AND e.customer_id = c.customer_id"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id ORDER BY e.program_id",
)
_MEMBERSHIPS = Q(
    f"SELECT {_MEMBERSHIP_COLUMNS} FROM partner_membership m"
    " WHERE m.org_id = :org_id AND m.customer_id = :customer_id ORDER BY m.partner_program_id"
)
_HAS_PROFILE = Q(
    "SELECT 1 FROM customer_profile WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND source = :source AND account_id = :account_id"
)
# The customer's own entries in the order they were written (the order the expiry job folds
# them in); a group pool's entries (group_id set) belong to the pool.
_LEDGER = Q(
    "SELECT program_id, kind, points, expires_at, created_at, till_id, ref_id FROM points_ledger"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND group_id IS NULL"
    " ORDER BY created_at, entry_id"
)
_GROUP_COLUMNS = (
    "g.group_id, g.group_program_id, g.hierarchy_code, g.loyalty_points, g.lifetime_points, g.promised_points"
)
# The groups whose primary member the customer is, and those it is a member of.
_GROUPS = Q(
    f"SELECT {_GROUP_COLUMNS} FROM customer_group g"
    " WHERE g.org_id = :org_id AND g.primary_customer_id = :customer_id"
    f" UNION SELECT {_GROUP_COLUMNS} FROM group_member m"
    " JOIN customer_group g ON g.org_id = m.org_id AND g.group_id = m.group_id"
    " WHERE m.org_id = :org_id AND m.customer_id = :customer_id ORDER BY 1"
)


@dataclass(frozen=True, slots=True)
class Holder:
    """The customer a loyalty read addresses, with its summaries and partner links."""

    customer_id: int
    merged_into_id: int | None
    loyalty_type: str
    registered_at: datetime
    summaries: list[EnrollmentView]
    memberships: list[Membership]


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """An entry of the customer's own ledger."""

    program_id: int
    kind: str
    points: int
    expires_at: datetime | None
    created_at: datetime
    till_id: int
    ref_id: int | None


@dataclass(frozen=True, slots=True)
class GroupPool:
    group_id: int
    group_program_id: int | None
    hierarchy_code: str
    loyalty_points: int
    lifetime_points: int
    promised_points: int


def _dated(value: Any) -> datetime | None:
    """A timestamp read back as a column or from a JSON array (ISO text)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value).astimezone(UTC)


def _summary(r: Sequence[Any], o: int = 0) -> EnrollmentView:
    enrolled_at = _dated(r[o + 5])
    assert enrolled_at is not None
    return EnrollmentView(
        program_id=int(r[o]),
        tier_number=None if r[o + 1] is None else int(r[o + 1]),
        loyalty_points=int(r[o + 2]),
        tier_expires_at=_dated(r[o + 3]),
        points_expire_at=_dated(r[o + 4]),
        enrolled_at=enrolled_at,
        lifetime_points=int(r[o + 6]),
        redeemed=int(r[o + 7]),
        expired=int(r[o + 8]),
        returned=int(r[o + 9]),
        adjusted=int(r[o + 10]),
        cumulative_purchases=Decimal(str(r[o + 11])),
    )


def _membership(r: Sequence[Any]) -> Membership:
    return Membership(int(r[0]), r[1], r[2], None if r[3] is None else int(r[3]), r[4])


class LoyaltyReads:
    """The loyalty reads' statements; every method takes the org."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def holder(self, org_id: int, customer_id: int, *, with_memberships: bool) -> Holder | None:
        """A customer with its summaries and (when `with_memberships`) partner links; None
        when there is none. PostgreSQL reads it in one statement, SQLite in two."""
        if self.tx.dialect == "postgresql":
            r = await self.tx.one(_DETAILS, org_id=org_id, customer_id=customer_id)
            if r is None:
                return None
            summaries = [_summary(s) for s in r[3] or []]
            memberships = [_membership(m) for m in r[4] or []]
            return Holder(customer_id, _id(r[0]), r[1], r[2], summaries, memberships)
        rows = await self.tx.all(_DETAILS, org_id=org_id, customer_id=customer_id)
        if not rows:
            return None
        first = rows[0]
        summaries = [_summary(s, 3) for s in rows if s[3] is not None]
        memberships = await self.memberships(org_id, customer_id) if with_memberships else []
        return Holder(customer_id, _id(first[0]), first[1], first[2], summaries, memberships)

    async def memberships(self, org_id: int, customer_id: int) -> list[Membership]:
        rows = await self.tx.all(_MEMBERSHIPS, org_id=org_id, customer_id=customer_id)
        return [_membership(r) for r in rows]

    async def has_profile(self, org_id: int, customer_id: int, source: str, account_id: str) -> bool:
        found = await self.tx.val(
            _HAS_PROFILE, org_id=org_id, customer_id=customer_id, source=source, account_id=account_id
        )
        return found is not None

    async def ledger(self, org_id: int, customer_id: int) -> list[LedgerRow]:
        """The customer's own entries, in the order they were written."""
        rows = await self.tx.all(_LEDGER, org_id=org_id, customer_id=customer_id)
        return [LedgerRow(int(r[0]), r[1], int(r[2]), r[3], r[4], int(r[5]), _id(r[6])) for r in rows]

    async def groups(self, org_id: int, customer_id: int) -> list[GroupPool]:
        rows = await self.tx.all(_GROUPS, org_id=org_id, customer_id=customer_id)
        return [GroupPool(int(r[0]), _id(r[1]), r[2], int(r[3]), int(r[4]), int(r[5])) for r in rows]


def _id(value: Row) -> int | None:
    return None if value is None else int(value)
