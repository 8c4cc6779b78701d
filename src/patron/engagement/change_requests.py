"""Identifier change requests: every identifier change of a customer and every merge, listed by
Get Identifier Change Requests (seed 003 L3330-3440), and decided when the org wants changes
approved first (ours).

    decide_change(...)    PUT /v2/customers/{id}/changeRequest/{requestId}  APPROVED | REJECTED
    change_requests(...)  GET /v2/customers/{id}/changeRequest               the list

The rows are written by the record's writers in their own unit of work (engagement/
change_log.py): changeIdentifier records each call (APPROVED at once, "auto approved by
<till id>"), a merge is a MERGE request of the customer that remains. With the org setting
`identifierChangeApproval`, changeIdentifier checks the change and stores it PENDING with its
command instead of applying it.

A decision claims the PENDING request by a conditional UPDATE (two decisions of one request
cannot both apply; a decided request is refused, 2162). Approval applies the stored command
through changeIdentifier's own use case in the same transaction, every check run again and
the same events raised (customerUpdated); a change that no longer applies (the identifier
was taken meanwhile ...) refuses the approval with 2163 naming the cause, and the request
stays PENDING, to be rejected or approved once the cause is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.commands import INT64_MAX
from patron.customers.identifiers import change_identifiers
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.engagement import change_log
from patron.engagement.change_log import APPROVED, MERGE, MULTIPLE, PENDING, REJECTED, wire_type
from patron.engagement.change_requests_repository import ChangeFilter, ChangeView
from patron.errors import Conflict, InvalidInput, NotFound, PatronError, RuleViolation, Warning_

MAX_TEXT = 500
MAX_PAGE = 100
DEFAULT_PAGE = 10
# The seed's changeType values (003:L3322, L3432); the identifier types Patron records name
# themselves (EMAIL, MOBILE, EXTERNAL_ID, CARDNUMBER, WECHAT ...), MULTIPLE several at once.
SEED_CHANGE_TYPES = (
    "EMAIL",
    "MOBILE",
    "EXTERNAL_ID",
    MERGE,
    "ADDRESS",
    "MOBILE_REALLOC",
    "COUPON",
    "POINTS",
    "TIER",
    "RETRO",
)
CHANGE_TYPES = tuple(
    dict.fromkeys((*SEED_CHANGE_TYPES, *(wire_type(t) for t in catalog.IDENTIFIER_TYPES), MULTIPLE))
)
SORT_COLUMNS = {"createdon": "added_at", "lastupdatedon": "updated_at"}
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DecideChange:
    customer_id: int
    request_id: int
    status: str
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeDecided:
    request_id: int
    status: str
    customer_id: int
    warnings: list[Warning_]


@dataclass(frozen=True, slots=True)
class ListChangeRequests:
    """The seed's query parameters as given (None: absent)."""

    customer_id: int
    change_type: str | None = None
    source: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    start_id: int | None = None
    end_id: int | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    limit: int = DEFAULT_PAGE
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ChangePage:
    total: int
    limit: int
    offset: int
    items: list[ChangeView]


def text_of(value: str | None, name: str) -> str:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(400, detail=f"{name} is longer than {MAX_TEXT} characters.")
    return text


def decision_of(status: str | None) -> str:
    value = (status or "").strip().upper()
    if value not in (APPROVED, REJECTED):
        raise InvalidInput(400, detail="status must be APPROVED or REJECTED.")
    return value


def day_bounds(raw: str | None, name: str, tz: str, *, end: bool) -> datetime | None:
    """A YYYY-MM-DD bound as an instant: the start of that day in the org's time zone, or for
    an end bound the start of the next day (a request added that day is kept)."""
    if raw is None or raw == "":
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise InvalidInput(400, detail=f"{name} must be a date written YYYY-MM-DD.") from exc
    if len(raw.strip()) != 10:
        raise InvalidInput(400, detail=f"{name} must be a date written YYYY-MM-DD.")
    if end:
        if day == date.max:
            return LATEST
        day += timedelta(days=1)
    return datetime.combine(day, time.min, ZoneInfo(tz)).astimezone(UTC)


def id_bound(value: int | None, name: str) -> None:
    if value is not None and not 0 <= value <= INT64_MAX:
        raise InvalidInput(400, detail=f"{name} must be a whole number of 0 or more.")


