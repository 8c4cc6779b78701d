"""Merges (ours, issue 15): merge two customers explicitly, with a preview, undo a merge,
and list the merges a customer took part in. The rules are in customers/identifiers.py (merge_customers)
and customers/merges.py; docs/merges.md describes the change set."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, parse_int, path_id
from patron.api.routing import LeanRoute
from patron.api.v2 import render
from patron.api.v2.schemas import BODY, Out, Pagination, WarningItem, errors
from patron.api.v2.wire import _Wire
from patron.api.writes import Write
from patron.customers import merges
from patron.customers.commands import INT64_MAX
from patron.customers.identifiers import MergeCustomers, Merged, MergePreviewed, merge_customers
from patron.customers.merge_undo import UndoMerge, Undone, undo_merge
from patron.customers.merges_repository import MergeRow

router = APIRouter(prefix="/v2/customers", tags=["customers"], route_class=LeanRoute)

_CHANGE_SET = (
    "What the merge moved and what it found: for two customers `moved` (profiles, identifiers, "
    "cards, enrollments as program ids, ledgerEntries, bills, coupons and userRecords as ids, "
    "subscriptions as 'source account channel priority'), `stayed` (what remained "
    "with the victim: enrollments of programs the survivor held and their ledgerEntries and bills, "
    "groupMemberships, partnerMemberships, coupons, subscriptions, userRecords), `survivorBefore` "
    "and `victimBefore` (loyaltyType, statusLabel, customFields, extendedFields, version); for a "
    "registration merge `added` (loyaltyType, profiles, identifiers, cards, enrollments, "
    "customFields, extendedFields) and `survivorBefore`. docs/merges.md."
)


class MergeBody(_Wire):
    model_config = ConfigDict(json_schema_extra={"examples": [{"survivorId": 1000, "victimId": 1001}]})

    survivor_id: int = Field(ge=1, le=INT64_MAX, description="The customer that remains.")
    victim_id: int = Field(ge=1, le=INT64_MAX, description="The customer folded into the survivor.")
    preview: bool = Field(default=False, description="Answer the change set and write nothing.")


class MergeDone(Out):
    merge_id: int | None = Field(description="The merge's id; null for a preview (nothing was recorded).")
    survivor_id: int
    victim_id: int
    change_set: dict[str, Any] = Field(description=_CHANGE_SET)
    warnings: list[WarningItem]


class MergeUndone(Out):
    merge_id: int
    survivor_id: int
    victim_id: int | None = Field(
        default=None, description="The customer given back (absent for a registration merge)."
    )
    split_customer_id: int | None = Field(
        default=None,
        description="The customer a registration merge's added profiles were split into (absent otherwise).",
    )
    restored: dict[str, Any] = Field(
        description="What went back: profiles, identifiers, cards, enrollments (program ids), "
        "ledgerEntries, bills, coupons, subscriptions, userRecords; `fields` (the restored "
        "customer's loyaltyType, statusLabel, customFields, extendedFields) and `survivorFields` "
        "(what the survivor lost of what the merge filled in). docs/merges.md."
    )
    kept_by_survivor: list[dict[str, Any]] = Field(
        description="What the change set lists that did not go back, each with its `kind` and "
        "`reason`: addedSinceMerge, changedSinceMerge, removedSinceMerge, heldBySurvivor."
    )
    warnings: list[WarningItem]


class MergeTill(Out):
    id: int
    code: str | None
    name: str | None


class MergeItem(Out):
    merge_id: int
    kind: Literal["registration", "changeIdentifier", "explicit"]
    survivor_id: int
    victim_id: int | None = Field(description="Null for a registration merge: no second customer existed.")
    created_at: datetime
    till: MergeTill
    change_set: dict[str, Any] = Field(description=_CHANGE_SET)
    undone: bool
    undone_at: datetime | None


class MergePageOut(Out):
    customer_id: int
    pagination: Pagination
    data: list[MergeItem]
    warnings: list[WarningItem]


def _merged(result: Merged) -> dict[str, Any]:
    return {
        "mergeId": result.merge_id,
        "survivorId": result.survivor_id,
        "victimId": result.victim_id,
        "changeSet": result.change_set,
        "warnings": render.warning_items(result.warnings),
    }


def _undone(result: Undone) -> dict[str, Any]:
    body: dict[str, Any] = {"mergeId": result.merge_id, "survivorId": result.survivor_id}
    if result.split_customer_id is None:
        body["victimId"] = result.victim_id
    else:
        body["splitCustomerId"] = result.split_customer_id
    body["restored"] = result.restored
    body["keptBySurvivor"] = result.kept_by_survivor
    body["warnings"] = render.warning_items(result.warnings)
    return body


def _item(m: MergeRow, tz: str) -> dict[str, Any]:
    return {
        "mergeId": m.merge_id,
        "kind": m.kind,
        "survivorId": m.survivor_id,
        "victimId": m.victim_id,
        "createdAt": render.stamp(m.created_at, tz),
        "till": {"id": m.till_id, "code": m.till_code, "name": m.till_name},
        "changeSet": m.change_set,
        "undone": m.undone_at is not None,
        "undoneAt": render.stamp(m.undone_at, tz),
    }


@router.post(
    "/merge",
    summary="Merge Customers",
    description="Folds `victimId` into `survivorId` as an identifier change that finds another "
    "customer's identifier does (8051): the victim's profiles, identifiers, cards, enrollments "
    "of programs the survivor lacks (with their ledger entries and bills), coupons, subscriptions "
    "and user records (those whose key the survivor lacks) move to the survivor, "
    "the victim's id then answers 8069 on reads and 8067 on writes, and the survivor gets "
    "customerUpdated. Refused: the same id twice (400), an unknown id (8009), a customer already "
    "merged (8067), both holding a profile in one source account (8066). The merge is recorded "
    "(GET /v2/customers/{id}/merges) and listed as a MERGE change request of the survivor. "
    "`preview: true` runs the same merge and rolls it back: the answer holds the change set it "
    "would record and `mergeId` null, and nothing is written (no rows, history or events).",
    response_model=MergeDone,
    responses=errors(*BODY, 404, 409),
)
async def merge_two_customers(body: Annotated[MergeBody, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    cmd = MergeCustomers(body.survivor_id, body.victim_id, body.preview)
    try:
        return await write(ctx, merge_customers, ctx, cmd, render=_merged)
    except MergePreviewed as previewed:
        return JSONResponse(_merged(previewed.merged))


@router.post(
    "/merge/{mergeId}/undo",
    summary="Undo Customer Merge",
    description="Undoes a merge within the org's `mergeUndoDays` (default 30): the victim gets "
    "back what the survivor still holds of what moved, as the merge left it (profiles with their "
    "identifiers, cards, enrollments with their ledger entries and bills, coupons, subscriptions, "
    "user records) and its fields as they were; its id works again. What changed since the merge "
    "stays with the survivor and is listed in `keptBySurvivor`; every summary touched is folded "
    "again from its ledger. A registration merge (no victim) is undone by splitting the profiles "
    "it added into a new customer (`splitCustomerId`, customerAdded). Raises customerUpdated on "
    "both customers and customersMergeReverted. Refused: an unknown merge (2200, 404), one undone "
    "already (2201, 409), past the window (2202, 422), one whose change set was erased (2203, 409), "
    "one whose survivor was merged since (2204, 409), a registration merge with nothing left to "
    "split off (2205, 422). `Idempotency-Key` works as on every write.",
    response_model=MergeUndone,
    responses=errors(404, 409, 422),
)
async def undo_customer_merge(mergeId: str, write: Write, ctx: Ctx) -> JSONResponse:
    cmd = UndoMerge(path_id(mergeId, 2200, x=mergeId))
    return await write(ctx, undo_merge, ctx, cmd, render=_undone)


@router.get(
    "/{customerId}/merges",
    summary="Get Customer Merges",
    description="The merges the customer took part in, as survivor or as victim, newest first: "
    "registration (8050, no victim), changeIdentifier (8051) and explicit (POST "
    "/v2/customers/merge) merges, each with its change set and whether it was undone. A "
    "merged-away customer's id answers too.",
    response_model=MergePageOut,
    responses=errors(400, 404),
)
async def customer_merges(
    customerId: str,
    db: Db,
    ctx: Ctx,
    limit: Annotated[str | None, Query(description="Page size, 1 to 100 (default 10).")] = None,
    offset: Annotated[str | None, Query(description="Records to skip (default 0).")] = None,
) -> JSONResponse:
    page = await db.read(
        merges.merges_of,
        ctx,
        path_id(customerId, 8015),
        limit=parse_int(limit, "limit", default=merges.DEFAULT_PAGE),
        offset=parse_int(offset, "offset", default=0),
    )
    tz = ctx.config.timezone
    return JSONResponse(
        {
            "customerId": page.customer_id,
            "pagination": {"limit": page.limit, "offset": page.offset, "total": page.total},
            "data": [_item(m, tz) for m in page.items],
            "warnings": [],
        }
    )
