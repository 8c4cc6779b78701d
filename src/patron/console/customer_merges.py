"""The customer's page, its merges part: the merges the customer took part in, each with an
undo form while it can still be undone, and the answer of an undo.

The list is Get Customer Merges' use case (`merges.merges_of`, newest first, 10 a page like
the API: `?merges_page=N`); the undo is Undo Customer Merge's (`merge_undo.undo_merge`), posted
from the page as `POST /console/customers/{id}/merges/{mergeId}/undo` (console/customer.py)
with the merge's id typed as confirmation. `context_for` gathers what `_customer_merges.html`
shows; every key it returns starts with `merges_`, so the customer page (and the page of a
merged-away customer) can merge it into its own context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from patron.console.web import ROOT, page_number
from patron.context import RequestContext
from patron.customers import merges
from patron.customers.merge_undo import (
    ADDED_SINCE,
    CHANGED_SINCE,
    HELD_BY_SURVIVOR,
    REMOVED_SINCE,
    Undone,
)
from patron.customers.merges_repository import MergeRow
from patron.customers.views import TillRef
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.uow import UnitOfWork

MERGES_SIZE = merges.DEFAULT_PAGE
PAGE_PARAM = "merges_page"

KIND_NAMES = {
    merges.REGISTRATION: "Registration",
    merges.CHANGE_IDENTIFIER: "Identifier change",
    merges.EXPLICIT: "Explicit merge",
}

# The change set's lists, in the order the page counts them, with their plural labels.
MOVED_KINDS: tuple[tuple[str, str], ...] = (
    ("profiles", "profiles"),
    ("identifiers", "identifiers"),
    ("cards", "cards"),
    ("enrollments", "enrollments"),
    ("ledgerEntries", "ledger entries"),
    ("bills", "bills"),
    ("coupons", "coupons"),
    ("subscriptions", "subscriptions"),
    ("userRecords", "user records"),
    ("customFields", "custom fields"),
    ("extendedFields", "extended fields"),
)

REASONS = {
    ADDED_SINCE: "added since the merge",
    CHANGED_SINCE: "changed since the merge",
    REMOVED_SINCE: "no longer the survivor's (removed, returned or moved since the merge)",
    HELD_BY_SURVIVOR: "the survivor holds the same value in an account it keeps",
}


@dataclass(frozen=True, slots=True)
class MergesRead:
    page: merges.MergePage
    undo_tills: dict[int, TillRef]


async def merges_read(uow: UnitOfWork, ctx: RequestContext, customer_id: int, n: int) -> MergesRead:
    """A page of the customer's merges (Get Customer Merges' use case) and the tills that
    undid them."""
    found = await merges.merges_of(uow, ctx, customer_id, limit=MERGES_SIZE, offset=(n - 1) * MERGES_SIZE)
    ids = {m.undo_till_id for m in found.items if m.undo_till_id is not None}
    return MergesRead(found, await uow.customers.tills(ctx.org_id, ids) if ids else {})


def _counts(listed: dict[str, Any]) -> list[str]:
    """ "2 profiles, 3 identifiers ...": the non-empty lists of a change set's part."""
    out = []
    for key, label in MOVED_KINDS:
        n = len(listed.get(key) or ())
        if n:
            out.append(f"{n} {label[:-1] if n == 1 and label.endswith('s') else label}")
    return out


def _till(ref: TillRef | None, till_id: int | None) -> str:
    if till_id is None:
        return "–"
    if ref is None:
        return f"Till {till_id}"
    return f"{ref.name or 'Till'} ({ref.code or ref.till_id})"


def _item(
    m: MergeRow,
    customer_id: int,
    read: MergesRead,
    window: timedelta,
    now: datetime,
    when: Callable[[datetime | None], str],
) -> dict[str, Any]:
    survivor = m.survivor_id == customer_id
    erased = bool(m.change_set.get("erased"))
    listed = m.change_set.get("added" if m.kind == merges.REGISTRATION else "moved") or {}
    undone = m.undone_at is not None
    open_until = m.created_at + window
    return {
        "merge_id": m.merge_id,
        "kind": KIND_NAMES.get(m.kind, m.kind),
        "kind_code": m.kind,
        "role": "survivor" if survivor else "victim",
        "survivor_id": m.survivor_id,
        "victim_id": m.victim_id,
        "other": (m.victim_id if survivor else m.survivor_id),
        "created": when(m.created_at),
        "till": f"{m.till_name or 'Till'} ({m.till_code or m.till_id})",
        "erased": erased,
        "moved": [] if erased else _counts(listed),
        "undone": undone,
        "undone_at": when(m.undone_at),
        "undone_by": _till(read.undo_tills.get(m.undo_till_id or 0), m.undo_till_id),
        "undoable": not undone and not erased and now < open_until,
        "undo_until": when(open_until),
    }


