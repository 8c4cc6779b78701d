"""The customer's page, its activity part: coupons, subscriptions, referrals, groups, the
user-namespace records, the history of changes and the events raised.

`context_for` gathers what `_customer_activity.html` shows, through the same use cases the
API routes call (Get Customer Coupons (Detailed), Retrieve Subscription Details, Get Customer
Referrals, Get User Group(s), Get User, Get User History) and the activity read model
(customers/activity.py). Every key it returns starts with `activity_`, so the customer page
can merge it into its own context. A section whose use case refuses (a merged customer, for
instance) shows the refusal's message instead of its table.

History and events are paged: `?history_page=N` and `?events_page=N` on the page that
includes the fragment (plain links), and `/console/customers/{id}/history?page=N` and
`.../events?page=N` answer the section alone to htmx (a plain GET of them goes to the
customer's page at that page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import URL
from starlette.responses import Response

from patron.api.deps import Db
from patron.console.pages import redirect
from patron.console.web import (
    ROOT,
    MaybeOperator,
    PagesDep,
    context,
    htmx,
    not_found,
    page,
    page_number,
    path_id,
    sign_in_first,
)
from patron.context import RequestContext
from patron.customers import activity
from patron.db.engine import Database
from patron.engagement import coupons as cp
from patron.engagement import referrals as refs
from patron.engagement import subscriptions as subs
from patron.errors import NotFound, PatronError
from patron.users import finance, sensitive
from patron.users import lookups as lk
from patron.users import service as users
from patron.users.records import UserRecord

router = APIRouter(prefix=ROOT, include_in_schema=False)

T = TypeVar("T")

HISTORY_SIZE = 20
EVENTS_SIZE = 20
COUPONS_SHOWN = 50
NO_CUSTOMER = "There is no such customer in this org."

# The user records shown, in this order, with their headings; security, two-factor and
# other credentials are never shown.
RECORD_KINDS: tuple[tuple[str, str], ...] = (
    ("personal_info", "Personal information"),
    ("address", "Addresses"),
    ("identification", "Identifications"),
    ("document", "Documents"),
    ("credit_card", "Cards"),
    ("bank_account", "Bank accounts"),
    ("preferences", "Preferences"),
    ("currency", "Currencies"),
    ("terms_conditions", "Terms and conditions"),
    ("relationship", "Relationships"),
    ("external_auth", "External logins"),
    ("geo_coordinates", "Location"),
    ("custom_field", "Custom fields"),
)
_FINANCE = ("identification", "credit_card", "bank_account")
# Keys never shown whatever the record (credentials, tokens, internal bookkeeping).
_HIDDEN_KEYS = ("token", "secret", "password", "hash", "answer", "code_hash", "content", "seed")
_STATUS = {0: "inactive", 1: "active", 2: "deleted"}
_VERIFIED = {0: "not verified", 1: "verified"}


async def _section(run: Callable[[], Awaitable[T]]) -> tuple[T | None, str]:
    """A section's data, or the message of the use case's refusal."""
    try:
        return await run(), ""
    except PatronError as exc:
        return None, exc.message


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_flat(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list):
        return "; ".join(_flat(v) for v in value)
    return str(value)


def _fields(data: dict[str, Any]) -> list[tuple[str, str]]:
    """A record's shown fields as (label, text): empty values and hidden keys left out."""
    out = []
    for key, value in data.items():
        if value in (None, "", [], {}) or any(h in key.lower() for h in _HIDDEN_KEYS):
            continue
        if key in ("original_source_id", "custom_field"):
            continue
        out.append((key.replace("_", " "), _flat(value)))
    return out


def _record(rec: UserRecord, org_id: int) -> dict[str, Any]:
    if rec.kind in _FINANCE:
        # Numbers masked exactly as the user API answers them without show_sensitive_data.
        data = finance.plain_fields(rec, sensitive.Reveal(False), None, org_id)
    else:
        data = sensitive.redact({rec.kind: dict(rec.data)})[rec.kind]
    shown = data if isinstance(data, dict) else {"value": data}
    return {
        "id": rec.record_id,
        "primary": rec.is_primary,
        "status": _STATUS.get(rec.status, str(rec.status)),
        "verification": _VERIFIED.get(rec.verification_status, str(rec.verification_status)),
        "fields": _fields(shown),
        "updated_at": rec.updated_at,
    }


