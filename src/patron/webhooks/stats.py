"""Read models of an org's webhook endpoints for the operator console: the health of each
endpoint over a recent window (from the delivery log, `webhook_attempt`), the deliveries
it is owed now (`webhook_delivery`), and the delivery log read page by page.

Every statement is scoped by org_id and runs on SQLite and PostgreSQL alike. The
percentiles are nearest rank (the k-th smallest of n with k = ceil(p * n)), computed in
integer arithmetic so both engines give the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.tx import Tx
from patron.db.uow import UnitOfWork
from patron.webhooks import service
from patron.webhooks.repository import DEAD, DELIVERED, PENDING
from patron.webhooks.views import AttemptView

WINDOW = timedelta(hours=24)

# Per endpoint: attempts in the window, those delivered, and latency p50 / p95 / max.
_HEALTH = Q(
    "SELECT endpoint_id, n, sum(delivered), max(CASE WHEN rn = (n + 1) / 2 THEN latency_ms END),"
    " max(CASE WHEN rn = (95 * n + 99) / 100 THEN latency_ms END), max(latency_ms) FROM ("
    f" SELECT endpoint_id, latency_ms, CASE WHEN outcome = '{DELIVERED}' THEN 1 ELSE 0 END AS delivered,"
    " row_number() OVER (PARTITION BY endpoint_id ORDER BY latency_ms) AS rn,"
    " count(*) OVER (PARTITION BY endpoint_id) AS n"
    " FROM webhook_attempt WHERE org_id = :org_id AND attempted_at >= :since) ranked"
    " GROUP BY endpoint_id, n"
)
# What each endpoint is owed now: dead letters and deliveries still pending (the index
# (org_id, status, next_attempt_at) reads only the rows not delivered).
_OWED = Q(
    "SELECT endpoint_id, status, count(*) FROM webhook_delivery"
    f" WHERE org_id = :org_id AND status <> '{DELIVERED}' GROUP BY endpoint_id, status"
)
# The delivery log before an attempt id, newest first (the API's log, one page further).
_ATTEMPTS_BEFORE = Q(
    "SELECT a.attempt_id, o.event_uuid, o.event_name, a.attempt_number, a.attempted_at, a.status_code,"
    " a.latency_ms, a.response_excerpt, a.error, a.outcome FROM webhook_attempt a"
    " JOIN outbox_event o ON o.org_id = a.org_id AND o.event_id = a.event_id"
    " WHERE a.org_id = :org_id AND a.endpoint_id = :endpoint_id AND a.attempt_id < :before"
    " ORDER BY a.attempt_id DESC LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """One endpoint's numbers: attempts in the window and what it is owed now."""

    attempts: int = 0
    delivered: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    max_ms: int | None = None
    dead_letters: int = 0
    pending: int = 0

    @property
    def failed(self) -> int:
        return self.attempts - self.delivered

    @property
    def failure_rate(self) -> float | None:
        """Failed attempts over attempts in the window; None without attempts."""
        return self.failed / self.attempts if self.attempts else None


@dataclass(frozen=True, slots=True)
class OrgWebhookStats:
    since: datetime
    endpoints: dict[int, EndpointStats]

    def of(self, endpoint_id: int) -> EndpointStats:
        return self.endpoints.get(endpoint_id, EndpointStats())


Health = tuple[int, int, int | None, int | None, int | None]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class WebhookStatsRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def health(self, org_id: int, since: datetime) -> dict[int, Health]:
        rows = await self.tx.all(_HEALTH, org_id=org_id, since=since)
        return {int(r[0]): (int(r[1]), int(r[2] or 0), _int(r[3]), _int(r[4]), _int(r[5])) for r in rows}

    async def owed(self, org_id: int) -> dict[int, dict[str, int]]:
        owed: dict[int, dict[str, int]] = {}
        for r in await self.tx.all(_OWED, org_id=org_id):
            owed.setdefault(int(r[0]), {})[str(r[1])] = int(r[2])
        return owed

    async def attempts_before(
        self, org_id: int, endpoint_id: int, before: int, limit: int
    ) -> list[AttemptView]:
        rows = await self.tx.all(
            _ATTEMPTS_BEFORE, org_id=org_id, endpoint_id=endpoint_id, before=before, limit=limit
        )
        return [
            AttemptView(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], int(r[6]), r[7], r[8], r[9])
            for r in rows
        ]


async def endpoint_stats(
    uow: UnitOfWork, org_id: int, *, window: timedelta = WINDOW, now: datetime | None = None
) -> OrgWebhookStats:
    """Every endpoint's attempts, failures and latency over the window ending now, and the
    dead letters and pending deliveries it holds."""
    since = (now or utcnow()) - window
    repo = WebhookStatsRepository(uow.tx)
    health = await repo.health(org_id, since)
    owed = await repo.owed(org_id)
    endpoints: dict[int, EndpointStats] = {}
    for endpoint_id in health.keys() | owed.keys():
        attempts, delivered, p50, p95, slowest = health.get(endpoint_id, (0, 0, None, None, None))
        counts = owed.get(endpoint_id, {})
        endpoints[endpoint_id] = EndpointStats(
            attempts, delivered, p50, p95, slowest, counts.get(DEAD, 0), counts.get(PENDING, 0)
        )
    return OrgWebhookStats(since, endpoints)


async def attempts_page(
    uow: UnitOfWork, org_id: int, endpoint_id: int, *, before: int | None, limit: int
) -> list[AttemptView]:
    """A page of the endpoint's delivery log, newest first: the newest `limit` attempts (the
    API's log), or those older than the attempt `before`."""
    if before is None:
        return await service.attempts(uow, org_id, endpoint_id, limit=limit)
    await service.get_endpoint(uow, org_id, endpoint_id)  # NotFound for another org's endpoint
    return await WebhookStatsRepository(uow.tx).attempts_before(org_id, endpoint_id, before, limit)
