"""A member's points into its group's pool: POST /v2/groups/{groupId}/contributions.

The member is held first (its summary read under the lock, as every write to a customer's
points), then the group row (the pool); the member's `group_contribution` debit and the
pool's `group_pool_in` credit (group_id set) are appended together and both summaries
saved in the same transaction, so the pool is always the sum of its entries.
"""

from __future__ import annotations

from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound, RuleViolation
from patron.loyalty import ledger
from patron.loyalty.group_commands import ContributePoints
from patron.loyalty.group_events import GroupRef, Member, PointsContributedToGroup
from patron.loyalty.groups import customer_view
from patron.loyalty.ledger import Balances, Entry
from patron.loyalty.service import Posted, SideEffect, open_account, post, program_of, write

REF_KIND = "group"


async def contribute(uow: UnitOfWork, ctx: RequestContext, cmd: ContributePoints) -> Posted:
    """Move points from a member (the primary included) into the group's pool."""
    if not 1 <= cmd.points <= INT64_MAX:
        raise InvalidInput(400, detail="points must be a whole number of 1 or more.")
    if not 1 <= cmd.group_id <= INT64_MAX:
        raise NotFound(2060, x=cmd.group_id)
    if not 1 <= cmd.customer_id <= INT64_MAX:
        raise NotFound(8015)
    now = utcnow()
    config = ctx.config
    program = program_of(config, cmd.program_id)
    account = await open_account(uow, ctx, cmd.customer_id, program.program_id, now)
    repo = uow.groups
    if not await repo.lock(ctx.org_id, cmd.group_id):
        raise NotFound(2060, x=cmd.group_id)
    found = await repo.group_and_role(ctx.org_id, cmd.group_id, cmd.customer_id)
    if found is None:
        raise NotFound(2060, x=cmd.group_id)
    group, role = found
    is_primary = cmd.customer_id == group.primary_customer_id
    if is_primary:
        role = group.primary_role
    elif role is None:
        raise RuleViolation(2061, x=cmd.group_id)
    pooled = next((g for g in config.group_programs if g.group_program_id == group.group_program_id), None)
    if pooled is None:
        raise RuleViolation(2071, x=group.group_program_id)
    if program.program_id not in pooled.program_ids:
        raise RuleViolation(2062, x=program.program_id)
    balance = account.balances.loyalty_points
    if cmd.points > balance:
        raise RuleViolation(2010, x=balance)
    debit = Entry(
        cmd.customer_id,
        program.program_id,
        ledger.GROUP_CONTRIBUTION,
        -cmd.points,
        ref_kind=REF_KIND,
        ref_id=group.group_id,
    )
    credit = Entry(
        cmd.customer_id,
        program.program_id,
        ledger.GROUP_POOL_IN,
        cmd.points,
        ref_kind=REF_KIND,
        ref_id=group.group_id,
        group_id=group.group_id,
    )
    post(account, program, [debit], now)
    pool = Balances(loyalty_points=group.loyalty_points, lifetime_points=group.lifetime_points)
    ledger.apply(pool, credit.kind, credit.points)
    group.loyalty_points, group.lifetime_points = pool.loyalty_points, pool.lifetime_points
    entry_id, _ = await write(uow, ctx, [account], [debit, credit], now)
    await repo.save_pool(ctx.org_id, group, now)
    member = await customer_view(uow, ctx, cmd.customer_id)
    primary = member if is_primary else await customer_view(uow, ctx, group.primary_customer_id)
    default = config.program(None)
    uow.record(
        PointsContributedToGroup(
            GroupRef(group.group_id, group.name, Member(primary, group.primary_role)),
            Member(member, role),
            program,
            default is not None and default.program_id == program.program_id,
            cmd.points,
            pooled.group_program_id,
            entry_id,
            ctx.actor,
            now,
            ctx.request_id,
        )
    )
    return Posted(entry_id, [], [SideEffect("contributedPoints", cmd.points)])
