"""Writes recorded domain events into the outbox, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron.db import ids
from patron.db.base import utcnow
from patron.db.models import OutboxEvent
from patron.events.domain import DomainEvent
from patron.events.payloads import envelope


async def write_events(session: AsyncSession, events: Sequence[DomainEvent]) -> None:
    event_ids = await ids.allocate(session, "event", len(events))
    now = utcnow()
    rows = []
    for event_id, event in zip(event_ids, events, strict=True):
        event_uuid = str(uuid.uuid4())
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
