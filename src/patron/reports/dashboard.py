"""The dashboard's read model: an org's last 30 days (UTC days, today included), per day.

- registrations: customer rows created (`customer.created_at`, index (org_id, created_at));
- purchases: bills of type REGULAR recorded (`loyalty_bill.created_at`, when Patron recorded
  them, not the bill date the till stated);
- points earned (ledger entries that count as earned: enrollment, registration and purchase
  points, loyalty/ledger.py `EARNED`) and points redeemed (redeem entries), from the ledger;
- webhook delivery attempts, their latency p50 and p99 (nearest rank: the smallest latency
  with at least that share of the day's attempts at or below it) and the failed attempts
  (every outcome but `delivered`), per endpoint.

Every statement is scoped by org_id and bounded by the window; the percentiles are computed
by the database with window functions (the same text on SQLite and PostgreSQL), so two rows
per day cross to Python whatever the number of attempts. Days without data are zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from patron.context import RequestContext
from patron.db.sql import Q
from patron.db.tx import Tx
from patron.db.uow import UnitOfWork
from patron.loyalty.ledger import EARNED, REDEEM

DAYS = 30
# Endpoints drawn one by one in the failures chart; the rest are summed as one series.
MAX_ENDPOINTS = 6

_DAY = {
    "sqlite": "date({col})",
    "postgresql": "CAST(({col} AT TIME ZONE 'UTC') AS DATE)",
}


def _per_engine(template: str, col: str) -> Q:
    return Q(
        sqlite=template.format(day=_DAY["sqlite"].format(col=col)),
        postgresql=template.format(day=_DAY["postgresql"].format(col=col)),
    )


_EARNED_KINDS = ", ".join(f"'{k}'" for k in sorted(EARNED))
_REGISTRATIONS = _per_engine(
    "SELECT {day} AS day, count(*) FROM customer"
    " WHERE org_id = :org_id AND created_at >= :since AND created_at < :until GROUP BY 1",
    "created_at",
)
_PURCHASES = _per_engine(
    "SELECT {day} AS day, count(*) FROM loyalty_bill"
    " WHERE org_id = :org_id AND created_at >= :since AND created_at < :until AND type = 'REGULAR'"
    " GROUP BY 1",
    "created_at",
)
_POINTS = _per_engine(
    "SELECT {day} AS day,"
    f" sum(CASE WHEN kind IN ({_EARNED_KINDS}) THEN points ELSE 0 END),"
    f" sum(CASE WHEN kind = '{REDEEM}' THEN -points ELSE 0 END) FROM points_ledger"
    " WHERE org_id = :org_id AND created_at >= :since AND created_at < :until"
    f" AND kind IN ({_EARNED_KINDS}, '{REDEEM}') GROUP BY 1",
    "created_at",
)
# Nearest rank: the k-th smallest of n with k = ceil(p * n), in integer arithmetic
# ((n + 1) / 2 for p50, (99 n + 99) / 100 for p99) so both engines agree exactly.
_LATENCY = _per_engine(
    "SELECT day, n, max(CASE WHEN rn = (n + 1) / 2 THEN latency_ms END),"
    " max(CASE WHEN rn = (99 * n + 99) / 100 THEN latency_ms END), max(failed) FROM ("
    " SELECT {day} AS day, latency_ms,"
    " row_number() OVER (PARTITION BY {day} ORDER BY latency_ms) AS rn,"
    " count(*) OVER (PARTITION BY {day}) AS n,"
    " sum(CASE WHEN outcome = 'delivered' THEN 0 ELSE 1 END) OVER (PARTITION BY {day}) AS failed"
    " FROM webhook_attempt"
    " WHERE org_id = :org_id AND attempted_at >= :since AND attempted_at < :until) ranked"
    " GROUP BY day, n",
    "attempted_at",
)
_FAILURES = _per_engine(
    "SELECT a.endpoint_id, e.url, {day} AS day, count(*) FROM webhook_attempt a"
    " LEFT JOIN webhook_endpoint e ON e.org_id = a.org_id AND e.endpoint_id = a.endpoint_id"
    " WHERE a.org_id = :org_id AND a.attempted_at >= :since AND a.attempted_at < :until"
    " AND a.outcome <> 'delivered' GROUP BY a.endpoint_id, e.url, 3",
    "a.attempted_at",
)

_P99_WINDOW = Q(
    "SELECT max(CASE WHEN rn = (99 * n + 99) / 100 THEN latency_ms END) FROM ("
    " SELECT latency_ms, row_number() OVER (ORDER BY latency_ms) AS rn, count(*) OVER () AS n"
    " FROM webhook_attempt"
    " WHERE org_id = :org_id AND attempted_at >= :since AND attempted_at < :until) ranked"
)


def _day(value: Any) -> date:
    """A day as either driver returns it (SQLite: ISO text; asyncpg: a date)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class EndpointFailures:
    """Failed attempts per day of one endpoint (`endpoint_id` None: the other endpoints)."""

    endpoint_id: int | None
    label: str
    per_day: list[int]

    @property
    def total(self) -> int:
        return sum(self.per_day)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The window's days, oldest first, and one value per day in each series."""

    days: list[date]
    registrations: list[int]
    purchases: list[int]
    points_earned: list[int]
    points_redeemed: list[int]
    attempts: list[int]
    failures: list[int]
    latency_p50: list[int | None]  # None: no attempt that day
    latency_p99: list[int | None]
    failures_by_endpoint: list[EndpointFailures]
    p99_window: int | None  # p99 over the whole window (the worst day's p99 is not it)


