"""Writes recorded domain events into the outbox, inside the caller's transaction, and owes
each one to every enabled webhook endpoint of the org that wants it (the deliveries)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron.db import ids
from patron.db.base import utcnow
from patron.db.models import OutboxEvent
from patron.events.domain import DomainEvent
from patron.events.payloads import envelope
from patron.webhooks.repository import PENDING, WebhookRepository


async def write_events(session: AsyncSession, events: Sequence[DomainEvent]) -> None:
    event_ids = await ids.allocate(session, "event", len(events))
    now = utcnow()
    rows = []
    owed: dict[int, list[tuple[int, str, str]]] = {}
    for event_id, event in zip(event_ids, events, strict=True):
        event_uuid = str(uuid.uuid4())
        org_id, customer_id = event.customer.org_id, event.customer.customer_id
        owed.setdefault(org_id, []).append((event_id, event.name, f"c{customer_id}"))
        rows.append(
            {
                "org_id": event.customer.org_id,
                "event_id": event_id,
                "event_uuid": event_uuid,
                "event_name": event.name,
                "customer_id": event.customer.customer_id,
                "payload": envelope(event, event_uuid=event_uuid, created_at=now),
                "request_id": event.request_id,
                "created_at": now,
            }
        )
    await session.execute(insert(OutboxEvent), rows)
    for org_id, owed_events in sorted(owed.items()):
        await owe_deliveries(session, org_id, owed_events, now)


async def owe_deliveries(
    session: AsyncSession, org_id: int, events: Sequence[tuple[int, str, str]], now: datetime
) -> None:
    """Create a pending delivery per (enabled endpoint, event it subscribes to).

    `events` are (event_id, event_name, order_key); the order key keeps one customer's
    events in order at each endpoint.
    """
    repo = WebhookRepository(session)
    endpoints = await repo.endpoints(org_id, enabled_only=True)
    await repo.enqueue(
        [
            {
                "org_id": org_id,
                "endpoint_id": ep.endpoint_id,
                "event_id": event_id,
                "order_key": order_key,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for ep in endpoints
            for event_id, name, order_key in events
            if ep.event_types is None or name in ep.event_types
        ]
    )
