"""Patron's own loyalty operations in v2 style: purchases and returns, redemptions.

The seeds read loyalty (Fetch Customer Loyalty Details ...) but never say how points
arrive; these operations do (docs/api.md, "Loyalty"). Each accepts an Idempotency-Key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from patron.api.deps import Ctx
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.v2 import render, schemas
from patron.api.v2.loyalty_wire import RedeemBody, TransactionBody
from patron.api.v2.schemas import BODY, errors
from patron.api.writes import Write
from patron.engagement.coupons import coupon_side_effect
from patron.loyalty.service import Posted, SideEffect, record_transaction, redeem

router = APIRouter(prefix="/v2", tags=["loyalty"], route_class=LeanRoute)


def side_effect_items(effects: list[SideEffect]) -> list[dict[str, Any]]:
    return [
        {"type": "points", e.key: e.points} if e.coupon is None else coupon_side_effect(e.coupon)
        for e in effects
    ]


def posted(result: Posted) -> dict[str, Any]:
    return {
        "createdId": result.created_id,
        "warnings": render.warning_items(result.warnings),
        "sideEffects": side_effect_items(result.side_effects),
    }


@router.post(
    "/transactions",
    summary="Record a purchase or a return",
    description="Record a purchase (REGULAR), which earns floor(billAmount x earnRate) points in the "
    "program (the default one unless programId is given), or a return (RETURN) of a recorded bill, which "
    "takes back what that bill earned in proportion to the amount returned, never below zero. A purchase "
    "without `customer` is recorded with no points (a non-member's); a retro request "
    "(POST /v2/customers/{customerId}/retroRequest) attaches it to a customer later.",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 409, 422),
)
async def add_transaction(body: Annotated[TransactionBody, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    return await write(ctx, record_transaction, ctx, body.command(), render=posted)


@router.post(
    "/points/redeem",
    summary="Redeem points",
    description="Spend a customer's points; more than the balance is refused (2010) and nothing is written.",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 422),
)
async def redeem_points(body: Annotated[RedeemBody, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    return await write(ctx, redeem, ctx, body.command(), render=posted)
