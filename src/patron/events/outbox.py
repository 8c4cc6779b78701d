"""Writes recorded domain events into the outbox, inside the caller's transaction, and owes
each one to every enabled webhook endpoint of its org that wants it (the deliveries).

The deliveries are made by one INSERT ... SELECT over the org's endpoints per event, so
an endpoint added or disabled by another process counts from its own commit on, with no
cache to refresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.tx import Tx
from patron.events.domain import DomainEvent
from patron.events.payloads import envelope

_INSERT_EVENT = Q(
    "INSERT INTO outbox_event (org_id, event_id, event_uuid, event_name, customer_id, payload, request_id,"
    " created_at) VALUES (:org_id, :event_id, :event_uuid, :event_name, :customer_id, :payload,"
    " :request_id, :now)"
)
# Endpoints stored before event filters were written as SQL NULL hold a JSON null.
_OWE = Q(
    sqlite="INSERT INTO webhook_delivery (org_id, endpoint_id, event_id, order_key, status, attempts,"
    " next_attempt_at, created_at, updated_at) SELECT e.org_id, e.endpoint_id, :event_id, :order_key,"
    " 'pending', 0, :now, :now, :now FROM webhook_endpoint e WHERE e.org_id = :org_id AND e.enabled = 1"
    " AND (e.event_types IS NULL OR json_type(e.event_types) = 'null'"
    " OR EXISTS (SELECT 1 FROM json_each(e.event_types) WHERE json_each.value = :event_name))",
    postgresql="INSERT INTO webhook_delivery (org_id, endpoint_id, event_id, order_key, status, attempts,"
    " next_attempt_at, created_at, updated_at) SELECT e.org_id, e.endpoint_id, :event_id, :order_key,"
    " 'pending', 0, :now, :now, :now FROM webhook_endpoint e WHERE e.org_id = :org_id AND e.enabled"
    " AND (e.event_types IS NULL OR jsonb_typeof(e.event_types) = 'null'"
    " OR e.event_types ? :event_name)",
)


class OutboxRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def write(self, events: Sequence[DomainEvent]) -> None:
        tx = self.tx
        event_ids = await tx.ids("event", len(events))
        now = utcnow()
        rows = []
        for event_id, event in zip(event_ids, events, strict=True):
            event_uuid = str(uuid.uuid4())
            org_id, customer_id = event.customer.org_id, event.customer.customer_id
            rows.append(
                {
                    "org_id": org_id,
                    "event_id": event_id,
                    "event_uuid": event_uuid,
                    "event_name": event.name,
                    "customer_id": customer_id,
                    "payload": envelope(event, event_uuid=event_uuid, created_at=now),
                    "request_id": event.request_id,
                    "now": now,
                }
            )
        await tx.many(_INSERT_EVENT, rows)
        for row in rows:
            await tx.run(
                _OWE,
                org_id=row["org_id"],
                event_id=row["event_id"],
                order_key=f"c{row['customer_id']}",
                event_name=row["event_name"],
                now=now,
            )
