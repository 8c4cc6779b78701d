"""One customer's data as one document (`GET /v2/customers/{id}/export`): the long lists read
a page at a time, so the answer can be streamed while one snapshot stays open.

The short parts (the record, the user, coupons, subscriptions ...) come from the API's own
read use cases; this module holds what has no paged read of its own: the customer's points
ledger per program, its bills, its change log and its events with their deliveries. Each is
read in pages of `PAGE` rows by keyset on its index, oldest first, so memory holds one page
whatever the customer's history:

    points_ledger   (org_id, customer_id, program_id, entry_id)
    loyalty_bill    (org_id, customer_id, bill_number) then bill_id
    customer_change (org_id, customer_id, change_id)
    outbox_event    (org_id, customer_id, event_id); deliveries as customers/activity.py reads them
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from patron.context import RequestContext
from patron.customers import activity
from patron.customers.views import TillRef
from patron.db.sql import Q
from patron.db.tx import Row, Tx
from patron.db.uow import UnitOfWork

FORMAT = "patron.customer-export/1"
PAGE = 500

_LEDGER = Q(
    "SELECT entry_id, kind, points, expires_at, created_at, till_id, bill_number, ref_kind, ref_id,"
    " amount, notes FROM points_ledger WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND program_id = :program_id AND group_id IS NULL AND entry_id > :after"
    " ORDER BY entry_id LIMIT :limit"
)
_BILLS = Q(
    "SELECT bill_id, program_id, type, bill_number, bill_amount, bill_date, points, line_items, till_id,"
    " created_at FROM loyalty_bill WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND (bill_number > :number OR (bill_number = :number AND bill_id > :after))"
    " ORDER BY bill_number, bill_id LIMIT :limit"
)
_HISTORY = Q(
    "SELECT change_id, kind, field_name, field_type, previous_value, current_value, till_id,"
    " request_id, changed_at, surface FROM customer_change"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND change_id > :after"
    " ORDER BY change_id LIMIT :limit"
)
_EVENTS = Q(
    "SELECT event_id, event_uuid, event_name, payload, request_id, created_at FROM outbox_event"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND event_id > :after"
    " ORDER BY event_id LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    entry_id: int
    kind: str
    points: int
    expires_at: datetime | None
    created_at: datetime
    till: TillRef | None
    bill_number: str | None
    ref_kind: str | None
    ref_id: int | None
    amount: Decimal | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class Bill:
    bill_id: int
    program_id: int
    type: str
    bill_number: str
    bill_amount: Decimal
    bill_date: datetime
    points: int
    line_items: list[dict[str, Any]]
    till: TillRef | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    event_id: int
    event_uuid: str
    name: str
    payload: dict[str, Any]
    request_id: str
    created_at: datetime
    deliveries: list[activity.Delivery]


class ExportRepository:
    """The paged statements of the export; every one names the org and the customer."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def ledger(
        self, org_id: int, customer_id: int, program_id: int, after: int, limit: int
    ) -> list[Row]:
        return await self.tx.all(
            _LEDGER, org_id=org_id, customer_id=customer_id, program_id=program_id, after=after, limit=limit
        )

    async def bills(self, org_id: int, customer_id: int, number: str, after: int, limit: int) -> list[Row]:
        return await self.tx.all(
            _BILLS, org_id=org_id, customer_id=customer_id, number=number, after=after, limit=limit
        )

    async def history(self, org_id: int, customer_id: int, after: int, limit: int) -> list[Row]:
        return await self.tx.all(_HISTORY, org_id=org_id, customer_id=customer_id, after=after, limit=limit)

    async def events(self, org_id: int, customer_id: int, after: int, limit: int) -> list[Row]:
        return await self.tx.all(_EVENTS, org_id=org_id, customer_id=customer_id, after=after, limit=limit)


async def _tills(uow: UnitOfWork, ctx: RequestContext, rows: list[Row], column: int) -> dict[int, TillRef]:
    ids = {int(r[column]) for r in rows if r[column]}
    return await uow.customers.tills(ctx.org_id, ids) if ids else {}


async def ledger_pages(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, program_id: int, page: int = PAGE
) -> AsyncIterator[list[LedgerEntry]]:
    """The customer's own entries in a program (not a group pool's), oldest first, a page at a time."""
    repo, after = ExportRepository(uow.tx), 0
    while True:
        rows = await repo.ledger(ctx.org_id, customer_id, program_id, after, page)
        if not rows:
            return
        tills = await _tills(uow, ctx, rows, 5)
        yield [
            LedgerEntry(
                int(r[0]),
                r[1],
                int(r[2]),
                r[3],
                r[4],
                tills.get(int(r[5])) if r[5] else None,
                r[6],
                r[7],
                None if r[8] is None else int(r[8]),
                None if r[9] is None else Decimal(r[9]),
                r[10],
            )
            for r in rows
        ]
        after = int(rows[-1][0])


async def bill_pages(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, page: int = PAGE
) -> AsyncIterator[list[Bill]]:
    """The customer's purchases and returns, by bill number, a page at a time."""
    repo, number, after = ExportRepository(uow.tx), "", 0
    while True:
        rows = await repo.bills(ctx.org_id, customer_id, number, after, page)
        if not rows:
            return
        tills = await _tills(uow, ctx, rows, 8)
        yield [
            Bill(
                int(r[0]),
                int(r[1]),
                r[2],
                r[3],
                Decimal(r[4]),
                r[5],
                int(r[6]),
                list(r[7] or []),
                tills.get(int(r[8])) if r[8] else None,
                r[9],
            )
            for r in rows
        ]
        number, after = rows[-1][3], int(rows[-1][0])


async def history_pages(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, page: int = PAGE
) -> AsyncIterator[list[activity.HistoryItem]]:
    """The change log of both surfaces, oldest first, each row as the console's activity shows
    it (surface, till, redacted before and after), a page at a time."""
    repo, after = ExportRepository(uow.tx), 0
    while True:
        rows = await repo.history(ctx.org_id, customer_id, after, page)
        if not rows:
            return
        yield await activity.history_items(uow, ctx, customer_id, rows)
        after = int(rows[-1][0])


def endpoint_address(url: str) -> str:
    """An endpoint's address without credentials, query or fragment (they may hold tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


async def event_pages(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, page: int = PAGE
) -> AsyncIterator[list[Event]]:
    """The events raised about the customer, oldest first, with their payloads and their
    delivery to each endpoint, a page at a time."""
    repo, deliveries, after = ExportRepository(uow.tx), activity.ActivityRepository(uow.tx), 0
    while True:
        rows = await repo.events(ctx.org_id, customer_id, after, page)
        if not rows:
            return
        ids = [int(r[0]) for r in rows]
        by_event: dict[int, list[activity.Delivery]] = {i: [] for i in ids}
        for d in await deliveries.deliveries(ctx.org_id, customer_id, ids):
            by_event[int(d[0])].append(activity.delivery_of(d))
        yield [
            Event(int(r[0]), r[1], r[2], dict(r[3] or {}), r[4] or "", r[5], by_event[int(r[0])])
            for r in rows
        ]
        after = ids[-1]


def erased(ctx: RequestContext, status_label: str) -> bool:
    """Whether the customer's personal data was erased or its erasure is filed."""
    config = ctx.config
    return status_label in (config.pending_deletion_label, config.deleted_label)
