"""The customer's page: everything one customer's record holds, and the forms that change it.

Reads go through the API's own use cases in one snapshot: Fetch Customer Details
(`queries.details` with `source=ALL` and the `mlp,expirySchedules` embeds: profiles,
identifiers, cards, the programs the customer is in with their summaries and expiry
schedules), Get Customer Goodwill Requests, plus two read models of the domain (the paged
ledger, loyalty/ledger_page.py; the erasure request, customers/erasure_state.py).

Writes go through the API's own services, with the signed-in till as the actor:

    POST /console/customers/{id}/status           Update customer status (update_status)
    POST /console/customers/{id}/erase            PII deletion: update_status to the org's
                                                  pending-deletion label, as v2 and Delete User do
    POST /console/customers/{id}/goodwill         Request goodwill points (request_goodwill)
    POST /console/customers/{id}/goodwill/{rid}   Approve or reject a goodwill request
    POST /console/customers/{id}/merges/{mid}/undo
                                                  Undo Customer Merge (undo_merge), the merge's
                                                  id typed as confirmation; the page answers
                                                  with what went back and what stayed

The merges section (console/customer_merges.py) lists the merges the customer took part in;
a merged-away customer's page is that section with a link to the survivor.

The others answer 303 back to the page with `?done=<key>` (the text is chosen here, never
echoed); the undo answers the page itself (200) with its result, which is stored nowhere to
redirect to. A refusal is the page again with the error beside its field (4xx), nothing
written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.datastructures import URL
from starlette.responses import Response

from patron.api.deps import Db
from patron.console import customer_activity, customer_merges
from patron.console.pages import Pages, redirect
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
    posted,
    sign_in_first,
)
from patron.context import RequestContext
from patron.customers import catalog, queries
from patron.customers.commands import INT64_MAX, CustomerRef, SourceAccount, UpdateStatus
from patron.customers.erasure_state import ErasureState, erasure_state
from patron.customers.merge_undo import UndoMerge, Undone, undo_merge
from patron.customers.service import update_status
from patron.customers.views import CustomerView
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import NotFound, PatronError
from patron.loyalty import goodwill as gw
from patron.loyalty import ledger, programs
from patron.loyalty.goodwill_repository import GoodwillFilter
from patron.loyalty.ledger_page import LedgerPage, ledger_page
from patron.loyalty.reads import Expiry
from patron.orgs.config import OrgConfig
from patron.security.sessions import Operator

router = APIRouter(prefix=ROOT, include_in_schema=False)

LEDGER_SIZE = 20
GOODWILL_SHOWN = 10
EMBEDS = "mlp,expirySchedules"
NO_CUSTOMER = "There is no such customer in this org."
MAX_REASON = 500
MERGED = 8069  # Fetch Customer Details of a merged-away customer

# The confirmations a change ends with (?done=...); anything else shows nothing.
DONE = {
    "status": "The status was changed.",
    "status-same": "The customer already had that status: nothing changed.",
    "erase": "The erasure of the customer's personal data was filed.",
    "goodwill": "The goodwill points were credited.",
    "goodwill-pending": "The goodwill request was filed; it waits for an approval.",
    "goodwill-approved": "The goodwill request was approved and its points credited.",
    "goodwill-rejected": "The goodwill request was rejected.",
    "undo": "The merge was undone.",
}

KINDS = {
    ledger.ENROLLMENT: "Enrollment",
    ledger.REGISTRATION: "Registration",
    ledger.EARN: "Purchase",
    ledger.RETURN: "Return",
    ledger.REDEEM: "Redemption",
    ledger.EXPIRE: "Expiry",
    ledger.TRANSFER_OUT: "Transfer out",
    ledger.TRANSFER_IN: "Transfer in",
    ledger.GOODWILL: "Goodwill",
    ledger.GROUP_CONTRIBUTION: "To a group pool",
    ledger.GROUP_POOL_IN: "Group pool",
    ledger.REVERSAL: "Reversal",
}


def _ledger_param(program_id: int) -> str:
    return f"ledger_page_{program_id}"


def _when(tz: str) -> Callable[[datetime | None], str]:
    zone = ZoneInfo(tz)

    def fmt(moment: datetime | None) -> str:
        if moment is None:
            return "–"
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return fmt


# --- Reads -------------------------------------------------------------------------------


@dataclass
class Loaded:
    details: queries.Details
    ledgers: dict[int, LedgerPage]
    erasure: ErasureState | None
    goodwill: gw.GoodwillPage | None
    goodwill_error: str = ""


async def _reads(uow: UnitOfWork, ctx: RequestContext, customer_id: int, wanted: dict[int, int]) -> Loaded:
    """Everything the page shows, in one snapshot, through the API's read use cases."""
    details = await queries.details(
        uow, ctx, CustomerRef(customer_id=customer_id), SourceAccount(catalog.ALL_SOURCES), EMBEDS
    )
    ledgers = {}
    for s in details.loyalty.programs:
        n = wanted.get(s.program_id, 1)
        ledgers[s.program_id] = await ledger_page(uow, ctx, customer_id, s.program_id, n, LEDGER_SIZE)
    goodwill: gw.GoodwillPage | None = None
    goodwill_error = ""
    try:
        goodwill = await gw.goodwill_requests(uow, ctx, customer_id, GoodwillFilter(limit=GOODWILL_SHOWN))
    except PatronError as exc:
        goodwill_error = exc.message
    return Loaded(details, ledgers, await erasure_state(uow, ctx, customer_id), goodwill, goodwill_error)


