"""Coupons: issue and redeem (ours), Get Customer Coupons (Basic) and (Detailed).

The rules (series, validity, codes, refusals, status filters) are in
engagement/coupons.py and docs/engagement.md ("Coupons")."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, parse_int, path_id
from patron.api.ratelimits import rate_limited
from patron.api.routing import LeanRoute
from patron.api.v2.loyalty_wire import CustomerBody
from patron.api.v2.schemas import BODY, ErrorItem, Out, WarningItem, errors
from patron.api.v2.wire import _Wire
from patron.api.writes import Write
from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.customers.views import CustomerView, TillRef
from patron.engagement import coupons as cp
from patron.engagement.coupons_repository import CouponRow, RedemptionRow
from patron.security.ratelimit import GET_COUPONS_BASIC

router = APIRouter(prefix="/v2", tags=["customers"], route_class=LeanRoute)


# Bodies -------------------------------------------------------------------------------------


class IssueCouponBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"seriesId": 11, "customer": {"id": 1001}},
                {
                    "seriesId": 11,
                    "customer": {
                        "source": "INSTORE",
                        "identifierName": "mobile",
                        "identifierValue": "919845012345",
                    },
                },
            ]
        }
    )

    series_id: int = Field(ge=1, le=INT64_MAX, description="A series of the org's couponSeries.")
    customer: CustomerBody

    def command(self) -> cp.IssueCoupon:
        return cp.IssueCoupon(self.series_id, self.customer.address())


class RedeemCouponBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "K7QX3M9A", "customer": {"id": 1001}, "billNumber": "B-1002"}]
        }
    )

    code: str = Field(max_length=100, description="The coupon code, in any case.")
    customer: CustomerBody
    bill_number: str | None = Field(default=None, min_length=1, max_length=100)

    def command(self) -> cp.RedeemCoupon:
        return cp.RedeemCoupon(self.code, self.customer.address(), self.bill_number)


# Answers ------------------------------------------------------------------------------------


class CouponEffect(Out):
    """The seed's coupon item of sideEffects (003:L127-136)."""

    id: int
    coupon_type: str
    coupon_code: str
    valid_till: str
    description: str
    discount_code: str
    trimmed_coupon_code: str
    type: str


class CouponIssued(Out):
    created_id: int
    warnings: list[WarningItem]
    coupon: CouponEffect


class StoreRef(Out):
    code: str
    name: str


class RedemptionItem(Out):
    id: int
    bill_number: str
    redeemed_on: str
    redeemed_at: StoreRef


class CouponItem(Out):
    """A coupon of Get Customer Coupons (Basic) (003:L3604-3623)."""

    code: str
    series_id: int
    description: str
    valid_till: str
    discount_type: str
    discount_value: float
    discount_upto: float
    redemption_count: int
    redemptions_left: int
    id: int
    created_date: str
    transaction_number: str
    issued_at: StoreRef
    redemptions: list[RedemptionItem]


class CouponRedeemed(Out):
    created_id: int
    warnings: list[WarningItem]
    coupon: CouponItem


class PagePosition(Out):
    limit: int
    offset: int
    total: int


class CouponHolder(Out):
    firstname: str
    lastname: str
    mobile: str
    id: int
    coupons: list[CouponItem]


class BasicEntity(Out):
    pagination: PagePosition
    customers: list[CouponHolder]


class BasicCoupons(Out):
    """Get Customer Coupons (Basic) (003:L3591-3700)."""

    entity: BasicEntity
    warnings: list[WarningItem]
    errors: list[ErrorItem]
    success: bool


class SeriesItem(Out):
    id: int
    org_id: int
    description: str
    discount_code: str
    valid_days_from_creation: int | None
    expiry_strategy_type: str
    expiry_strategy_value: int | None
    is_multiple_use_allowed: bool
    info: str
    discount_type: str
    discount_value: float
    discount_upto: float


class IssuedAtItem(Out):
    id: int
    code: str
    description: str
    name: str
    type: str


class DetailedCoupon(Out):
    """A coupon of Get Customer Coupons (Detailed) (003:L4027-4166)."""

    id: int
    series_id: int
    series: SeriesItem
    code: str
    description: str
    created_date: str
    valid_till: str
    is_redeemed: bool
    issued_to: int
    issued_by: int
    org_id: int
    issued_at: IssuedAtItem
    coupon_discount_type: str
    issued_on: str
    active_from: str
    redemptions_left: int
    redemption_count: int
    redemption_info: list[RedemptionItem]
    redemptions: list[RedemptionItem]
    discount_type: str
    discount_value: float
    discount_upto: float
    redeemed: bool
    series_name: str
    trimmed_code: str
    transaction_number: str


class DetailedCoupons(Out):
    """Get Customer Coupons (Detailed) (003:L4026-4305)."""

    entity: list[DetailedCoupon]
    warnings: list[WarningItem]
    errors: list[ErrorItem]
    success: bool


# Rendering ----------------------------------------------------------------------------------


