"""The partner program statements: memberships and the reminders sent for them.

A membership is one `partner_membership` row per (customer, partner program). Its writers
hold the customer row first (the use cases read the customer with `lock=True`), so a link,
an update, a delink and a reminder of one customer apply one after the other.

A reminder is one `partner_reminder` row per (customer, partner program, expiry date),
inserted only while the membership still has that expiry date, and never twice: the
insert does nothing on a key already there (a concurrent run of the job waits for the
first one's commit and then finds the key taken).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx

MEMBERSHIP = Table(
    "partner_membership",
    (
        ("org_id", "bigint"),
        ("customer_id", "bigint"),
        ("partner_program_id", "bigint"),
        ("membership_number", "text"),
        ("membership_expiry_date", "text"),
        ("partner_tier_number", "integer"),
        ("partner_tier_expiry_date", "text"),
        ("linked_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ),
)
_COLUMNS = (
    "partner_program_id, membership_number, membership_expiry_date, partner_tier_number,"
    " partner_tier_expiry_date"
)
_MEMBERSHIP = Q(
    f"SELECT {_COLUMNS} FROM partner_membership"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND partner_program_id = :partner_program_id"
)
_UPDATE = Q(
    "UPDATE partner_membership SET membership_number = :membership_number,"
    " membership_expiry_date = :membership_expiry_date, partner_tier_number = :partner_tier_number,"
    " partner_tier_expiry_date = :partner_tier_expiry_date, updated_at = :updated_at"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND partner_program_id = :partner_program_id"
)
_DELETE = Q(
    "DELETE FROM partner_membership"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND partner_program_id = :partner_program_id"
)
# The memberships of some partner programs expiring in [:first, :last] (dates as YYYY-MM-DD
# text sort as dates) whose reminder for that date is not sent yet: a range of the index
# (org_id, membership_expiry_date).
_DUE = Q(
    "SELECT m.customer_id, m.partner_program_id, m.membership_expiry_date FROM partner_membership m"
    " WHERE m.org_id = :org_id AND m.membership_expiry_date >= :first AND m.membership_expiry_date <= :last"
    " AND m.partner_program_id IN (:program_ids*)"
    " AND NOT EXISTS (SELECT 1 FROM partner_reminder r WHERE r.org_id = m.org_id"
    " AND r.customer_id = m.customer_id AND r.partner_program_id = m.partner_program_id"
    " AND r.expiry_date = m.membership_expiry_date)"
    " ORDER BY m.membership_expiry_date, m.customer_id, m.partner_program_id"
)
# The reminder's mark, written only while the membership still expires on :expiry_date and
# only once per key (ON CONFLICT: a concurrent run's insert finds the key taken).
_MARK_REMINDED = Q(
    "INSERT INTO partner_reminder (org_id, customer_id, partner_program_id, expiry_date, sent_at)"
    " SELECT m.org_id, m.customer_id, m.partner_program_id, m.membership_expiry_date, :now"
    " FROM partner_membership m WHERE m.org_id = :org_id AND m.customer_id = :customer_id"
    " AND m.partner_program_id = :partner_program_id AND m.membership_expiry_date = :expiry_date"
    " ON CONFLICT (org_id, customer_id, partner_program_id, expiry_date) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class Membership:
    """A customer's link to a partner program (dates as YYYY-MM-DD, as the events carry them)."""

    partner_program_id: int
    membership_number: str | None = None
    membership_expiry_date: str | None = None
    partner_tier_number: int | None = None
    partner_tier_expiry_date: str | None = None


@dataclass(frozen=True, slots=True)
class DueReminder:
    customer_id: int
    partner_program_id: int
    expiry_date: str


def _membership(r: Row) -> Membership:
    return Membership(int(r[0]), r[1], r[2], None if r[3] is None else int(r[3]), r[4])


def _params(org_id: int, customer_id: int, m: Membership, now: datetime) -> dict[str, object]:
    return {
        "org_id": org_id,
        "customer_id": customer_id,
        "partner_program_id": m.partner_program_id,
        "membership_number": m.membership_number,
        "membership_expiry_date": m.membership_expiry_date,
        "partner_tier_number": m.partner_tier_number,
        "partner_tier_expiry_date": m.partner_tier_expiry_date,
        "updated_at": now,
    }


class PartnerRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def membership(self, org_id: int, customer_id: int, partner_program_id: int) -> Membership | None:
        r = await self.tx.one(
            _MEMBERSHIP, org_id=org_id, customer_id=customer_id, partner_program_id=partner_program_id
        )
        return None if r is None else _membership(r)

    async def insert(self, org_id: int, customer_id: int, m: Membership, now: datetime) -> None:
        await self.tx.insert(MEMBERSHIP, [{**_params(org_id, customer_id, m, now), "linked_at": now}])

    async def update(self, org_id: int, customer_id: int, m: Membership, now: datetime) -> None:
        await self.tx.later(_UPDATE, **_params(org_id, customer_id, m, now))

    async def delete(self, org_id: int, customer_id: int, partner_program_id: int) -> bool:
        """Remove the membership; whether there was one."""
        removed = await self.tx.run(
            _DELETE, org_id=org_id, customer_id=customer_id, partner_program_id=partner_program_id
        )
        return removed > 0

    async def due_reminders(
        self, org_id: int, program_ids: Sequence[int], first: str, last: str
    ) -> list[DueReminder]:
        rows = await self.tx.all(_DUE, org_id=org_id, program_ids=list(program_ids), first=first, last=last)
        return [DueReminder(int(r[0]), int(r[1]), r[2]) for r in rows]

    async def mark_reminded(
        self, org_id: int, customer_id: int, partner_program_id: int, expiry_date: str, now: datetime
    ) -> bool:
        """Record that the reminder for this expiry date is sent; False when it was already,
        or when the membership no longer expires on that date (renewed or delinked)."""
        inserted = await self.tx.run(
            _MARK_REMINDED,
            org_id=org_id,
            customer_id=customer_id,
            partner_program_id=partner_program_id,
            expiry_date=expiry_date,
            now=now,
        )
        return inserted > 0
