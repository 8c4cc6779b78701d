"""The v2 customers routes of seed 003. Each maps the wire to a command, runs the use
case inside one unit of work and maps the result back; no business rule lives here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from patron.api.http import JSONResponse, authenticated, parse_body, parse_int, read_json
from patron.api.routing import LeanRoute
from patron.api.v2 import render
from patron.api.v2.wire import ChangeIdentifierBody, RegisterBody, StatusBody, UpdateBody
from patron.codes import message
from patron.context import RequestContext
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
from patron.customers.identifiers import change_identifiers
from patron.customers.register import apply_registration, plan_registration
from patron.customers.service import update, update_status
from patron.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v2/customers", tags=["customers"], route_class=LeanRoute)
Auth = Depends(authenticated)

SOURCE = Query(None, description="Source: INSTORE, WECHAT, ... (ALL on reads).")
ACCOUNT = Query(None, description="Account id, for sources with several accounts.")
ID_NAME = Query(None, description="Identifier type: mobile, email, externalId, cardnumber ...")
ID_VALUE = Query(None, description="Identifier value.")
EMBED = Query(None, description="Comma-separated: mlp.")


def _body_schema(model: type[Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _customer_id(raw: str, missing_code: int) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(missing_code, message(missing_code))
    return int(raw)


def _identifier_ref(name: str | None, value: str | None) -> CustomerRef:
    if not name:
        raise InvalidInput(8013, message(8013) + " identifierName is required.")
    return CustomerRef(identifier=IdentifierRef(name, value or ""))


@router.post("", summary="Register Customer", openapi_extra=_body_schema(RegisterBody))
async def register_customer(request: Request, ctx: RequestContext = Auth) -> JSONResponse:
    body = parse_body(RegisterBody, await read_json(request, request.app.state.settings.max_body_bytes))
    plan = plan_registration(ctx, body.command())
    result = await request.app.state.db.write(apply_registration, ctx, plan)
    return JSONResponse(
        {
            "createdId": result.customer_id,
            "warnings": render.warning_items(result.warnings),
            "sideEffects": [],
        }
    )


@router.get("/lookup", summary="Fetch Customer ID")
async def fetch_customer_id(
    request: Request,
    source: str | None = SOURCE,
    accountId: str | None = ACCOUNT,
    identifierName: str | None = ID_NAME,
    identifierValue: str | None = ID_VALUE,
    ctx: RequestContext = Auth,
) -> JSONResponse:
    customer_id = await request.app.state.db.read(
        queries.lookup_id,
        ctx,
        SourceAccount(source or "", accountId),
        identifierName or "",
        identifierValue or "",
    )
    return JSONResponse({"entity": customer_id, "warnings": []})


@router.put(
    "/lookup", summary="Update Customer Details (using identifier)", openapi_extra=_body_schema(UpdateBody)
)
async def update_by_identifier(
    request: Request,
    source: str | None = SOURCE,
    accountId: str | None = ACCOUNT,
    identifierName: str | None = ID_NAME,
    identifierValue: str | None = ID_VALUE,
    ctx: RequestContext = Auth,
) -> JSONResponse:
    if identifierName not in catalog.UPDATE_LOOKUP_NAMES:
        raise InvalidInput(8013, message(8013) + " Use mobile, email or externalId.")
    body = parse_body(UpdateBody, await read_json(request, request.app.state.settings.max_body_bytes))
    cmd = body.command(
        _identifier_ref(identifierName, identifierValue), SourceAccount(source or "", accountId)
    )
    result = await request.app.state.db.write(update, ctx, cmd)
    return JSONResponse(
        {
            "createdId": result.customer_id,
            "warnings": render.warning_items(result.warnings),
            "sideEffects": [],
        }
    )


@router.put("/lookup/status", summary="Update customer status", openapi_extra=_body_schema(StatusBody))
async def update_customer_status(
    request: Request,
    source: str | None = SOURCE,
    accountId: str | None = ACCOUNT,
    identifierName: str | None = ID_NAME,
    identifierValue: str | None = ID_VALUE,
    ctx: RequestContext = Auth,
) -> JSONResponse:
    if identifierName not in catalog.UPDATE_LOOKUP_NAMES:
        raise InvalidInput(8013, message(8013) + " Use mobile, email or externalId.")
    body = parse_body(StatusBody, await read_json(request, request.app.state.settings.max_body_bytes))
    cmd = UpdateStatus(
        _identifier_ref(identifierName, identifierValue),
        SourceAccount(source or "", accountId),
        body.label or "",
        body.reason or "",
        body.createdOn,
    )
    await request.app.state.db.write(update_status, ctx, cmd)
    return JSONResponse({"warnings": [], "error": []})


@router.get("/lookup/customerDetails", summary="Fetch Customer Details (by Identifier)")
async def fetch_details_by_identifier(
    request: Request,
    source: str | None = SOURCE,
    accountId: str | None = ACCOUNT,
    identifierName: str | None = ID_NAME,
    identifierValue: str | None = ID_VALUE,
    embed: str | None = EMBED,
    ctx: RequestContext = Auth,
) -> JSONResponse:
    ref = _identifier_ref(identifierName, identifierValue)
    details = await request.app.state.db.read(
        queries.details, ctx, ref, SourceAccount(source or "", accountId), embed
    )
    return JSONResponse(render.customer_json(details, ctx.config, by_identifier=True))


@router.get("/search", summary="Get Customers (Advanced Customer Search)")
async def search_customers(
    request: Request,
    q: str | None = Query(None, description="Prefix of a first name, last name or identifier."),
    limit: str | None = Query(None, description="Page size, 1 to 100 (default 10)."),
    offset: str | None = Query(None, description="Records to skip (default 0)."),
    ctx: RequestContext = Auth,
) -> JSONResponse:
    cmd = SearchCustomers(
        q or "", parse_int(limit, "limit", default=10), parse_int(offset, "offset", default=0)
    )
    page = await request.app.state.db.read(queries.search, ctx, cmd)
    return JSONResponse(render.search_json(page, cmd.limit, cmd.offset))


@router.get("/{customerId}", summary="Fetch Customer Details (by User ID)")
async def fetch_details(
    request: Request,
    customerId: str,
    source: str | None = SOURCE,
    accountId: str | None = ACCOUNT,
    embed: str | None = EMBED,
    ctx: RequestContext = Auth,
) -> JSONResponse:
    ref = CustomerRef(customer_id=_customer_id(customerId, 8015))
    details = await request.app.state.db.read(
        queries.details, ctx, ref, SourceAccount(source or "", accountId), embed
    )
    return JSONResponse(render.customer_json(details, ctx.config, by_identifier=False))


@router.put(
    "/{customerId}", summary="Update Customer Details (using userId)", openapi_extra=_body_schema(UpdateBody)
)
async def update_by_id(
    request: Request,
    customerId: str,
    source: str | None = SOURCE,
    accountId: str | None = ACCOUNT,
    ctx: RequestContext = Auth,
) -> JSONResponse:
    body = parse_body(UpdateBody, await read_json(request, request.app.state.settings.max_body_bytes))
    cmd = body.command(
        CustomerRef(customer_id=_customer_id(customerId, 8009)), SourceAccount(source or "", accountId)
    )
    result = await request.app.state.db.write(update, ctx, cmd)
    return JSONResponse(
        {
            "createdId": result.customer_id,
            "warnings": render.warning_items(result.warnings),
            "sideEffects": [],
        }
    )


@router.post(
    "/{customerId}/changeIdentifier",
    summary="Update Customer Identifiers/Issue Card",
    openapi_extra={
        **_body_schema(ChangeIdentifierBody),
        "x-seed-operations": ["Update Customer Identifiers/Issue Card", "Issue Card to an Existing Customer"],
    },
)
async def change_customer_identifiers(
    request: Request,
    customerId: str,
    source: str | None = SOURCE,
    accountId: str | None = ACCOUNT,
    seriesId: str | None = Query(None, description="Card series for card items that name none."),
    statusLabel: str | None = Query(None, description="Card status for card items that name none."),
    ctx: RequestContext = Auth,
) -> JSONResponse:
    body = parse_body(
        ChangeIdentifierBody, await read_json(request, request.app.state.settings.max_body_bytes)
    )
    series = parse_int(seriesId, "seriesId") if seriesId else None
    add = tuple(_with_card_defaults(i.command(), series, statusLabel) for i in body.add)
    cmd = ChangeIdentifiers(
        _customer_id(customerId, 8009),
        SourceAccount(source or "", accountId),
        add,
        tuple(i.command() for i in body.remove),
    )
    result = await request.app.state.db.write(change_identifiers, ctx, cmd)
    return JSONResponse({"createdId": result.customer_id, "warnings": render.warning_items(result.warnings)})


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
