"""Update Subscription Details and Retrieve Subscription Details (seed 003): a customer's
OPTIN/OPTOUT per channel and priority in a source account. The rules (the default, the
channels, the source account of an entry, the codes) are in engagement/subscriptions.py
and docs/engagement.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, path_id
from patron.api.ratelimits import rate_limited
from patron.api.routing import LeanRoute
from patron.api.v2 import render
from patron.api.v2.schemas import BODY, Out, SubscriptionItem, WarningItem, errors
from patron.api.v2.wire import _Wire
from patron.api.writes import Write
from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.engagement import subscriptions as subs
from patron.security.ratelimit import RETRIEVE_SUBSCRIPTIONS

router = APIRouter(prefix="/v2", tags=["customers"], route_class=LeanRoute)

_SHORT = 40


class ScopeBody(_Wire):
    scope: str | None = Field(default=None, max_length=_SHORT, description="USER (the only scope).")
    sub_scope: str | None = Field(default=None, max_length=_SHORT, description="NONE (the only sub-scope).")


class SubscriptionBody(_Wire):
    channel: str | None = Field(
        default=None,
        max_length=_SHORT,
        description="SMS (or MOBILE), EMAIL, ANDROID, IOS, WECHAT, WHATSAPP or LINE, in any case.",
    )
    priority: str | None = Field(
        default=None, max_length=_SHORT, description="TRANS (transactional) or BULK (campaigns)."
    )
    type: str | None = Field(default=None, max_length=_SHORT, description="OPTIN or OPTOUT.")
    account_id: str | None = Field(
        default=None, max_length=100, description="The source's account; empty for a single-account source."
    )
    source_name: str | None = Field(
        default=None, max_length=_SHORT, description="The source the account belongs to; INSTORE when absent."
    )
    org_unit_id: int | None = Field(
        default=None, ge=-1, le=INT64_MAX, description="Reported as ouId in customerSubscription."
    )

    def entry(self) -> subs.SubscriptionEntry:
        return subs.SubscriptionEntry(
            self.channel, self.priority, self.type, self.account_id, self.source_name, self.org_unit_id
        )


class UpdateSubscriptionsBody(_Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "communicationId": -1,
                    "campaignId": -1,
                    "reason": "Asked at the till",
                    "scope": {"scope": "USER", "subScope": "NONE"},
                    "subscriptions": [
                        {"channel": "EMAIL", "accountId": "", "priority": "BULK", "type": "OPTOUT"},
                        {"channel": "MOBILE", "accountId": "", "priority": "TRANS", "type": "OPTIN"},
                    ],
                }
            ]
        }
    )

    communication_id: int | None = Field(default=None, ge=-1, le=INT64_MAX)
    campaign_id: int | None = Field(default=None, ge=-1, le=INT64_MAX)
    reason: str | None = Field(default=None, max_length=500)
    scope: ScopeBody | None = None
    subscriptions: list[SubscriptionBody] = Field(default_factory=list, max_length=subs.MAX_ENTRIES)


class Scope(Out):
    scope_id: int
    scope: str
    sub_scope: str
    set_created_on: bool
    set_priority: bool
    set_scope_id: bool
    set_scope: bool
    set_sub_scope: bool


class AppliedSubscription(Out):
    channel: str
    account_id: str
    priority: str
    type: str


class SubscriptionsUpdated(Out):
    """Update Subscription Details (003:L2879-2914)."""

    scope: Scope
    subscriptions: list[AppliedSubscription]
    campaign_id: int
    communication_id: int
    reason: str
    warnings: list[WarningItem]


class SubscriptionDetails(Out):
    """Retrieve Subscription Details (003:L2962-2989)."""

    subscriptions: list[SubscriptionItem]
    campaign_id: int
    communication_id: int
    warnings: list[WarningItem]


def _updated(result: subs.SubscriptionsUpdated) -> dict[str, Any]:
    return {
        "scope": {
            "scopeId": 0,
            "scope": result.scope,
            "subScope": result.sub_scope,
            "setCreatedOn": False,
            "setPriority": False,
            "setScopeId": False,
            "setScope": True,
            "setSubScope": True,
        },
        "subscriptions": [
            {"channel": s.channel, "accountId": s.account_id, "priority": s.priority, "type": s.status}
            for s in result.entries
        ],
        "campaignId": result.campaign_id,
        "communicationId": result.communication_id,
        "reason": result.reason,
        "warnings": [],
    }


@router.post(
    "/customers/{customerId}/subscriptions",
    summary="Update Subscription Details",
    description="Opt the customer in (OPTIN) or out (OPTOUT) of transactional (TRANS) or bulk (BULK) "
    "messages per channel and source account (`sourceName`, INSTORE when absent, and `accountId`, "
    "empty for a single-account source). A customer never set on a combination is OPTIN. MOBILE is "
    "SMS. Raises one customerSubscription per entry whose status changes; re-posting the current "
    "state raises nothing. Answers the entries as applied. 1101 channel, 1102 priority, 1103 scope "
    "(USER/NONE only), 1106 type, 2100 1 to 50 entries, 2101 an entry twice, 8011/8012/8045 source "
    "account, 8015 unknown customer, 8069 merged.",
    response_model=SubscriptionsUpdated,
    responses=errors(*BODY, 404),
)
async def update_subscriptions(
    customerId: str, body: Annotated[UpdateSubscriptionsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    scope = body.scope or ScopeBody()
    cmd = subs.UpdateSubscriptions(
        path_id(customerId, 8015),
        tuple(s.entry() for s in body.subscriptions),
        scope.scope,
        scope.sub_scope,
        body.campaign_id,
        body.communication_id,
        body.reason,
    )
    return await write(ctx, subs.update, ctx, cmd, render=_updated)


@router.get(
    "/customers/{customerId}/subscriptions",
    summary="Retrieve Subscription Details",
    description="The customer's status per channel and priority in one source account (INSTORE when "
    "`source` is absent): EMAIL, SMS, ANDROID and IOS for TRANS then BULK, then any other channel set "
    "for the customer; a combination never set is OPTIN. campaignId and communicationId are 0. "
    "8011/8012/8045 source account, 8015 unknown customer, 8069 merged. Rate limited (the seed): "
    "1,000 requests per hour per org unless the org configures its own figure; past it a 429 with "
    "Retry-After.",
    response_model=SubscriptionDetails,
    responses=errors(400, 404),
)
async def retrieve_subscriptions(
    customerId: str,
    db: Db,
    ctx: Annotated[RequestContext, Depends(rate_limited(RETRIEVE_SUBSCRIPTIONS))],
    source: Annotated[
        str | None, Query(description="The source account's source; INSTORE when absent.")
    ] = None,
    accountId: Annotated[str | None, Query(description="The account, for a multi-account source.")] = None,
) -> JSONResponse:
    cmd = subs.ReadSubscriptions(path_id(customerId, 8015), source, accountId)
    items = await db.read(subs.read, ctx, cmd)
    return JSONResponse(
        {
            "subscriptions": render.subscriptions_json(items),
            "campaignId": 0,
            "communicationId": 0,
            "warnings": [],
        }
    )