def page_bounds(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(400, detail=f"limit must be from 1 to {MAX_PAGE}.")
    if offset < 0:
        raise InvalidInput(400, detail="offset must be 0 or more.")


def _filter(ctx: RequestContext, q: ListChangeRequests) -> ChangeFilter:
    change_type = None
    if q.change_type:
        change_type = q.change_type.strip().upper()
        if change_type not in CHANGE_TYPES:
            raise InvalidInput(400, detail=f"changeType must be one of {', '.join(CHANGE_TYPES)}.")
    source = None
    if q.source:
        source = q.source.strip().upper()
        if source != catalog.ALL_SOURCES and source not in catalog.SOURCES:
            raise InvalidInput(8012)
        source = None if source == catalog.ALL_SOURCES else source
    column = SORT_COLUMNS.get((q.sort_by or "createdon").strip().lower())
    if column is None:
        raise InvalidInput(400, detail="sortBy must be createdon or lastUpdatedOn.")
    order = (q.sort_order or "DESC").strip().upper()
    if order not in ("ASC", "DESC"):
        raise InvalidInput(400, detail="sortOrder must be ASC or DESC.")
    id_bound(q.start_id, "startId")
    id_bound(q.end_id, "endId")
    page_bounds(q.limit, q.offset)
    tz = ctx.config.timezone
    return ChangeFilter(
        change_type=change_type,
        source=source,
        start_at=day_bounds(q.start_date, "startDate", tz, end=False) or EARLIEST,
        end_at=day_bounds(q.end_date, "endDate", tz, end=True) or LATEST,
        start_id=q.start_id if q.start_id is not None else 0,
        end_id=q.end_id if q.end_id is not None else INT64_MAX,
        sort_column=column,
        sort_order=order,
        limit=q.limit,
        offset=q.offset,
    )


async def change_requests(uow: UnitOfWork, ctx: RequestContext, q: ListChangeRequests) -> ChangePage:
    """A customer's identifier change requests, newest first unless sorted otherwise."""
    f = _filter(ctx, q)
    if not 1 <= q.customer_id <= INT64_MAX:
        raise NotFound(8015)
    repo = uow.change_requests
    exists, merged_into, total = await repo.count(ctx.org_id, q.customer_id, f)
    if not exists:
        raise NotFound(8015)
    if merged_into is not None:
        raise NotFound(8069, detail=f"Use customer id {merged_into}.")
    items = await repo.page(ctx.org_id, q.customer_id, f) if f.offset < total else []
    return ChangePage(total, f.limit, f.offset, items)


async def decide_change(uow: UnitOfWork, ctx: RequestContext, cmd: DecideChange) -> ChangeDecided:
    """Approve (apply the stored change now) or reject a PENDING identifier change request."""
    status = decision_of(cmd.status)
    comments = text_of(cmd.comments, "comments")
    if not 1 <= cmd.customer_id <= INT64_MAX:
        raise NotFound(8015)
    if not 1 <= cmd.request_id <= INT64_MAX:
        raise NotFound(2161, x=cmd.request_id)
    repo = uow.change_requests
    found = await repo.stored(ctx.org_id, cmd.customer_id, cmd.request_id)
    if found is None:
        raise NotFound(8015)
    if found.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {found.merged_into_id}.")
    if found.status is None:
        raise NotFound(2161, x=cmd.request_id)
    if found.status != PENDING or found.command is None:
        raise RuleViolation(2162, x=found.status)
    verb = "approved" if status == APPROVED else "rejected"
    claimed = await repo.decide(
        ctx.org_id,
        cmd.customer_id,
        cmd.request_id,
        status=status,
        comments=comments or f"{verb} by {ctx.actor.till_id}",
        till_id=ctx.actor.till_id,
        now=utcnow(),
    )
    if not claimed:
        # Another decision of this request committed while this one waited for it.
        again = await repo.stored(ctx.org_id, cmd.customer_id, cmd.request_id)
        raise RuleViolation(2162, x=again.status if again and again.status else "decided")
    if status == REJECTED:
        return ChangeDecided(cmd.request_id, status, cmd.customer_id, [])
    change = change_log.command_of(cmd.customer_id, found.command)
    try:
        applied = await change_identifiers(uow, ctx, change, approving=cmd.request_id)
    except PatronError as exc:
        # The whole unit of work rolls back: the request stays PENDING.
        raise Conflict(2163, x=f"{exc.code} {exc.message}") from exc
    if applied.customer_id != cmd.customer_id:
        await repo.merged(ctx.org_id, cmd.request_id, cmd.customer_id, applied.customer_id, applied.merge_id)
    return ChangeDecided(cmd.request_id, status, applied.customer_id, applied.warnings)
