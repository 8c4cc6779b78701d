"""Points transfers: one customer gives points to another of the same org, both sides in one
transaction, and the transfer summary of a customer (Get Points Transfer Summary of
Customer, seed 003 L3015-3096).

A transfer is a `points_transfer` row and two ledger entries carrying its id: a
`transfer_out` debit on the giver and a `transfer_in` credit on the receiver, whose points
expire as freshly earned ones would. Both customers are held in ascending id order, so two
transfers in opposite directions queue instead of deadlocking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound, PatronError, RuleViolation
from patron.loyalty import ledger, programs, service
from patron.loyalty.ledger import Entry
from patron.loyalty.repository import Account
from patron.loyalty.service import Posted, SideEffect

REF_KIND = "transfer"
MAX_NOTES = 500
MAX_PAGE = 1000
DEDUCTION = "DEDUCTION"
ADDITION = "ADDITION"


@dataclass(frozen=True, slots=True)
class TransferPoints:
    from_customer_id: int
    to_customer_id: int
    points: int
    program_id: int | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    customer_id: int
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class TransferView:
    """One transfer as the customer asked about sees it: given (DEDUCTION) or received."""

    transfer_id: int
    transfer_type: str
    points: int
    program_id: int
    giver: Party
    receiver: Party
    notes: str
    created_at: datetime


async def _receiver(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, program_id: int, now: datetime
) -> Account:
    try:
        return await service.open_account(uow, ctx, customer_id, program_id, now)
    except PatronError as e:
        raise type(e)(e.code, f"{e.message} (toCustomerId {customer_id})") from None


async def transfer(uow: UnitOfWork, ctx: RequestContext, cmd: TransferPoints) -> Posted:
    """Move points from one customer to another; more than the giver holds is refused (2010)
    and nothing is written."""
    if not 1 <= cmd.points <= INT64_MAX:
        raise InvalidInput(400, detail="points must be a whole number of 1 or more.")
    notes = (cmd.notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(400, detail=f"notes is longer than {MAX_NOTES} characters.")
    giver_id, receiver_id = cmd.from_customer_id, cmd.to_customer_id
    if not 1 <= giver_id <= INT64_MAX:
        raise NotFound(8015)
    if not 1 <= receiver_id <= INT64_MAX:
        raise NotFound(8015, detail=f"(toCustomerId {receiver_id})")
    if giver_id == receiver_id:
        raise RuleViolation(2020)
    program = service.program_of(ctx.config, cmd.program_id)
    now = utcnow()
    held: dict[int, Account] = {}
    for customer_id in sorted((giver_id, receiver_id)):  # the lock order of two customers
        if customer_id == giver_id:
            held[customer_id] = await service.open_account(uow, ctx, customer_id, program.program_id, now)
        else:
            held[customer_id] = await _receiver(uow, ctx, customer_id, program.program_id, now)
    giver, receiver = held[giver_id], held[receiver_id]
    balance = giver.balances.loyalty_points
    if cmd.points > balance:
        raise RuleViolation(2010, x=balance)
    transfer_id = await uow.tx.id("transfer")
    out = Entry(
        giver_id,
        program.program_id,
        ledger.TRANSFER_OUT,
        -cmd.points,
        ref_kind=REF_KIND,
        ref_id=transfer_id,
        notes=notes or None,
    )
    into = Entry(
        receiver_id,
        program.program_id,
        ledger.TRANSFER_IN,
        cmd.points,
        programs.points_expiry(program, now),
        ref_kind=REF_KIND,
        ref_id=transfer_id,
        notes=notes or None,
    )
    service.post(giver, program, [out], now)
    service.post(receiver, program, [into], now)
    await uow.transfers.add(
        {
            "org_id": ctx.org_id,
            "transfer_id": transfer_id,
            "from_customer_id": giver_id,
            "to_customer_id": receiver_id,
            "program_id": program.program_id,
            "points": cmd.points,
            "notes": notes,
            "till_id": ctx.actor.till_id,
            "created_at": now,
        }
    )
    await service.write(uow, ctx, [giver, receiver], [out, into], now)
    return Posted(transfer_id, [], [SideEffect("transferredPoints", cmd.points)])


async def transfers_of(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, limit: int | None, offset: int
) -> list[TransferView]:
    """A customer's transfers, newest first: DEDUCTION where it gave, ADDITION where it
    received; every one of them unless `limit` asks for a page."""
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(400, detail=f"limit must be from 1 to {MAX_PAGE}.")
    if offset < 0:
        raise InvalidInput(400, detail="offset must be 0 or more.")
    if not 1 <= customer_id <= INT64_MAX:
        raise NotFound(8015)
    repo = uow.transfers
    exists, merged_into = await repo.merged_into(ctx.org_id, customer_id)
    if not exists:
        raise NotFound(8015)
    if merged_into is not None:
        raise NotFound(8069, detail=f"Use customer id {merged_into}.")
    rows = await repo.of_customer(ctx.org_id, customer_id, INT64_MAX if limit is None else limit, offset)
    if not rows:
        return []
    names = await repo.names(ctx.org_id, {r[1] for r in rows} | {r[2] for r in rows})

    def party(cid: int) -> Party:
        first, last = names.get(cid, ("", ""))
        return Party(cid, first, last)

    return [
        TransferView(
            transfer_id=tid,
            transfer_type=DEDUCTION if giver == customer_id else ADDITION,
            points=points,
            program_id=program_id,
            giver=party(giver),
            receiver=party(receiver),
            notes=notes,
            created_at=created_at,
        )
        for tid, giver, receiver, program_id, points, notes, created_at in rows
    ]
