"""Loyalty use cases on one customer's account: purchases and returns, redemptions, and
the enrollments and registration points of registering and updating customers.

Each runs in the caller's unit of work: the customer row is held, the summary read, the
ledger entries appended and the summary saved in one transaction (loyalty/repository.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.addressing import customer_id_by_identifier, resolve_account
from patron.customers.commands import INT64_MAX
from patron.customers.views import EnrollmentView
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import Conflict, InvalidInput, NotFound, RuleViolation, Warning_
from patron.loyalty import ledger, programs
from patron.loyalty.commands import REGULAR, RETURN, CustomerAddress, RecordTransaction, RedeemPoints
from patron.loyalty.ledger import Entry
from patron.loyalty.repository import Account
from patron.orgs.config import LoyaltyProgram, OrgConfig

if TYPE_CHECKING:
    from patron.engagement.coupons import IssuedCoupon

MAX_AMOUNT = Decimal("1000000000000")  # loyalty_bill.bill_amount is NUMERIC(18, 2)
BILL_DATE_FUTURE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SideEffect:
    """Points a write moved besides its main change: `{"type": "points", key: points}` in
    the v2 answers (key: awardedPoints, returnedPoints or redeemedPoints); or, with
    `coupon`, a coupon it issued (the seed's coupon item, engagement/coupons.py)."""

    key: str
    points: int
    coupon: IssuedCoupon | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    created_id: int
    warnings: list[Warning_] = field(default_factory=list)
    side_effects: list[SideEffect] = field(default_factory=list)


def program_of(config: OrgConfig, program_id: int | None) -> LoyaltyProgram:
    """The program a request names, or the org's default one."""
    if not config.loyalty_programs:
        raise RuleViolation(2001)
    program = config.program(program_id)
    if program is None:
        raise InvalidInput(2002, x=program_id)
    return program


async def customer_id_of(uow: UnitOfWork, ctx: RequestContext, who: CustomerAddress) -> int:
    """The id of the customer a request body names (not yet locked)."""
    if who.ref.customer_id is not None:
        if not 1 <= who.ref.customer_id <= INT64_MAX:
            raise NotFound(8015)
        return who.ref.customer_id
    if who.ref.identifier is None:
        raise InvalidInput(400, detail="customer: give id, or identifierName and identifierValue.")
    source, account = resolve_account(ctx.config, who.where, allow_all=True)
    ident = who.ref.identifier
    return await customer_id_by_identifier(
        uow, ctx, ident.name, ident.value, source, account, catalog.LOOKUP_NAMES
    )


async def open_account(
    uow: UnitOfWork,
    ctx: RequestContext,
    customer_id: int,
    program_id: int,
    now: datetime,
    *,
    new_bill: str | None = None,
) -> Account:
    """Hold the customer for the transaction and read its summary in the program; with
    `new_bill`, refuse a purchase whose bill number the customer already has (2003)."""
    held = await uow.loyalty.hold(ctx.org_id, customer_id, program_id, now, new_bill)
    if held is None:
        raise NotFound(8015)
    holder, account = held
    if holder.merged_into_id is not None:
        raise NotFound(8069, detail=f"Use customer id {holder.merged_into_id}.")
    if holder.loyalty_type != catalog.LOYALTY:
        raise RuleViolation(1013, detail="Only loyalty customers hold points.")
    if holder.bill_taken:
        raise Conflict(2003, x=new_bill)
    return account


def post(account: Account, program: LoyaltyProgram | None, entries: Sequence[Entry], now: datetime) -> None:
    """Apply entries to the summary and move the tier up where the points now reach one."""
    for e in entries:
        ledger.apply(account.balances, e.kind, e.points)
    if program is not None:
        upgrade_tier(account, program, now)


def upgrade_tier(account: Account, program: LoyaltyProgram, now: datetime) -> bool:
    """Tiers move up as soon as qualifying points (lifetime less the tier base) reach a
    threshold; they move down only when a tier with a validity lapses (loyalty/tiers.py)."""
    qualifying = account.balances.lifetime_points - account.tier_base
    target = programs.tier_for(program, qualifying)
    if account.tier_number is not None and target.number <= account.tier_number:
        return False
    account.tier_number = target.number
    account.tier_expires_at = programs.tier_expiry(target, now)
    return True


async def write(
    uow: UnitOfWork, ctx: RequestContext, accounts: Sequence[Account], entries: Sequence[Entry], now: datetime
) -> list[int]:
    """Append the entries and save the summaries they moved; the entries' ids."""
    ids = await uow.loyalty.append(ctx.org_id, entries, ctx.actor.till_id, ctx.request_id, now)
    await uow.loyalty.save(ctx.org_id, accounts, now)
    return ids


def _bill_number(raw: str) -> str:
    value = (raw or "").strip()
    if not value or len(value) > 100:
        raise InvalidInput(400, detail="billNumber must be 1 to 100 characters.")
    return value


def _amount(raw: Decimal) -> Decimal:
    if not raw.is_finite() or raw <= 0 or raw >= MAX_AMOUNT:
        raise InvalidInput(400, detail=f"billAmount must be more than 0 and less than {MAX_AMOUNT}.")
    if raw != raw.quantize(Decimal("0.01")):
        raise InvalidInput(400, detail="billAmount has at most two decimal places.")
    return raw


async def record_transaction(uow: UnitOfWork, ctx: RequestContext, cmd: RecordTransaction) -> Posted:
    """A purchase earns floor(billAmount * earnRate) points; a return of a bill takes back
    what the bill earned, in proportion to the amount returned, never below zero."""
    if cmd.type not in (REGULAR, RETURN):
        raise InvalidInput(400, detail="type must be REGULAR or RETURN.")
    bill_number = _bill_number(cmd.bill_number)
    amount = _amount(cmd.bill_amount)
    now = utcnow()
    bill_date = cmd.bill_date or now
    if bill_date > now + BILL_DATE_FUTURE:
        raise InvalidInput(400, detail="billDate lies in the future.")
    program = program_of(ctx.config, cmd.program_id)
    if cmd.customer is None:
        return await _record_unattached(uow, ctx, cmd, program, bill_number, amount, bill_date, now)
    customer_id = await customer_id_of(uow, ctx, cmd.customer)
    if cmd.type == REGULAR:
        account = await open_account(uow, ctx, customer_id, program.program_id, now, new_bill=bill_number)
        points = programs.earned(program, amount)
        entries = []
        if points > 0:
            expires = programs.points_expiry(program, now)
            entries.append(
                Entry(
                    customer_id, program.program_id, ledger.EARN, points, expires, amount, bill_number, "bill"
                )
            )
        signed_amount = amount
        effect = SideEffect("awardedPoints", points)
    else:
        account = await open_account(uow, ctx, customer_id, program.program_id, now)
        totals = await uow.loyalty.bill_totals(ctx.org_id, customer_id, bill_number)
        if totals.regular_count == 0:
            raise RuleViolation(2004, x=bill_number)
        if totals.program_id != program.program_id:
            if cmd.program_id is not None:
                raise InvalidInput(
                    400, detail=f"Bill {bill_number} was recorded in program {totals.program_id}."
                )
            program = program_of(ctx.config, totals.program_id)
            account = await open_account(uow, ctx, customer_id, program.program_id, now)
        left_amount = totals.amount - totals.returned_amount
        left_points = totals.earned + totals.returned_points
        if left_amount <= 0:
            raise RuleViolation(2005, x=bill_number)
        signed_amount = -min(amount, left_amount)
        take = (
            left_points
            if -signed_amount == left_amount
            else min(left_points, programs.earned(program, -signed_amount))
        )
        take = max(0, min(take, account.balances.loyalty_points))
        entries = []
        if take > 0:
            entries.append(
                Entry(
                    customer_id,
                    program.program_id,
                    ledger.RETURN,
                    -take,
                    None,
                    signed_amount,
                    bill_number,
                    "bill",
                )
            )
        points = -take
        effect = SideEffect("returnedPoints", take)
    bill_id = await uow.tx.id("bill")
    entries = [Entry(**{**_fields(e), "ref_id": bill_id}) for e in entries]
    post(account, program, entries, now)
    account.balances.cumulative_purchases = max(
        Decimal(0), account.balances.cumulative_purchases + signed_amount
    )
    await uow.loyalty.insert_bill(
        {
            "org_id": ctx.org_id,
            "bill_id": bill_id,
            "customer_id": customer_id,
            "program_id": program.program_id,
            "type": cmd.type,
            "bill_number": bill_number,
            "bill_amount": abs(signed_amount),
            "bill_date": bill_date,
            "points": points,
            "line_items": list(cmd.line_items),
            "till_id": ctx.actor.till_id,
            "request_id": ctx.request_id,
            "created_at": now,
        }
    )
    await uow.loyalty.add_purchases(ctx.org_id, customer_id, signed_amount)
    await write(uow, ctx, [account], entries, now)
    return Posted(bill_id, [], [effect])


async def _record_unattached(
    uow: UnitOfWork,
    ctx: RequestContext,
    cmd: RecordTransaction,
    program: LoyaltyProgram,
    bill_number: str,
    amount: Decimal,
    bill_date: datetime,
    now: datetime,
) -> Posted:
    """A purchase recorded without a customer (one who is not a member, or not yet): kept
    with no points until a retro request attaches it to a customer (engagement/retro.py)."""
    if cmd.type != REGULAR:
        raise InvalidInput(400, detail="A return names its customer.")
    bill_id = await uow.tx.id("bill")
    await uow.loyalty.insert_bill(
        {
            "org_id": ctx.org_id,
            "bill_id": bill_id,
            "customer_id": None,
            "program_id": program.program_id,
            "type": REGULAR,
            "bill_number": bill_number,
            "bill_amount": amount,
            "bill_date": bill_date,
            "points": 0,
            "line_items": list(cmd.line_items),
            "till_id": ctx.actor.till_id,
            "request_id": ctx.request_id,
            "created_at": now,
        }
    )
    return Posted(bill_id, [], [])


def _fields(e: Entry) -> dict[str, Any]:
    return {name: getattr(e, name) for name in Entry.__slots__}


async def redeem(uow: UnitOfWork, ctx: RequestContext, cmd: RedeemPoints) -> Posted:
    """Spend points; more than the balance is refused and nothing is written."""
    if not 1 <= cmd.points <= INT64_MAX:
        raise InvalidInput(400, detail="points must be a whole number of 1 or more.")
    bill_number = _bill_number(cmd.bill_number) if cmd.bill_number is not None else None
    reason = (cmd.reason or "").strip()
    if len(reason) > 500:
        raise InvalidInput(400, detail="reason is longer than 500 characters.")
    now = utcnow()
    program = program_of(ctx.config, cmd.program_id)
    customer_id = await customer_id_of(uow, ctx, cmd.customer)
    account = await open_account(uow, ctx, customer_id, program.program_id, now)
    balance = account.balances.loyalty_points
    if cmd.points > balance:
        raise RuleViolation(2010, x=balance)
    entry = Entry(
        customer_id,
        program.program_id,
        ledger.REDEEM,
        -cmd.points,
        bill_number=bill_number,
        notes=reason or None,
    )
    post(account, program, [entry], now)
    (entry_id,) = await write(uow, ctx, [account], [entry], now)
    return Posted(entry_id, [], [SideEffect("redeemedPoints", cmd.points)])


async def enroll(
    uow: UnitOfWork,
    ctx: RequestContext,
    customer_id: int,
    enrollments: Sequence[EnrollmentView],
    *,
    loyalty_type: str,
    registering: bool,
    now: datetime,
) -> list[SideEffect]:
    """Store new enrollments with their stated points as ledger entries and, on a new
    loyalty registration, the default program's registration points."""
    config = ctx.config
    accounts: dict[int, Account] = {}
    entries: list[Entry] = []
    for e in enrollments:
        account = Account(
            customer_id,
            e.program_id,
            exists=False,
            enrolled_at=now,
            tier_number=e.tier_number,
            tier_expires_at=e.tier_expires_at,
            points_expire_at=e.points_expire_at,
        )
        accounts[e.program_id] = account
        if e.loyalty_points > 0:
            program = config.program(e.program_id) if config.loyalty_programs else None
            expires = e.points_expire_at or (programs.points_expiry(program, now) if program else None)
            entries.append(Entry(customer_id, e.program_id, ledger.ENROLLMENT, e.loyalty_points, expires))
    effects: list[SideEffect] = []
    default = config.program(None)
    if (
        registering
        and loyalty_type == catalog.LOYALTY
        and default is not None
        and default.registration_points
    ):
        if default.program_id not in accounts:
            accounts[default.program_id] = Account(customer_id, default.program_id, False, now)
        points = default.registration_points
        entries.append(
            Entry(
                customer_id,
                default.program_id,
                ledger.REGISTRATION,
                points,
                programs.points_expiry(default, now),
            )
        )
        effects.append(SideEffect("awardedPoints", points))
    if not accounts:
        return effects
    for account in accounts.values():
        mine = [x for x in entries if x.program_id == account.program_id]
        program = config.program(account.program_id) if config.loyalty_programs else None
        stated_tier = account.tier_number
        post(account, program, mine, now)
        if stated_tier is not None and program is not None:
            # A stated tier stands (003:L445); points may still lift it.
            account.tier_number = max(stated_tier, account.tier_number or stated_tier)
    await write(uow, ctx, list(accounts.values()), entries, now)
    return effects
