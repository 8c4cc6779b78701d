"""Add/Update/Get/Delete Security Access (seed 004, users/access_rules.py). Included before users.py's
router, so /user/security/rule is not taken by /user/security/{user_id}.

The seed's paths name no user (004 §1.1): a rule is the org's unless its `info.user_id` names
one of the org's users. Answers are user-shaped; `info` is that user's when the rules of the
answer concern one user, else null. Each
`access_rule[]` item has the seed's keys (004:L9357-9383) plus the table's objects the seed
lists for GET (`action`, `rule`, `frequency`, `schedule`, `notification`, `excluded`,
004:L835-1058) and `info.user_id` (L740), so a rule reads back as it was written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.envelope import UserHeaders, envelope, headers_for, respond
from patron.api.user.schemas import UserAnswer, user_errors
from patron.api.writes import Write
from patron.context import RequestContext
from patron.db.base import utcnow
from patron.users import access_rules as ar
from patron.users import codes

router = APIRouter(tags=["users"], route_class=LeanRoute)

Scalar = str | int | float | bool | None
_HEADERS_DOC = (
    " Configuration headers: `lang`, `source_id` (echoed as original_source_id), `time_zone`, "
    "`show_sensitive_data` (0/1), `show_custom_field` (0/1)."
)
_RULES_DOC = (
    " A rule is the org's (every user but those in `excluded[{entity: 7, entity_id}]`) or one "
    "user's (`info.user_id`, a user of the org, else 3005). It governs `action.action` (0 every "
    "action, 1 validate, 2 reset, 3 verify and confirm, 4 2FA enrol and activate, 5 Update User "
    "Security). Conditions: `rule.keys[{name: ip, expression_operator: equals|in|cidr, value}]` and "
    "`schedule{start_date, expiry_date, days_of_week, on_months, days_of_month, time{start_time, "
    "end_time}}` in the org's time zone, joined by `expression_operator` (0 all, 1 any). "
    "`access_type` 0 denies while the conditions hold; 1 allows only while they hold. "
    "`frequency{calc_method: 0, frequency_time{name: minute|hour|day|week, value: N}}` allows at "
    "most N uses per user per period (429 past it). Only `status` 1 is enforced (the default on "
    "Add). Stored, answered, not enforced: notification, other key names, the seed's flat "
    "type/value/channel/service_domain/transaction_type (its sample is a card MCC rule)."
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


_EXAMPLE_RULE: dict[str, Any] = {
    "info": {"type": 1, "access_type": 0, "status": 1, "notes": "No security changes from outside"},
    "action": {"action": "5"},
    "rule": {
        "expression_operator": "0",
        "keys": [{"name": "ip", "expression_operator": "cidr", "value": "10.0.0.0/8"}],
    },
}


class RulesBody(_Body):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "access_rule": [
                        {
                            "info": {
                                "type": 7,
                                "access_type": 1,
                                "value": 7775,
                                "status": 3,
                                "notes": "Interchange MCC ",
                            }
                        },
                        _EXAMPLE_RULE,
                    ]
                }
            ]
        },
    )
    access_rule: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=ar.MAX_ITEMS,
        description="Rules: `info{id, user_id, type, access_type, status, value, notes, ...}` and the "
        "objects `action`, `rule`, `frequency`, `schedule`, `notification`, `excluded`.",
    )
    validate_: Scalar = Field(default=None, alias="validate")


class DeleteRulesBody(_Body):
    access_rule: list[dict[str, Any]] = Field(
        default_factory=list, max_length=ar.MAX_ITEMS, description="`[{info: {id}}]`, all or none."
    )


def client_address(request: Request) -> str:
    """The client's address as access rules see it: the connection's peer, or with trusted
    proxies configured, the address they forwarded (security/throttle.py)."""
    authenticator = getattr(request.app.state, "authenticator", None)
    addresses = getattr(authenticator, "addresses", None)
    if addresses is not None and addresses.trusted:
        return str(addresses.of_scope(request.scope))
    peer = request.scope.get("client")
    return str(peer[0]) if peer else ""


def _items(body: RulesBody, method: Any) -> list[ar.RuleInput]:
    return [ar.check_item(item, method, f"access_rule[{i}]") for i, item in enumerate(body.access_rule)]


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def rule_item(rule: ar.AccessRule) -> dict[str, Any]:
    """One `access_rule[]` item (004:L9357-9383 and the table's objects)."""
    d = rule.data
    keys = d.get("keys")
    return {
        "result": None,
        "info": {
            "id": rule.rule_id,
            "type": d.get("type") or 0,
            "access_type": d.get("access_type") or 0,
            "status": rule.status,
            "value": _text_or_none(d.get("value")),
            "channel": d.get("channel"),
            "service_domain": d.get("service_domain") or 0,
            "notes": d.get("notes"),
            "transaction_type": d.get("transaction_type"),
            "expression_operator": d.get("expression_operator") or 0,
            "user_id": rule.user_id,
        },
        "action": None if d.get("action") is None else {"action": d["action"]},
        "rule": None
        if keys is None
        else {
            "access_type": _text_or_none(d.get("access_type")),
            "expression_operator": str(d.get("expression_operator") or 0),
            "keys": keys,
        },
        "frequency": d.get("frequency"),
        "schedule": d.get("schedule"),
        "notification": d.get("notification"),
        "excluded": d.get("excluded"),
        "notes": None,
        "last_activity": None,
        "authentication": None,
        "validate": None,
        "function_code": 0,
        "time_zone": None,
        "time_zone_name": None,
        "response_time": 0,
    }


def _deleted_item(rule_id: int) -> dict[str, Any]:
    """A deleted rule as the seed answers it: its id, every other field blank (004:L31485-31507)."""
    blank = ar.AccessRule(rule_id, None, 0, {}, utcnow(), utcnow())
    return rule_item(blank)


def _info(
    h: UserHeaders, ctx: RequestContext, written: ar.Written, user_id: int | None
) -> dict[str, Any] | None:
    """The user the answer concerns, as Get User renders its info; null when it concerns no
    single user (org rules, or rules of several users)."""
    user = written.users.get(user_id) if user_id is not None else None
    if user is None:
        return None
    gone = (ctx.config.pending_deletion_label, ctx.config.deleted_label)
    return {
        "id": user.user_id,
        "program_id": ctx.org_id,
        "status": "-1" if user.status_label in gone else "1",
        "type": 1,
        **h.stamps(user.created_at),
        "source_time_zone": h.zone.label,
        "original_source_id": h.source_id,
    }


def _one_user(rules: list[ar.AccessRule]) -> int | None:
    """The user every rule of an answer belongs to, if there is one such user."""
    owners = {rule.user_id for rule in rules}
    return owners.pop() if len(owners) == 1 else None


def _answer(h: UserHeaders, ctx: RequestContext, written: ar.Written) -> dict[str, Any]:
    items = [rule_item(r) for r in written.rules]
    return envelope(h, {"info": _info(h, ctx, written, _one_user(written.rules)), "access_rule": items})


@router.post(
    "/user/security/rule",
    summary="Add Security Access",
    description="Add access rules, all or none (at most 50 a request, 500 an org)."
    + _RULES_DOC
    + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def add_security_access(
    request: Request, body: Annotated[RulesBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    items = _items(body, "POST")
    return await write(ctx, ar.add_rules, ctx, items, utcnow(), render=lambda w: _answer(h, ctx, w))


_UPDATE_DOC = (
    "Change the rules named by `info.id` (each must be the org's, else 3013), all or none: the "
    "fields sent replace the rule's, an object sent replaces that object (null clears it), "
    "`info.user_id` null makes the rule the org's. `User/security/rule` and `user/security/rule` "
    "are the same operation." + _RULES_DOC + _HEADERS_DOC
)


async def _update(request: Request, body: RulesBody, write: Write, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    items = _items(body, "PUT")
    return await write(ctx, ar.update_rules, ctx, items, utcnow(), render=lambda w: _answer(h, ctx, w))


@router.put(
    "/User/security/rule",
    summary="Update Security Access",
    description=_UPDATE_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def update_security_access(
    request: Request, body: Annotated[RulesBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _update(request, body, write, ctx)


@router.put(
    "/user/security/rule",
    summary="Update Security Access (lower-case path)",
    description="The same operation as `PUT /User/security/rule`. " + _UPDATE_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def update_security_access_lower(
    request: Request, body: Annotated[RulesBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _update(request, body, write, ctx)


@router.get(
    "/user/security/rule",
    summary="Get Security Access",
    description="The org's access rules, oldest first; with `user_id`, the rules that apply to that "
    "user (the org's and the user's own; 3005 for a user not of the org)." + _RULES_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_security_access(
    request: Request,
    db: Db,
    ctx: Ctx,
    user_id: Annotated[str | None, Query(description="A user of the org.")] = None,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = None
    if user_id is not None and user_id.strip():
        raw = user_id.strip()
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise codes.not_found(raw[:20])
        uid = int(raw)
    written = await db.read(ar.get_rules, ctx, uid)
    items = [rule_item(r) for r in written.rules]
    return respond(h, {"info": _info(h, ctx, written, uid), "access_rule": items or None})


@router.delete(
    "/user/security/rule",
    summary="Delete Security Access",
    description="Delete the rules named by `access_rule[{info: {id}}]`, all or none (3013 for an id that "
    "is not the org's). Answers each deleted id with its other fields blank, as the seed does."
    + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def delete_security_access(
    request: Request, body: Annotated[DeleteRulesBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    ids = []
    for index, item in enumerate(body.access_rule):
        found = ar.check_item(item, "DELETE", f"access_rule[{index}]")
        assert found.id is not None
        ids.append(found.id)

    def render(w: ar.Written) -> dict[str, Any]:
        info = _info(h, ctx, w, None)
        return envelope(h, {"info": info, "access_rule": [_deleted_item(r.rule_id) for r in w.rules]})

    return await write(ctx, ar.delete_rules, ctx, ids, render=render)