def _ledger_view(
    request: Request, customer_id: int, lp: LedgerPage, when: Callable[[datetime | None], str]
) -> dict[str, Any]:
    """A ledger page as the template shows it, with its older/newer links: a plain link to
    the customer's page at that ledger page (the other parameters kept), and the ledger's
    own route for htmx."""
    param = _ledger_param(lp.program_id)

    def target(n: int) -> dict[str, str]:
        query = dict(request.query_params)
        query.pop("done", None)
        query[param] = str(n)
        return {
            "href": f"{ROOT}/customers/{customer_id}?{urlencode(query)}#ledger-{lp.program_id}",
            "hx": f"{ROOT}/customers/{customer_id}/ledger/{lp.program_id}?page={n}",
        }

    return {
        "program_id": lp.program_id,
        "page": lp.page,
        "entries": [
            {
                "when": when(e.created_at),
                "kind": KINDS.get(e.kind, e.kind),
                "points": e.points,
                "expires": when(e.expires_at) if e.expires_at and e.points > 0 else "",
                "bill": e.bill_number or "",
                "notes": e.notes or "",
                "till": f"{e.till.name} ({e.till.code})" if e.till else "Patron",
            }
            for e in lp.items
        ],
        "newer": target(lp.page - 1) if lp.page > 1 else None,
        "older": target(lp.page + 1) if lp.more else None,
    }


def _profiles(view: CustomerView) -> list[dict[str, Any]]:
    """Each source account's profile with its identifiers; a card number with its card's
    series and status, as Fetch Customer Details lists them (in clear, as the API does)."""
    cards = {c.card_number: c for c in view.cards}
    out = []
    for p in view.profiles:
        identifiers = []
        for i in p.identifiers:
            card = cards.get(i.value) if i.type == catalog.CARD else None
            note = ""
            if card is not None:
                note = f"{card.series_name or card.series_code}, {card.status_label}"
            identifiers.append({"type": i.type, "value": i.value, "card": note})
        out.append(
            {
                "source": p.source,
                "account_id": p.account_id,
                "name": f"{p.first_name} {p.last_name}".strip(),
                "identifiers": identifiers,
            }
        )
    return out


def _name(view: CustomerView) -> str:
    for p in view.profiles:
        name = f"{p.first_name} {p.last_name}".strip()
        if name:
            return name
    return f"Customer {view.customer_id}"


