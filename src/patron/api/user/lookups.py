"""Inquiry User(s), Get User Group(s), and the user's history (Get User History, Get User
History Latest), seed 004: reads over the customer record, its change log and its groups
(users/lookups.py, docs/users.md "Lookups"). Included before users.py's router, so
/user/inquiry and /user/history/... are not taken by /user/{user_id}."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, create_model

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.envelope import TRAILER, UserHeaders, envelope, headers_for, offset_label, respond
from patron.api.user.schemas import Result, UserAnswer, user_errors
from patron.api.user.users import _HEADERS_DOC, _path_user, user_parts
from patron.context import RequestContext
from patron.db.uow import UnitOfWork
from patron.users import codes
from patron.users import lookups as lk
from patron.users import service as users
from patron.users.sensitive import SensitiveInputError, check_currency
from patron.webhooks.secrets import SecretBox

router = APIRouter(tags=["users"], route_class=LeanRoute)

INQUIRY_KEYS: tuple[str, ...] = (
    "result",
    "result_set",
    "users",
    "archive",
    "notes",
    "last_activity",
    "authentication",
    "validate",
    *TRAILER,
)
DATE_TIME = "%Y-%m-%dT%H:%M:%S"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResultSet(_Out):
    from_date: str = Field(description="from_date, as the start of that day (yyyy-mm-ddT00:00:00).")
    to_date: str = Field(description="to_date, as the end of that day (yyyy-mm-ddT23:59:59).")
    start_index: int
    page_size: int
    total_records: int
    time_zone_Name: str = Field(description="The org's time zone the dates are read in (IANA).")
    time_zone: str = Field(description="Its offset now ('UTC ±hh:mm').")


InquiryAnswer: type[BaseModel] = create_model(
    "InquiryAnswer",
    __base__=_Out,
    __doc__="Inquiry User(s)'s answer (004:L19492-20376): users[] are user-shaped answers with result null.",
    result=(Result, ...),
    result_set=(ResultSet | None, ...),
    users=(list[dict[str, Any]] | None, ...),
    archive=(None, ...),
    notes=(None, ...),
    last_activity=(None, ...),
    authentication=(None, ...),
    validate_=(None, Field(alias="validate")),
    function_code=(int, ...),
    time_zone=(str, ...),
    time_zone_name=(str | None, ...),
    response_time=(int, ...),
)


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise codes.invalid(f"{name} must be a whole number.")
    return int(text)


def _info(h: UserHeaders, ctx: RequestContext, customer: lk.Customer) -> dict[str, Any]:
    """The user's `info` as Get User renders it (the user, its program and its creation)."""
    gone = (ctx.config.pending_deletion_label, ctx.config.deleted_label)
    return {
        "id": customer.customer_id,
        "program_id": ctx.org_id,
        "status": "-1" if customer.status_label in gone else "1",
        "type": 1,
        **h.stamps(customer.created_at),
        "source_time_zone": h.zone.label,
        "original_source_id": h.source_id,
    }


def _item(h: UserHeaders, e: lk.Entry) -> dict[str, Any]:
    return {
        "id": e.id,
        "activity_type": e.activity_type,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "by_entity": e.by_entity,
        "by_entity_id": e.by_entity_id,
        "entity_data": e.entity_data,
        "old_data": e.old_data,
        "new_data": e.new_data,
        "json": None,
        "notes": "",
        "admin_notes": e.admin_notes,
        "original_source_id": e.original_source_id,
        **h.stamps(e.changed_at),
    }


_PAGING_DOC = (
    " Paging (ours; the seed shows none): `start_index` (1-based, default 1) and `page_size` "
    f"(default and maximum {lk.HISTORY_PAGE}), newest first."
)
_HISTORY_DOC = (
    " Each item is one row of the change log both APIs write: one changed field of the "
    "customer (v2 or this API) or one user record, with the seed's entity codes (7 user, 15 address, "
    "16 bank account, 17 phone, 18 credit card, 19 email, 23 relationship, 25 identification, "
    "26 document, 29 personal info (first/last name), 31 currency, 36 external login); "
    "activity_type 1 user created, 2 changed, 3 removed, 4 added; by_entity 3 a till "
    "(by_entity_id its id) or 1 the system; old_data/new_data are JSON text with every secret "
    "wiped and every card, account and identification number masked."
)


