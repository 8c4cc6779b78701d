"""Add Customer Referrals and Get Customer Referrals (seed 003): invitations a customer sent
under a referral campaign, its referral code, the referees it brought and what the referrals
granted. The rules (campaigns, codes, linking at registration, incentives, the codes 1202-1206,
1222 and 2150-2158) are in engagement/referrals.py and docs/engagement.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import ConfigDict, Field

from patron.api.deps import Db
from patron.api.http import JSONResponse, parse_int, path_id
from patron.api.ratelimits import rate_limited
from patron.api.routing import LeanRoute
from patron.api.v2 import render
from patron.api.v2.schemas import BODY, Out, Profile, WarningItem, errors
from patron.api.v2.wire import _Wire
from patron.api.writes import Write
from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.engagement import referrals as refs
from patron.security.ratelimit import ADD_REFERRALS, GET_REFERRALS

router = APIRouter(prefix="/v2", tags=["customers"], route_class=LeanRoute)


class ReferrerBody(_Wire):
    id: int | None = Field(default=None, ge=1, le=INT64_MAX, description="The referrer's customer id.")
    mobile: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=255)
    external_id: str | None = Field(default=None, max_length=100)

    def ref(self) -> refs.ReferrerRef:
        return refs.ReferrerRef(self.id, self.mobile, self.email, self.external_id)


class InvitationBody(_Wire):
    name: str | None = Field(default=None, max_length=200, description="The invited person's name.")
    identifier: str | None = Field(
        default=None, max_length=255, description="A mobile number (type MOBILE) or an email (type EMAIL)."
    )
    invited_on: str | None = Field(
        default=None,
        max_length=40,
        description="`YYYY-MM-DD HH:MM:SS` in the org's time zone, or ISO 8601 with an offset; "
        "the time of the request when absent.",
    )


class InvitationGroupBody(_Wire):
    type: str | None = Field(default=None, max_length=20, description="MOBILE or EMAIL.")
    referral: list[InvitationBody] = Field(default_factory=list, max_length=1000)


class CustomerReferralsBody(_Wire):
    customer: ReferrerBody = Field(default_factory=ReferrerBody)
    campaign_token: str | None = Field(default=None, max_length=100)
    referrals: list[InvitationGroupBody] = Field(default_factory=list, max_length=1000)

    def command(self) -> refs.CustomerReferrals:
        return refs.CustomerReferrals(
            self.customer.ref(),
            self.campaign_token,
            tuple(
                refs.InvitationGroup(
                    g.type, tuple(refs.Invitation(i.name, i.identifier, i.invited_on) for i in g.referral)
                )
                for g in self.referrals
            ),
        )


class AddReferralsBody(_Wire):
    """Add Customer Referrals (003:L4417-4441); the answer is the same document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customerReferrals": [
                        {
                            "customer": {"id": 420007388, "mobile": "918867710031"},
                            "campaignToken": "CWRME",
                            "referrals": [
                                {
                                    "type": "MOBILE",
                                    "referral": [
                                        {
                                            "name": "some random name",
                                            "identifier": "918867710032",
                                            "invitedOn": "2021-12-16 13:15:45",
                                        }
                                    ],
                                }
                            ],
                        }
                    ]
                }
            ]
        }
    )

    customer_referrals: list[CustomerReferralsBody] = Field(default_factory=list, max_length=100)

    def command(self) -> refs.AddReferrals:
        return refs.AddReferrals(tuple(item.command() for item in self.customer_referrals))


class Till(Out):
    code: str
    name: str


class InviteeItem(Out):
    type: str
    identifier: str
    invited_on: str
    till: Till


class RefereeItem(Out):
    event_type: str
    user_id: int
    first_name: str
    last_name: str
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    added_on: str


class IncentiveItem(Out):
    type: str
    role: str
    event_type: str
    user_id: int
    referrer_id: int
    campaign_token: str
    points: int | None = None
    program_id: int | None = None
    coupon_id: int | None = None
    coupon_code: str | None = None
    series_id: int | None = None
    added_on: str


class ReferralCustomer(Out):
    id: int
    profiles: list[Profile]


class ReferralData(Out):
    customer: ReferralCustomer
    referral_code: str
    invitees: list[InviteeItem]
    referee: list[RefereeItem]
    incentives: list[IncentiveItem]


class ReferralPagination(Out):
    limit: int
    offset: int
    total: int


class CustomerReferrals(Out):
    """Get Customer Referrals (003:L4522-4648)."""

    pagination: ReferralPagination
    data: list[ReferralData]
    warnings: list[WarningItem]
    errors: list[WarningItem]


def _seed_time(moment: Any, tz: str) -> str:
    """The seed's `2020-05-21 11:52:33.0`, in the org's time zone."""
    stamp = render.stamp(moment, tz) or ""
    return stamp[:19].replace("T", " ") + ".0"