def _status_labels(config: OrgConfig) -> list[str]:
    """The labels the status form offers: what Update customer status accepts, less the
    pending-deletion label (the erasure form files that one, behind its confirmation)."""
    return [x for x in config.status_labels if x not in (config.deleted_label, config.pending_deletion_label)]


def _programs(
    details: queries.Details, config: OrgConfig, when: Callable[[datetime | None], str]
) -> list[dict[str, Any]]:
    held = details.loyalty.programs
    out = []
    for s in held:
        program = config.program(s.program_id)
        tier = programs.progress(program, s.tier_number).current if program else None
        schedule: list[Expiry] = details.loyalty.schedules.get(s.program_id, [])
        out.append(
            {
                "program_id": s.program_id,
                "name": program.name if program else f"Program {s.program_id}",
                "balance": s.loyalty_points,
                "tier": tier.name if tier else "–",
                "tier_expires": when(s.tier_expires_at) if s.tier_expires_at else "",
                "lifetime": s.lifetime_points,
                "redeemed": s.redeemed,
                "expired": s.expired,
                "adjusted": s.adjusted,
                "schedule": [{"at": when(x.at), "points": x.points} for x in schedule],
            }
        )
    return out


@dataclass
class Forms:
    """What a refused form shows again: the values sent and the error of each field."""

    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    # An undo's refusal (merge id, message), or the answer of an undo just made.
    refusal: tuple[int, str] | None = None
    undone: Undone | None = None


async def _render(
    request: Request,
    pages: Pages,
    db: Database,
    operator: Operator,
    customer_id: int,
    forms: Forms | None = None,
    status: int = 200,
    done: str = "",
) -> Response:
    ctx = context(request, operator)
    config = ctx.config
    when = _when(config.timezone)
    f = forms or Forms()
    wanted = {}
    for key, value in request.query_params.items():
        if key.startswith("ledger_page_") and key[12:].isdigit() and len(key) < 40:
            wanted[int(key[12:])] = page_number(value)
    try:
        loaded = await db.read(_reads, ctx, customer_id, wanted)
    except NotFound as exc:
        if exc.code == MERGED:
            return await _merged_page(request, pages, db, operator, ctx, customer_id, f, status, done)
        return not_found(pages, operator, NO_CUSTOMER if exc.code == 8015 else exc.message)
    view = loaded.details.customer
    held = _programs(loaded.details, config, when)
    ledgers = {pid: _ledger_view(request, customer_id, lp, when) for pid, lp in loaded.ledgers.items()}
    names = {p.program_id: p.name for p in config.loyalty_programs}
    default = config.program(None)
    goodwill = [
        {
            "id": g.request_id,
            "program": names.get(g.program_id, str(g.program_id)),
            "points": g.points,
            "status": g.status,
            "approved": g.approved_value,
            "reason": g.reason,
            "added": when(g.added_at),
            "added_by": f"{g.added_by.name} ({g.added_by.code})",
        }
        for g in (loaded.goodwill.items if loaded.goodwill else [])
    ]
    activity = await customer_activity.context_for(request, db, ctx, customer_id)
    merged = await _merges(request, db, ctx, customer_id, f)
    done = done or request.query_params.get("done", "")
    erased = view.status_label == config.deleted_label
    return pages.render(
        "customer.html",
        status,
        customer_id=customer_id,
        name=_name(view),
        status_label=view.status_label,
        loyalty_type=view.loyalty_type,
        registered=when(view.registered_at),
        created_by=f"{view.created_by.name} ({view.created_by.code})",
        updated=when(view.updated_at),
        profiles=_profiles(view),
        labels=_status_labels(config),
        pending_label=config.pending_deletion_label,
        erased=erased,
        pending=view.status_label == config.pending_deletion_label,
        erasure=(
            {
                "reason": loaded.erasure.reason,
                "requested": when(loaded.erasure.requested_at),
                "due": when(loaded.erasure.due_at),
            }
            if loaded.erasure
            else None
        ),
        grace_seconds=config.erasure_grace_seconds,
        programs=held,
        ledgers=ledgers,
        org_programs=[{"id": p.program_id, "name": p.name} for p in config.loyalty_programs],
        default_program=default.program_id if default else None,
        goodwill=goodwill,
        goodwill_total=loaded.goodwill.total if loaded.goodwill else 0,
        goodwill_error=loaded.goodwill_error,
        done=DONE.get(done, ""),
        errors=f.errors,
        values=f.values,
        timezone=config.timezone,
        **activity,
        **merged,
        **page(operator, ""),
    )


