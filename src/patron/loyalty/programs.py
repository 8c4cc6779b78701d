"""What a loyalty program's configuration decides: points a bill earns, and tiers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from patron.orgs.config import LoyaltyProgram, TierSpec


def earned(program: LoyaltyProgram, bill_amount: Decimal) -> int:
    """floor(billAmount * earnRate), with the rate as written."""
    if bill_amount <= 0:
        return 0
    return int((bill_amount * program.earn_rate_exact).to_integral_value(rounding=ROUND_FLOOR))


def points_expiry(program: LoyaltyProgram, earned_at: datetime) -> datetime | None:
    days = program.points_expiry_days
    return None if days is None else earned_at + timedelta(days=days)


def tier_for(program: LoyaltyProgram, qualifying_points: int) -> TierSpec:
    """The highest tier whose threshold the qualifying points reach."""
    reached = program.tiers[0]
    for tier in program.tiers:
        if tier.threshold <= qualifying_points:
            reached = tier
    return reached


def tier_expiry(tier: TierSpec, since: datetime) -> datetime | None:
    return None if tier.validity_days is None else since + timedelta(days=tier.validity_days)


@dataclass(frozen=True, slots=True)
class TierProgress:
    """The slab fields of the loyalty details (003:L2742-2789)."""

    current: TierSpec | None
    next: TierSpec | None


def progress(program: LoyaltyProgram, tier_number: int | None) -> TierProgress:
    current = program.tier(tier_number) if tier_number is not None else None
    number = current.number if current else 0
    nxt = next((t for t in program.tiers if t.number == number + 1), None)
    return TierProgress(current, nxt)


def currency_value(program: LoyaltyProgram, points: int) -> float:
    value = points * program.points_to_currency_ratio
    return value if math.isfinite(value) else 0.0
