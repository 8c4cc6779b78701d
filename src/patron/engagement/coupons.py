"""Coupons: discounts of a configured series (`couponSeries` in the org configuration)
issued to one customer each, under a code unique in the org, and redeemed against bills.

    issue(...)             POST /v2/coupons/issue                  ours
    redeem(...)            POST /v2/coupons/redeem                 ours
    customer_coupons(...)  GET  /v2/customers/coupons              Get Customer Coupons (Basic)
    coupons_of(...)        GET  /v2/customers/{id}/coupons         Get Customer Coupons (Detailed)
    issue_in(...)          one coupon inside the caller's unit of work (registration's
                           `couponOnRegistration`, referral incentives)

A coupon copies its series' terms when it is issued (description, discount, maximum
redemptions) and is valid until the last second of the day, in the org's time zone,
`validityDays` after the day of issue. Its code comes from engagement/coupon_codes.py.

Redeeming names the code and the customer: an unknown code (2131), another customer's
coupon (2132), an expired one (2133) and one redeemed `maxRedemptions` times already
(2134) are refused and nothing is written. A redemption is one conditional UPDATE of the
coupon's count (engagement/coupons_repository.py) and one redemption row (time, till,
bill number), so two redemptions of a single-use coupon at once cannot both pass.

Statuses of Get Customer Coupons (Basic) (003:L3719): Active and Unexpired mean valid
till now or later; Redeemed means redeemed at least once; Expired is the opposite of
Active, Unredeemed of Redeemed; the compound ones combine the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.addressing import customer_id_by_identifier
from patron.customers.cards import series_names
from patron.customers.commands import INT64_MAX
from patron.customers.views import CustomerView, TillRef
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.engagement.coupon_codes import new_code, normalised
from patron.engagement.coupons_repository import STATUS_FILTERS, CouponRow, RedemptionRow
from patron.errors import Conflict, InvalidInput, NotFound, RuleViolation
from patron.loyalty.commands import CustomerAddress
from patron.loyalty.service import SideEffect, customer_id_of
from patron.orgs.config import CouponSeries

# Why a coupon was issued (coupon.issued_for); couponType of the sideEffects item.
ISSUED_BY_API = "API"
ISSUED_ON_REGISTRATION = "REGISTRATION"
ISSUED_FOR_REFERRAL = "REFERRAL"
# The seed's incentive coupons are couponType "PE" (003:L132): issued by the engine's
# rules. A coupon issued through POST /v2/coupons/issue is "API".
_COUPON_TYPES = {ISSUED_BY_API: "API", ISSUED_ON_REGISTRATION: "PE", ISSUED_FOR_REFERRAL: "PE"}
# A series has no discount code of a point of sale: the seed's value for none (003:L135).
NO_DISCOUNT_CODE = "NO_VALUE"
UNLIMITED = -1
CODE_DRAWS = 8
STATUSES = tuple(STATUS_FILTERS)
_STATUS_BY_FOLDED = {s.lower(): s for s in STATUSES}
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
LOOKUP_NAMES = ("mobile", "email", "externalId", "id")


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    """A coupon as it was issued: what sideEffects and the issue answer show."""

    coupon_id: int
    series_id: int
    code: str
    valid_till: datetime
    description: str
    discount_type: str
    discount_value: Decimal
    customer_id: int = 0
    discount_upto: Decimal = Decimal(0)
    max_redemptions: int = 1
    issued_for: str = ISSUED_BY_API
    issued_at: datetime | None = None
    # The org's time zone, in which validTill is written.
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class IssueCoupon:
    series_id: int
    customer: CustomerAddress


@dataclass(frozen=True, slots=True)
class RedeemCoupon:
    code: str
    customer: CustomerAddress
    bill_number: str | None = None


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption_id: int
    coupon: CouponRow
    redemptions: list[RedemptionRow]
    tills: dict[int, TillRef]


@dataclass(frozen=True, slots=True)
class ReadCoupons:
    """Get Customer Coupons (Basic): the customer by exactly one of the four (None: not given)."""

    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    id: str | None = None
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class CouponPage:
    """A page of one customer's coupons with what renders them."""

    customer: CustomerView
    coupons: list[CouponRow]
    total: int
    limit: int
    offset: int
    redemptions: dict[int, list[RedemptionRow]]
    tills: dict[int, TillRef]