def _store(tills: dict[int, TillRef], till_id: int) -> dict[str, Any]:
    ref = tills.get(till_id)
    return {"code": ref.code, "name": ref.name} if ref else {"code": "", "name": ""}


def _redemption(r: RedemptionRow, tills: dict[int, TillRef], tz: str) -> dict[str, Any]:
    return {
        "id": r.redemption_id,
        "billNumber": r.bill_number,
        "redeemedOn": cp.local_stamp(r.redeemed_at, tz),
        "redeemedAt": _store(tills, r.till_id),
    }


def _money(value: Decimal) -> float:
    return float(value)


def coupon_item(
    c: CouponRow, redemptions: list[RedemptionRow], tills: dict[int, TillRef], tz: str
) -> dict[str, Any]:
    """A coupon as Get Customer Coupons (Basic) writes it."""
    return {
        "code": c.code,
        "seriesId": c.series_id,
        "description": c.description,
        "validTill": cp.local_stamp(c.valid_till, tz),
        "discountType": c.discount_type,
        "discountValue": _money(c.discount_value),
        "discountUpto": _money(c.discount_upto),
        "redemptionCount": c.redemption_count,
        "redemptionsLeft": cp.redemptions_left(c.max_redemptions, c.redemption_count),
        "id": c.coupon_id,
        "createdDate": cp.local_stamp(c.issued_at, tz),
        "transactionNumber": c.transaction_number,
        "issuedAt": _store(tills, c.issued_by_till_id),
        "redemptions": [_redemption(r, tills, tz) for r in redemptions],
    }


def _basic(ctx: RequestContext, page: cp.CouponPage) -> dict[str, Any]:
    view: CustomerView = page.customer
    profile = view.profiles[0] if view.profiles else None
    mobile = next((i.value for i in view.identifiers() if i.type == "mobile"), "")
    tz = ctx.config.timezone
    return {
        "entity": {
            "pagination": {"limit": page.limit, "offset": page.offset, "total": page.total},
            "customers": [
                {
                    "firstname": profile.first_name if profile else "",
                    "lastname": profile.last_name if profile else "",
                    "mobile": mobile,
                    "id": view.customer_id,
                    "coupons": [
                        coupon_item(c, page.redemptions.get(c.coupon_id, []), page.tills, tz)
                        for c in page.coupons
                    ],
                }
            ],
        },
        "warnings": [],
        "errors": [],
        "success": True,
    }


def detailed_coupon(ctx: RequestContext, c: CouponRow, page: cp.CouponPage) -> dict[str, Any]:
    tz = ctx.config.timezone
    series = ctx.config.coupon_series_by_id(c.series_id)
    days = series.validity_days if series else None
    till = page.tills.get(c.issued_by_till_id)
    used = [_redemption(r, page.tills, tz) for r in page.redemptions.get(c.coupon_id, [])]
    issued_on = cp.local_stamp(c.issued_at, tz)
    day = c.issued_at.astimezone(cp.zone_of(tz)).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "id": c.coupon_id,
        "seriesId": c.series_id,
        "series": {
            "id": c.series_id,
            "orgId": ctx.org_id,
            "description": c.description,
            "discountCode": cp.NO_DISCOUNT_CODE,
            "validDaysFromCreation": days,
            "expiryStrategyType": "DAYS",
            "expiryStrategyValue": days,
            "isMultipleUseAllowed": c.max_redemptions != 1,
            "info": c.description,
            "discountType": c.discount_type,
            "discountValue": _money(c.discount_value),
            "discountUpto": _money(c.discount_upto),
        },
        "code": c.code,
        "description": c.description,
        "createdDate": issued_on,
        "validTill": cp.local_stamp(c.valid_till, tz),
        "isRedeemed": c.redemption_count > 0,
        "issuedTo": c.customer_id,
        "issuedBy": c.issued_by_till_id,
        "orgId": ctx.org_id,
        "issuedAt": {
            "id": c.issued_by_till_id,
            "code": till.code if till else "",
            "description": till.name if till else "",
            "name": till.name if till else "",
            "type": "TILL",
        },
        "couponDiscountType": c.discount_type,
        "issuedOn": issued_on,
        "activeFrom": day.isoformat(timespec="seconds"),
        "redemptionsLeft": cp.redemptions_left(c.max_redemptions, c.redemption_count),
        "redemptionCount": c.redemption_count,
        "redemptionInfo": used,
        "redemptions": used,
        "discountType": c.discount_type,
        "discountValue": _money(c.discount_value),
        "discountUpto": _money(c.discount_upto),
        "redeemed": c.redemption_count > 0,
        "seriesName": c.description,
        "trimmedCode": c.code,
        "transactionNumber": c.transaction_number,
    }


# Routes -------------------------------------------------------------------------------------


