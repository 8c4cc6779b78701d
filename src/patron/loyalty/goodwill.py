"""Goodwill requests: points a brand grants a customer as a gesture, asked for, then approved
or rejected (or approved at once), and the customer's list of them (Get Customer Goodwill
Requests, seed 003 L3446-3573).

A request is a `goodwill_request` row, PENDING until decided. Approval credits the approved
value as a `goodwill` ledger entry (the summary's `adjusted` rises) whose points expire as
freshly earned ones would. Only a PENDING request changes: the status moves by a conditional
UPDATE, so two concurrent decisions of one request cannot both apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound, RuleViolation
from patron.loyalty import ledger, programs, service
from patron.loyalty.goodwill_repository import GoodwillFilter, GoodwillView
from patron.loyalty.ledger import Entry
from patron.loyalty.service import Posted, SideEffect
from patron.orgs.config import LoyaltyProgram

REF_KIND = "goodwill"
POINTS = "POINTS"
PENDING = "PENDING"
APPROVED = "APPROVED"
REJECTED = "REJECTED"
AUTO_APPROVED = "AUTO_APPROVED"
# One gesture is bounded well below what a summary column holds.
MAX_POINTS = 1_000_000_000
MAX_TEXT = 500
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class RequestGoodwill:
    customer_id: int
    points: int
    reason: str
    goodwill_type: str = POINTS
    comments: str | None = None
    program_id: int | None = None
    auto_approve: bool = False


@dataclass(frozen=True, slots=True)
class DecideGoodwill:
    customer_id: int
    request_id: int
    status: str
    approved_value: int | None = None
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class GoodwillPage:
    total: int
    items: list[GoodwillView]


def _text(value: str | None, name: str) -> str:
    text = value or ""
    if len(text) > MAX_TEXT:
        raise InvalidInput(400, detail=f"{name} is longer than {MAX_TEXT} characters.")
    return text


def _credit(customer_id: int, program: LoyaltyProgram, points: int, request_id: int, now: datetime) -> Entry:
    return Entry(
        customer_id,
        program.program_id,
        ledger.GOODWILL,
        points,
        programs.points_expiry(program, now),
        ref_kind=REF_KIND,
        ref_id=request_id,
    )


async def request_goodwill(uow: UnitOfWork, ctx: RequestContext, cmd: RequestGoodwill) -> Posted:
    """Ask for goodwill points: PENDING, or APPROVED and credited at once with autoApprove."""
    if cmd.goodwill_type != POINTS:
        raise InvalidInput(400, detail="goodwillType must be POINTS.")
    if not 1 <= cmd.points <= MAX_POINTS:
        raise InvalidInput(400, detail=f"points must be a whole number from 1 to {MAX_POINTS}.")
    reason = _text(cmd.reason, "reason")
    comments = _text(cmd.comments, "comments")
    if not 1 <= cmd.customer_id <= INT64_MAX:
        raise NotFound(8015)
    program = service.program_of(ctx.config, cmd.program_id)
    now = utcnow()
    account = await service.open_account(uow, ctx, cmd.customer_id, program.program_id, now)
    request_id = await uow.tx.id("goodwill")
    effects: list[SideEffect] = []
    if cmd.auto_approve:
        # As the seed shows an automatic approval: "sample; AUTO_APPROVED" (003:L3503).
        updated = f"{comments}; {AUTO_APPROVED}" if comments else AUTO_APPROVED
        status, approved = APPROVED, cmd.points
    else:
        status, approved, updated = PENDING, None, ""
    await uow.goodwill.add(
        {
            "org_id": ctx.org_id,
            "request_id": request_id,
            "customer_id": cmd.customer_id,
            "program_id": program.program_id,
            "goodwill_type": cmd.goodwill_type,
            "points": cmd.points,
            "status": status,
            "reason": reason,
            "comments": comments,
            "approved_value": approved,
            "updated_comments": updated,
            "one_step": cmd.auto_approve,
            "api_request_id": ctx.request_id,
            "added_by_till_id": ctx.actor.till_id,
            "updated_by_till_id": ctx.actor.till_id,
            "added_at": now,
            "updated_at": now,
        }
    )
    if approved is not None:
        entry = _credit(cmd.customer_id, program, approved, request_id, now)
        service.post(account, program, [entry], now)
        await service.write(uow, ctx, [account], [entry], now)
        effects.append(SideEffect("awardedPoints", approved))
    return Posted(request_id, [], effects)


async def decide_goodwill(uow: UnitOfWork, ctx: RequestContext, cmd: DecideGoodwill) -> Posted:
    """Approve (crediting approvedValue, by default the points asked for) or reject a PENDING
    request; a decided request stays as it is (2026)."""
    if cmd.status not in (APPROVED, REJECTED):
        raise InvalidInput(400, detail="status must be APPROVED or REJECTED.")
    comments = _text(cmd.comments, "comments")
    if not 1 <= cmd.customer_id <= INT64_MAX:
        raise NotFound(8015)
    if not 1 <= cmd.request_id <= INT64_MAX:
        raise NotFound(2025, x=cmd.request_id)
    repo = uow.goodwill
    found = await repo.stored(ctx.org_id, cmd.customer_id, cmd.request_id)
    if found is None:
        raise NotFound(8015)
    if found.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {found.merged_into_id}.")
    if found.status is None:
        raise NotFound(2025, x=cmd.request_id)
    if found.status != PENDING:
        raise RuleViolation(2026, x=found.status)
    now = utcnow()
    approved: int | None = None
    account = None
    program = None
    if cmd.status == APPROVED:
        approved = found.points if cmd.approved_value is None else cmd.approved_value
        if not 1 <= approved <= found.points:
            raise RuleViolation(2027, x=found.points)
        program = service.program_of(ctx.config, found.program_id)
        account = await service.open_account(uow, ctx, cmd.customer_id, program.program_id, now)
    decided = await repo.decide(
        ctx.org_id,
        cmd.customer_id,
        cmd.request_id,
        status=cmd.status,
        approved_value=approved,
        updated_comments=comments,
        till_id=ctx.actor.till_id,
        now=now,
    )
    if not decided:
        # Another decision of this request committed while this one waited for the customer.
        again = await repo.stored(ctx.org_id, cmd.customer_id, cmd.request_id)
        raise RuleViolation(2026, x=again.status if again and again.status else "decided")
    effects: list[SideEffect] = []
    if approved is not None and account is not None and program is not None:
        entry = _credit(cmd.customer_id, program, approved, cmd.request_id, now)
        service.post(account, program, [entry], now)
        await service.write(uow, ctx, [account], [entry], now)
        effects.append(SideEffect("awardedPoints", approved))
    return Posted(cmd.request_id, [], effects)


async def goodwill_requests(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, f: GoodwillFilter
) -> GoodwillPage:
    """A customer's goodwill requests, newest first, with the seed's filters."""
    if not 1 <= customer_id <= INT64_MAX:
        raise NotFound(8015)
    if not 1 <= f.limit <= MAX_PAGE:
        raise InvalidInput(400, detail=f"limit must be from 1 to {MAX_PAGE}.")
    if f.offset < 0:
        raise InvalidInput(400, detail="offset must be 0 or more.")
    repo = uow.goodwill
    exists, merged_into, total = await repo.count(ctx.org_id, customer_id, f)
    if not exists:
        raise NotFound(8015)
    if merged_into is not None:
        raise NotFound(8069, detail=f"Use customer id {merged_into}.")
    items = await repo.page(ctx.org_id, customer_id, f) if f.offset < total else []
    return GoodwillPage(total, items)