class DashboardReads:
    """The dashboard's statements, each scoped to one org and bounded by the window."""

    __slots__ = ("org_id", "since", "tx", "until")

    def __init__(self, tx: Tx, org_id: int, since: datetime, until: datetime) -> None:
        self.tx, self.org_id, self.since, self.until = tx, org_id, since, until

    async def _rows(self, q: Q) -> list[Any]:
        return await self.tx.all(q, org_id=self.org_id, since=self.since, until=self.until)

    async def registrations(self) -> list[Any]:
        """(day, customers created)."""
        return await self._rows(_REGISTRATIONS)

    async def purchases(self) -> list[Any]:
        """(day, purchases recorded)."""
        return await self._rows(_PURCHASES)

    async def points(self) -> list[Any]:
        """(day, points earned, points redeemed)."""
        return await self._rows(_POINTS)

    async def latency(self) -> list[Any]:
        """(day, attempts, p50 ms, p99 ms, failed attempts)."""
        return await self._rows(_LATENCY)

    async def p99(self) -> int | None:
        """The p99 latency of the whole window's attempts."""
        found = await self.tx.val(_P99_WINDOW, org_id=self.org_id, since=self.since, until=self.until)
        return None if found is None else int(found)

    async def failures(self) -> list[Any]:
        """(endpoint id, its URL or None once deleted, day, failed attempts)."""
        return await self._rows(_FAILURES)


def window(today: date) -> tuple[list[date], datetime, datetime]:
    """The 30 days ending with `today`, and the instants bounding them [since, until)."""
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    since = datetime.combine(days[0], time(), UTC)
    until = datetime.combine(today + timedelta(days=1), time(), UTC)
    return days, since, until


async def dashboard(uow: UnitOfWork, ctx: RequestContext, now: datetime | None = None) -> Dashboard:
    """The org's last 30 days, zeros where nothing happened."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    days, since, until = window(today)
    index = {d: i for i, d in enumerate(days)}
    reads = DashboardReads(uow.tx, ctx.org_id, since, until)

    def series(rows: list[Any], column: int = 1) -> list[int]:
        out = [0] * DAYS
        for r in rows:
            i = index.get(_day(r[0]))
            if i is not None:
                out[i] = int(r[column] or 0)
        return out

    registrations = series(await reads.registrations())
    purchases = series(await reads.purchases())
    points = await reads.points()
    attempts: list[int] = [0] * DAYS
    failures: list[int] = [0] * DAYS
    p50: list[int | None] = [None] * DAYS
    p99: list[int | None] = [None] * DAYS
    for r in await reads.latency():
        i = index.get(_day(r[0]))
        if i is not None:
            attempts[i], p50[i], p99[i], failures[i] = int(r[1]), int(r[2]), int(r[3]), int(r[4])
    p99_window = await reads.p99() if any(attempts) else None
    return Dashboard(
        days=days,
        registrations=registrations,
        purchases=purchases,
        points_earned=series(points, 1),
        points_redeemed=series(points, 2),
        attempts=attempts,
        failures=failures,
        latency_p50=p50,
        latency_p99=p99,
        failures_by_endpoint=_by_endpoint(await reads.failures() if any(failures) else [], index),
        p99_window=p99_window,
    )


def _by_endpoint(rows: list[Any], index: dict[date, int]) -> list[EndpointFailures]:
    """The endpoints with the most failures one by one, the rest together."""
    per: dict[int, list[int]] = {}
    labels: dict[int, str] = {}
    for endpoint_id, url, day, count in rows:
        i = index.get(_day(day))
        if i is None:
            continue
        per.setdefault(int(endpoint_id), [0] * len(index))[i] += int(count)
        labels[int(endpoint_id)] = f"#{endpoint_id} {url}" if url else f"#{endpoint_id} (deleted)"
    ranked = sorted(per, key=lambda e: (-sum(per[e]), e))
    shown = [EndpointFailures(e, labels[e], per[e]) for e in ranked[:MAX_ENDPOINTS]]
    rest = ranked[MAX_ENDPOINTS:]
    if rest:
        summed = [sum(per[e][i] for e in rest) for i in range(len(index))]
        shown.append(EndpointFailures(None, f"{len(rest)} other endpoints", summed))
    return shown
