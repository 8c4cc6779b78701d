"""The v2 customers routes of seed 003. Each maps the wire to a command, runs the use
case inside one unit of work and maps the result back; no business rule lives here."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, parse_int, path_id
from patron.api.ratelimits import count_request
from patron.api.routing import LeanRoute
from patron.api.v2 import images, render, schemas
from patron.api.v2.loyalty import side_effect_items
from patron.api.v2.schemas import BODY, errors
from patron.api.v2.wire import ChangeIdentifierBody, RegisterBody, StatusBody, UpdateBody
from patron.api.writes import Write
from patron.customers import catalog, queries
from patron.customers.commands import (
    ChangeIdentifiers,
    CustomerRef,
    IdentifierInput,
    IdentifierRef,
    SearchCustomers,
    SourceAccount,
    UpdateStatus,
)
from patron.customers.identifiers import Changed, change_identifiers
from patron.customers.register import Registered, apply_registration, plan_registration
from patron.customers.service import Updated, update, update_status
from patron.errors import InvalidInput
from patron.security import ratelimit

router = APIRouter(prefix="/v2/customers", tags=["customers"], route_class=LeanRoute)

Source = Annotated[str | None, Query(description="Source: INSTORE, WECHAT, ... (ALL on reads).")]
Account = Annotated[str | None, Query(description="Account id, for sources with several accounts.")]
IdName = Annotated[
    str | None, Query(description="Identifier type: mobile, email, externalId, cardnumber ...")
]
IdValue = Annotated[str | None, Query(description="Identifier value.")]
Embed = Annotated[
    str | None,
    Query(
        description="Comma-separated: points (pointsSummary), mlp (loyaltyProgramDetails; by identifier "
        "also groupLoyaltyProgramDetails), promotionalPoints, expirySchedules, expiredPoints, "
        "CUSTOMERIMAGE (customerImage)."
    ),
]


Written = Registered | Updated | Changed


def _written(result: Written) -> dict[str, Any]:
    effects = result.side_effects if isinstance(result, Registered) else []
    body: dict[str, Any] = {"createdId": result.customer_id}
    if isinstance(result, Registered) and result.merge_id is not None:
        body["mergeId"] = result.merge_id  # a registration that merged (8050)
    body["warnings"] = render.warning_items(result.warnings)
    body["sideEffects"] = side_effect_items(effects)
    return body


def _status_changed(_: object) -> dict[str, Any]:
    return {"warnings": [], "error": []}


def _identifiers_changed(result: Written) -> dict[str, Any]:
    body: dict[str, Any] = {"createdId": result.customer_id}
    if isinstance(result, Changed) and result.merge_id is not None:
        body["mergeId"] = result.merge_id  # the change merged this customer into another (8051)
    body["warnings"] = render.warning_items(result.warnings)
    if isinstance(result, Changed) and result.pending_request is not None:
        # The org approves identifier changes first (docs/engagement.md, "Change and retro requests").
        body["changeRequest"] = {"id": result.pending_request, "status": "PENDING"}
    return body


def _identifier_ref(name: str | None, value: str | None) -> CustomerRef:
    if not name:
        raise InvalidInput(8013, detail="identifierName is required.")
    return CustomerRef(identifier=IdentifierRef(name, value or ""))


def _update_lookup(name: str | None) -> None:
    if name not in catalog.UPDATE_LOOKUP_NAMES:
        raise InvalidInput(8013, detail="Use mobile, email or externalId.")


@router.post(
    "",
    summary="Register Customer",
    response_model=schemas.Written,
    responses=errors(*BODY, 409, 422),
)
async def register_customer(body: Annotated[RegisterBody, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    plan = plan_registration(ctx, body.command())
    return await write(ctx, apply_registration, ctx, plan, render=_written)


@router.get(
    "/lookup",
    summary="Fetch Customer ID",
    response_model=schemas.CustomerIdFound,
    responses=errors(400, 404),
)
async def fetch_customer_id(
    db: Db,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    identifierName: IdName = None,
    identifierValue: IdValue = None,
) -> JSONResponse:
    customer_id = await db.read(
        queries.lookup_id,
        ctx,
        SourceAccount(source or "", accountId),
        identifierName or "",
        identifierValue or "",
    )
    return JSONResponse({"entity": customer_id, "warnings": []})


@router.put(
    "/lookup",
    summary="Update Customer Details (using identifier)",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 422),
)
async def update_by_identifier(
    body: Annotated[UpdateBody, Body()],
    write: Write,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    identifierName: IdName = None,
    identifierValue: IdValue = None,
) -> JSONResponse:
    _update_lookup(identifierName)
    cmd = body.command(
        _identifier_ref(identifierName, identifierValue), SourceAccount(source or "", accountId)
    )
    return await write(ctx, update, ctx, cmd, render=_written)


@router.put(
    "/lookup/status",
    summary="Update customer status",
    response_model=schemas.StatusChanged,
    responses=errors(*BODY, 404),
)
async def update_customer_status(
    body: Annotated[StatusBody, Body()],
    write: Write,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    identifierName: IdName = None,
    identifierValue: IdValue = None,
) -> JSONResponse:
    _update_lookup(identifierName)
    cmd = UpdateStatus(
        _identifier_ref(identifierName, identifierValue),
        SourceAccount(source or "", accountId),
        body.label or "",
        body.reason or "",
        body.created_on,
    )
    return await write(ctx, update_status, ctx, cmd, render=_status_changed)


@router.get(
    "/lookup/customerDetails",
    summary="Fetch Customer Details (by Identifier)",
    response_model=schemas.CustomerDetailsByIdentifier,
    responses=errors(400, 404),
)
async def fetch_details_by_identifier(
    request: Request,
    db: Db,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    identifierName: IdName = None,
    identifierValue: IdValue = None,
    embed: Embed = None,
) -> JSONResponse:
    ref = _identifier_ref(identifierName, identifierValue)
    await images.count_image_read(db, ctx, queries.parse_embed(embed))
    details = await db.read(queries.details, ctx, ref, SourceAccount(source or "", accountId), embed)
    body = render.customer_json(details, ctx.config, by_identifier=True)
    if images.wants_image(details.embeds):
        body["customerImage"] = images.embed_json(request, details.images)
    return JSONResponse(body)


@router.get(
    "/search",
    summary="Get Customers (Advanced Customer Search)",
    response_model=schemas.SearchPage,
    responses=errors(400),
)
async def search_customers(
    db: Db,
    ctx: Ctx,
    q: Annotated[str | None, Query(description="Prefix of a first name, last name or identifier.")] = None,
    limit: Annotated[str | None, Query(description="Page size, 1 to 100 (default 10).")] = None,
    offset: Annotated[str | None, Query(description="Records to skip (default 0).")] = None,
) -> JSONResponse:
    cmd = SearchCustomers(
        q or "", parse_int(limit, "limit", default=10), parse_int(offset, "offset", default=0)
    )
    page = await db.read(queries.search, ctx, cmd)
    return JSONResponse(render.search_json(page, cmd.limit, cmd.offset))


@router.get(
    "/{customerId}",
    summary="Fetch Customer Details (by User ID)",
    description="The customer's record in the source account asked for (all with source=ALL), with "
    "the blocks `embed` asks for. `embed=CUSTOMERIMAGE` is Get Customer Image: `customerImage` lists "
    "the customer's image at its latest version (empty before an upload), `filePath` and "
    "`secureFilePath` naming the route that serves its bytes; only such a call counts against Get "
    "Customer Image's hourly rate limit (429 with Retry-After past it).",
    response_model=schemas.CustomerDetails,
    responses=errors(400, 404),
    openapi_extra={"x-seed-operations": ["Fetch Customer Details (by User ID)", "Get Customer Image"]},
)
async def fetch_details(
    customerId: str,
    request: Request,
    db: Db,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    embed: Embed = None,
) -> JSONResponse:
    ref = CustomerRef(customer_id=path_id(customerId, 8015))
    await images.count_image_read(db, ctx, queries.parse_embed(embed))
    details = await db.read(queries.details, ctx, ref, SourceAccount(source or "", accountId), embed)
    body = render.customer_json(details, ctx.config, by_identifier=False)
    if images.wants_image(details.embeds):
        body["customerImage"] = images.embed_json(request, details.images)
    return JSONResponse(body)


@router.put(
    "/{customerId}",
    summary="Update Customer Details (using userId)",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 422),
)
async def update_by_id(
    customerId: str,
    body: Annotated[UpdateBody, Body()],
    write: Write,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
) -> JSONResponse:
    cmd = body.command(
        CustomerRef(customer_id=path_id(customerId, 8009)), SourceAccount(source or "", accountId)
    )
    return await write(ctx, update, ctx, cmd, render=_written)


@router.post(
    "/{customerId}/changeIdentifier",
    summary="Update Customer Identifiers/Issue Card",
    description=(
        "Adds and removes a customer's identifiers and cards. A call that adds a card is an"
        " Issue Card and counts against the org's hourly rate limit of that operation"
        " (1,000 unless `rateLimitsPerHour` says otherwise; 429 with Retry-After past it)."
        " Every change is recorded as a change request (Get Identifier Change Requests). When"
        " the org sets `identifierChangeApproval`, the change is checked but not applied: it"
        " waits as a PENDING change request, answered with warning 2160 and `changeRequest`"
        " `{id, status}`, until PUT .../changeRequest/{requestId} approves or rejects it."
    ),
    response_model=schemas.IdentifiersChanged,
    responses=errors(*BODY, 404, 409, 422),
    openapi_extra={
        "x-seed-operations": ["Update Customer Identifiers/Issue Card", "Issue Card to an Existing Customer"],
    },
)
async def change_customer_identifiers(
    customerId: str,
    body: Annotated[ChangeIdentifierBody, Body()],
    write: Write,
    db: Db,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    seriesId: Annotated[str | None, Query(description="Card series for card items that name none.")] = None,
    statusLabel: Annotated[
        str | None, Query(description="Card status for card items that name none.")
    ] = None,
) -> JSONResponse:
    series = parse_int(seriesId, "seriesId") if seriesId else None
    add = tuple(_with_card_defaults(i.command(), series, statusLabel) for i in body.add)
    cmd = ChangeIdentifiers(
        path_id(customerId, 8009),
        SourceAccount(source or "", accountId),
        add,
        tuple(i.command() for i in body.remove),
    )
    if any(catalog.canonical_type(str(i.type)) == catalog.CARD for i in add):
        await count_request(db, ctx, ratelimit.ISSUE_CARD)  # only card issues are limited
    return await write(ctx, change_identifiers, ctx, cmd, render=_identifiers_changed)


def _with_card_defaults(
    item: IdentifierInput, series_id: int | None, status_label: str | None
) -> IdentifierInput:
    if catalog.canonical_type(str(item.type)) != catalog.CARD:
        return item
    return replace(
        item,
        series_id=item.series_id if item.series_id is not None else series_id,
        status_label=item.status_label or status_label,
    )
