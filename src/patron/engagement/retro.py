"""Retro requests: attach a past purchase to a customer (ours), and Get Change Requests (seed 003
L3100-3328), which lists them.

    request_retro(...)   POST /v2/customers/{id}/retroRequest              PENDING, or APPROVED
    decide_retro(...)    PUT  /v2/customers/{id}/retroRequest/{requestId}  APPROVED | REJECTED
    retro_requests(...)  GET  /v2/customers/{id}/retroRequest              the list

The purchase is a bill of POST /v2/transactions, named by `transactionId` (its createdId) or
by `billNumber`: one recorded without a customer, or for another customer. The org bounds
how old it may be (`retroMaxAgeDays`, counted from its billDate when the request is made)
and may approve requests at once (`retroAutoApprove`).

Approval, in one transaction: the bill is held, then the customers it concerns in ascending
id order; the customer earns the bill's points by the purchase rule of the bill's program
(an `earn` entry, its lifetime purchases up by the amount), and a customer the bill belonged
to gives back what it earned, never below zero (a `return` entry, as a return of the whole
bill would, and its purchases down by the amount); the bill then belongs to the customer.
A bill with returns recorded against it stays where it is (2173).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.commands import INT64_MAX
from patron.db.base import utcnow
from patron.db.tx import IntegrityError
from patron.db.uow import UnitOfWork
from patron.engagement.change_log import APPROVED, PENDING
from patron.engagement.change_requests import (
    EARLIEST,
    LATEST,
    SEED_CHANGE_TYPES,
    day_bounds,
    decision_of,
    id_bound,
    page_bounds,
    text_of,
)
from patron.engagement.retro_repository import Bill, RetroFilter, RetroView
from patron.errors import Conflict, InvalidInput, NotFound, RuleViolation
from patron.loyalty import ledger, programs, service
from patron.loyalty.commands import REGULAR
from patron.loyalty.ledger import Entry
from patron.loyalty.repository import Account
from patron.loyalty.service import SideEffect

RETRO = "RETRO"
REF_KIND = "retro"


@dataclass(frozen=True, slots=True)
class RequestRetro:
    customer_id: int
    transaction_id: int | None = None
    bill_number: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DecideRetro:
    customer_id: int
    request_id: int
    status: str
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class RetroDone:
    """A request made or decided: its id and status, and the points its approval earned."""

    request_id: int
    status: str
    transaction_id: int
    side_effects: list[SideEffect]


@dataclass(frozen=True, slots=True)
class ListRetroRequests:
    customer_id: int
    change_type: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    start_id: int | None = None
    end_id: int | None = None
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True, slots=True)
class RetroPage:
    total: int
    limit: int
    offset: int
    items: list[RetroView]


async def _bill_named(uow: UnitOfWork, ctx: RequestContext, cmd: RequestRetro) -> Bill:
    if (cmd.transaction_id is None) == (cmd.bill_number is None):
        raise InvalidInput(400, detail="Give transactionId or billNumber (one of them).")
    if cmd.transaction_id is not None:
        if not 1 <= cmd.transaction_id <= INT64_MAX:
            raise NotFound(2165, x=cmd.transaction_id)
        bill = await uow.retro.bill(ctx.org_id, cmd.transaction_id)
        if bill is None:
            raise NotFound(2165, x=cmd.transaction_id)
        if bill.type != REGULAR:
            raise RuleViolation(2172, x=cmd.transaction_id)
        return bill
    number = (cmd.bill_number or "").strip()
    if not number or len(number) > 100:
        raise InvalidInput(400, detail="billNumber must be 1 to 100 characters.")
    bills = await uow.retro.bills_numbered(ctx.org_id, number)
    if not bills:
        raise NotFound(2165, x=number)
    # The customer's own bill of that number is not a candidate for attaching (it is attached).
    others = [b for b in bills if b.customer_id != cmd.customer_id]
    if not others:
        raise Conflict(2167)
    if len(others) > 1:
        raise Conflict(2171, x=number)
    return others[0]


async def _check_movable(uow: UnitOfWork, ctx: RequestContext, customer_id: int, bill: Bill) -> None:
    if bill.customer_id == customer_id:
        raise Conflict(2167)
    if bill.customer_id is not None and await uow.retro.has_returns(
        ctx.org_id, bill.customer_id, bill.bill_number
    ):
        raise RuleViolation(2173, x=bill.bill_number)


async def _attach(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, bill: Bill, request_id: int, now: datetime
) -> int:
    """Move the bill to the customer with its points; the points the customer earned."""
    program = service.program_of(ctx.config, bill.program_id)
    accounts: dict[int, Account] = {}
    # Ascending ids: two approvals touching the same two customers lock them in one order.
    for cid in sorted({customer_id} | ({bill.customer_id} if bill.customer_id is not None else set())):
        accounts[cid] = await service.open_account(
            uow,
            ctx,
            cid,
            program.program_id,
            now,
            new_bill=bill.bill_number if cid == customer_id else None,
        )
    entries: list[Entry] = []
    if bill.customer_id is not None:
        previous = accounts[bill.customer_id]
        take = max(0, min(bill.points, previous.balances.loyalty_points))
        if take > 0:
            back = Entry(
                bill.customer_id,
                program.program_id,
                ledger.RETURN,
                -take,
                None,
                -bill.amount,
                bill.bill_number,
                REF_KIND,
                request_id,
            )
            service.post(previous, program, [back], now)
            entries.append(back)
        previous.balances.cumulative_purchases = max(
            Decimal(0), previous.balances.cumulative_purchases - bill.amount
        )
        await uow.loyalty.add_purchases(ctx.org_id, bill.customer_id, -bill.amount)
    account = accounts[customer_id]
    points = programs.earned(program, bill.amount)
    if points > 0:
        earn = Entry(
            customer_id,
            program.program_id,
            ledger.EARN,
            points,
            programs.points_expiry(program, now),
            bill.amount,
            bill.bill_number,
            "bill",
            bill.bill_id,
        )
        service.post(account, program, [earn], now)
        entries.append(earn)
    account.balances.cumulative_purchases += bill.amount
    await uow.loyalty.add_purchases(ctx.org_id, customer_id, bill.amount)
    await uow.retro.move_bill(ctx.org_id, bill.bill_id, customer_id, points)
    await service.write(uow, ctx, list(accounts.values()), entries, now)
    return points


async def request_retro(uow: UnitOfWork, ctx: RequestContext, cmd: RequestRetro) -> RetroDone:
    """Ask to attach a past purchase to the customer: PENDING, or APPROVED and attached at
    once when the org sets retroAutoApprove."""
    reason = text_of(cmd.reason, "reason")
    if not 1 <= cmd.customer_id <= INT64_MAX:
        raise NotFound(8015)
    # The customer as it stands (an approval holds it and checks it again).
    core = await uow.customers.core(ctx.org_id, cmd.customer_id)
    if core is None:
        raise NotFound(8015)
    if core.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {core.merged_into_id}.")
    if core.loyalty_type != catalog.LOYALTY:
        raise RuleViolation(1013, detail="Only loyalty customers earn points from a purchase.")
    named = await _bill_named(uow, ctx, cmd)
    # Held from here: a concurrent approval moving the same bill waits, then is seen.
    bill = await uow.retro.bill(ctx.org_id, named.bill_id, lock=True)
    if bill is None:  # bills are never deleted; say so plainly all the same
        raise NotFound(2165, x=named.bill_id)
    now = utcnow()
    await _check_movable(uow, ctx, cmd.customer_id, bill)
    max_days = ctx.config.retro_max_age_days
    if bill.bill_date < now - timedelta(days=max_days):
        raise RuleViolation(2166, x=max_days)
    waiting = await uow.retro.pending_for(ctx.org_id, bill.bill_id)
    if waiting is not None:
        raise Conflict(2168, x=waiting)
    request_id = await uow.tx.id("retro_request")
    auto = ctx.config.retro_auto_approve
    effects: list[SideEffect] = []
    points: int | None = None
    if auto:
        points = await _attach(uow, ctx, cmd.customer_id, bill, request_id, now)
        effects.append(SideEffect("awardedPoints", points))
    await uow.retro.add(
        {
            "org_id": ctx.org_id,
            "request_id": request_id,
            "customer_id": cmd.customer_id,
            "bill_id": bill.bill_id,
            "bill_number": bill.bill_number,
            "from_customer_id": bill.customer_id,
            "status": APPROVED if auto else PENDING,
            "reason": reason,
            "comments": f"auto approved by {ctx.actor.till_id}" if auto else "",
            "points": points,
            "one_step": auto,
            "api_request_id": ctx.request_id,
            "added_by_till_id": ctx.actor.till_id,
            "updated_by_till_id": ctx.actor.till_id,
            "added_at": now,
            "updated_at": now,
        }
    )
    try:
        await uow.flush()
    except IntegrityError as exc:
        # Another till's request for the same bill committed first (one PENDING per bill).
        raise Conflict(2168, x="made meanwhile") from exc
    return RetroDone(request_id, APPROVED if auto else PENDING, bill.bill_id, effects)


async def decide_retro(uow: UnitOfWork, ctx: RequestContext, cmd: DecideRetro) -> RetroDone:
    """Approve (attach the purchase and earn its points now) or reject a PENDING request."""
    status = decision_of(cmd.status)
    comments = text_of(cmd.comments, "comments")
    if not 1 <= cmd.customer_id <= INT64_MAX:
        raise NotFound(8015)
    if not 1 <= cmd.request_id <= INT64_MAX:
        raise NotFound(2169, x=cmd.request_id)
    repo = uow.retro
    found = await repo.stored(ctx.org_id, cmd.customer_id, cmd.request_id)
    if found is None:
        raise NotFound(8015)
    if found.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {found.merged_into_id}.")
    if found.status is None or found.bill_id is None:
        raise NotFound(2169, x=cmd.request_id)
    if found.status != PENDING:
        raise RuleViolation(2170, x=found.status)
    now = utcnow()
    points: int | None = None
    effects: list[SideEffect] = []
    if status == APPROVED:
        bill = await repo.bill(ctx.org_id, found.bill_id, lock=True)
        if bill is None:
            raise NotFound(2165, x=found.bill_id)
        await _check_movable(uow, ctx, cmd.customer_id, bill)
        points = await _attach(uow, ctx, cmd.customer_id, bill, cmd.request_id, now)
        effects.append(SideEffect("awardedPoints", points))
    verb = "approved" if status == APPROVED else "rejected"
    decided = await repo.decide(
        ctx.org_id,
        cmd.customer_id,
        cmd.request_id,
        status=status,
        comments=comments or f"{verb} by {ctx.actor.till_id}",
        points=points,
        till_id=ctx.actor.till_id,
        now=now,
    )
    if not decided:
        # Another decision of this request committed while this one waited for the bill.
        again = await repo.stored(ctx.org_id, cmd.customer_id, cmd.request_id)
        raise RuleViolation(2170, x=again.status if again and again.status else "decided")
    return RetroDone(cmd.request_id, status, found.bill_id, effects)


async def retro_requests(uow: UnitOfWork, ctx: RequestContext, q: ListRetroRequests) -> RetroPage:
    """A customer's retro requests, newest first, with the seed's filters."""
    only_retro = True
    if q.change_type:
        change_type = q.change_type.strip().upper()
        if change_type not in SEED_CHANGE_TYPES:
            raise InvalidInput(400, detail=f"changeType must be one of {', '.join(SEED_CHANGE_TYPES)}.")
        only_retro = change_type == RETRO
    id_bound(q.start_id, "startId")
    id_bound(q.end_id, "endId")
    page_bounds(q.limit, q.offset)
    if not 1 <= q.customer_id <= INT64_MAX:
        raise NotFound(8015)
    tz = ctx.config.timezone
    f = RetroFilter(
        start_at=day_bounds(q.start_date, "startDate", tz, end=False) or EARLIEST,
        end_at=day_bounds(q.end_date, "endDate", tz, end=True) or LATEST,
        # Another changeType lists nothing here: an empty id range (the customer is still checked).
        start_id=q.start_id if q.start_id is not None else 0,
        end_id=(q.end_id if q.end_id is not None else INT64_MAX) if only_retro else -1,
        limit=q.limit,
        offset=q.offset,
    )
    repo = uow.retro
    exists, merged_into, total = await repo.count(ctx.org_id, q.customer_id, f)
    if not exists:
        raise NotFound(8015)
    if merged_into is not None:
        raise NotFound(8069, detail=f"Use customer id {merged_into}.")
    items = await repo.page(ctx.org_id, q.customer_id, f) if f.offset < total else []
    return RetroPage(total, f.limit, f.offset, items)
