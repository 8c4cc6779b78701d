"""Every query of webhook endpoints, deliveries and attempts; each takes its org."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from patron.db.engine import dialect_of
from patron.db.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Endpoints -----------------------------------------------------------------------

    async def endpoint(self, org_id: int, endpoint_id: int) -> WebhookEndpoint | None:
        stmt = select(WebhookEndpoint).where(
            WebhookEndpoint.org_id == org_id, WebhookEndpoint.endpoint_id == endpoint_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def endpoints(self, org_id: int, *, enabled_only: bool = False) -> list[WebhookEndpoint]:
        stmt = select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id)
        if enabled_only:
            stmt = stmt.where(WebhookEndpoint.enabled.is_(True))
        return list((await self.session.execute(stmt.order_by(WebhookEndpoint.endpoint_id))).scalars())

    async def enabled_endpoints_of_every_org(self) -> list[WebhookEndpoint]:
        """The worker's directory of where to deliver. This is the one read across orgs:
        a registry of endpoints, like a list of tenants, refreshed every few seconds."""
        stmt = select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
        return list((await self.session.execute(stmt)).scalars())

    async def delete_endpoint(self, org_id: int, endpoint_id: int) -> None:
        for model in (WebhookAttempt, WebhookDelivery, WebhookEndpoint):
            await self.session.execute(
                delete(model).where(model.org_id == org_id, model.endpoint_id == endpoint_id)
            )

    # Deliveries ----------------------------------------------------------------------

    async def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(WebhookDelivery), list(rows))

    async def claim(
        self, org_id: int, endpoint_id: int, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[tuple[int, int, str]]:
        """Lease up to `limit` due deliveries whose customer has no earlier one pending.

        Returns (event_id, attempts, order_key). On PostgreSQL the rows are locked with
        SKIP LOCKED while leased, so concurrent workers never take the same attempt.
        """
        d = WebhookDelivery
        earlier = aliased(WebhookDelivery)
        blocked = exists().where(
            earlier.org_id == d.org_id,
            earlier.endpoint_id == d.endpoint_id,
            earlier.order_key == d.order_key,
            earlier.status == PENDING,
            earlier.event_id < d.event_id,
        )
        stmt = (
            select(d.event_id, d.attempts, d.order_key)
            .where(
                d.org_id == org_id,
                d.endpoint_id == endpoint_id,
                d.status == PENDING,
                d.next_attempt_at <= now,
                or_(d.lease_until.is_(None), d.lease_until < now),
                ~blocked,
            )
            .order_by(d.event_id)
            .limit(limit)
        )
        if dialect_of(self.session) == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=d)
        rows = [(int(r[0]), int(r[1]), str(r[2])) for r in await self.session.execute(stmt)]
        if rows:
            await self.session.execute(
                update(d)
                .where(d.org_id == org_id, d.endpoint_id == endpoint_id, d.event_id.in_([r[0] for r in rows]))
                .values(lease_until=lease_until, lease_owner=owner)
            )
        return rows

    async def payloads(
        self, org_id: int, event_ids: Sequence[int]
    ) -> dict[int, tuple[str, str, dict[str, Any]]]:
        stmt = select(
            OutboxEvent.event_id, OutboxEvent.event_uuid, OutboxEvent.event_name, OutboxEvent.payload
        ).where(OutboxEvent.org_id == org_id, OutboxEvent.event_id.in_(list(event_ids)))
        return {int(r[0]): (r[1], r[2], r[3]) for r in await self.session.execute(stmt)}

    async def settle(
        self, org_id: int, endpoint_id: int, event_id: int, owner: str, values: dict[str, Any]
    ) -> None:
        """Record an attempt's outcome, if this worker still holds the lease."""
        d = WebhookDelivery
        await self.session.execute(
            update(d)
            .where(
                d.org_id == org_id,
                d.endpoint_id == endpoint_id,
                d.event_id == event_id,
                d.lease_owner == owner,
            )
            .values(lease_until=None, lease_owner=None, **values)
        )

    async def log_attempts(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(WebhookAttempt), list(rows))

    async def dead_letters(self, org_id: int, endpoint_id: int, limit: int) -> list[Any]:
        d = WebhookDelivery
        stmt = (
            select(
                d.event_id,
                OutboxEvent.event_uuid,
                OutboxEvent.event_name,
                d.attempts,
                d.last_status_code,
                d.last_error,
                d.updated_at,
            )
            .join(OutboxEvent, and_(OutboxEvent.org_id == d.org_id, OutboxEvent.event_id == d.event_id))
            .where(d.org_id == org_id, d.endpoint_id == endpoint_id, d.status == DEAD)
            .order_by(d.event_id)
            .limit(limit)
        )
        return list(await self.session.execute(stmt))

    async def requeue(
        self, org_id: int, endpoint_id: int, now: datetime, *, event_ids: Sequence[int] | None, status: str
    ) -> int:
        d = WebhookDelivery
        stmt = (
            update(d)
            .where(d.org_id == org_id, d.endpoint_id == endpoint_id, d.status == status)
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                lease_owner=None,
                updated_at=now,
            )
        )
        if event_ids is not None:
            stmt = stmt.where(d.event_id.in_(list(event_ids)))
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def event_ids(self, org_id: int, event_uuids: Sequence[str]) -> list[int]:
        stmt = select(OutboxEvent.event_id).where(
            OutboxEvent.org_id == org_id, OutboxEvent.event_uuid.in_(list(event_uuids))
        )
        return [int(r[0]) for r in await self.session.execute(stmt)]

    async def events_between(self, org_id: int, start: datetime, end: datetime) -> list[Any]:
        stmt = (
            select(OutboxEvent.event_id, OutboxEvent.event_name, OutboxEvent.customer_id)
            .where(
                OutboxEvent.org_id == org_id, OutboxEvent.created_at >= start, OutboxEvent.created_at < end
            )
            .order_by(OutboxEvent.event_id)
        )
        return list(await self.session.execute(stmt))

    async def existing_deliveries(self, org_id: int, endpoint_id: int, event_ids: Sequence[int]) -> set[int]:
        d = WebhookDelivery
        stmt = select(d.event_id).where(
            d.org_id == org_id, d.endpoint_id == endpoint_id, d.event_id.in_(list(event_ids))
        )
        return {int(r[0]) for r in await self.session.execute(stmt)}

    async def attempts(self, org_id: int, endpoint_id: int, limit: int) -> list[Any]:
        a = WebhookAttempt
        stmt = (
            select(a, OutboxEvent.event_uuid, OutboxEvent.event_name)
            .join(OutboxEvent, and_(OutboxEvent.org_id == a.org_id, OutboxEvent.event_id == a.event_id))
            .where(a.org_id == org_id, a.endpoint_id == endpoint_id)
            .order_by(a.attempt_id.desc())
            .limit(limit)
        )
        return list(await self.session.execute(stmt))
