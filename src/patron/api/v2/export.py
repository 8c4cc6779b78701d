"""`GET /v2/customers/{customerId}/export` (ours): everything Patron holds about one customer,
as one JSON document streamed from one read snapshot.

The short sections are the API's own reads rendered by their own routes' renderers; the long
ones (ledger, bills, history, events) are read a page at a time (transfer/customer_export.py)
and written out page by page, so memory holds one page whatever the customer's history.
Everything up to the first byte (the customer's existence, 8015/8069, the short sections)
is read before the answer starts, so a refusal is an ordinary error in the envelope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict
from starlette.responses import StreamingResponse

from patron.api.deps import Box, Db
from patron.api.http import path_id
from patron.api.ratelimits import rate_limited
from patron.api.routing import LeanRoute
from patron.api.user.envelope import UserHeaders, headers_for
from patron.api.user.users import related_people, user_parts
from patron.api.v2 import render
from patron.api.v2.change_requests import changes_json, retro_json
from patron.api.v2.coupons import detailed_coupon
from patron.api.v2.points import goodwill_json
from patron.api.v2.referrals import referral_listing
from patron.api.v2.schemas import Out, errors
from patron.context import RequestContext
from patron.customers import catalog, queries
from patron.customers.commands import CustomerRef, SourceAccount
from patron.customers.erasure_state import erasure_state
from patron.customers.views import TillRef
from patron.db.uow import UnitOfWork
from patron.engagement import change_requests as cr
from patron.engagement import coupons as cp
from patron.engagement import referrals as refs
from patron.engagement import retro
from patron.engagement.subscriptions import listed
from patron.loyalty import goodwill as gw
from patron.loyalty.goodwill_repository import GoodwillFilter
from patron.loyalty.reads import Embedded, loyalty_details
from patron.security.ratelimit import EXPORT_CUSTOMER
from patron.transfer import customer_export as ex
from patron.users import lookups as lk
from patron.users import service as users
from patron.webhooks.secrets import SecretBox

router = APIRouter(prefix="/v2/customers", tags=["customers"], route_class=LeanRoute)

EMBEDS = "points,mlp,promotionalPoints,expirySchedules,expiredPoints"
SHORT_PAGE = 100  # the page of the short sections' own reads (their maximum)
COUPON_PAGE = 1000


class CustomerExport(Out):
    """The export document; its sections are described in docs/import.md ("One customer's data")."""

    model_config = ConfigDict(extra="allow")

    format: str
    exported_at: str
    org_id: int
    customer_id: int
    erased: bool


def _till(t: TillRef | None) -> dict[str, Any] | None:
    return None if t is None else {"id": t.till_id, "code": t.code, "name": t.name}


async def _paged(fetch: Callable[[int], Awaitable[tuple[list[Any], int]]]) -> list[Any]:
    """Every item of a read paged by offset: fetch(offset) gives a page and the total."""
    out: list[Any] = []
    while True:
        items, total = await fetch(len(out))
        out.extend(items)
        if not items or len(out) >= total:
            return out


async def _user(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, h: UserHeaders, box: SecretBox
) -> Any:
    user = await users.read_user(uow, ctx, customer_id, provisional=True)
    parts = user_parts(h, ctx, user, box=box, persons=await related_people(uow, ctx, user))
    parts["last_activity"] = await lk.last_activity(uow, ctx, customer_id)
    return parts


async def _short(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, h: UserHeaders, box: SecretBox
) -> tuple[dict[str, Any], list[int]]:
    """The sections read whole (8015 unknown, 8069 merged, as Get Customer answers), and the
    programs the customer is in."""
    config, tz = ctx.config, ctx.config.timezone
    details = await queries.details(
        uow, ctx, CustomerRef(customer_id=customer_id), SourceAccount(catalog.ALL_SOURCES), EMBEDS
    )
    view = details.customer
    loyalty = await loyalty_details(uow, ctx, customer_id)

    async def coupons(offset: int) -> tuple[list[Any], int]:
        page = await cp.coupons_of(uow, ctx, customer_id, COUPON_PAGE, offset)
        return [detailed_coupon(ctx, c, page) for c in page.coupons], page.total

    async def changes(offset: int) -> tuple[list[Any], int]:
        page = await cr.change_requests(
            uow, ctx, cr.ListChangeRequests(customer_id, limit=SHORT_PAGE, offset=offset, sort_order="ASC")
        )
        return changes_json(page, tz)["data"], page.total

    async def retros(offset: int) -> tuple[list[Any], int]:
        page = await retro.retro_requests(
            uow, ctx, retro.ListRetroRequests(customer_id, limit=SHORT_PAGE, offset=offset)
        )
        return retro_json(page, tz)["data"], page.total

    async def goodwill(offset: int) -> tuple[list[Any], int]:
        f = GoodwillFilter(limit=SHORT_PAGE, offset=offset)
        page = await gw.goodwill_requests(uow, ctx, customer_id, f)
        return goodwill_json(page, f, tz)["data"], page.total

    invitees: list[Any] = []
    referees: list[Any] = []
    referral: dict[str, Any] = {}
    offset = 0
    while True:
        found = await refs.read(uow, ctx, refs.ReadReferrals(customer_id, None, SHORT_PAGE, offset))
        item = referral_listing(found, tz)["data"][0]
        referral = {"referralCode": item["referralCode"], "incentives": item["incentives"]}
        invitees += item["invitees"]
        referees += item["referee"]
        offset += SHORT_PAGE
        if offset >= found.total:
            break
    stored = await uow.subscriptions.of_customer(ctx.org_id, customer_id)
    accounts = sorted(
        {(k.source, k.account_id) for k in stored} | {(p.source, p.account_id) for p in view.profiles}
    )
    groups = await uow.loyalty_reads.groups(ctx.org_id, customer_id)
    erasure = await erasure_state(uow, ctx, customer_id)
    sections: dict[str, Any] = {
        "erased": ex.erased(ctx, view.status_label),
        "erasure": None
        if erasure is None
        else {
            "reason": erasure.reason,
            "requestedAt": render.stamp(erasure.requested_at, tz),
            "dueAt": render.stamp(erasure.due_at, tz),
        },
        "customer": render.customer_json(details, config, by_identifier=False),
        "user": await _user(uow, ctx, customer_id, h, box),
        "coupons": await _paged(coupons),
        "subscriptions": [
            {"source": s, "accountId": a, "subscriptions": render.subscriptions_json(listed(stored, s, a))}
            for s, a in accounts
        ],
        "referrals": {**referral, "invitees": invitees, "referee": referees},
        "groups": render.group_details(Embedded(groups=groups), config),
        "changeRequests": await _paged(changes),
        "retroRequests": await _paged(retros),
        "goodwillRequests": await _paged(goodwill),
    }
    sections["loyaltySummaries"] = {
        s.program_id: render.program_entry(customer_id, s, config, loyalty.memberships)
        for s in loyalty.programs
    }
    return sections, [s.program_id for s in loyalty.programs]


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _entry(e: ex.LedgerEntry, tz: str) -> dict[str, Any]:
    return {
        "entryId": e.entry_id,
        "kind": e.kind,
        "points": e.points,
        "expiresAt": render.stamp(e.expires_at, tz),
        "createdAt": render.stamp(e.created_at, tz),
        "till": _till(e.till),
        "billNumber": e.bill_number,
        "refKind": e.ref_kind,
        "refId": e.ref_id,
        "amount": None if e.amount is None else float(e.amount),
        "notes": e.notes,
    }


def _bill(b: ex.Bill, tz: str) -> dict[str, Any]:
    return {
        "billId": b.bill_id,
        "programId": b.program_id,
        "type": b.type,
        "billNumber": b.bill_number,
        "billAmount": float(b.bill_amount),
        "billDate": render.stamp(b.bill_date, tz),
        "points": b.points,
        "lineItems": b.line_items,
        "till": _till(b.till),
        "createdAt": render.stamp(b.created_at, tz),
    }


def _change(c: Any, tz: str) -> dict[str, Any]:
    return {
        "id": c.change_id,
        "changedAt": render.stamp(c.changed_at, tz),
        "surface": c.surface,
        "what": c.what,
        "field": c.field,
        "before": c.before,
        "after": c.after,
        "till": None if c.till_id is None else {"id": c.till_id, "code": c.till_code, "name": c.till_name},
        "requestId": c.request_id,
    }


def _event(e: ex.Event, tz: str) -> dict[str, Any]:
    return {
        "eventId": e.event_uuid,
        "eventName": e.name,
        "createdAt": render.stamp(e.created_at, tz),
        "requestId": e.request_id,
        "payload": e.payload,
        "deliveries": [
            {
                "endpointId": d.endpoint_id,
                "url": ex.endpoint_address(d.url),
                "status": d.status,
                "attempts": d.attempts,
                "lastStatusCode": d.last_status_code,
                "deliveredAt": render.stamp(d.delivered_at, tz),
            }
            for d in e.deliveries
        ],
    }


async def _array(
    pages: AsyncIterator[list[Any]], item: Callable[[Any], dict[str, Any]]
) -> AsyncIterator[bytes]:
    """A JSON array written a page at a time."""
    first = True
    yield b"["
    async for page in pages:
        for value in page:
            yield (b"" if first else b",") + _json(item(value))
            first = False
    yield b"]"


async def _document(
    db: Db, ctx: RequestContext, customer_id: int, h: UserHeaders, box: SecretBox
) -> AsyncIterator[bytes]:
    """The document: its head (read whole) as the first chunk, then the paged sections."""
    async with db.snapshot() as uow:
        sections, program_ids = await _short(uow, ctx, customer_id, h, box)
        tz = ctx.config.timezone
        summaries = sections.pop("loyaltySummaries")
        head = {
            "format": ex.FORMAT,
            "exportedAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "orgId": ctx.org_id,
            "customerId": customer_id,
            **sections,
        }
        yield _json(head)[:-1] + b',"loyalty":{"programs":['
        for n, program_id in enumerate(program_ids):
            yield (b"," if n else b"") + b'{"programId":' + _json(program_id)
            yield b',"summary":' + _json(summaries[program_id]) + b',"ledger":'
            async for chunk in _array(
                ex.ledger_pages(uow, ctx, customer_id, program_id), lambda e: _entry(e, tz)
            ):
                yield chunk
            yield b"}"
        yield b'],"bills":'
        async for chunk in _array(ex.bill_pages(uow, ctx, customer_id), lambda b: _bill(b, tz)):
            yield chunk
        yield b'},"history":'
        async for chunk in _array(ex.history_pages(uow, ctx, customer_id), lambda c: _change(c, tz)):
            yield chunk
        yield b',"events":'
        async for chunk in _array(ex.event_pages(uow, ctx, customer_id), lambda e: _event(e, tz)):
            yield chunk
        yield b"}"


async def _then(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


@router.get(
    "/{customerId}/export",
    summary="Export Customer Data",
    description="Everything Patron holds about one customer as one JSON document (ours; the "
    "data-portability answer a brand owes its customer): `customer` (Fetch Customer Details with "
    "source=ALL and its loyalty embeds), `user` (Get User's records, numbers masked and secrets "
    "wiped as Get User does; `show_sensitive_data` and the other user headers as there), "
    "`loyalty` (per program the summary and the whole ledger; the bills), `coupons`, "
    "`subscriptions` (per source account), `referrals`, `groups`, `changeRequests`, "
    "`retroRequests`, `goodwillRequests`, `history` (the change log of both APIs, oldest first) "
    "and `events` (each event's payload and its delivery per endpoint), with `format`, "
    "`exportedAt`, `orgId`, `customerId` and `erased`. Read from one snapshot and streamed. "
    "Heavy: meant for a customer's data request, not for polling; rate limited to 100 requests per "
    "hour per org unless the org configures its own figure (429 with Retry-After past it). "
    "8015 unknown customer, 8069 merged into another (use the survivor's id).",
    response_model=CustomerExport,
    responses=errors(400, 404),
)
async def export_customer(
    customerId: str,
    request: Request,
    db: Db,
    box: Box,
    ctx: Annotated[RequestContext, Depends(rate_limited(EXPORT_CUSTOMER))],
) -> StreamingResponse:
    customer_id = path_id(customerId, 8015)
    h = headers_for(request, ctx)
    document = _document(db, ctx, customer_id, h, box)
    first = await anext(document)  # a refusal (8015, 8069) is raised here, before any byte goes
    return StreamingResponse(_then(first, document), media_type="application/json")