def _user_records(user: users.UserView, org_id: int) -> list[dict[str, Any]]:
    """The user's records grouped by kind, in RECORD_KINDS' order (emails and phones first)."""
    groups: list[dict[str, Any]] = []
    contacts = [
        ("email", "Emails", user.emails),
        ("phone", "Phones", user.phones),
    ]
    for kind, label, items in contacts:
        if items:
            groups.append(
                {
                    "kind": kind,
                    "label": label,
                    "records": [
                        {
                            **_record(i.record, org_id),
                            "fields": [("value", i.value if kind == "email" else "+" + i.value.lstrip("+"))],
                        }
                        for i in items
                    ],
                }
            )
    for kind, label in RECORD_KINDS:
        records = user.all_of(kind)
        if records:
            groups.append({"kind": kind, "label": label, "records": [_record(r, org_id) for r in records]})
    return groups


async def _user(db: Database, ctx: RequestContext, customer_id: int) -> users.UserView:
    """Get User's read: identifiers added through v2 get their user record on the first read,
    as the user API's Get User does."""
    try:
        return await db.read(users.read_user, ctx, customer_id)
    except users.NeedsRows:
        return await db.write(users.read_user, ctx, customer_id)


async def _subscriptions(
    db: Database, ctx: RequestContext, customer_id: int, coupons: cp.CouponPage | None
) -> list[dict[str, Any]]:
    """Retrieve Subscription Details for each source account the customer has a profile in
    (the coupons' read holds the customer's view), INSTORE (the API's default) first; an
    account the org no longer configures is left out."""
    profiles = coupons.customer.profiles if coupons else []
    accounts = list(dict.fromkeys([(subs.DEFAULT_SOURCE, ""), *((p.source, p.account_id) for p in profiles)]))
    out = []
    for source, account in accounts:
        try:
            items = await db.read(
                subs.read, ctx, subs.ReadSubscriptions(customer_id, source, account or None)
            )
        except NotFound:
            raise
        except PatronError:
            continue  # a source account not (or no longer) in the org's configuration
        out.append({"source": source, "account_id": account, "items": items})
    return out


def _link(request: Request, **params: int) -> str:
    """The URL of the page showing the fragment, with one of its page parameters changed."""
    query = dict(request.query_params)
    query.update({k: str(v) for k, v in params.items()})
    return f"{request.url.path}?{urlencode(query)}"


def _pager(request: Request, customer_id: int, section: str, current: int, more: bool) -> dict[str, Any]:
    """Older/newer links of a paged section: a plain link to the page that shows the fragment,
    and the section's own route for htmx."""

    def target(n: int) -> dict[str, str]:
        return {
            "href": _link(request, **{f"{section}_page": n}),
            "hx": f"{ROOT}/customers/{customer_id}/{section}?page={n}",
        }

    return {
        "page": current,
        "newer": target(current - 1) if current > 1 else None,
        "older": target(current + 1) if more else None,
    }


async def _history(
    db: Database, ctx: RequestContext, request: Request, customer_id: int, n: int
) -> dict[str, Any]:
    found = await db.read(activity.history, ctx, customer_id, n, HISTORY_SIZE)
    return {
        "activity_history": found,
        "activity_history_pager": _pager(request, customer_id, "history", n, found.more),
        "activity_customer_id": customer_id,
    }


async def _events(
    db: Database, ctx: RequestContext, request: Request, customer_id: int, n: int
) -> dict[str, Any]:
    found = await db.read(activity.events, ctx, customer_id, n, EVENTS_SIZE)
    return {
        "activity_events": found,
        "activity_events_pager": _pager(request, customer_id, "events", n, found.more),
        "activity_customer_id": customer_id,
    }


