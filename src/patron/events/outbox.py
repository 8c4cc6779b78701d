"""Writes recorded domain events into the outbox, inside the caller's transaction, and owes
each one to every enabled webhook endpoint of its org that wants it (the deliveries).

Payloads are built by the builder the event's name is registered with (events/registry.py);
an event whose name is not registered raises `UnregisteredEvent` before anything is written.

The deliveries are made by an INSERT ... SELECT over the org's endpoints, so an endpoint
added or disabled by another process counts from its own commit on, with no cache to
refresh. On PostgreSQL events and deliveries are one held-back write that travels with
the transaction's other writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import orjson

from patron.db.base import utcnow
from patron.db.sql import POSTGRESQL, Q
from patron.db.tx import Tx
from patron.events.domain import DomainEvent
from patron.events.registry import spec_of

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
    postgresql="SELECT 1",  # PostgreSQL owes deliveries in _EVENTS_AND_DELIVERIES
)


# PostgreSQL: the events and the deliveries they are owed, in one held-back write whose
# event ids come from the sequence in the events' order.
_EVENTS_AND_DELIVERIES = (
    "{p}e AS (INSERT INTO outbox_event (org_id, event_id, event_uuid, event_name, customer_id, payload,"
    " request_id, created_at) SELECT u.org_id, nextval('event_id_seq'), u.event_uuid, u.event_name,"
    " u.customer_id, u.payload::jsonb, u.request_id, u.created_at FROM unnest(:{p}org_id::bigint[],"
    " :{p}event_uuid::text[], :{p}event_name::text[], :{p}customer_id::bigint[], :{p}payload::text[],"
    " :{p}request_id::text[], :{p}created_at::timestamptz[]) WITH ORDINALITY"
    " AS u(org_id, event_uuid, event_name, customer_id, payload, request_id, created_at, n) ORDER BY u.n"
    " RETURNING org_id, event_id, event_name, customer_id, created_at),"
    " {p}d AS (INSERT INTO webhook_delivery (org_id, endpoint_id, event_id, order_key, status, attempts,"
    " next_attempt_at, created_at, updated_at) SELECT e.org_id, w.endpoint_id, e.event_id,"
    " 'c' || e.customer_id, 'pending', 0, e.created_at, e.created_at, e.created_at FROM {p}e e"
    " JOIN webhook_endpoint w ON w.org_id = e.org_id AND w.enabled AND (w.event_types IS NULL"
    " OR jsonb_typeof(w.event_types) = 'null' OR w.event_types ? e.event_name))"
)


class OutboxRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def write(self, events: Sequence[DomainEvent]) -> None:
        tx = self.tx
        now = utcnow()
        builders = [spec_of(e).build for e in events]  # raises on an unregistered event
        if tx.dialect == POSTGRESQL:
            uuids = [str(uuid.uuid4()) for _ in events]
            await tx.fragment(
                _EVENTS_AND_DELIVERIES,
                {"outbox_event", "webhook_delivery"},
                {
                    "org_id": [e.customer.org_id for e in events],
                    "event_uuid": uuids,
                    "event_name": [e.name for e in events],
                    "customer_id": [e.customer.customer_id for e in events],
                    "payload": [
                        orjson.dumps(build(e, event_uuid=u, created_at=now)).decode()
                        for build, e, u in zip(builders, events, uuids, strict=True)
                    ],
                    "request_id": [e.request_id for e in events],
                    "created_at": [now] * len(events),
                },
            )
            return
        event_ids = await tx.ids("event", len(events))
        rows = []
        for event_id, build, event in zip(event_ids, builders, events, strict=True):
            event_uuid = str(uuid.uuid4())
            org_id, customer_id = event.customer.org_id, event.customer.customer_id
            rows.append(
                {
                    "org_id": org_id,
                    "event_id": event_id,
                    "event_uuid": event_uuid,
                    "event_name": event.name,
                    "customer_id": customer_id,
                    "payload": build(event, event_uuid=event_uuid, created_at=now),
                    "request_id": event.request_id,
                    "now": now,
                }
            )
        await tx.many(_INSERT_EVENT, rows)
        await tx.many(
            _OWE,
            [
                {
                    "org_id": row["org_id"],
                    "event_id": row["event_id"],
                    "order_key": f"c{row['customer_id']}",
                    "event_name": row["event_name"],
                    "now": now,
                }
                for row in rows
            ],
        )
