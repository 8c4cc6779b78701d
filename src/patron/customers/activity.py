"""A customer's activity as the operator console shows it: the change log of both API
surfaces with the tills that made each change, and the events the customer raised with their
delivery to each webhook endpoint.

The change log is the one both APIs and the console write (`customer_change`), read with the
user namespace's own statement and renderer (users/lookups.py: newest first, every value
redacted). Each row keeps the surface its request came through (v2, user, console, system).
Rows written before the log kept it have none; for them the surface is inferred: a row of a
user record (kind USER_RECORD) is the user namespace's, and so is every row of a request that
also wrote a user-record row; any other row is a change of the customer record (v2).

Events are `outbox_event` rows of the customer (index (org_id, customer_id, event_id)); their
deliveries are `webhook_delivery` rows found through the org's endpoints and the customer's
order key (index (org_id, endpoint_id, order_key, event_id)), never a scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.context import RequestContext
from patron.db.sql import Q
from patron.db.tx import Tx
from patron.db.uow import UnitOfWork
from patron.errors import NotFound
from patron.users import lookups as lk
from patron.users import lookups_repository as lk_sql

V2_SURFACE = "v2"
USER_SURFACE = "user"
MAX_PAGE_SIZE = 100

# The customer's events, newest first: the index (org_id, customer_id, event_id).
_EVENTS = Q(
    "SELECT event_id, event_uuid, event_name, request_id, created_at FROM outbox_event"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
    " ORDER BY event_id DESC LIMIT :limit OFFSET :offset"
)
# The deliveries of some of those events: each endpoint of the org (its primary key), then
# its deliveries of the customer's order key (index (org_id, endpoint_id, order_key, event_id)).
_DELIVERIES = Q(
    "SELECT d.event_id, e.endpoint_id, e.url, e.enabled, d.status, d.attempts, d.next_attempt_at,"
    " d.last_status_code, d.last_error, d.delivered_at FROM webhook_endpoint e"
    " JOIN webhook_delivery d ON d.org_id = e.org_id AND d.endpoint_id = e.endpoint_id"
    " AND d.order_key = :order_key AND d.event_id IN (:ids*)"
    " WHERE e.org_id = :org_id ORDER BY d.event_id DESC, e.endpoint_id"
)
_ENDPOINT_COUNT = Q("SELECT COUNT(*) FROM webhook_endpoint WHERE org_id = :org_id")
_CUSTOMER = Q("SELECT merged_into_id FROM customer WHERE org_id = :org_id AND customer_id = :customer_id")

# What an operator reads for a delivery's state.
DELIVERED, PENDING, FAILED, DEAD = "delivered", "pending", "failed", "dead letter"


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One change-log row as the console shows it (values already redacted)."""

    change_id: int
    changed_at: datetime
    surface: str
    what: str
    field: str
    before: str
    after: str
    till_id: int | None
    till_code: str
    till_name: str
    request_id: str


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[HistoryItem]
    page: int
    size: int
    more: bool


@dataclass(frozen=True, slots=True)
class Delivery:
    endpoint_id: int
    url: str
    endpoint_enabled: bool
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventItem:
    event_id: int
    event_uuid: str
    name: str
    request_id: str
    created_at: datetime
    deliveries: list[Delivery]


@dataclass(frozen=True, slots=True)
class EventsPage:
    items: list[EventItem]
    page: int
    size: int
    more: bool
    endpoints: int  # how many webhook endpoints the org has


def _status(stored: str, attempts: int) -> str:
    if stored == "delivered":
        return DELIVERED
    if stored == "dead":
        return DEAD
    return FAILED if attempts > 0 else PENDING