async def context_for(
    request: Request, db: Database, ctx: RequestContext, customer_id: int
) -> dict[str, Any]:
    """Everything `_customer_activity.html` needs, every key prefixed `activity_`.

    Raises patron.errors.NotFound when the customer is not one of the operator's org (the
    customer page has answered 404 before calling this)."""
    history_page = page_number(request.query_params.get("history_page"))
    events_page = page_number(request.query_params.get("events_page"))
    ctx_data: dict[str, Any] = {}
    # History first: it checks that the customer is one of this org's (NotFound otherwise).
    ctx_data.update(await _history(db, ctx, request, customer_id, history_page))
    ctx_data.update(await _events(db, ctx, request, customer_id, events_page))
    coupons, coupons_error = await _section(
        lambda: db.read(cp.coupons_of, ctx, customer_id, COUPONS_SHOWN, 0)
    )
    subscriptions, subscriptions_error = await _section(lambda: _subscriptions(db, ctx, customer_id, coupons))
    referrals, referrals_error = await _section(
        lambda: db.read(refs.read, ctx, refs.ReadReferrals(customer_id, None, refs.MAX_PAGE, 0))
    )
    groups, groups_error = await _section(lambda: db.read(lk.groups, ctx, customer_id))
    user, user_error = await _section(lambda: _user(db, ctx, customer_id))
    ctx_data.update(
        activity_coupons=coupons,
        activity_coupons_error=coupons_error,
        activity_subscriptions=subscriptions,
        activity_subscriptions_error=subscriptions_error,
        activity_referrals=referrals,
        activity_referrals_error=referrals_error,
        activity_groups=groups.groups if groups else None,
        activity_groups_error=groups_error,
        activity_user_records=_user_records(user, ctx.org_id) if user else None,
        activity_user_error=user_error,
        activity_timezone=ctx.config.timezone,
    )
    return ctx_data


@router.get("/customers/{customer_id}/activity")
async def activity_page(
    request: Request, customer_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """The activity of one customer as a page of its own."""
    if operator is None:
        return sign_in_first(request)
    cid = path_id(customer_id)
    if cid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    ctx = context(request, operator)
    try:
        data = await context_for(request, db, ctx, cid)
    except NotFound:
        return not_found(pages, operator, NO_CUSTOMER)
    return pages.render("customer_activity.html", customer_id=cid, **data, **page(operator, "search"))


async def _section_route(
    request: Request, customer_id: str, pages: PagesDep, db: Database, operator: Any, section: str
) -> Response:
    if operator is None:
        return sign_in_first(request)
    cid = path_id(customer_id)
    if cid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    n = page_number(request.query_params.get("page"))
    if not htmx(request):
        return redirect(f"{ROOT}/customers/{cid}?{section}_page={n}#activity-{section}")
    ctx = context(request, operator)
    # The pager links of the swapped section point at the page the browser shows.
    current = request.headers.get("hx-current-url", "")
    shown = Request({**request.scope, "query_string": b""})
    if current.startswith(str(request.base_url)):
        url = URL(current)
        shown = Request({**request.scope, "path": url.path, "query_string": url.query.encode()})
    try:
        if section == "history":
            data = await _history(db, ctx, shown, cid, n)
            template = "_customer_history.html"
        else:
            data = await _events(db, ctx, shown, cid, n)
            template = "_customer_events.html"
    except NotFound:
        return not_found(pages, operator, NO_CUSTOMER)
    return pages.render(template, **data, activity_timezone=ctx.config.timezone, **page(operator, "search"))


@router.get("/customers/{customer_id}/history")
async def history_section(
    request: Request, customer_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """The history section alone (htmx), or the customer's page at that history page."""
    return await _section_route(request, customer_id, pages, db, operator, "history")


@router.get("/customers/{customer_id}/events")
async def events_section(
    request: Request, customer_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """The events section alone (htmx), or the customer's page at that events page."""
    return await _section_route(request, customer_id, pages, db, operator, "events")
