"""The loyalty reads of seed 003: Fetch Customer Loyalty Details (by id) and Get Customer
Loyalty Details (by identifier). The lookup route is declared first so that
/v2/customers/lookup/loyaltyDetails never reads as a customer id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, path_id
from patron.api.routing import LeanRoute
from patron.api.v2 import render, schemas
from patron.api.v2.customers import Account, IdName, IdValue, Source
from patron.api.v2.schemas import errors
from patron.customers.commands import SourceAccount
from patron.loyalty.reads import loyalty_details, loyalty_details_by_identifier, parse_program_id

router = APIRouter(prefix="/v2", tags=["loyalty"], route_class=LeanRoute)

ProgramId = Annotated[
    str | None, Query(description="Only this loyalty program's entry (a configured program id).")
]
_ENTRY = (
    "One entry per loyalty program the customer is in: each program it has points in, the "
    "org's default program for a loyalty customer, and the program of each linked partner "
    "program. Figures come from the customer's summary (balances, lifetime points, redeemed, "
    "expired, returned, adjusted, cumulative purchases) and tiers from the program's "
    'configuration; at the top tier nextSlab is "" and nextSlabSerialNumber -1. '
    "linkedPartnerPrograms lists the partner links of that program, with the tier keys only "
    "for a tier-based partner program."
)


@router.get(
    "/customers/lookup/loyaltyDetails",
    summary="Get Customer Loyalty Details",
    description=f"The customer an identifier names in a source (ALL: any). {_ENTRY} identifierName "
    "also takes `id` (the customer id). 8013 bad identifier, 8015 none, 8065 none in that source.",
    response_model=schemas.LoyaltyDetails,
    responses=errors(400, 404),
)
async def get_loyalty_details(
    db: Db,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    identifierName: IdName = None,
    identifierValue: IdValue = None,
    programId: ProgramId = None,
) -> JSONResponse:
    details = await db.read(
        loyalty_details_by_identifier,
        ctx,
        SourceAccount(source or "", accountId),
        identifierName or "",
        identifierValue or "",
        parse_program_id(programId),
    )
    return JSONResponse(render.loyalty_details_json(details, ctx.config))


@router.get(
    "/customers/{customerId}/loyaltyDetails",
    summary="Fetch Customer Loyalty Details",
    description=f"{_ENTRY} 8015 unknown customer, 8069 merged into another (the message names it).",
    response_model=schemas.LoyaltyDetails,
    responses=errors(400, 404),
)
async def fetch_loyalty_details(
    customerId: str, db: Db, ctx: Ctx, programId: ProgramId = None
) -> JSONResponse:
    details = await db.read(loyalty_details, ctx, path_id(customerId, 8015), parse_program_id(programId))
    return JSONResponse(render.loyalty_details_json(details, ctx.config))