def referral_listing(r: refs.Referrals, tz: str) -> dict[str, Any]:
    view = r.customer
    invitees = []
    for i in r.invitees:
        till = r.tills.get(i.till_id)
        invitees.append(
            {
                "type": i.type,
                "identifier": i.identifier,
                "invitedOn": _seed_time(i.invited_on, tz),
                "till": {"code": till.code if till else "", "name": till.name if till else ""},
            }
        )
    referees = []
    for e in r.referees:
        item: dict[str, Any] = {
            "eventType": e.event_type,
            "userId": e.customer_id,
            "firstName": e.first_name,
            "lastName": e.last_name,
        }
        for key in ("email", "mobile", "externalId"):
            if key in e.identifiers:
                item[key] = e.identifiers[key]
        item["addedOn"] = _seed_time(e.added_at, tz)
        referees.append(item)
    incentives = []
    for c in r.incentives:
        entry: dict[str, Any] = {
            "type": c.kind,
            "role": c.role,
            "eventType": refs.REGISTRATION,
            "userId": c.referee_id,
            "referrerId": c.referrer_id,
            "campaignToken": c.campaign_token,
        }
        if c.kind == refs.POINTS:
            entry.update(points=c.points, programId=c.program_id)
        else:
            entry.update(couponId=c.coupon_id, couponCode=c.coupon_code, seriesId=c.series_id)
        entry["addedOn"] = _seed_time(c.created_at, tz)
        incentives.append(entry)
    return {
        "pagination": {"limit": r.limit, "offset": r.offset, "total": r.total},
        "data": [
            {
                "customer": {
                    "id": view.customer_id,
                    "profiles": [render.profile_json(view, p, tz) for p in view.profiles],
                },
                "referralCode": r.code,
                "invitees": invitees,
                "referee": referees,
                "incentives": incentives,
            }
        ],
        "warnings": [],
        "errors": [],
    }


@router.post(
    "/customers/referrals",
    summary="Add Customer Referrals",
    description="Record the people a customer (the referrer: `customer` by id, mobile, email or "
    "externalId; every one given must name the same customer) invited by MOBILE or EMAIL under a "
    "referral campaign of the org (`campaignToken`). An identifier the referrer invited before is "
    "accepted and changes nothing. The referrer gets its referral code if it had none. Answers the "
    "request's document. 1202 unknown campaign, 1203 paused campaign, 1204 referrer not eligible "
    "(not a loyalty customer, or being deleted), 1205 referrer not found, 1206 type other than "
    "MOBILE/EMAIL, 2150 invalid mobile or email, 2151 1 to 10 referrers, 2152 1 to 100 invitations, "
    "2153 invitedOn, 2154 inviting oneself, 2155 no referrer named. Rate limited (the seed): 1,000 "
    "requests per hour per org unless the org configures its own figure; past it a 429 with "
    "Retry-After.",
    response_model=AddReferralsBody,
    response_model_exclude_unset=True,
    responses=errors(*BODY, 404, 422),
)
async def add_referrals(
    body: Annotated[AddReferralsBody, Body()],
    write: Write,
    ctx: Annotated[RequestContext, Depends(rate_limited(ADD_REFERRALS))],
) -> JSONResponse:
    echo = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return await write(ctx, refs.add, ctx, body.command(), render=lambda _: echo)


@router.get(
    "/customers/{userId}/referrals",
    summary="Get Customer Referrals",
    description="The customer's referral code (made on this first read if it has none), the people "
    "it invited (`invitees`, oldest first), the customers who registered through it (`referee`, "
    "eventType REGISTRATION) and what referrals granted this customer (`incentives`: POINTS or "
    "COUPON, as REFERRER or REFEREE). `limit` (1-100, 10) and `offset` page invitees and referees "
    "alike; `total` is the larger of their counts. `campaignToken` keeps one campaign's. 1202 "
    "unknown campaign, 8015 unknown customer, 8069 merged. Rate limited (the seed): 1,000 requests "
    "per hour per org unless the org configures its own figure; past it a 429 with Retry-After.",
    response_model=CustomerReferrals,
    responses=errors(400, 404),
)
async def get_referrals(
    userId: str,
    db: Db,
    ctx: Annotated[RequestContext, Depends(rate_limited(GET_REFERRALS))],
    campaignToken: Annotated[str | None, Query(description="One campaign only.")] = None,
    limit: Annotated[str | None, Query(description="Page size, 1 to 100 (10).")] = None,
    offset: Annotated[str | None, Query(description="Items to skip (0).")] = None,
) -> JSONResponse:
    q = refs.ReadReferrals(
        path_id(userId, 8015),
        campaignToken,
        parse_int(limit, "limit", default=refs.DEFAULT_PAGE),
        parse_int(offset, "offset", default=0),
    )
    found = await db.read(refs.read, ctx, q)
    if found.code is None:
        found = refs.Referrals(
            found.customer,
            await db.write(refs.issue_code, ctx, q.customer_id),
            found.invitees,
            found.tills,
            found.referees,
            found.incentives,
            found.limit,
            found.offset,
            found.total,
        )
    return JSONResponse(referral_listing(found, ctx.config.timezone))
