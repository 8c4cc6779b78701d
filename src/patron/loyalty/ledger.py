"""The points ledger: entry kinds and the summary they add up to.

Every change of points is an entry, written once and never changed. A summary (the
program's row of a customer, or a group's pool) is the fold of its entries through
`apply`; services apply each entry as they write it, in the same transaction, and
`patron loyalty rebuild` folds the ledger again to prove they agree.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# Credits (points > 0) and debits (points < 0).
ENROLLMENT = "enrollment"  # points stated when a customer is enrolled
REGISTRATION = "registration"  # the program's registration points
EARN = "earn"  # a purchase
RETURN = "return"  # a return takes back what its bill earned
REDEEM = "redeem"
EXPIRE = "expire"
TRANSFER_OUT = "transfer_out"
TRANSFER_IN = "transfer_in"
GOODWILL = "goodwill"
GROUP_CONTRIBUTION = "group_contribution"  # a member's points leaving for the group pool
GROUP_POOL_IN = "group_pool_in"  # the same points arriving in the pool (group_id set)
REVERSAL = "reversal"  # an adjustment taken back

CREDITS = frozenset({ENROLLMENT, REGISTRATION, EARN, TRANSFER_IN, GOODWILL, GROUP_POOL_IN})
DEBITS = frozenset({RETURN, REDEEM, EXPIRE, TRANSFER_OUT, GROUP_CONTRIBUTION, REVERSAL})
KINDS = CREDITS | DEBITS
# Credits that count towards lifetime points (and so towards tiers): points the customer
# earned, not points moved to them.
EARNED = frozenset({ENROLLMENT, REGISTRATION, EARN})
_NEVER = datetime.max.replace(tzinfo=UTC)  # sorts credits that never expire last


@dataclass(slots=True)
class Balances:
    """What a summary holds; `apply` is the only way it changes."""

    loyalty_points: int = 0
    lifetime_points: int = 0
    redeemed: int = 0
    expired: int = 0
    returned: int = 0
    adjusted: int = 0
    cumulative_purchases: Decimal = field(default_factory=lambda: Decimal(0))

    def as_tuple(self) -> tuple[int, int, int, int, int, int, Decimal]:
        return (
            self.loyalty_points,
            self.lifetime_points,
            self.redeemed,
            self.expired,
            self.returned,
            self.adjusted,
            self.cumulative_purchases,
        )


def apply(b: Balances, kind: str, points: int) -> None:
    """Move a summary's points by one entry (cumulative purchases follow the bills, not
    the ledger: a bill may earn no points)."""
    if kind in CREDITS:
        if points <= 0:
            raise ValueError(f"a {kind} entry credits points (got {points})")
    elif kind in DEBITS:
        if points >= 0:
            raise ValueError(f"a {kind} entry debits points (got {points})")
    else:
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    b.loyalty_points += points
    if kind in EARNED or kind == GROUP_POOL_IN:
        b.lifetime_points += points
    elif kind == RETURN:
        b.lifetime_points += points
        b.returned -= points
    elif kind == REDEEM:
        b.redeemed -= points
    elif kind == EXPIRE:
        b.expired -= points
    elif kind in (TRANSFER_OUT, TRANSFER_IN, GOODWILL, GROUP_CONTRIBUTION, REVERSAL):
        b.adjusted += points


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger entry as services build it (the repository adds org, ids and time)."""

    customer_id: int
    program_id: int
    kind: str
    points: int
    expires_at: datetime | None = None
    amount: Decimal | None = None
    bill_number: str | None = None
    ref_kind: str | None = None
    ref_id: int | None = None
    notes: str | None = None
    group_id: int | None = None


def expirable(credits: int, credits_due: int, balance: int) -> int:
    """Points that expire at a moment, oldest first (FIFO), from sums alone.

    Debits consume the credits that expire first, so of `credits` (every credit of the
    account) the debits so far, `credits - balance`, used up the earliest-expiring ones;
    what is left of the credits due by then (`credits_due`) expires.

    This equals `due(lots(...))` when the account's credits arrived in the order they
    expire. It is not exact when a debit came before a credit that expires sooner than
    what the debit spent (a credit that never expires spent before `pointsExpiryDays` was
    configured, a stated enrollment expiry): the sums let that debit spend the later
    credit, so it never expires. The expiry job folds the entries (`lots`)."""
    consumed = credits - balance
    return max(0, min(balance, credits_due - consumed))


@dataclass(frozen=True, slots=True)
class Lot:
    """What is left of an account's credits that expire at one moment (None: never)."""

    expires_at: datetime | None
    points: int


def lots(entries: Iterable[tuple[int, datetime | None]]) -> list[Lot]:
    """What is left of each credit of an account after its debits, soonest expiry first
    (credits that never expire last).

    `entries` are the account's entries as (signed points, expiry of a credit) in the
    order they were written. Each debit spends the points the account held when it was
    written, those that expire first (FIFO): an expiry debit so takes exactly the points
    that were due, and a credit written after a debit is never spent by it. A debit that
    found too few points (entries written within the same instant, read out of order)
    is owed and paid by the next credits, so the lots add up to the balance."""
    held: list[list[Any]] = []  # heap of [expiry key, arrival, points left, expires_at]
    owed = 0
    for arrival, (points, expires_at) in enumerate(entries):
        if points > 0:
            paid = min(owed, points)
            owed -= paid
            if points > paid:
                key = _NEVER if expires_at is None else expires_at
                heapq.heappush(held, [key, arrival, points - paid, expires_at])
        elif points < 0:
            need = -points
            while need and held:
                lot = held[0]
                take = min(need, lot[2])
                lot[2] -= take
                need -= take
                if not lot[2]:
                    heapq.heappop(held)
            owed += need
    left: dict[datetime | None, int] = {}
    for _, _, points, expires_at in sorted(held):
        left[expires_at] = left.get(expires_at, 0) + points
    return [Lot(at, points) for at, points in left.items()]


def due(held: Iterable[Lot], at: datetime) -> int:
    """The points of `held` (from `lots`) that have expired by `at`."""
    return sum(lot.points for lot in held if lot.expires_at is not None and lot.expires_at <= at)