class ActivityRepository:
    """The statements of a customer's activity; every one names the org."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def merged_into(self, org_id: int, customer_id: int) -> tuple[bool, int | None]:
        """Whether the customer exists in the org, and the customer it was merged into."""
        row = await self.tx.one(_CUSTOMER, org_id=org_id, customer_id=customer_id)
        if row is None:
            return False, None
        return True, None if row[0] is None else int(row[0])

    async def history_rows(self, org_id: int, customer_id: int, limit: int, offset: int) -> list[Any]:
        return await self.tx.all(
            lk_sql.HISTORY, org_id=org_id, customer_id=customer_id, limit=limit, offset=offset
        )

    async def events(self, org_id: int, customer_id: int, limit: int, offset: int) -> list[Any]:
        return await self.tx.all(_EVENTS, org_id=org_id, customer_id=customer_id, limit=limit, offset=offset)

    async def deliveries(self, org_id: int, customer_id: int, event_ids: list[int]) -> list[Any]:
        if not event_ids:
            return []
        return await self.tx.all(_DELIVERIES, org_id=org_id, order_key=f"c{customer_id}", ids=event_ids)

    async def endpoint_count(self, org_id: int) -> int:
        return int(await self.tx.val(_ENDPOINT_COUNT, org_id=org_id) or 0)


def _bounds(page: int, size: int) -> None:
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise NotFound(8015)


async def _known(repo: ActivityRepository, ctx: RequestContext, customer_id: int) -> None:
    exists, _ = await repo.merged_into(ctx.org_id, customer_id)
    if not exists:
        raise NotFound(8015)


def _value(text: str, key: str, record: bool) -> str:
    """A redacted old/new value: a customer field's value alone, a record's JSON as it is."""
    if not text or record:
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, dict) and key in parsed:
        value = parsed[key]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text


async def history_items(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, rows: list[Any]
) -> list[HistoryItem]:
    """Change-log rows (the columns of users/lookups_repository.py's HISTORY) as the console
    shows them: each with its surface and till, its values redacted."""
    record_requests = {r[7] for r in rows if r[1] in lk.RECORD_KINDS or r[3] == lk.USER_RECORD_FIELD_TYPE}
    till_ids = {int(r[6]) for r in rows if r[6] is not None}
    tills = await uow.customers.tills(ctx.org_id, till_ids) if till_ids else {}
    items = []
    for r in rows:
        entry = lk.entry_of(customer_id, r)
        kind, field_name, field_type, till_id, request_id = r[1], str(r[2]), r[3], r[6], r[7]
        record = kind in lk.RECORD_KINDS or field_type == lk.USER_RECORD_FIELD_TYPE
        key = field_name.partition(":")[0] if record else lk.V2_FIELDS.get(field_name, (0, field_name))[1]
        till = tills.get(int(till_id)) if till_id is not None else None
        items.append(
            HistoryItem(
                change_id=entry.id,
                changed_at=entry.changed_at,
                surface=r[9] or (USER_SURFACE if request_id in record_requests else V2_SURFACE),
                what=entry.admin_notes,
                field=field_name,
                before=_value(entry.old_data, key, record),
                after=_value(entry.new_data, key, record),
                till_id=None if till_id is None else int(till_id),
                till_code=till.code if till else "",
                till_name=till.name if till else "",
                request_id=request_id or "",
            )
        )
    return items


async def history(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, page: int = 1, size: int = 20
) -> HistoryPage:
    """One page of the customer's change log, newest first, each row with its surface and till."""
    _bounds(page, size)
    repo = ActivityRepository(uow.tx)
    await _known(repo, ctx, customer_id)
    rows = await repo.history_rows(ctx.org_id, customer_id, size + 1, (page - 1) * size)
    more = len(rows) > size
    rows = rows[:size]
    return HistoryPage(await history_items(uow, ctx, customer_id, rows), page, size, more)


def delivery_of(d: Any) -> Delivery:
    """A row of `_DELIVERIES` as an operator reads it."""
    return Delivery(
        endpoint_id=int(d[1]),
        url=d[2],
        endpoint_enabled=bool(d[3]),
        status=_status(d[4], int(d[5])),
        attempts=int(d[5]),
        next_attempt_at=d[6] if d[4] == "pending" else None,
        last_status_code=None if d[7] is None else int(d[7]),
        last_error=d[8] or "",
        delivered_at=d[9],
    )


async def events(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, page: int = 1, size: int = 20
) -> EventsPage:
    """One page of the customer's events, newest first, with their delivery per endpoint."""
    _bounds(page, size)
    repo = ActivityRepository(uow.tx)
    await _known(repo, ctx, customer_id)
    rows = await repo.events(ctx.org_id, customer_id, size + 1, (page - 1) * size)
    more = len(rows) > size
    rows = rows[:size]
    ids = [int(r[0]) for r in rows]
    by_event: dict[int, list[Delivery]] = {i: [] for i in ids}
    for d in await repo.deliveries(ctx.org_id, customer_id, ids):
        by_event[int(d[0])].append(delivery_of(d))
    items = [EventItem(int(r[0]), r[1], r[2], r[3] or "", r[4], by_event[int(r[0])]) for r in rows]
    return EventsPage(items, page, size, more, await repo.endpoint_count(ctx.org_id))
