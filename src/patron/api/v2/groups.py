"""Groups (hierarchies) in v2 style: the three bulk operations of seed 003 on
`/v2/customers/bulk` and Patron's own contributions to a group's pool.

The router is included before the customers router, so `/v2/customers/bulk` is not read as
`/v2/customers/{customerId}`. A bulk write is a batch: its items commit one by one
(loyalty/groups.py), and it answers 200 with each item's result or error in its place.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, parse_int, path_id
from patron.api.routing import LeanRoute
from patron.api.v2 import group_render, schemas
from patron.api.v2.group_schemas import BulkAnswer, ChangesAnswer, ChildrenAnswer
from patron.api.v2.group_wire import BulkBody, ChangesBody, ContributionBody
from patron.api.v2.loyalty import posted
from patron.api.v2.schemas import BODY, errors
from patron.api.writes import Write
from patron.customers.commands import SourceAccount
from patron.loyalty.group_commands import ListChildren
from patron.loyalty.group_points import contribute
from patron.loyalty.groups import BATCH_LIMIT, associate, list_children, update_associations

router = APIRouter(prefix="/v2", tags=["loyalty"], route_class=LeanRoute)

Source = Annotated[str | None, Query(description="Source: INSTORE, WECHAT, ... or ALL.")]
Account = Annotated[str | None, Query(description="Account id, for sources with several accounts.")]


@router.post(
    "/customers/bulk",
    summary="Associate Customer with Customer/Hierarchy",
    description="Batch registration, or association of customers in a hierarchy (groups). Each item "
    "is a customer: registered if new, reused if its identifiers are already registered in its source. "
    "With `associationDetails.childCustomers` the item heads the group of its hierarchy (created once, "
    "groupCreated) and each child is registered or reused and added (groupMemberAdded); with "
    "`associationDetails.parentCustomer` the item joins the parent's group. A hierarchyCode must be "
    "listed by a group program of the org. Without associationDetails an item is a plain registration "
    "(Register Customer's rules). Items and children commit one by one: each has its own result or "
    f"error. At most {BATCH_LIMIT} customers per request, children and parents counted (1060).",
    response_model=BulkAnswer,
    responses=errors(*BODY),
)
async def associate_customers(body: Annotated[BulkBody, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    return await write.batch(
        ctx, associate, ctx, body.command(), render=lambda r: group_render.bulk_answer(r, ctx.config)
    )


@router.put(
    "/customers/bulk",
    summary="Update Association Details (for Customer/Company)",
    description="Each item names a customer by the identifiers of its profiles (in `source` and "
    "`accountId`, or any source with ALL) and its hierarchy: `roleCode` alone changes its role (or, "
    "for the customer heading the group, the primary's role and `groupName`: groupUpdated); with "
    "`parentCustomer` (a registered customer) it moves to that parent's group, created if needed "
    "(groupMemberRemoved from the old group, groupMemberAdded to the new one). Each item commits on "
    "its own and has its own result or error.",
    response_model=ChangesAnswer,
    responses=errors(*BODY),
)
async def update_association_details(
    body: Annotated[ChangesBody, Body()],
    write: Write,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
) -> JSONResponse:
    cmd = body.command(SourceAccount(source or "", accountId))
    return await write.batch(
        ctx, update_associations, ctx, cmd, render=lambda r: group_render.changes_answer(r, ctx.config)
    )


@router.get(
    "/customers/bulk",
    summary="Get Customers (Group Loyalty)",
    description="The members of the groups headed by the parent named by "
    "associationEntityIdentifierType and associationEntityIdentifierValue (in `source`), a page: "
    "`count` is how many there are in all.",
    response_model=ChildrenAnswer,
    responses=errors(400, 404),
)
async def get_group_customers(
    db: Db,
    ctx: Ctx,
    source: Source = None,
    accountId: Account = None,
    associationEntityType: Annotated[str | None, Query(description="parentCustomer.")] = None,
    associationEntityIdentifierType: Annotated[
        str | None, Query(description="The parent's identifier type: mobile, email, externalId ...")
    ] = None,
    associationEntityIdentifierValue: Annotated[str | None, Query(description="Its value.")] = None,
    hierarchyCode: Annotated[
        str | None, Query(description="Only this hierarchy's group (Patron's own).")
    ] = None,
    limit: Annotated[str | None, Query(description="Page size, 1 to 100 (default 10).")] = None,
    offset: Annotated[str | None, Query(description="Records to skip (default 0).")] = None,
    sortBy: Annotated[str | None, Query(description="createdon (default) or lastUpdatedOn.")] = None,
    sortOrder: Annotated[str | None, Query(description="ASC or DESC (default).")] = None,
) -> JSONResponse:
    cmd = ListChildren(
        where=SourceAccount(source or "", accountId),
        entity_type=associationEntityType or "",
        identifier_name=associationEntityIdentifierType or "",
        identifier_value=associationEntityIdentifierValue or "",
        hierarchy_code=hierarchyCode or None,
        limit=parse_int(limit, "limit", default=10),
        offset=parse_int(offset, "offset", default=0),
        sort_by=sortBy or "createdon",
        sort_order=(sortOrder or "DESC").upper(),
    )
    page = await db.read(list_children, ctx, cmd)
    return JSONResponse(group_render.children_answer(page, ctx.config))


@router.post(
    "/groups/{groupId}/contributions",
    summary="Contribute points to a group's pool",
    description="A member of the group (its primary included) moves points of one of the group "
    "program's loyalty programs (programId, default: the org's default program) into the group's "
    "pool: a group_contribution debit on the member and a group_pool_in credit on the pool, in one "
    "transaction (pointsContributionToGroup). More than the member's balance is refused (2010); not "
    "a member, 2061; a program the group program does not pool, 2062.",
    response_model=schemas.Written,
    responses=errors(*BODY, 404, 422),
)
async def contribute_points(
    groupId: str, body: Annotated[ContributionBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    cmd = body.command(path_id(groupId, 2060, groupId[:40]))
    return await write(ctx, contribute, ctx, cmd, render=posted)
