"""Partner program links (v2 style): link, update and delink a customer's membership of one
of the org's partner programs. Each raises its event (partnerProgramLinked, Updated,
Delinked) and accepts an Idempotency-Key; the rules are in loyalty/partners.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import ConfigDict, Field

from patron.api.deps import Ctx
from patron.api.http import JSONResponse, path_id
from patron.api.routing import LeanRoute
from patron.api.v2 import schemas
from patron.api.v2.schemas import BODY, errors
from patron.api.v2.wire import _Wire
from patron.api.writes import Write
from patron.customers.commands import INT32_MAX, INT64_MAX
from patron.loyalty import partners as pp

router = APIRouter(prefix="/v2", tags=["loyalty"], route_class=LeanRoute)

_DATE_HELP = "A calendar date, YYYY-MM-DD."


class PartnerFieldsBody(_Wire):
    membership_number: str | None = Field(default=None, max_length=100, description="1 to 100 characters.")
    membership_expiry_date: str | None = Field(default=None, max_length=10, description=_DATE_HELP)
    partner_tier_number: int | None = Field(
        default=None, ge=1, le=INT32_MAX, description="One of the program's tiers (tier-based programs only)."
    )
    partner_tier_expiry_date: str | None = Field(
        default=None, max_length=10, description=_DATE_HELP + " Tier-based programs only."
    )

    def fields(self) -> pp.PartnerFields:
        return pp.PartnerFields(
            self.membership_number,
            self.membership_expiry_date,
            self.partner_tier_number,
            self.partner_tier_expiry_date,
        )


class LinkBody(PartnerFieldsBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"partnerProgramId": 45, "membershipNumber": "D-1001", "membershipExpiryDate": "2027-05-12"}
            ]
        }
    )

    partner_program_id: int = Field(ge=1, le=INT64_MAX)


class UpdatePartnerBody(PartnerFieldsBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"partnerTierNumber": 2, "partnerTierExpiryDate": "2027-06-29"}]}
    )


def _written(result: pp.PartnerWritten) -> dict[str, Any]:
    return {"createdId": result.customer_id, "warnings": [], "sideEffects": []}


@router.post(
    "/customers/{customerId}/partnerPrograms",
    summary="Link a customer to a partner program",
    description="Link a loyalty customer to one of the org's partner programs, with the membership "
    "number, the membership expiry date and, for a tier-based program, the partner tier and its expiry "
    "date (a tier-based link that names no tier starts in the lowest tier). Raises partnerProgramLinked. "
    "Answers createdId = the customer id. A customer is linked to a program once (2044, 409).",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 409, 422),
)
async def link_partner_program(
    customerId: str, body: Annotated[LinkBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    cmd = pp.LinkPartnerProgram(path_id(customerId, 8015), body.partner_program_id, body.fields())
    return await write(ctx, pp.link, ctx, cmd, render=_written)


@router.put(
    "/customers/{customerId}/partnerPrograms/{partnerProgramId}",
    summary="Update a customer's partner program membership",
    description="Change the membership number, the membership expiry date, or the partner tier and its "
    "expiry date of a link; fields not given stay. Raises partnerProgramUpdated with updateType UPGRADE "
    "(the tier number rises), DOWNGRADE (it falls), RENEWAL (same tier, the membership expiry date moves "
    "later) or UPDATE (any other change); a request that changes nothing raises nothing. Answers "
    "createdId = the customer id; 404 (2045) when the customer is not linked to the program.",
    response_model=schemas.Written,
    responses=errors(*BODY, 404),
)
async def update_partner_program(
    customerId: str,
    partnerProgramId: str,
    body: Annotated[UpdatePartnerBody, Body()],
    write: Write,
    ctx: Ctx,
) -> JSONResponse:
    cmd = pp.UpdatePartnerProgram(
        path_id(customerId, 8015), path_id(partnerProgramId, 2040, partnerProgramId), body.fields()
    )
    return await write(ctx, pp.update, ctx, cmd, render=_written)


@router.delete(
    "/customers/{customerId}/partnerPrograms/{partnerProgramId}",
    summary="Delink a customer from a partner program",
    description="Remove the customer's link to the partner program. Raises partnerProgramDelinked. "
    "Answers createdId = the customer id; 404 (2045) when the customer is not linked to the program.",
    response_model=schemas.Written,
    responses=errors(400, 404),
)
async def delink_partner_program(
    customerId: str, partnerProgramId: str, write: Write, ctx: Ctx
) -> JSONResponse:
    cmd = pp.DelinkPartnerProgram(
        path_id(customerId, 8015), path_id(partnerProgramId, 2040, partnerProgramId)
    )
    return await write(ctx, pp.delink, ctx, cmd, render=_written)