def _described(item: dict[str, Any]) -> str:
    """One line naming what an item of keptBySurvivor is."""
    kind = item.get("kind", "")
    where = f"{item.get('source', '')}{' / ' + item['accountId'] if item.get('accountId') else ''}"
    match kind:
        case "profile":
            return f"Profile {where}"
        case "identifier":
            return f"{item.get('type')} {item.get('value')} in {where}"
        case "card":
            return f"Card {item.get('cardNumber')}"
        case "enrollment":
            return f"Enrollment in program {item.get('programId')}"
        case "ledgerEntry":
            return f"Ledger entry {item.get('id')}"
        case "bill":
            return f"Bill {item.get('id')}"
        case "coupon":
            return f"Coupon {item.get('id')}"
        case "userRecord":
            return f"User record {item.get('id')}"
        case "subscription":
            return f"Subscription {item.get('key')}"
        case "customField" | "extendedField":
            return f"{'Custom' if kind == 'customField' else 'Extended'} field {item.get('name')}"
        case "loyaltyType":
            return f"Loyalty type {item.get('value')}"
    return str(kind)


def undo_view(result: Undone) -> dict[str, Any]:
    """What the page shows of an undo's answer."""
    restored = result.restored
    fields = restored.get("fields") or {}
    lost = restored.get("survivorFields") or {}
    survivor_lost = [f"custom field {k}" for k in lost.get("customFields", [])]
    survivor_lost += [f"extended field {k}" for k in lost.get("extendedFields", [])]
    if lost.get("loyaltyType"):
        survivor_lost.append(f"loyalty type (back to {lost['loyaltyType']})")
    return {
        "merge_id": result.merge_id,
        "survivor_id": result.survivor_id,
        "target_id": result.split_customer_id or result.victim_id,
        "split": result.split_customer_id is not None,
        "moved": _counts(restored),
        "identifiers": [
            f"{i['type']} {i['value']} in {i['source']}{' / ' + i['accountId'] if i['accountId'] else ''}"
            for i in restored.get("identifiers", [])
        ],
        "status_label": fields.get("statusLabel", ""),
        "loyalty_type": fields.get("loyaltyType", ""),
        "survivor_lost": survivor_lost,
        "kept": [
            {"what": _described(k), "reason": REASONS.get(k.get("reason", ""), k.get("reason", ""))}
            for k in result.kept_by_survivor
        ],
        "warnings": [f"{w.code}: {w.message}" for w in result.warnings],
    }


def _link(request: Request, customer_id: int, n: int) -> str:
    query = {k: v for k, v in request.query_params.items() if k != "done"}
    query[PAGE_PARAM] = str(n)
    return f"{ROOT}/customers/{customer_id}?{urlencode(query)}#merges"


def merges_page(request: Request) -> int:
    return page_number(request.query_params.get(PAGE_PARAM))


async def context_for(
    request: Request,
    db: Database,
    ctx: RequestContext,
    customer_id: int,
    *,
    when: Callable[[datetime | None], str],
    refusal: tuple[int, str] | None = None,
    confirm: str = "",
    undone: Undone | None = None,
) -> dict[str, Any]:
    """Everything `_customer_merges.html` needs, every key prefixed `merges_`: a page of the
    customer's merges, the refusal of an undo (merge id, message) with the confirmation as
    typed, and the answer of an undo just made.

    Raises patron.errors.NotFound when the customer is not one of the operator's org."""
    n = merges_page(request)
    read = await db.read(merges_read, ctx, customer_id, n)
    window = timedelta(days=ctx.config.merge_undo_days)
    now = utcnow()
    items = [_item(m, customer_id, read, window, now, when) for m in read.page.items]
    more = read.page.offset + len(read.page.items) < read.page.total
    query = f"?{PAGE_PARAM}={n}" if n > 1 else ""
    return {
        "merges_items": items,
        "merges_total": read.page.total,
        "merges_page": n,
        "merges_first": read.page.offset + 1,
        "merges_newer": _link(request, customer_id, n - 1) if n > 1 else None,
        "merges_older": _link(request, customer_id, n + 1) if more else None,
        "merges_action_query": query,
        "merges_undo_days": ctx.config.merge_undo_days,
        "merges_refusal": {"merge_id": refusal[0], "message": refusal[1]} if refusal else None,
        "merges_refusal_listed": refusal is not None and any(i["merge_id"] == refusal[0] for i in items),
        "merges_confirm": confirm,
        "merges_undone": undo_view(undone) if undone else None,
    }


def merged_into(rows: list[MergeRow], customer_id: int) -> int | None:
    """The survivor of a merged-away customer: the survivor of its newest merge as victim not
    undone (a merged-away customer takes part in no later merge, so it is the first listed)."""
    for m in rows:
        if m.victim_id == customer_id and m.undone_at is None:
            return m.survivor_id
    return None
