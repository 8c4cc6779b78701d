"""Per-org, per-operation rate limits, counted in the database so every serving process
shares one count.

Windows are fixed and aligned to the clock hour (UTC): requests of one operation by one org
are counted from hh:00:00 to hh:59:59.999999, and the count starts afresh at the next hour.
A sliding window would smooth the edge (up to twice the limit can pass across an hour's
boundary), but would need a row per request or two windows read per request; the seed
states its limits "per hour", and a fixed window costs one row per (org, operation, hour)
and one statement per request.

`take` counts one request and refuses it past the limit, in one statement on its own unit
of work, before the operation runs:

    INSERT ... VALUES (org, operation, hour, 1)
    ON CONFLICT (org_id, operation, window_start)
    DO UPDATE SET count = count + 1 WHERE count < :limit
    RETURNING count

A row comes back while the request fits; none once the window holds `limit` requests, and
then nothing is written: a refused request changes nothing, so the row counts the requests
that were let through, and the next window opens with the next hour. Every request that
reaches the operation is counted, whether it then succeeds, fails or is an idempotent
replay: the limit is on requests, not on successes. The answer past the limit is a 429
(`Throttled`, code 2120) whose `Retry-After` is the number of seconds to the window's end.

Limits come from the org configuration (`rateLimitsPerHour`, orgs/config.py), else from
`DEFAULT_LIMITS`: the seed's 1,000 per hour for the three operations that give a number,
and the same 1,000 for those it marks "Rate Limited: Yes" without one.

Windows that have closed are deleted by the delivery worker's housekeeping pass
(`prune_closed`), a batch of orgs at a time; a closed window is never read again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from patron import codes
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.errors import Throttled

if TYPE_CHECKING:
    from patron.db.engine import Database
    from patron.db.tx import Tx
    from patron.db.uow import UnitOfWork

WINDOW = timedelta(hours=1)
MAX_LIMIT = 10_000_000
THROTTLED = 2120

ISSUE_CARD = "Issue Card to an Existing Customer"
ADD_REFERRALS = "Add Customer Referrals"
GET_REFERRALS = "Get Customer Referrals"
RETRIEVE_SUBSCRIPTIONS = "Retrieve Subscription Details"
GET_CHANGE_REQUESTS = "Get Change Requests"
GET_COUPONS_BASIC = "Get Customer Coupons (Basic)"
SET_IMAGE = "Set Customer Image"
GET_IMAGE = "Get Customer Image"
EXPORT_CUSTOMER = "Export Customer Data"  # ours: heavy, for data requests, not polling

# The operations that are limited (seed 003, rules RL-1 and REF-5) and their limits per hour
# when the org configures none: 1,000 where the seed says so (L4372, L4480, L4656), and the
# same figure where it says "Rate Limited: Yes" without a number.
DEFAULT_LIMITS: Mapping[str, int] = {
    ISSUE_CARD: 1000,
    ADD_REFERRALS: 1000,
    GET_REFERRALS: 1000,
    RETRIEVE_SUBSCRIPTIONS: 1000,
    GET_CHANGE_REQUESTS: 1000,
    GET_COUPONS_BASIC: 1000,
    SET_IMAGE: 1000,
    GET_IMAGE: 1000,
    EXPORT_CUSTOMER: 100,
}

_TAKE = Q(
    "INSERT INTO rate_limit_window (org_id, operation, window_start, count)"
    " VALUES (:org_id, :operation, :window_start, 1)"
    " ON CONFLICT (org_id, operation, window_start) DO UPDATE"
    " SET count = rate_limit_window.count + 1 WHERE rate_limit_window.count < :limit"
    " RETURNING count"
)
_ORGS_WITH_CLOSED = Q(
    "SELECT DISTINCT org_id FROM rate_limit_window WHERE window_start < :before ORDER BY org_id LIMIT :n"
)
_PRUNE = Q("DELETE FROM rate_limit_window WHERE org_id = :org_id AND window_start < :before")


def window_start(now: datetime) -> datetime:
    """The start of the window `now` falls in: its clock hour."""
    return now.replace(minute=0, second=0, microsecond=0)


def retry_after(now: datetime) -> int:
    """Whole seconds (at least 1) until the window of `now` closes."""
    left = (window_start(now) + WINDOW - now).total_seconds()
    return max(1, math.ceil(left))


def limit_of(operation: str, configured: Mapping[str, int]) -> int:
    """The org's limit per hour for an operation: its configuration's, else the default."""
    found = configured.get(operation)
    if found is not None:
        return found
    try:
        return DEFAULT_LIMITS[operation]
    except KeyError:
        raise ValueError(f"{operation!r} is not a rate-limited operation") from None


def config_problems(limits: Mapping[str, int]) -> list[str]:
    """What is wrong with an org's `rateLimitsPerHour` (empty when nothing is)."""
    problems = []
    for name, value in limits.items():
        if name not in DEFAULT_LIMITS:
            problems.append(
                f"rateLimitsPerHour: {name!r} is not a rate-limited operation;"
                f" limited: {', '.join(DEFAULT_LIMITS)}"
            )
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
            problems.append(f"rateLimitsPerHour: {name!r} must be a whole number from 1 to {MAX_LIMIT:,}")
    return problems


class RateLimitRepository:
    """The statements of the rate limiter."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def count(self, org_id: int, operation: str, start: datetime, limit: int) -> int | None:
        """Count one request in its window: the new count, or None when the window is full."""
        value = await self.tx.val(_TAKE, org_id=org_id, operation=operation, window_start=start, limit=limit)
        return None if value is None else int(value)

    async def orgs_with_closed(self, before: datetime, n: int) -> list[int]:
        return [int(r[0]) for r in await self.tx.all(_ORGS_WITH_CLOSED, before=before, n=n)]

    async def prune(self, org_id: int, before: datetime) -> int:
        return await self.tx.run(_PRUNE, org_id=org_id, before=before)


async def _count(uow: UnitOfWork, org_id: int, operation: str, start: datetime, limit: int) -> int | None:
    return await RateLimitRepository(uow.tx).count(org_id, operation, start, limit)


async def take(
    db: Database,
    org_id: int,
    operation: str,
    configured: Mapping[str, int],
    now: datetime | None = None,
) -> int:
    """Count one request of an org for an operation; the count in the window so far, or
    `Throttled` (429, Retry-After to the window's end) when the window is full."""
    limit = limit_of(operation, configured)
    at = now if now is not None else utcnow()
    count = await db.write(_count, org_id, operation, window_start(at), limit)
    if count is None:
        raise Throttled(
            THROTTLED,
            codes.message(THROTTLED, limit, f"Operation: {operation}."),
            retry_after=retry_after(at),
        )
    return count


async def prune_closed(uow: UnitOfWork, now: datetime, orgs: int = 100) -> int:
    """Delete the windows that closed before the current one, a batch of orgs at a time
    (the delivery worker calls this beside the idempotency keys' pruning)."""
    repo = RateLimitRepository(uow.tx)
    before = window_start(now)
    removed = 0
    for org_id in await repo.orgs_with_closed(before, orgs):
        removed += await repo.prune(org_id, before)
    return removed