# Rules --------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def valid_till(series: CouponSeries, now: datetime, tz: str) -> datetime:
    """The last second of the day `validityDays` after today in the org's zone (the seed's
    validTill values end at 23:59:59, 003:L134, L4114)."""
    zone = zone_of(tz)
    day = now.astimezone(zone).date() + timedelta(days=series.validity_days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def local_stamp(moment: datetime, tz: str) -> str:
    """ISO 8601 with the org's offset (as api/v2/render.py's stamp writes times)."""
    return moment.astimezone(zone_of(tz)).isoformat(timespec="seconds")


def series_of(ctx: RequestContext, series_id: int) -> CouponSeries:
    series = ctx.config.coupon_series_by_id(series_id)
    if series is None:
        raise InvalidInput(2130, x=series_id)
    return series


def status_of(raw: str | None) -> str | None:
    """A status filter in any case, or None for none."""
    if raw is None or not raw.strip():
        return None
    status = _STATUS_BY_FOLDED.get(raw.strip().lower())
    if status is None:
        raise InvalidInput(2136, x=raw.strip()[:40])
    return status


def redemptions_left(max_redemptions: int, count: int) -> int:
    """-1 for a coupon redeemable without limit (as the seed's unlimited series, 003:L4088)."""
    return UNLIMITED if max_redemptions < 0 else max(max_redemptions - count, 0)


def coupon_side_effect(c: IssuedCoupon) -> dict[str, Any]:
    """The seed's coupon item of sideEffects (003:L127-136)."""
    return {
        "id": c.coupon_id,
        "couponType": _COUPON_TYPES.get(c.issued_for, "PE"),
        "couponCode": c.code,
        "validTill": local_stamp(c.valid_till, c.timezone),
        "description": c.description,
        "discountCode": NO_DISCOUNT_CODE,
        "trimmedCouponCode": c.code,
        "type": "coupon",
    }


def coupon_effect(c: IssuedCoupon) -> SideEffect:
    """A coupon as a side effect of a write (registration, referral incentives)."""
    return SideEffect("coupon", 0, coupon=c)


# Use cases ----------------------------------------------------------------------------------


async def issue_in(
    uow: UnitOfWork,
    ctx: RequestContext,
    customer_id: int,
    series_id: int,
    now: datetime,
    *,
    issued_for: str = ISSUED_BY_API,
    transaction_number: str = "",
) -> IssuedCoupon:
    """Issue one coupon of a series to a customer inside the caller's unit of work.

    Takes no lock (the code is claimed through the unique key, a taken one is drawn again),
    so callers holding customers in any order may call it; the caller checks the customer.
    """
    series = series_of(ctx, series_id)
    tz = ctx.config.timezone
    coupon_id = await uow.tx.id("coupon")
    till = valid_till(series, now, tz)
    value, upto = Decimal(repr(series.discount_value)), Decimal(repr(series.discount_upto))
    row: dict[str, Any] = {
        "coupon_id": coupon_id,
        "series_id": series.series_id,
        "customer_id": customer_id,
        "description": series.description,
        "discount_type": series.discount_type,
        "discount_value": value,
        "discount_upto": upto,
        "max_redemptions": series.max_redemptions,
        "valid_till": till,
        "issued_for": issued_for,
        "transaction_number": transaction_number,
        "issued_by_till_id": ctx.actor.till_id,
        "issued_at": now,
    }
    for _ in range(CODE_DRAWS):
        code = new_code(series.code_length)
        if await uow.coupons.claim(ctx.org_id, {**row, "code": code}):
            return IssuedCoupon(
                coupon_id,
                series.series_id,
                code,
                till,
                series.description,
                series.discount_type,
                value,
                customer_id,
                upto,
                series.max_redemptions,
                issued_for,
                now,
                tz,
            )
    raise Conflict(2138, x=series.series_id)


async def issue(uow: UnitOfWork, ctx: RequestContext, cmd: IssueCoupon) -> IssuedCoupon:
    """Issue one coupon of a series to the customer the request names."""
    series_of(ctx, cmd.series_id)
    customer_id = await customer_id_of(uow, ctx, cmd.customer)
    core = await uow.customers.core(ctx.org_id, customer_id, lock=True)
    if core is None:
        raise NotFound(8015)
    if core.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {core.merged_into_id}.")
    return await issue_in(uow, ctx, customer_id, cmd.series_id, utcnow())


async def redeem(uow: UnitOfWork, ctx: RequestContext, cmd: RedeemCoupon) -> Redeemed:
    """Redeem a coupon of the customer's once (against a bill, when one is given)."""
    code = normalised(cmd.code or "")
    if not code:
        raise InvalidInput(2137)
    customer_id = await customer_id_of(uow, ctx, cmd.customer)
    now = utcnow()
    coupon = await uow.coupons.redeem(ctx.org_id, code, customer_id, now) if len(code) <= 20 else None
    if coupon is None:
        await _refuse(uow, ctx, code, customer_id, now)
        raise AssertionError("unreachable")  # _refuse always raises
    earlier: list[RedemptionRow] = []
    if coupon.redemption_count > 1:
        earlier = (await uow.coupons.redemptions(ctx.org_id, [coupon.coupon_id])).get(coupon.coupon_id, [])
    redemption_id = await uow.tx.id("redemption")
    await uow.coupons.add_redemption(
        ctx.org_id,
        {
            "redemption_id": redemption_id,
            "coupon_id": coupon.coupon_id,
            "customer_id": customer_id,
            "bill_number": cmd.bill_number or "",
            "till_id": ctx.actor.till_id,
            "request_id": ctx.request_id,
            "redeemed_at": now,
        },
    )
    this = RedemptionRow(coupon.coupon_id, redemption_id, cmd.bill_number or "", ctx.actor.till_id, now)
    tills = await uow.customers.tills(ctx.org_id, {coupon.issued_by_till_id, ctx.actor.till_id})
    return Redeemed(redemption_id, coupon, [*earlier, this], tills)


async def _refuse(uow: UnitOfWork, ctx: RequestContext, code: str, customer_id: int, now: datetime) -> None:
    """Say why a redemption did not pass (read only: the refusal writes nothing)."""
    if await uow.customers.core(ctx.org_id, customer_id) is None:
        raise NotFound(8015)
    found = await uow.coupons.by_code(ctx.org_id, code) if len(code) <= 20 else None
    if found is None:
        raise NotFound(2131)
    if found.customer_id != customer_id:
        raise RuleViolation(2132)
    if found.valid_till < now:
        raise RuleViolation(2133, x=local_stamp(found.valid_till, ctx.config.timezone))
    raise RuleViolation(2134, x=found.redemption_count)


def _lookup(cmd: ReadCoupons) -> tuple[str, str]:
    given = [
        (name, value)
        for name, value in (
            ("mobile", cmd.mobile),
            ("email", cmd.email),
            ("externalId", cmd.external_id),
            ("id", cmd.id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(2135, detail=f"Got {len(given)}.")
    return given[0]


def _page_bounds(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(400, detail=f"limit must be 1 to {MAX_LIMIT}.")
    if not 0 <= offset <= INT64_MAX:
        raise InvalidInput(400, detail="offset must be 0 or more.")


async def customer_coupons(uow: UnitOfWork, ctx: RequestContext, cmd: ReadCoupons) -> CouponPage:
    """Get Customer Coupons (Basic): one customer's coupons, newest first."""
    name, value = _lookup(cmd)
    status = status_of(cmd.status)
    _page_bounds(cmd.limit, cmd.offset)
    if name == "id":
        try:
            customer_id = int(value.strip())
        except ValueError:
            raise InvalidInput(8013, detail="id must be a customer id (a number).") from None
        if not 1 <= customer_id <= INT64_MAX:
            raise NotFound(8015)
    else:
        customer_id = await customer_id_by_identifier(
            uow, ctx, name, value, catalog.ALL_SOURCES, "", LOOKUP_NAMES
        )
    return await _page(uow, ctx, customer_id, status, cmd.limit, cmd.offset)


async def coupons_of(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> CouponPage:
    """Get Customer Coupons (Detailed): the customer's coupons, newest first."""
    _page_bounds(limit, offset)
    if not 1 <= customer_id <= INT64_MAX:
        raise NotFound(8015)
    return await _page(uow, ctx, customer_id, None, limit, offset)


async def _page(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, status: str | None, limit: int, offset: int
) -> CouponPage:
    view = await uow.customers.view(ctx.org_id, customer_id, series_names(ctx.config))
    if view is None:
        raise NotFound(8015)
    coupons, total = await uow.coupons.page(ctx.org_id, customer_id, status, utcnow(), limit, offset)
    used = [c.coupon_id for c in coupons if c.redemption_count > 0]
    redemptions = await uow.coupons.redemptions(ctx.org_id, used)
    till_ids = {c.issued_by_till_id for c in coupons} | {r.till_id for rs in redemptions.values() for r in rs}
    tills = await uow.customers.tills(ctx.org_id, till_ids) if till_ids else {}
    return CouponPage(view, coupons, total, limit, offset, redemptions, tills)
