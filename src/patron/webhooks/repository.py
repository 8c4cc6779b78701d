"""Every query of webhook endpoints, deliveries and attempts; each takes its org.

The one statement that reads across orgs is `enabled_endpoints_of_every_org`, the
worker's directory of where to deliver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Row, Tx
from patron.webhooks.views import AttemptView, DeadLetter

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """One `webhook_endpoint` row; the secrets stay sealed (and out of reprs)."""

    org_id: int
    endpoint_id: int
    url: str
    description: str
    # None: every event; else the event names this endpoint receives.
    event_types: list[str] | None
    enabled: bool
    disabled_reason: str | None
    secret_encrypted: str = field(repr=False)
    previous_secret_encrypted: str | None = field(repr=False)
    previous_secret_expires_at: datetime | None
    max_in_flight: int
    failing_since: datetime | None
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    event_id: int
    attempts: int
    order_key: str


@dataclass(frozen=True, slots=True)
class Settlement:
    """An attempt's outcome for its delivery; None leaves a time as it is."""

    org_id: int
    endpoint_id: int
    event_id: int
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    updated_at: datetime
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewAttempt:
    org_id: int
    endpoint_id: int
    event_id: int
    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
    outcome: str


_ENDPOINT_COLUMNS = (
    "org_id, endpoint_id, url, description, event_types, enabled, disabled_reason, secret_encrypted,"
    " previous_secret_encrypted, previous_secret_expires_at, max_in_flight, failing_since,"
    " last_success_at, created_at, updated_at"
)
_ENDPOINT = Q(
    f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE org_id = :org_id AND endpoint_id = :endpoint_id"
)
# The row is changed from what was read: PostgreSQL holds it so the worker's health
# updates wait rather than being overwritten (SQLite has one writer anyway).
_ENDPOINT_LOCKED = Q(sqlite=_ENDPOINT.sqlite, postgresql=f"{_ENDPOINT.postgresql} FOR UPDATE")
_ENDPOINTS = Q(
    f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE org_id = :org_id ORDER BY endpoint_id"
)
_EVERY_ENABLED_ENDPOINT = Q(f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE enabled = :on")
_ENDPOINT_COUNT = Q("SELECT COUNT(*) FROM webhook_endpoint WHERE org_id = :org_id")
_INSERT_ENDPOINT = Q(
    f"INSERT INTO webhook_endpoint ({_ENDPOINT_COLUMNS}) VALUES (:org_id, :endpoint_id, :url, :description,"
    " :event_types, :enabled, :disabled_reason, :secret_encrypted, :previous_secret_encrypted,"
    " :previous_secret_expires_at, :max_in_flight, :failing_since, :last_success_at, :created_at,"
    " :updated_at)"
)
_UPDATE_SETTINGS = Q(
    "UPDATE webhook_endpoint SET url = :url, description = :description, event_types = :event_types,"
    " enabled = :enabled, disabled_reason = :disabled_reason, failing_since = :failing_since,"
    " updated_at = :updated_at WHERE org_id = :org_id AND endpoint_id = :endpoint_id"
)
_UPDATE_SECRETS = Q(
    "UPDATE webhook_endpoint SET secret_encrypted = :secret, previous_secret_encrypted = :previous,"
    " previous_secret_expires_at = :previous_expires_at, updated_at = :now"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id"
)
_DELETE_ENDPOINT = [
    Q(f"DELETE FROM {table} WHERE org_id = :org_id AND endpoint_id = :endpoint_id")
    for table in ("webhook_attempt", "webhook_delivery", "webhook_endpoint")
]
_SUCCEEDED = Q(
    "UPDATE webhook_endpoint SET last_success_at = :at, failing_since = NULL"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id"
)
_DISABLE = Q(
    "UPDATE webhook_endpoint SET enabled = :off, disabled_reason = :reason, updated_at = :at"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id"
)
_FAILING_SINCE = Q(
    "UPDATE webhook_endpoint SET failing_since = :at"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id AND failing_since IS NULL"
)
_DISABLE_FAILING = Q(
    "UPDATE webhook_endpoint SET enabled = :off, disabled_reason = :reason, updated_at = :at"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id AND enabled = :on"
    " AND failing_since < :cutoff"
)

_INSERT_DELIVERY = Q(
    "INSERT INTO webhook_delivery (org_id, endpoint_id, event_id, order_key, status, attempts,"
    " next_attempt_at, created_at, updated_at) VALUES (:org_id, :endpoint_id, :event_id, :order_key,"
    f" '{PENDING}', 0, :now, :now, :now)"
)
# Due, not leased (or its lease lapsed), of an endpoint enabled now, and no earlier delivery
# of its order key pending. The endpoint is read here, not taken from the worker's directory,
# so an endpoint disabled through any process gets nothing more from any worker's next lease.
_DUE = (
    "SELECT d.event_id, d.attempts, d.order_key FROM webhook_delivery d"
    f" WHERE d.org_id = :org_id AND d.endpoint_id = :endpoint_id AND d.status = '{PENDING}'"
    " AND d.next_attempt_at <= :now AND (d.lease_until IS NULL OR d.lease_until < :now)"
    " AND EXISTS (SELECT 1 FROM webhook_endpoint w WHERE w.org_id = d.org_id"
    " AND w.endpoint_id = d.endpoint_id AND w.enabled = :on)"
    " AND NOT EXISTS (SELECT 1 FROM webhook_delivery e WHERE e.org_id = d.org_id"
    " AND e.endpoint_id = d.endpoint_id AND e.order_key = d.order_key"
    f" AND e.status = '{PENDING}' AND e.event_id < d.event_id)"
    " ORDER BY d.event_id LIMIT :limit"
)
_CLAIM = Q(sqlite=_DUE, postgresql=f"{_DUE} FOR UPDATE OF d SKIP LOCKED")
_LEASE = Q(
    "UPDATE webhook_delivery SET lease_until = :lease_until, lease_owner = :owner"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id AND event_id IN (:ids*)"
)
_PAYLOADS = Q(
    "SELECT event_id, event_uuid, event_name, payload FROM outbox_event"
    " WHERE org_id = :org_id AND event_id IN (:ids*)"
)
# Only the worker holding the lease records the outcome; a time given as NULL stays.
_SETTLE = Q(
    "UPDATE webhook_delivery SET lease_until = NULL, lease_owner = NULL, status = :status,"
    " attempts = :attempts, last_status_code = :last_status_code, last_error = :last_error,"
    " updated_at = :updated_at, next_attempt_at = COALESCE(:next_attempt_at, next_attempt_at),"
    " delivered_at = COALESCE(:delivered_at, delivered_at) WHERE org_id = :org_id"
    " AND endpoint_id = :endpoint_id AND event_id = :event_id AND lease_owner = :owner"
)
_INSERT_ATTEMPT = Q(
    "INSERT INTO webhook_attempt (org_id, attempt_id, endpoint_id, event_id, attempt_number, attempted_at,"
    " status_code, latency_ms, response_excerpt, error, outcome) VALUES (:org_id, :attempt_id,"
    " :endpoint_id, :event_id, :attempt_number, :attempted_at, :status_code, :latency_ms,"
    " :response_excerpt, :error, :outcome)"
)
_DEAD_LETTERS = Q(
    "SELECT d.event_id, o.event_uuid, o.event_name, d.attempts, d.last_status_code, d.last_error,"
    " d.updated_at FROM webhook_delivery d JOIN outbox_event o ON o.org_id = d.org_id"
    " AND o.event_id = d.event_id WHERE d.org_id = :org_id AND d.endpoint_id = :endpoint_id"
    f" AND d.status = '{DEAD}' ORDER BY d.event_id LIMIT :limit"
)
_REQUEUE_SET = (
    f"UPDATE webhook_delivery SET status = '{PENDING}', attempts = 0, next_attempt_at = :now,"
    " lease_until = NULL, lease_owner = NULL, updated_at = :now"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id AND status = :status"
)
_REQUEUE_ALL = Q(_REQUEUE_SET)
_REQUEUE_EVENTS = Q(f"{_REQUEUE_SET} AND event_id IN (:ids*)")
_EVENT_IDS = Q("SELECT event_id FROM outbox_event WHERE org_id = :org_id AND event_uuid IN (:uuids*)")
_EVENTS_BETWEEN = Q(
    "SELECT event_id, event_name, customer_id FROM outbox_event"
    " WHERE org_id = :org_id AND created_at >= :start AND created_at < :end ORDER BY event_id"
)
_EXISTING_DELIVERIES = Q(
    "SELECT event_id FROM webhook_delivery"
    " WHERE org_id = :org_id AND endpoint_id = :endpoint_id AND event_id IN (:ids*)"
)
_ATTEMPTS = Q(
    "SELECT a.attempt_id, o.event_uuid, o.event_name, a.attempt_number, a.attempted_at, a.status_code,"
    " a.latency_ms, a.response_excerpt, a.error, a.outcome FROM webhook_attempt a"
    " JOIN outbox_event o ON o.org_id = a.org_id AND o.event_id = a.event_id"
    " WHERE a.org_id = :org_id AND a.endpoint_id = :endpoint_id ORDER BY a.attempt_id DESC LIMIT :limit"
)
_EVENTS_AFTER = Q(
    "SELECT event_id, payload FROM outbox_event WHERE org_id = :org_id AND event_id > :after"
    " ORDER BY event_id LIMIT :limit"
)
_LATEST_EVENT_IDS = Q(
    "SELECT event_id FROM outbox_event WHERE org_id = :org_id ORDER BY event_id DESC LIMIT :limit"
)


def _endpoint(r: Row) -> EndpointRow:
    types = r[4]
    return EndpointRow(
        int(r[0]),
        int(r[1]),
        r[2],
        r[3],
        # SQL NULL and a JSON null both mean every event.
        list(types) if isinstance(types, list) else None,
        bool(r[5]),
        r[6],
        r[7],
        r[8],
        r[9],
        int(r[10]),
        r[11],
        r[12],
        r[13],
        r[14],
    )


class WebhookRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # Endpoints -----------------------------------------------------------------------

    async def endpoint(self, org_id: int, endpoint_id: int, *, lock: bool = False) -> EndpointRow | None:
        r = await self.tx.one(_ENDPOINT_LOCKED if lock else _ENDPOINT, org_id=org_id, endpoint_id=endpoint_id)
        return None if r is None else _endpoint(r)

    async def endpoints(self, org_id: int) -> list[EndpointRow]:
        return [_endpoint(r) for r in await self.tx.all(_ENDPOINTS, org_id=org_id)]

    async def endpoint_count(self, org_id: int) -> int:
        return int(await self.tx.val(_ENDPOINT_COUNT, org_id=org_id))

    async def enabled_endpoints_of_every_org(self) -> list[EndpointRow]:
        """The worker's directory of where to deliver. This is the one read across orgs:
        a registry of endpoints, like a list of tenants, refreshed in under a second."""
        return [_endpoint(r) for r in await self.tx.all(_EVERY_ENABLED_ENDPOINT, on=True)]

    async def insert_endpoint(self, row: EndpointRow) -> None:
        await self.tx.run(
            _INSERT_ENDPOINT,
            org_id=row.org_id,
            endpoint_id=row.endpoint_id,
            url=row.url,
            description=row.description,
            event_types=row.event_types,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            secret_encrypted=row.secret_encrypted,
            previous_secret_encrypted=row.previous_secret_encrypted,
            previous_secret_expires_at=row.previous_secret_expires_at,
            max_in_flight=row.max_in_flight,
            failing_since=row.failing_since,
            last_success_at=row.last_success_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def update_settings(self, row: EndpointRow) -> None:
        """Store what an org may change: URL, description, filter, enabled and its reason."""
        await self.tx.run(
            _UPDATE_SETTINGS,
            org_id=row.org_id,
            endpoint_id=row.endpoint_id,
            url=row.url,
            description=row.description,
            event_types=row.event_types,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            failing_since=row.failing_since,
            updated_at=row.updated_at,
        )

    async def set_secrets(
        self,
        org_id: int,
        endpoint_id: int,
        secret: str,
        previous: str | None,
        previous_expires_at: datetime | None,
        now: datetime,
    ) -> None:
        await self.tx.run(
            _UPDATE_SECRETS,
            org_id=org_id,
            endpoint_id=endpoint_id,
            secret=secret,
            previous=previous,
            previous_expires_at=previous_expires_at,
            now=now,
        )

    async def delete_endpoint(self, org_id: int, endpoint_id: int) -> None:
        for q in _DELETE_ENDPOINT:
            await self.tx.run(q, org_id=org_id, endpoint_id=endpoint_id)

    # Endpoint health -----------------------------------------------------------------

    async def endpoint_succeeded(self, org_id: int, endpoint_id: int, at: datetime) -> None:
        await self.tx.run(_SUCCEEDED, org_id=org_id, endpoint_id=endpoint_id, at=at)

    async def disable_endpoint(self, org_id: int, endpoint_id: int, reason: str, at: datetime) -> None:
        await self.tx.run(_DISABLE, org_id=org_id, endpoint_id=endpoint_id, off=False, reason=reason, at=at)

    async def endpoint_failed(
        self, org_id: int, endpoint_id: int, at: datetime, cutoff: datetime, reason: str
    ) -> None:
        """Note when the failures began; disable the endpoint if that was before `cutoff`."""
        await self.tx.run(_FAILING_SINCE, org_id=org_id, endpoint_id=endpoint_id, at=at)
        await self.tx.run(
            _DISABLE_FAILING,
            org_id=org_id,
            endpoint_id=endpoint_id,
            on=True,
            off=False,
            reason=reason,
            at=at,
            cutoff=cutoff,
        )

    # Deliveries ----------------------------------------------------------------------

    async def enqueue(
        self, org_id: int, endpoint_id: int, deliveries: Sequence[tuple[int, str]], now: datetime
    ) -> None:
        """Owe the endpoint these (event id, order key) pairs, pending from `now`."""
        await self.tx.many(
            _INSERT_DELIVERY,
            [
                {
                    "org_id": org_id,
                    "endpoint_id": endpoint_id,
                    "event_id": event_id,
                    "order_key": key,
                    "now": now,
                }
                for event_id, key in deliveries
            ],
        )

    async def claim(
        self, org_id: int, endpoint_id: int, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Claimed]:
        """Lease up to `limit` due deliveries whose order key has no earlier one pending.

        On PostgreSQL the rows are locked with SKIP LOCKED while leased, so concurrent
        workers never take the same attempt.
        """
        rows = await self.tx.all(
            _CLAIM, org_id=org_id, endpoint_id=endpoint_id, now=now, limit=limit, on=True
        )
        claimed = [Claimed(int(r[0]), int(r[1]), str(r[2])) for r in rows]
        if claimed:
            await self.tx.run(
                _LEASE,
                org_id=org_id,
                endpoint_id=endpoint_id,
                ids=[c.event_id for c in claimed],
                lease_until=lease_until,
                owner=owner,
            )
        return claimed

    async def payloads(
        self, org_id: int, event_ids: Sequence[int]
    ) -> dict[int, tuple[str, str, dict[str, Any]]]:
        """(event uuid, event name, payload) by event id."""
        rows = await self.tx.all(_PAYLOADS, org_id=org_id, ids=list(event_ids))
        return {int(r[0]): (r[1], r[2], r[3]) for r in rows}

    async def settle(self, owner: str, settlements: Sequence[Settlement]) -> None:
        """Record attempts' outcomes, each only if this worker still holds its lease."""
        await self.tx.many(
            _SETTLE,
            [
                {
                    "org_id": s.org_id,
                    "endpoint_id": s.endpoint_id,
                    "event_id": s.event_id,
                    "owner": owner,
                    "status": s.status,
                    "attempts": s.attempts,
                    "last_status_code": s.last_status_code,
                    "last_error": s.last_error,
                    "updated_at": s.updated_at,
                    "next_attempt_at": s.next_attempt_at,
                    "delivered_at": s.delivered_at,
                }
                for s in settlements
            ],
        )

    async def log_attempts(self, attempt_ids: Sequence[int], attempts: Sequence[NewAttempt]) -> None:
        await self.tx.many(
            _INSERT_ATTEMPT,
            [
                {
                    "org_id": a.org_id,
                    "attempt_id": attempt_id,
                    "endpoint_id": a.endpoint_id,
                    "event_id": a.event_id,
                    "attempt_number": a.attempt_number,
                    "attempted_at": a.attempted_at,
                    "status_code": a.status_code,
                    "latency_ms": a.latency_ms,
                    "response_excerpt": a.response_excerpt,
                    "error": a.error,
                    "outcome": a.outcome,
                }
                for attempt_id, a in zip(attempt_ids, attempts, strict=True)
            ],
        )

    async def dead_letters(self, org_id: int, endpoint_id: int, limit: int) -> list[DeadLetter]:
        rows = await self.tx.all(_DEAD_LETTERS, org_id=org_id, endpoint_id=endpoint_id, limit=limit)
        return [DeadLetter(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], r[6]) for r in rows]

    async def requeue(
        self, org_id: int, endpoint_id: int, now: datetime, *, event_ids: Sequence[int] | None, status: str
    ) -> int:
        """Make deliveries in `status` (all, or those of `event_ids`) pending again from `now`."""
        if event_ids is None:
            return await self.tx.run(
                _REQUEUE_ALL, org_id=org_id, endpoint_id=endpoint_id, status=status, now=now
            )
        if not event_ids:
            return 0
        return await self.tx.run(
            _REQUEUE_EVENTS,
            org_id=org_id,
            endpoint_id=endpoint_id,
            status=status,
            now=now,
            ids=list(event_ids),
        )

    async def event_ids(self, org_id: int, event_uuids: Sequence[str]) -> list[int]:
        if not event_uuids:
            return []
        return [int(r[0]) for r in await self.tx.all(_EVENT_IDS, org_id=org_id, uuids=list(event_uuids))]

    async def events_between(
        self, org_id: int, start: datetime, end: datetime
    ) -> list[tuple[int, str, int | None]]:
        """(event id, event name, customer id) of the org's events stored in [start, end)."""
        rows = await self.tx.all(_EVENTS_BETWEEN, org_id=org_id, start=start, end=end)
        return [(int(r[0]), r[1], r[2]) for r in rows]

    async def existing_deliveries(self, org_id: int, endpoint_id: int, event_ids: Sequence[int]) -> set[int]:
        rows = await self.tx.all(
            _EXISTING_DELIVERIES, org_id=org_id, endpoint_id=endpoint_id, ids=list(event_ids)
        )
        return {int(r[0]) for r in rows}

    async def attempts(self, org_id: int, endpoint_id: int, limit: int) -> list[AttemptView]:
        """The endpoint's delivery log, newest first."""
        rows = await self.tx.all(_ATTEMPTS, org_id=org_id, endpoint_id=endpoint_id, limit=limit)
        return [
            AttemptView(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], int(r[6]), r[7], r[8], r[9])
            for r in rows
        ]

    # The event stream ----------------------------------------------------------------

    async def events_after(self, org_id: int, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """(event id, payload) of the org's events after `after`, oldest first."""
        rows = await self.tx.all(_EVENTS_AFTER, org_id=org_id, after=after, limit=limit)
        return [(int(r[0]), r[1]) for r in rows]

    async def latest_event_ids(self, org_id: int, limit: int) -> list[int]:
        """The ids of the org's newest events, newest first."""
        return [int(r[0]) for r in await self.tx.all(_LATEST_EVENT_IDS, org_id=org_id, limit=limit)]
