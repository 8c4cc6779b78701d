"""Change and retro requests: Get Identifier Change Requests and Get Change Requests (seed
003), and Patron's own writes around them: deciding a pending identifier change, asking for
and deciding a retro request. The rules are in engagement/change_requests.py and
engagement/retro.py, and docs/engagement.md, "Change and retro requests"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import ConfigDict, Field, model_validator

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, parse_int, path_id
from patron.api.ratelimits import rate_limited
from patron.api.routing import LeanRoute
from patron.api.v2 import render
from patron.api.v2.loyalty import side_effect_items
from patron.api.v2.points_wire import GoodwillActor
from patron.api.v2.schemas import BODY, ErrorItem, Out, Pagination, WarningItem, errors
from patron.api.v2.wire import _Wire
from patron.api.writes import Write
from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.engagement import change_requests as cr
from patron.engagement import retro
from patron.loyalty.goodwill_repository import TillInfo
from patron.security.ratelimit import GET_CHANGE_REQUESTS

router = APIRouter(prefix="/v2", tags=["customers"], route_class=LeanRoute)

Limit = Annotated[str | None, Query(description="Page size, 1 to 100 (default 10).")]
Offset = Annotated[str | None, Query(description="Records to skip (default 0).")]
StartDate = Annotated[
    str | None, Query(description="Requests added on or after this day (YYYY-MM-DD, the org's time zone).")
]
EndDate = Annotated[
    str | None, Query(description="Requests added on or before this day (YYYY-MM-DD, the org's time zone).")
]
StartId = Annotated[str | None, Query(description="Requests whose id is this or more.")]
EndId = Annotated[str | None, Query(description="Requests whose id is this or less.")]


# Wire ---------------------------------------------------------------------------------------


class DecisionBody(_Wire):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "APPROVED", "comments": "checked"}]})

    status: Literal["APPROVED", "REJECTED"]
    comments: str | None = Field(default=None, max_length=cr.MAX_TEXT)


class RetroBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"transactionId": 1042, "reason": "Forgot the card at the till"}]}
    )

    transaction_id: int | None = Field(
        default=None, ge=1, le=INT64_MAX, description="The purchase's id (POST /v2/transactions' createdId)."
    )
    bill_number: str | None = Field(
        default=None, min_length=1, max_length=100, description="Or the purchase's bill number."
    )
    reason: str | None = Field(default=None, max_length=cr.MAX_TEXT)

    @model_validator(mode="after")
    def _one_of(self) -> RetroBody:
        if (self.transaction_id is None) == (self.bill_number is None):
            raise ValueError("give transactionId or billNumber (one of them)")
        return self

    def command(self, customer_id: int) -> retro.RequestRetro:
        return retro.RequestRetro(customer_id, self.transaction_id, self.bill_number, self.reason)


class ChangeItems(Out):
    add: list[dict[str, str]]
    remove: list[dict[str, str]]


class ChangeRequestItem(Out):
    """An identifier change request (003:L3349-3402), and ours: source, accountId, mergedCustomerId,
    mergeId (the merge of a MERGE entry: GET /v2/customers/{id}/merges), undo (a MERGE entry
    that undid that merge)."""

    id: int
    status: Literal["PENDING", "APPROVED", "REJECTED"]
    added_by: GoodwillActor
    updated_by: GoodwillActor
    added_on: datetime
    updated_on: datetime
    user_id: int
    change_type: str
    change_identifiers: ChangeItems
    comments: str
    sec_user_id: int
    one_step: bool
    source: str
    account_id: str
    merged_customer_id: int | None
    merge_id: int | None
    undo: bool = Field(
        description="True on the MERGE entry of an undo (POST /v2/customers/merge/{mergeId}/undo)."
    )


class ChangeRequestPage(Out):
    pagination: Pagination
    data: list[ChangeRequestItem]
    warnings: list[WarningItem]
    errors: list[ErrorItem]


class StoreActor(Out):
    """The store of the till that added a request (Patron keeps no store ids: 0)."""

    id: int
    code: str
    description: str
    name: str
    type: Literal["STORE"]
    admin_type: str
    is_active: bool
    is_ou_enabled: bool
    time_zone_id: int
    currency_id: int
    language_id: int


class RetroItem(Out):
    """A retro request (003:L3132-3293), and ours: billNumber, fromCustomerId, points."""

    id: int
    status: Literal["PENDING", "APPROVED", "REJECTED"]
    added_by: GoodwillActor
    added_by_parent: StoreActor
    updated_by: GoodwillActor
    added_on: datetime
    updated_on: datetime
    user_id: int
    request_id: int
    base_type: Literal["RETRO"]
    reason: str
    comments: str
    transaction_id: int
    warnings: list[WarningItem]
    req_add: bool
    one_step: bool
    bill_number: str
    from_customer_id: int | None
    points: int | None


class RetroPage(Out):
    pagination: Pagination
    data: list[RetroItem]
    warnings: list[WarningItem]
    errors: list[ErrorItem]


class ChangeDecided(Out):
    created_id: int = Field(description="The change request's id.")
    status: Literal["APPROVED", "REJECTED"]
    user_id: int = Field(description="The customer holding the identifiers now (the survivor of a merge).")
    warnings: list[WarningItem]


class RetroWritten(Out):
    created_id: int = Field(description="The retro request's id.")
    status: Literal["PENDING", "APPROVED", "REJECTED"]
    transaction_id: int
    warnings: list[WarningItem]
    side_effects: list[dict[str, Any]]


# Render -------------------------------------------------------------------------------------


def _actor(till: TillInfo) -> dict[str, Any]:
    # The seed's requests are added by admin users and tills alike (003:L3136-3160); Patron's by tills.
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


def _store(code: str, name: str) -> dict[str, Any]:
    return {
        "id": 0,
        "code": code,
        "description": "",
        "name": name,
        "type": "STORE",
        "adminType": "GENERAL",
        "isActive": True,
        "isOuEnabled": False,
        "timeZoneId": 0,
        "currencyId": 0,
        "languageId": 0,
    }


def changes_json(page: cr.ChangePage, tz: str) -> dict[str, Any]:
    return {
        "pagination": {"limit": page.limit, "offset": page.offset, "total": page.total},
        "data": [
            {
                "id": c.request_id,
                "status": c.status,
                "addedBy": _actor(c.added_by),
                "updatedBy": _actor(c.updated_by),
                "addedOn": render.stamp(c.added_at, tz),
                "updatedOn": render.stamp(c.updated_at, tz),
                "userId": c.customer_id,
                "changeType": c.change_type,
                "changeIdentifiers": {"add": c.changes["add"], "remove": c.changes["remove"]},
                "comments": c.comments,
                "secUserId": 0,
                "oneStep": c.one_step,
                "source": c.source,
                "accountId": c.account_id,
                "mergedCustomerId": c.merged_customer_id,
                "mergeId": c.merge_id,
                "undo": bool(c.changes.get("undo", False)),
            }
            for c in page.items
        ],
        "warnings": [],
        "errors": [],
    }


def retro_json(page: retro.RetroPage, tz: str) -> dict[str, Any]:
    return {
        "pagination": {"limit": page.limit, "offset": page.offset, "total": page.total},
        "data": [
            {
                "id": r.request_id,
                "status": r.status,
                "addedBy": _actor(r.added_by),
                "addedByParent": _store(r.store_code, r.store_name),
                "updatedBy": _actor(r.updated_by),
                "addedOn": render.stamp(r.added_at, tz),
                "updatedOn": render.stamp(r.updated_at, tz),
                "userId": r.customer_id,
                "requestId": r.request_id,
                "baseType": retro.RETRO,
                "reason": r.reason,
                "comments": r.comments,
                "transactionId": r.bill_id,
                "warnings": [],
                "reqAdd": True,
                "oneStep": r.one_step,
                "billNumber": r.bill_number,
                "fromCustomerId": r.from_customer_id,
                "points": r.points,
            }
            for r in page.items
        ],
        "warnings": [],
        "errors": [],
    }


def _change_decided(result: cr.ChangeDecided) -> dict[str, Any]:
    return {
        "createdId": result.request_id,
        "status": result.status,
        "userId": result.customer_id,
        "warnings": render.warning_items(result.warnings),
    }


def _retro_written(result: retro.RetroDone) -> dict[str, Any]:
    return {
        "createdId": result.request_id,
        "status": result.status,
        "transactionId": result.transaction_id,
        "warnings": [],
        "sideEffects": side_effect_items(result.side_effects),
    }


def _optional_id(raw: str | None, name: str) -> int | None:
    return None if raw is None or raw == "" else parse_int(raw, name)


# Routes -------------------------------------------------------------------------------------


@router.get(
    "/customers/{customerId}/changeRequest",
    summary="Get Identifier Change Requests",
    description="The customer's identifier change requests: every changeIdentifier call (changeType "
    "EMAIL, MOBILE, EXTERNAL_ID, CARDNUMBER ... or MULTIPLE for several types at once) and every merge "
    "(MERGE, on the customer that remains), with changeIdentifiers {add, remove}. Filters: changeType "
    "(a type also finds the requests that touched it among others), source, startDate and endDate "
    "(YYYY-MM-DD, inclusive, the org's time zone), startId and endId (inclusive). sortBy createdon "
    "(default) or lastUpdatedOn, sortOrder DESC (default) or ASC; limit 1 to 100 (default 10), offset. "
    "8015 unknown customer, 8069 merged (use the survivor), 8012 unknown source.",
    response_model=ChangeRequestPage,
    responses=errors(400, 404),
)
async def get_identifier_change_requests(
    customerId: str,
    db: Db,
    ctx: Ctx,
    offset: Offset = None,
    source: Annotated[str | None, Query(description="Requests made in this source (ALL: every one).")] = None,
    changeType: Annotated[str | None, Query(description="EMAIL, MOBILE, EXTERNAL_ID, MERGE ...")] = None,
    limit: Limit = None,
    sortBy: Annotated[str | None, Query(description="createdon (default) or lastUpdatedOn.")] = None,
    sortOrder: Annotated[str | None, Query(description="DESC (default) or ASC.")] = None,
    startDate: StartDate = None,
    endDate: EndDate = None,
    startId: StartId = None,
    endId: EndId = None,
) -> JSONResponse:
    q = cr.ListChangeRequests(
        customer_id=path_id(customerId, 8015),
        change_type=changeType,
        source=source,
        start_date=startDate,
        end_date=endDate,
        start_id=_optional_id(startId, "startId"),
        end_id=_optional_id(endId, "endId"),
        sort_by=sortBy,
        sort_order=sortOrder,
        limit=parse_int(limit, "limit", default=cr.DEFAULT_PAGE),
        offset=parse_int(offset, "offset", default=0),
    )
    page = await db.read(cr.change_requests, ctx, q)
    return JSONResponse(changes_json(page, ctx.config.timezone))


@router.put(
    "/customers/{customerId}/changeRequest/{requestId}",
    summary="Approve or reject an identifier change request",
    description="Decide a PENDING identifier change (orgs with identifierChangeApproval). APPROVED applies "
    "the stored changeIdentifier now, every check run again and the same events raised (customerUpdated); "
    "a change that no longer applies is refused with 2163 naming the cause, and the request stays PENDING. "
    "REJECTED changes nothing. comments are kept (else 'approved by <till id>' / 'rejected by <till id>'). "
    "2161 no such request of this customer, 2162 decided already, 8015 unknown customer, 8069 merged.",
    response_model=ChangeDecided,
    responses=errors(*BODY, 404, 409, 422),
)
async def decide_change_request(
    customerId: str, requestId: str, body: Annotated[DecisionBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    customer_id = path_id(customerId, 8015)
    cmd = cr.DecideChange(customer_id, path_id(requestId, 2161, requestId), body.status, body.comments)
    return await write(ctx, cr.decide_change, ctx, cmd, render=_change_decided)


@router.post(
    "/customers/{customerId}/retroRequest",
    summary="Request a retro transaction",
    description="Ask to attach a past purchase to this loyalty customer: one recorded without a customer, or "
    "for another customer, named by transactionId (POST /v2/transactions' createdId) or billNumber. The "
    "purchase may be at most retroMaxAgeDays old (org configuration, 30 by default; counted from its "
    "billDate). PENDING until decided, or APPROVED and attached at once when the org sets retroAutoApprove "
    "(sideEffects: the points earned). 2165 no such purchase, 2166 too old, 2167 attached to this customer "
    "already, 2168 a request for it is pending, 2171 several purchases of that bill number, 2172 a return, "
    "2173 returns recorded against it, 1013 not a loyalty customer, 8015 unknown customer, 8069 merged.",
    response_model=RetroWritten,
    responses=errors(*BODY, 404, 409, 422),
)
async def request_retro(
    customerId: str, body: Annotated[RetroBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    cmd = body.command(path_id(customerId, 8015))
    return await write(ctx, retro.request_retro, ctx, cmd, render=_retro_written)


@router.put(
    "/customers/{customerId}/retroRequest/{requestId}",
    summary="Approve or reject a retro request",
    description="Decide a PENDING retro request. APPROVED attaches the purchase to the customer in one "
    "transaction: the customer earns its points by the purchase rule of the bill's program, and a customer "
    "it belonged to gives back what it earned (never below zero, as a return). REJECTED changes nothing. "
    "2169 no such request of this customer, 2170 decided already, 2003 the customer has a purchase of that "
    "bill number, 2173 returns recorded against the purchase, 8015 unknown customer, 8069 merged.",
    response_model=RetroWritten,
    responses=errors(*BODY, 404, 409, 422),
)
async def decide_retro_request(
    customerId: str, requestId: str, body: Annotated[DecisionBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    customer_id = path_id(customerId, 8015)
    cmd = retro.DecideRetro(customer_id, path_id(requestId, 2169, requestId), body.status, body.comments)
    return await write(ctx, retro.decide_retro, ctx, cmd, render=_retro_written)


@router.get(
    "/customers/{customerId}/retroRequest",
    summary="Get Change Requests",
    description="The customer's retro requests (baseType RETRO), newest first. Filters: changeType (RETRO "
    "lists them; the seed's other types list nothing here), startDate and endDate (YYYY-MM-DD, inclusive, "
    "the org's time zone), startId and endId (inclusive); limit 1 to 100 (default 10), offset. "
    "8015 unknown customer, 8069 merged. Rate limited: 1,000 requests per hour per org unless the org "
    "configures its own figure; past it a 429 with Retry-After.",
    response_model=RetroPage,
    responses=errors(400, 404),
)
async def get_change_requests(
    customerId: str,
    db: Db,
    ctx: Annotated[RequestContext, Depends(rate_limited(GET_CHANGE_REQUESTS))],
    changeType: Annotated[
        str | None, Query(description="RETRO (the seed's other types list nothing).")
    ] = None,
    startDate: StartDate = None,
    endDate: EndDate = None,
    startId: StartId = None,
    endId: EndId = None,
    offset: Offset = None,
    limit: Limit = None,
) -> JSONResponse:
    q = retro.ListRetroRequests(
        customer_id=path_id(customerId, 8015),
        change_type=changeType,
        start_date=startDate,
        end_date=endDate,
        start_id=_optional_id(startId, "startId"),
        end_id=_optional_id(endId, "endId"),
        limit=parse_int(limit, "limit", default=cr.DEFAULT_PAGE),
        offset=parse_int(offset, "offset", default=0),
    )
    page = await db.read(retro.retro_requests, ctx, q)
    return JSONResponse(retro_json(page, ctx.config.timezone))