@router.post(
    "/coupons/issue",
    summary="Issue a coupon",
    description="Issue one coupon of a series of the org's couponSeries to a customer (by `id`, or by "
    "`identifierName`/`identifierValue` in `source`, ALL by default). The code is random over "
    "23456789ABCDEFGHJKMNPQRSTUVWXYZ (no 0/O, 1/I/L), `codeLength` long, unique in the org; the coupon "
    "is valid until 23:59:59 in the org's time zone `validityDays` after today. Answers the coupon as "
    "the seed's sideEffects coupon item. 2130 unknown series, 8013 identifier name, 8015 unknown "
    "customer, 8069 merged. Accepts an Idempotency-Key.",
    response_model=CouponIssued,
    responses=errors(*BODY, 404, 409),
)
async def issue_coupon(body: Annotated[IssueCouponBody, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    def render(issued: cp.IssuedCoupon) -> dict[str, Any]:
        return {"createdId": issued.coupon_id, "warnings": [], "coupon": cp.coupon_side_effect(issued)}

    return await write(ctx, cp.issue, ctx, body.command(), render=render)


@router.post(
    "/coupons/redeem",
    summary="Redeem a coupon",
    description="Redeem a customer's coupon once, optionally against a bill (`billNumber`); the "
    "redemption is kept with its time, till and bill. Refused, with nothing written: 2137 no code, "
    "2131 unknown code (in this org), 2132 the coupon of another customer, 2133 expired, 2134 "
    "redeemed `maxRedemptions` times already; 8015 unknown customer. Two redemptions of a "
    "single-use coupon at once: exactly one passes. Answers the redemption's id and the coupon as "
    "Get Customer Coupons (Basic) shows it. Accepts an Idempotency-Key.",
    response_model=CouponRedeemed,
    responses=errors(*BODY, 404, 422),
)
async def redeem_coupon(body: Annotated[RedeemCouponBody, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    def render(done: cp.Redeemed) -> dict[str, Any]:
        item = coupon_item(done.coupon, done.redemptions, done.tills, ctx.config.timezone)
        return {"createdId": done.redemption_id, "warnings": [], "coupon": item}

    return await write(ctx, cp.redeem, ctx, body.command(), render=render)


_STATUS_HELP = (
    "Active and Unexpired: valid till now or later; Expired: before now; Redeemed: redeemed at least "
    "once; Unredeemed: never; Active_Redeemed, Active_Unredeemed, Expired_Redeemed, Expired_Unredeemed "
    "combine them. Any case."
)


@router.get(
    "/customers/coupons",
    summary="Get Customer Coupons (Basic)",
    description="The coupons of the customer named by exactly one of `mobile`, `email`, `externalId` or "
    "`id` (identifiers in any source), newest first, `limit` (default 100, at most 1000) from `offset`. "
    f"`status` filters: {_STATUS_HELP} 2135 none or two of the four, 2136 unknown status, 8013 bad "
    "identifier, 8015 unknown customer. Rate limited (the seed): 1,000 requests per hour per org unless "
    "the org configures its own figure; past it a 429 with Retry-After.",
    response_model=BasicCoupons,
    responses=errors(400, 404),
)
async def customer_coupons(
    db: Db,
    ctx: Annotated[RequestContext, Depends(rate_limited(GET_COUPONS_BASIC))],
    mobile: Annotated[str | None, Query(max_length=255)] = None,
    email: Annotated[str | None, Query(max_length=255)] = None,
    externalId: Annotated[str | None, Query(max_length=255)] = None,
    id: Annotated[str | None, Query(max_length=40, description="The customer's id.")] = None,
    status: Annotated[str | None, Query(max_length=40, description=_STATUS_HELP)] = None,
    limit: Annotated[str | None, Query(description="Coupons per page: 1 to 1000, default 100.")] = None,
    offset: Annotated[str | None, Query(description="Coupons to skip, default 0.")] = None,
) -> JSONResponse:
    cmd = cp.ReadCoupons(
        mobile,
        email,
        externalId,
        id,
        status,
        parse_int(limit, "limit", default=cp.DEFAULT_LIMIT),
        parse_int(offset, "offset", default=0),
    )
    page = await db.read(cp.customer_coupons, ctx, cmd)
    return JSONResponse(_basic(ctx, page))


@router.get(
    "/customers/{customerId}/coupons",
    summary="Get Customer Coupons (Detailed)",
    description="The customer's coupons with their series and meta information, newest first, "
    "`limit` (default 100, at most 1000) from `offset`; `issuedTo` is the customer. 8015 unknown "
    "customer.",
    response_model=DetailedCoupons,
    responses=errors(400, 404),
)
async def customer_coupons_detailed(
    customerId: str,
    db: Db,
    ctx: Ctx,
    limit: Annotated[str | None, Query(description="Coupons per page: 1 to 1000, default 100.")] = None,
    offset: Annotated[str | None, Query(description="Coupons to skip, default 0.")] = None,
) -> JSONResponse:
    page = await db.read(
        cp.coupons_of,
        ctx,
        path_id(customerId, 8015),
        parse_int(limit, "limit", default=cp.DEFAULT_LIMIT),
        parse_int(offset, "offset", default=0),
    )
    return JSONResponse(
        {
            "entity": [detailed_coupon(ctx, c, page) for c in page.coupons],
            "warnings": [],
            "errors": [],
            "success": True,
        }
    )
