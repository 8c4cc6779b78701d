"""Points transfers and goodwill requests (v2 style): the writes Patron adds, and the seed's
reads of them, Get Points Transfer Summary of Customer and Get Customer Goodwill Requests.
Every write accepts an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, parse_int, path_id
from patron.api.routing import LeanRoute
from patron.api.v2 import render, schemas
from patron.api.v2.loyalty import posted
from patron.api.v2.points_wire import (
    GoodwillBody,
    GoodwillDecisionBody,
    GoodwillPage,
    TransferBody,
    TransferSummary,
)
from patron.api.v2.schemas import BODY, errors
from patron.api.writes import Write
from patron.errors import InvalidInput
from patron.loyalty import goodwill as gw
from patron.loyalty import transfers as pt
from patron.loyalty.goodwill_repository import GoodwillFilter, TillInfo
from patron.orgs.config import OrgConfig

router = APIRouter(prefix="/v2", tags=["loyalty"], route_class=LeanRoute)

Limit = Annotated[str | None, Query(description="Page size.")]
Offset = Annotated[str | None, Query(description="Records to skip (default 0).")]


def _flag(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise InvalidInput(400, detail=f"{name} must be true or false.")
    return value == "true"


def _optional_int(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    value = parse_int(raw, name)
    if value < 1:
        raise InvalidInput(400, detail=f"{name} must be 1 or more.")
    return value


def _local(moment: datetime, tz: str) -> str:
    """The seed's transfer date: YYYY-MM-DD HH:MM:SS in the org's time zone (003:L3031)."""
    stamped = render.stamp(moment, tz)
    assert stamped is not None
    return stamped[:19].replace("T", " ")


def _party(p: pt.Party) -> dict[str, Any]:
    return {"userId": p.customer_id, "firstName": p.first_name, "lastName": p.last_name}


def _transfers_json(items: list[pt.TransferView], config: OrgConfig) -> dict[str, Any]:
    names = {p.program_id: p.name for p in config.loyalty_programs}
    return {
        "data": [
            {
                "pointsTransferDate": _local(t.created_at, config.timezone),
                "pointsTransferred": t.points,
                "transferId": t.transfer_id,
                "transferType": t.transfer_type,
                "transferredFrom": _party(t.giver),
                "transferredTo": _party(t.receiver),
                "notes": t.notes,
                "programName": names.get(t.program_id, ""),
                "programId": t.program_id,
            }
            for t in items
        ],
        "warnings": [],
        "errors": [],
    }


def _actor(till: TillInfo) -> dict[str, Any]:
    # The seed's requests are added by admin users (003:L3469-3481); Patron's by tills.
    return {
        "id": till.till_id,
        "code": till.code,
        "description": "",
        "name": till.name,
        "type": "TILL",
        "adminType": "GENERAL",
        "isActive": till.is_active,
        "isOuEnabled": False,
        "timeZoneId": 0,
        "currencyId": 0,
        "languageId": 0,
    }


def goodwill_json(page: gw.GoodwillPage, f: GoodwillFilter, tz: str) -> dict[str, Any]:
    return {
        "pagination": {"limit": f.limit, "offset": f.offset, "total": page.total},
        "data": [
            {
                "id": g.request_id,
                "addedBy": _actor(g.added_by),
                "updatedBy": _actor(g.updated_by),
                "addedOn": render.stamp(g.added_at, tz),
                "updatedOn": render.stamp(g.updated_at, tz),
                "userId": g.customer_id,
                "requestId": g.request_id,
                "goodwillType": g.goodwill_type,
                "goodwillStatus": g.status,
                "comments": g.comments,
                "reason": g.reason,
                "approvedValue": None if g.approved_value is None else str(g.approved_value),
                "updatedComments": g.updated_comments,
                "oneStep": g.one_step,
                "programId": g.program_id,
                "points": g.points,
            }
            for g in page.items
        ],
        "warnings": [],
        "errors": [],
    }


@router.post(
    "/customers/{userId}/pointsTransfers",
    summary="Transfer points to another customer",
    description="Move points from this customer to another customer of the org (toCustomerId), in the "
    "program named or the default one, both sides in one transaction: a transfer_out entry on the giver, "
    "a transfer_in entry on the receiver (its points expire as freshly earned ones would). Refused: a "
    "transfer to the same customer (2020), more points than the giver holds (2010, nothing written), an "
    "unknown, merged or non-loyalty customer on either side (8015, 8069, 1013), an unknown program (2002).",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 422),
)
async def transfer_points(
    userId: str, body: Annotated[TransferBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    cmd = body.command(path_id(userId, 8015))
    return await write(ctx, pt.transfer, ctx, cmd, render=posted)


@router.get(
    "/customers/{userId}/pointsTransfers",
    summary="Get Points Transfer Summary of Customer",
    description="The customer's points transfers, newest first: DEDUCTION where the customer gave points, "
    "ADDITION where it received them; names are those of each customer's oldest named profile, dates "
    "in the org's time zone. Every transfer unless limit (1 to 1000) and offset page them.",
    response_model=TransferSummary,
    responses=errors(400, 404),
)
async def get_points_transfers(
    userId: str, db: Db, ctx: Ctx, limit: Limit = None, offset: Offset = None
) -> JSONResponse:
    customer_id = path_id(userId, 8015)
    size = None if limit is None or limit == "" else parse_int(limit, "limit")
    skip = parse_int(offset, "offset", default=0)
    items = await db.read(pt.transfers_of, ctx, customer_id, size, skip)
    return JSONResponse(_transfers_json(items, ctx.config))


@router.post(
    "/customers/{customerId}/goodwillRequest",
    summary="Request goodwill points",
    description="Ask for goodwill points for a loyalty customer in the program named or the default one. "
    "The request is PENDING until approved or rejected; with autoApprove it is APPROVED at once (oneStep, "
    "updatedComments '<comments>; AUTO_APPROVED') and the points are credited as a goodwill entry "
    "(the summary's adjusted rises).",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 422),
)
async def request_goodwill(
    customerId: str, body: Annotated[GoodwillBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    cmd = body.command(path_id(customerId, 8015))
    return await write(ctx, gw.request_goodwill, ctx, cmd, render=posted)


@router.put(
    "/customers/{customerId}/goodwillRequest/{requestId}",
    summary="Approve or reject a goodwill request",
    description="Decide a PENDING goodwill request. APPROVED credits approvedValue (by default the points "
    "asked for; 1 up to them, else 2027) as a goodwill entry; REJECTED credits nothing; comments become "
    "updatedComments. A request decided already is refused (2026).",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 422),
)
async def decide_goodwill(
    customerId: str, requestId: str, body: Annotated[GoodwillDecisionBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    customer_id = path_id(customerId, 8015)
    cmd = body.command(customer_id, path_id(requestId, 2025, requestId))
    return await write(ctx, gw.decide_goodwill, ctx, cmd, render=posted)


@router.get(
    "/customers/{customerId}/goodwillRequest",
    summary="Get Customer Goodwill Requests",
    description="The customer's goodwill requests, newest first. Filters: requestId, programId, and "
    "is_one_step_change or autoApprove (true: requests approved when they were made). limit 1 to 100 "
    "(default 10), offset (default 0).",
    response_model=GoodwillPage,
    responses=errors(400, 404),
)
async def get_goodwill_requests(
    customerId: str,
    db: Db,
    ctx: Ctx,
    requestId: Annotated[str | None, Query(description="One request by its id.")] = None,
    is_one_step_change: Annotated[
        str | None, Query(description="true: requests issued at once (autoApprove).")
    ] = None,
    programId: Annotated[str | None, Query(description="Requests of one loyalty program.")] = None,
    autoApprove: Annotated[str | None, Query(description="true: requests approved automatically.")] = None,
    limit: Limit = None,
    offset: Offset = None,
) -> JSONResponse:
    customer_id = path_id(customerId, 8015)
    one_step = _flag(is_one_step_change, "is_one_step_change")
    auto = _flag(autoApprove, "autoApprove")
    if one_step is not None and auto is not None and one_step != auto:
        raise InvalidInput(
            400, detail="is_one_step_change and autoApprove ask for the same flag; they differ."
        )
    f = GoodwillFilter(
        request_id=_optional_int(requestId, "requestId"),
        program_id=_optional_int(programId, "programId"),
        one_step=one_step if one_step is not None else auto,
        limit=parse_int(limit, "limit", default=10),
        offset=parse_int(offset, "offset", default=0),
    )
    page = await db.read(gw.goodwill_requests, ctx, customer_id, f)
    return JSONResponse(goodwill_json(page, f, ctx.config.timezone))