@router.get(
    "/user/history/{user_id}",
    summary="Get User History",
    description="The user's history, newest first." + _HISTORY_DOC + _PAGING_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_history(
    request: Request,
    user_id: str,
    db: Db,
    ctx: Ctx,
    start_index: Annotated[str | None, Query(description="The first item, 1-based (default 1).")] = None,
    page_size: Annotated[str | None, Query(description=f"Items, 1 to {lk.HISTORY_PAGE} (default).")] = None,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    start = _int(start_index, "start_index", 1)
    size = _int(page_size, "page_size", lk.HISTORY_PAGE)
    page = await db.read(lk.history, ctx, uid, start, size)
    return respond(h, {"info": _info(h, ctx, page.customer), "history": [_item(h, e) for e in page.entries]})


@router.get(
    "/user/history/latest/{user_id}",
    summary="Get User History Latest",
    description="The user's newest history entry (a one-item history; empty when the log holds "
    "none)." + _HISTORY_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_history_latest(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    page = await db.read(lk.history, ctx, uid, 1, 1)
    return respond(h, {"info": _info(h, ctx, page.customer), "history": [_item(h, e) for e in page.entries]})


# Inquiry User(s) ----------------------------------------------------------------------

_DATE = re.compile(r"^([0-9]{4})([-/])([0-9]{2})\2([0-9]{2})$")


def _date(raw: str | None, name: str) -> date:
    if raw is None or raw.strip() == "":
        raise codes.missing(name)
    match = _DATE.match(raw.strip())
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[3]), int(match[4]))
    except ValueError:
        raise codes.invalid(f"{name} must be a date, yyyy-mm-dd or yyyy/mm/dd.") from None


def _text(raw: str | None, name: str, limit: int = 100) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if len(text) > limit or any(ord(c) < 32 for c in text):
        raise codes.invalid(f"{name} is longer than {limit} characters or holds control characters.")
    return text


def _choice(raw: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    text = _text(raw, name)
    if text is None:
        return None
    if text.lower() not in allowed:
        raise codes.invalid(f"{name} must be one of {', '.join(allowed)}.")
    return text.lower()


def inquiry_of(params: Any) -> lk.Inquiry:
    """The query of Inquiry User(s), checked (each failure names the parameter)."""
    known = {
        "start_index",
        "page_size",
        "sort_by",
        "sort_flag",
        "program_id",
        "user_id",
        "search_term",
        "first_name",
        "last_name",
        "email",
        "status",
        "currency",
        "from_date",
        "to_date",
        "archive",
        "country_code",
        "original_source_id",
        "entity",
    }
    for key in params:
        if key not in known:
            raise codes.invalid(f"{key[:40]} is not a parameter of Inquiry User(s).")
    get = params.get
    from_date = _date(get("from_date"), "from_date")
    to_date = _date(get("to_date"), "to_date")
    entity = _text(get("entity"), "entity")
    if entity is not None and entity != str(lk.USER_ENTITY):
        raise codes.invalid(f"entity must be {lk.USER_ENTITY} (user): the inquiry lists users.")
    status = _choice(get("status"), "status", ("1", "-1"))
    archive = _choice(get("archive"), "archive", ("0", "1"))
    currency = _text(get("currency"), "currency", 3)
    country = _text(get("country_code"), "country_code", 3)
    program = _text(get("program_id"), "program_id")
    user = _text(get("user_id"), "user_id")
    return lk.Inquiry(
        from_date=from_date,
        to_date=to_date,
        start_index=_int(get("start_index"), "start_index", 1),
        page_size=_int(get("page_size"), "page_size", lk.INQUIRY_PAGE),
        sort_by=_choice(get("sort_by"), "sort_by", lk.INQUIRY_SORTS) or "create_time",
        descending=(_choice(get("sort_flag"), "sort_flag", ("asc", "desc")) or "desc") == "desc",
        program_id=None if program is None else _int(program, "program_id", 0),
        user_id=None if user is None else _int(user, "user_id", 0),
        search_term=_text(get("search_term"), "search_term"),
        first_name=_text(get("first_name"), "first_name"),
        last_name=_text(get("last_name"), "last_name"),
        email=_text(get("email"), "email", 255),
        status=status,
        currency=None if currency is None else _currency(currency),
        archive=None if archive is None else archive == "1",
        country_code=None if country is None else lk.country_of(country) or _bad_country(),
        original_source_id=_text(get("original_source_id"), "original_source_id"),
    )


def _currency(raw: str) -> str:
    try:
        return check_currency(raw, "currency").code
    except SensitiveInputError as exc:
        raise codes.invalid(str(exc)) from None


def _bad_country() -> str:
    raise codes.invalid("country_code is not an ISO 3166 country (alpha-2, alpha-3 or numeric).")


def user_item(
    h: UserHeaders, ctx: RequestContext, found: lk.Found, box: SecretBox | None = None
) -> dict[str, Any]:
    """One users[] item: the user as Get User renders it, result null, its last activity."""
    parts = user_parts(h, ctx, found.user, box=box)
    parts["result"] = None
    parts["last_activity"] = found.last_activity
    body = envelope(h, parts)
    body["response_time"] = 0
    return body


async def _inquire(uow: UnitOfWork, ctx: RequestContext, q: lk.Inquiry) -> lk.InquiryPage | None:
    try:
        return await lk.inquire(uow, ctx, q)
    except users.NeedsRows:
        return None


_FILTERS_DOC = (
    " Filters (all optional but the dates; at least one of user_id, email, search_term, first_name, "
    "last_name is required, 3002 otherwise: each is served by an index, and a date-only inquiry would "
    "read every user of the program): `user_id`; `email` (exact, normalised as v2 does); `search_term` "
    "(a prefix of any name or identifier, case-insensitive); `first_name`, `last_name` (a prefix of "
    f"that name); a prefix matching more than {lk.INQUIRY_SCAN} names or identifiers is refused (3001). "
    "Then: `from_date`/`to_date` REQUIRED (yyyy-mm-dd or yyyy/mm/dd, inclusive, on the user's creation "
    "in the org's time zone), `status` (1 in use, -1 deletion filed or done), `archive` (1 only users "
    "whose deletion is filed or done, 0 only the others), `currency` (ISO 4217: users holding it), "
    "`country_code` (ISO 3166: the address's country), `original_source_id` (a record created with "
    "that source_id), `program_id` (the org id; another matches nobody), `entity` (7 only). Paging: "
    f"`start_index` (1-based, default 1), `page_size` (default {lk.INQUIRY_PAGE}, at most "
    f"{lk.INQUIRY_MAX_PAGE}); `sort_by` create_time (default), update_time or user_id, `sort_flag` "
    "desc (default) or asc."
)


@router.get(
    "/user/inquiry",
    summary="Inquiry User(s)",
    description="The users matching the filters, one page of them, each rendered as Get User renders "
    "it (result null) with its last_activity; result_set states the dates, the page and the total."
    + _FILTERS_DOC
    + _HEADERS_DOC,
    response_model=InquiryAnswer,
    responses=user_errors(400),
    openapi_extra={
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": name in ("from_date", "to_date"),
                "schema": {"type": "string"},
            }
            for name in (
                "from_date",
                "to_date",
                "start_index",
                "page_size",
                "sort_by",
                "sort_flag",
                "program_id",
                "user_id",
                "search_term",
                "first_name",
                "last_name",
                "email",
                "status",
                "currency",
                "archive",
                "country_code",
                "original_source_id",
                "entity",
            )
        ]
    },
)
async def inquiry_users(request: Request, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    q = inquiry_of(request.query_params)
    page = await db.read(_inquire, ctx, q)
    if page is None:  # an identifier added through v2 gets its user record on this first read
        page = await db.write(lk.inquire, ctx, q)
    zone_now = datetime.now(UTC).astimezone(h.org_zone)
    result_set = {
        "from_date": f"{q.from_date.isoformat()}T00:00:00",
        "to_date": f"{q.to_date.isoformat()}T23:59:59",
        "start_index": q.start_index,
        "page_size": q.page_size,
        "total_records": page.total,
        "time_zone_Name": h.org_zone.key,
        "time_zone": offset_label(zone_now.utcoffset() or timedelta(0)),
    }
    users_out = [user_item(h, ctx, f, request.app.state.box) for f in page.users]
    return respond(h, {"result_set": result_set, "users": users_out}, INQUIRY_KEYS)


# Get User Group(s) --------------------------------------------------------------------


def _group(h: UserHeaders, ctx: RequestContext, g: lk.GroupView) -> dict[str, Any]:
    return {
        "result": None,
        "info": {
            "id": g.group_id,
            "program_id": ctx.org_id,
            "user_id": g.primary_customer_id,
            "name": g.name,
            "type": 1,
            "code": g.hierarchy_code,
            "status": 1,
            "original_source_id": None,
            **h.stamps(g.created_at),
            "update_date_utc": g.updated_at.astimezone(UTC).strftime(DATE_TIME),
            "source_time_zone": h.zone.label,
        },
        "details": {"address": [], "phone": [], "email": [], "social_media": None, "localization": None},
        # Patron holds no integration of a group: no credentials exist to show (docs/users.md).
        "setting": {"external_integration": None, "messaging_setup": None},
        "group_user": [
            {
                "id": m.customer_id,
                "user_id": m.customer_id,
                "role": m.role,
                "membership_status": 1,
                "name": m.name,
                "email_address": None,
                "phone_number": None,
                "country_code": None,
                "original_source_id": None,
                "server_date": h.server_date(m.joined_at or g.created_at),
                "date_utc": (m.joined_at or g.created_at).astimezone(UTC).strftime(DATE_TIME),
                "update_date_utc": None,
                "custom_field": None,
            }
            for m in g.members
        ],
        "history": None,
        "host_name": None,
        "geo_coordinates": None,
        "custom_field": None,
        "notes": None,
        "last_activity": None,
        "authentication": None,
        "validate": None,
        "function_code": 0,
        "time_zone": h.zone.label,
        "time_zone_name": h.zone.name,
        "response_time": 0,
    }


@router.get(
    "/user/group/{user_id}",
    summary="Get User Group(s)",
    description="The groups (hierarchies of the loyalty groups, v2's Associate Customers) the user "
    "heads or belongs to: info (id, the hierarchy code as code, the head as user_id, the name), and "
    f"group_user, the head first then the members (at most {lk.GROUP_MEMBERS} in all), with their "
    "role code and name. `setting.external_integration` is always null: Patron keeps no "
    "integration credentials of a group (the seed's fortnox access_token and client_secret are "
    "never produced)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_groups(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    found = await db.read(lk.groups, ctx, uid)
    return respond(
        h,
        {"info": _info(h, ctx, found.customer), "group": [_group(h, ctx, g) for g in found.groups]},
    )