async def _merges(
    request: Request, db: Database, ctx: RequestContext, customer_id: int, forms: Forms
) -> dict[str, Any]:
    return await customer_merges.context_for(
        request,
        db,
        ctx,
        customer_id,
        when=_when(ctx.config.timezone),
        refusal=forms.refusal,
        confirm=forms.values.get("undo_confirm", ""),
        undone=forms.undone,
    )


async def _merged_page(
    request: Request,
    pages: Pages,
    db: Database,
    operator: Operator,
    ctx: RequestContext,
    customer_id: int,
    forms: Forms,
    status: int,
    done: str,
) -> Response:
    """A merged-away customer: a link to the customer it went into, and its merges (where an
    undo gives it its record back)."""
    merged = await _merges(request, db, ctx, customer_id, forms)
    newest = await db.read(customer_merges.merges_read, ctx, customer_id, 1)
    return pages.render(
        "customer_merged.html",
        status,
        customer_id=customer_id,
        survivor_id=customer_merges.merged_into(newest.page.items, customer_id),
        done=DONE.get(done or request.query_params.get("done", ""), ""),
        timezone=ctx.config.timezone,
        **merged,
        **page(operator, ""),
    )


@router.get("/customers/{customer_id}")
async def customer_page(
    request: Request, customer_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """The customer's page."""
    if operator is None:
        return sign_in_first(request)
    cid = path_id(customer_id)
    if cid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    return await _render(request, pages, db, operator, cid)


@router.get("/customers/{customer_id}/ledger/{program_id}")
async def ledger_section(
    request: Request, customer_id: str, program_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """One program's ledger alone (htmx), or the customer's page at that ledger page."""
    if operator is None:
        return sign_in_first(request)
    cid = path_id(customer_id)
    pid = path_id(program_id)
    if cid is None or pid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    n = page_number(request.query_params.get("page"))
    if not htmx(request):
        return redirect(f"{ROOT}/customers/{cid}?{_ledger_param(pid)}={n}#ledger-{pid}")
    ctx = context(request, operator)
    # The plain links of the swapped ledger keep the parameters of the page the browser shows.
    shown = Request({**request.scope, "query_string": b""})
    current = request.headers.get("hx-current-url", "")
    if current.startswith(str(request.base_url)):
        url = URL(current)
        shown = Request({**request.scope, "path": url.path, "query_string": url.query.encode()})
    try:
        lp = await db.read(ledger_page, ctx, cid, pid, n, LEDGER_SIZE)
    except NotFound:
        return not_found(pages, operator, NO_CUSTOMER)
    return pages.render(
        "_customer_ledger.html",
        customer_id=cid,
        ledger=_ledger_view(shown, cid, lp, _when(ctx.config.timezone)),
        **page(operator, ""),
    )


# --- Writes ------------------------------------------------------------------------------


def _back(customer_id: int, done: str, anchor: str) -> Response:
    return redirect(f"{ROOT}/customers/{customer_id}?done={done}#{anchor}")


async def _where(db: Database, ctx: RequestContext, customer_id: int) -> SourceAccount:
    """The source account a status change is made in: the customer's oldest profile in a
    source the org still configures (the event and the history name it)."""
    details = await db.read(
        queries.details, ctx, CustomerRef(customer_id=customer_id), SourceAccount(catalog.ALL_SOURCES), None
    )
    view = details.customer
    for p in view.profiles:
        accounts = ctx.config.sources.get(p.source)
        if accounts is not None and (p.account_id in accounts if accounts else not p.account_id):
            return SourceAccount(p.source, p.account_id or None)
    return SourceAccount(view.created_from_source)


async def _status_write(
    request: Request,
    pages: Pages,
    db: Database,
    operator: Operator,
    cid: int,
    label: str,
    reason: str,
    forms: Forms,
    field_name: str,
) -> Response | bool:
    """update_status as the API calls it; the refusal as the page with the error beside
    `field_name`, or whether the status changed."""
    ctx = context(request, operator)
    try:
        where = await _where(db, ctx, cid)
        return await db.write(
            update_status, ctx, UpdateStatus(CustomerRef(customer_id=cid), where, label, reason)
        )
    except NotFound as exc:
        return not_found(pages, operator, NO_CUSTOMER if exc.code == 8015 else exc.message)
    except PatronError as exc:
        forms.errors[field_name] = exc.message
        return await _render(request, pages, db, operator, cid, forms, exc.status)


@router.post("/customers/{customer_id}/status")
async def change_status(
    request: Request, customer_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """Update customer status: a label of the org and a required reason."""
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    cid = path_id(customer_id)
    if cid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    label = form.get("label", "").strip()
    reason = form.get("reason", "").strip()
    forms = Forms(values={"label": label, "reason": reason})
    if label not in _status_labels(operator.config):
        forms.errors["label"] = "Choose one of the statuses offered."
    if not reason:
        forms.errors["reason"] = "Give the reason of the change."
    elif len(reason) > MAX_REASON:
        forms.errors["reason"] = f"The reason is longer than {MAX_REASON} characters."
    if forms.errors:
        return await _render(request, pages, db, operator, cid, forms, 400)
    result = await _status_write(request, pages, db, operator, cid, label, reason, forms, "reason")
    if isinstance(result, Response):
        return result
    return _back(cid, "status" if result else "status-same", "status")


@router.post("/customers/{customer_id}/erase")
async def erase(
    request: Request, customer_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """PII deletion: the customer moves to the org's pending-deletion label, which files the
    erasure (as v2's status change and the user namespace's Delete User do). The operator
    types the customer's id to confirm."""
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    cid = path_id(customer_id)
    if cid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    confirm = form.get("confirm", "").strip()
    reason = form.get("erase_reason", "").strip()
    forms = Forms(values={"erase_reason": reason, "confirm": confirm})
    if confirm != str(cid):
        forms.errors["confirm"] = f"Type the customer's id, {cid}, exactly, to confirm the erasure."
    if not reason:
        forms.errors["erase_reason"] = "Give the reason of the erasure."
    elif len(reason) > MAX_REASON:
        forms.errors["erase_reason"] = f"The reason is longer than {MAX_REASON} characters."
    if forms.errors:
        return await _render(request, pages, db, operator, cid, forms, 400)
    label = operator.config.pending_deletion_label
    result = await _status_write(request, pages, db, operator, cid, label, reason, forms, "confirm")
    if isinstance(result, Response):
        return result
    return _back(cid, "erase" if result else "status-same", "erasure")


def _positive(raw: str, limit: int) -> int | None:
    text = raw.strip()
    if text.isascii() and text.isdigit() and len(text) <= 12:
        value = int(text)
        if 1 <= value <= limit:
            return value
    return None


@router.post("/customers/{customer_id}/goodwill")
async def give_goodwill(
    request: Request, customer_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """Request goodwill points, as POST /v2/customers/{id}/goodwillRequest does: approved and
    credited at once when the operator leaves "approve now" ticked (the API's autoApprove),
    otherwise PENDING until approved or rejected below."""
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    cid = path_id(customer_id)
    if cid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    config = operator.config
    raw_program = form.get("program", "").strip()
    raw_points = form.get("points", "").strip()
    reason = form.get("goodwill_reason", "").strip()
    approve = form.get("approve") == "1"
    forms = Forms(
        values={
            "program": raw_program,
            "points": raw_points,
            "goodwill_reason": reason,
            "approve": "1" if approve else "",
        }
    )
    program_id = _positive(raw_program, INT64_MAX)
    if program_id is None or config.program(program_id) is None:
        forms.errors["program"] = "Choose one of the loyalty programs offered."
    points = _positive(raw_points, gw.MAX_POINTS)
    if points is None:
        forms.errors["points"] = f"Give a whole number of points from 1 to {gw.MAX_POINTS:,}."
    if not reason:
        forms.errors["goodwill_reason"] = "Give the reason of the goodwill."
    elif len(reason) > gw.MAX_TEXT:
        forms.errors["goodwill_reason"] = f"The reason is longer than {gw.MAX_TEXT} characters."
    if forms.errors or points is None:
        return await _render(request, pages, db, operator, cid, forms, 400)
    ctx = context(request, operator)
    cmd = gw.RequestGoodwill(
        customer_id=cid, points=points, reason=reason, program_id=program_id, auto_approve=approve
    )
    try:
        await db.write(gw.request_goodwill, ctx, cmd)
    except NotFound as exc:
        return not_found(pages, operator, NO_CUSTOMER if exc.code == 8015 else exc.message)
    except PatronError as exc:
        forms.errors["points"] = exc.message
        return await _render(request, pages, db, operator, cid, forms, exc.status)
    return _back(cid, "goodwill" if approve else "goodwill-pending", "goodwill")


@router.post("/customers/{customer_id}/goodwill/{request_id}")
async def decide_goodwill(
    request: Request, customer_id: str, request_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """Approve (the points asked for) or reject a PENDING goodwill request, as
    PUT /v2/customers/{id}/goodwillRequest/{requestId} does."""
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    cid = path_id(customer_id)
    rid = path_id(request_id)
    if cid is None or rid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    decision = form.get("decision", "")
    forms = Forms()
    if decision not in (gw.APPROVED, gw.REJECTED):
        forms.errors["decision"] = "Approve or reject the request."
        return await _render(request, pages, db, operator, cid, forms, 400)
    ctx = context(request, operator)
    try:
        await db.write(gw.decide_goodwill, ctx, gw.DecideGoodwill(cid, rid, decision))
    except NotFound as exc:
        return not_found(pages, operator, NO_CUSTOMER if exc.code == 8015 else exc.message)
    except PatronError as exc:
        forms.errors["decision"] = exc.message
        return await _render(request, pages, db, operator, cid, forms, exc.status)
    return _back(cid, "goodwill-approved" if decision == gw.APPROVED else "goodwill-rejected", "goodwill")


@router.post("/customers/{customer_id}/merges/{merge_id}/undo")
async def undo(
    request: Request, customer_id: str, merge_id: str, pages: PagesDep, db: Db, operator: MaybeOperator
) -> Response:
    """Undo Customer Merge, as POST /v2/customers/merge/{mergeId}/undo does; the operator
    types the merge's id to confirm. The answer is the page with what went back and what
    stayed with the survivor (an undo's answer is not stored, so it is shown here, once)."""
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    cid = path_id(customer_id)
    mid = path_id(merge_id)
    if cid is None or mid is None:
        return not_found(pages, operator, NO_CUSTOMER)
    confirm = form.get("confirm", "").strip()
    forms = Forms(values={"undo_confirm": confirm})
    # The answer is the customer's page: its links are built as from that page's path.
    shown = Request({**request.scope, "path": f"{ROOT}/customers/{cid}"})
    if confirm != str(mid):
        forms.refusal = (mid, f"Type the merge's id, {mid}, exactly, to confirm the undo.")
        return await _render(shown, pages, db, operator, cid, forms, 400)
    ctx = context(request, operator)
    try:
        result = await db.write(undo_merge, ctx, UndoMerge(mid))
    except PatronError as exc:
        forms.refusal = (mid, exc.message)
        return await _render(shown, pages, db, operator, cid, forms, exc.status)
    return await _render(shown, pages, db, operator, cid, Forms(undone=result), 200, "undo")
