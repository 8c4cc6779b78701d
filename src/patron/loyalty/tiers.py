"""Tiers that lapse: the rule the tier-lapse job (loyalty/expiry.py) applies when a tier's
expiry (`tier_expires_at`) has passed.

A tier with `validityDays` is held for that many days from the moment it was reached (or
last renewed). When it lapses at moment L, the points the customer earned in the tier's
last `validityDays` (the window [L - validityDays, L): earned entries, less returns) decide:

- they reach the tier's threshold: the tier is renewed for another `validityDays`, counted
  from L (not from when the job ran), so a late run changes nothing;
- they fall short: the customer drops to the highest tier whose threshold they reach; the
  tier base becomes lifetime points at L less the window's points, so qualifying points
  (lifetime less base, loyalty/service.py `upgrade_tier`) restart from the window's points
  and later purchases lift the tier from there; the new tier's validity counts from L.

A tier that lapses with no validity of its own (an expiry stated at enrollment, or a tier
the configuration no longer gives a validity or no longer has) is placed by the qualifying
points the customer holds at L, and its base is kept. If the job ran so late that the new
expiry has passed too, the rule is applied again at that moment, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from patron.loyalty import programs
from patron.orgs.config import LoyaltyProgram


@dataclass(frozen=True, slots=True)
class TierState:
    """The tier fields of a summary."""

    tier_number: int | None
    tier_expires_at: datetime | None
    tier_base: int


@dataclass(frozen=True, slots=True)
class Lapsed:
    state: TierState
    lapses: int  # how many lapse moments were evaluated
    dropped: bool  # whether the tier went down at one of them


def window_start(program: LoyaltyProgram, state: TierState) -> datetime:
    """The earliest moment whose earned points the re-evaluation of `state` reads."""
    assert state.tier_expires_at is not None
    tier = program.tier(state.tier_number)
    days = tier.validity_days if tier is not None and tier.validity_days is not None else 0
    return state.tier_expires_at - timedelta(days=days)


def reevaluate(
    program: LoyaltyProgram,
    state: TierState,
    earned: Sequence[tuple[datetime, int]],
    lifetime_points: int,
    now: datetime,
) -> Lapsed:
    """Apply every lapse of `state` due by `now`.

    `earned` are the account's entries that count towards lifetime points (earned kinds
    and returns, signed) written since `window_start`, with when they were written;
    `lifetime_points` is the summary's figure now."""
    lapses, dropped = 0, False
    while state.tier_expires_at is not None and state.tier_expires_at <= now:
        at = state.tier_expires_at
        lifetime_at = lifetime_points - sum(p for when, p in earned if when >= at)
        tier = program.tier(state.tier_number)
        if tier is None or tier.validity_days is None:
            target = programs.tier_for(program, max(0, lifetime_at - state.tier_base))
            dropped = dropped or target.number < (state.tier_number or 0)
            state = TierState(target.number, programs.tier_expiry(target, at), state.tier_base)
        else:
            since = at - timedelta(days=tier.validity_days)
            window = max(0, sum(p for when, p in earned if since <= when < at))
            if window >= tier.threshold:
                state = TierState(tier.number, programs.tier_expiry(tier, at), state.tier_base)
            else:
                target = programs.tier_for(program, window)
                dropped = True
                state = TierState(
                    target.number, programs.tier_expiry(target, at), max(0, lifetime_at - window)
                )
        lapses += 1
    return Lapsed(state, lapses, dropped)
