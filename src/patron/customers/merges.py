"""Merges recorded as change sets (docs/merges.md).

Every merge writes one `customer_merge` row in the unit of work that merges:

    registration      a registration whose identifier another customer holds in another
                      source (8050): no second customer; the change set lists what the
                      registration added to the survivor
    changeIdentifier  an added identifier held by another customer (8051): the victim (the
                      customer changed) folds into the holder
    explicit          POST /v2/customers/merge (customers/identifiers.py, merge_customers)

The change set is built from what the merge already has in hand: the rows the moves
returned, what stayed with the victim (one statement), and both customers' core fields as
they were before. `merges_of` lists the merges a customer took part in, merged-away
customers included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.context import RequestContext
from patron.customers.domain import FieldChange
from patron.customers.merges_repository import MergeRow
from patron.customers.repository import CustomerCore, MovedRows
from patron.customers.views import CardView, EnrollmentView, IdentifierView, ProfileView
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound

REGISTRATION = "registration"
CHANGE_IDENTIFIER = "changeIdentifier"
EXPLICIT = "explicit"
MAX_PAGE = 100
DEFAULT_PAGE = 10


def before_of(core: CustomerCore) -> dict[str, Any]:
    """A customer's core fields as a merge found them."""
    return {
        "loyaltyType": core.loyalty_type,
        "statusLabel": core.status_label,
        "customFields": dict(core.custom_fields),
        "extendedFields": dict(core.extended_fields),
        "version": core.version,
    }


def _profiles(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"source": s, "accountId": a} for s, a in pairs]


def _identifiers(items: Iterable[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    return [{"type": t, "value": v, "source": s, "accountId": a} for t, v, s, a in items]


def _cards(items: Iterable[tuple[int, str]]) -> list[dict[str, Any]]:
    return [{"cardId": i, "cardNumber": n} for i, n in items]


def customers_change_set(
    moved: MovedRows,
    stayed: dict[str, list[Any]],
    *,
    survivor_before: CustomerCore,
    victim_before: CustomerCore,
) -> dict[str, Any]:
    """The change set of a merge of two customers: what moved to the survivor, what stayed
    with the victim, and both customers' core fields before."""
    return {
        "moved": {
            "profiles": _profiles(moved.profiles),
            "identifiers": _identifiers(moved.identifiers),
            "cards": _cards(moved.cards),
            "enrollments": moved.programs,
            "ledgerEntries": moved.ledger_entries,
            "bills": moved.bills,
            "coupons": moved.coupons,
            "subscriptions": moved.subscriptions,
            "userRecords": moved.user_records,
        },
        "stayed": {
            kind: stayed.get(kind, [])
            for kind in (
                "enrollments",
                "ledgerEntries",
                "bills",
                "groupMemberships",
                "partnerMemberships",
                "coupons",
                "subscriptions",
                "userRecords",
            )
        },
        "survivorBefore": before_of(survivor_before),
        "victimBefore": before_of(victim_before),
    }


def registration_change_set(
    profiles: Iterable[ProfileView],
    cards: Iterable[CardView],
    enrollments: Iterable[EnrollmentView],
    custom: dict[str, Any],
    extended: dict[str, Any],
    *,
    loyalty_type: str,
    survivor_before: CustomerCore,
) -> dict[str, Any]:
    """The change set of a registration merge: what the registration added to the survivor
    (and the loyalty type it asked for, which an undo gives the customer it splits off)."""
    profiles = list(profiles)
    return {
        "added": {
            "loyaltyType": loyalty_type,
            "profiles": _profiles((p.source, p.account_id) for p in profiles),
            "identifiers": _identifiers(_identifier_keys(i for p in profiles for i in p.identifiers)),
            "cards": _cards((c.card_id, c.card_number) for c in cards),
            "enrollments": sorted(e.program_id for e in enrollments),
            "customFields": dict(custom),
            "extendedFields": dict(extended),
        },
        "survivorBefore": before_of(survivor_before),
    }


def _identifier_keys(items: Iterable[IdentifierView]) -> list[tuple[str, str, str, str]]:
    return sorted((i.type, i.value, i.source, i.account_id) for i in items)


async def record(
    uow: UnitOfWork,
    ctx: RequestContext,
    *,
    kind: str,
    survivor_id: int,
    victim_id: int | None,
    change_set: dict[str, Any],
    now: datetime,
) -> int:
    """Write the merge's row; its id."""
    merge_id = await uow.tx.id("merge")
    await uow.merges.add(
        {
            "org_id": ctx.org_id,
            "merge_id": merge_id,
            "kind": kind,
            "survivor_id": survivor_id,
            "victim_id": victim_id,
            "created_at": now,
            "till_id": ctx.actor.till_id,
            "request_id": ctx.request_id,
            "change_set": change_set,
        }
    )
    return merge_id


def merge_change(merge_id: int, source: str, account_id: str) -> FieldChange:
    """The history row naming the merge, beside the rows of the change that merged."""
    return FieldChange("mergeId", "StandardField", None, str(merge_id), source, account_id)


@dataclass(frozen=True, slots=True)
class MergePage:
    customer_id: int
    total: int
    limit: int
    offset: int
    items: list[MergeRow]


async def merges_of(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, *, limit: int, offset: int
) -> MergePage:
    """The merges a customer took part in (as survivor or victim), newest first; a
    merged-away customer's id answers too."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(400, detail=f"limit must be from 1 to {MAX_PAGE}.")
    if offset < 0:
        raise InvalidInput(400, detail="offset must be 0 or more.")
    repo = uow.merges
    exists, _ = await repo.merged_into(ctx.org_id, customer_id)
    if not exists:
        raise NotFound(8015)
    total = await repo.count(ctx.org_id, customer_id)
    items = (
        await repo.of_customer(ctx.org_id, customer_id, limit=limit, offset=offset) if offset < total else []
    )
    return MergePage(customer_id, total, limit, offset, items)
