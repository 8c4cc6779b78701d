"""Update Customer Identifiers / Issue Card: add and remove identifiers and cards.

An added identifier already held by another customer in another source or account merges
this customer (the victim) into that one (the survivor), keeping each source's entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from patron.codes import message
from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.cards import CardPlan, issue_card, plan_card, require_loyalty, return_card
from patron.customers.commands import ChangeIdentifiers
from patron.customers.common import (
    CleanIdentifier,
    clean_identifier,
    load_view,
    lock_identifiers,
    record_changes,
    resolve_account,
)
from patron.customers.domain import FieldChange
from patron.customers.repository import CustomerRepository
from patron.db.base import utcnow
from patron.db.models import CustomerProfile
from patron.db.uow import UnitOfWork
from patron.errors import Conflict, InvalidInput, NotFound, RuleViolation, Warning_
from patron.events.domain import CustomerUpdated

CHANGE_CODES = {"mobile": 8056, "email": 8055, "externalId": 8064}


@dataclass(frozen=True, slots=True)
class Changed:
    customer_id: int
    warnings: list[Warning_]


async def change_identifiers(uow: UnitOfWork, ctx: RequestContext, cmd: ChangeIdentifiers) -> Changed:
    source, account = resolve_account(ctx.config, cmd.where)
    if not cmd.add and not cmd.remove:
        raise InvalidInput(400, message(400, detail="Pass add or remove."))
    adds = _dedupe(clean_identifier(i, ctx.config, CHANGE_CODES) for i in cmd.add)
    removes = _dedupe(clean_identifier(i, ctx.config, CHANGE_CODES) for i in cmd.remove)
    repo = CustomerRepository(uow.session)
    # Identifier locks first, then rows: the order registration takes them in, so the two
    # never wait on each other in a cycle (PostgreSQL).
    await lock_identifiers(uow, ctx.org_id, [(i.type, i.value) for i in adds])
    customer = await repo.get(ctx.org_id, cmd.customer_id, for_update=True)
    if customer is None:
        raise NotFound(8009, message(8009))
    if customer.merged_into_id is not None:
        raise Conflict(8067, message(8067, customer.merged_into_id))
    cid = customer.customer_id

    survivors: set[int] = set()
    for h in await repo.holders(ctx.org_id, [(i.type, i.value) for i in adds]):
        if h.source == source and h.account_id == account:
            code = 8008 if h.customer_id == cid else 8007
            raise Conflict(code, message(code))
        if h.customer_id != cid:
            survivors.add(h.customer_id)
    if len(survivors) > 1:
        raise Conflict(8053, message(8053))

    held = {
        (i.id_type, i.value)
        for i in await repo.identifiers_of(ctx.org_id, cid)
        if i.source == source and i.account_id == account
    }
    for r in removes:
        if (r.type, r.value) not in held:
            raise InvalidInput(1041, message(1041, detail=f"{r.type} {r.value!r} is not held in {source}."))

    plans: list[CardPlan] = []
    warnings: list[Warning_] = []
    for a in adds:
        if a.type == catalog.CARD:
            require_loyalty(customer.loyalty_type)
            plan, card_warnings = await plan_card(
                uow, ctx, a.value, a.raw, 8007, holder_id=cid, pending=plans
            )
            warnings.extend(card_warnings)
            plans.append(plan)

    now = utcnow()
    changes: list[FieldChange] = []
    for r in removes:
        await repo.delete_identifier(ctx.org_id, source, account, r.type, r.value)
        if r.type == catalog.CARD:
            await return_card(uow, ctx, r.value, now)
        changes.append(FieldChange(r.type, "StandardField", r.value, None, source, account))
    profiles = await repo.profiles_of(ctx.org_id, cid)
    if adds and not any(p.source == source and p.account_id == account for p in profiles):
        uow.session.add(
            CustomerProfile(
                org_id=ctx.org_id,
                customer_id=cid,
                source=source,
                account_id=account,
                first_name="",
                last_name="",
                comm_channels=[],
                created_at=now,
                updated_at=now,
                created_by_till_id=ctx.actor.till_id,
                updated_by_till_id=ctx.actor.till_id,
            )
        )
        await uow.session.flush()
    try:
        await repo.insert_identifiers(
            [
                {
                    "org_id": ctx.org_id,
                    "source": source,
                    "account_id": account,
                    "id_type": a.type,
                    "value": a.value,
                    "customer_id": cid,
                    "created_at": now,
                }
                for a in adds
            ]
        )
    except IntegrityError as exc:
        raise Conflict(8007, message(8007)) from exc
    for plan in plans:
        await issue_card(uow, ctx, plan, cid, now)
    changes.extend(FieldChange(a.type, "StandardField", None, a.value, source, account) for a in adds)

    remaining = {i.id_type for i in await repo.identifiers_of(ctx.org_id, cid)}
    primary = ctx.config.primary_identifier
    if customer.loyalty_type == catalog.LOYALTY and primary not in remaining and not survivors:
        raise RuleViolation(1041, message(1041, detail=f"A loyalty customer keeps a {primary}."))

    result_id = cid
    if survivors:
        survivor_id = survivors.pop()
        await _merge(uow, ctx, repo, cid, survivor_id, source, account, now)
        changes.append(FieldChange("mergedCustomerId", "StandardField", None, str(cid), source, account))
        warnings.append(Warning_(8051, message(8051, survivor_id)))
        result_id = survivor_id
    repo.touch(customer, ctx.actor.till_id, now)
    await uow.session.flush()
    await record_changes(uow, ctx, result_id, "IDENTIFIER", changes, now)
    await repo.reindex(ctx.org_id, result_id)
    view = await load_view(uow, ctx, result_id)
    uow.record(CustomerUpdated(view, ctx.actor, source, account, now, ctx.request_id, tuple(changes)))
    return Changed(result_id, warnings)


def _dedupe(items: Iterable[CleanIdentifier]) -> list[CleanIdentifier]:
    seen: dict[tuple[str, str], CleanIdentifier] = {}
    for item in items:
        seen.setdefault((item.type, item.value), item)
    return list(seen.values())


async def _merge(
    uow: UnitOfWork,
    ctx: RequestContext,
    repo: CustomerRepository,
    victim_id: int,
    survivor_id: int,
    source: str,
    account: str,
    now: datetime,
) -> None:
    """Fold the victim into the survivor; refuse when both hold the same source account."""
    survivor = await repo.get(ctx.org_id, survivor_id, for_update=True)
    assert survivor is not None
    victim_accounts = {(p.source, p.account_id) for p in await repo.profiles_of(ctx.org_id, victim_id)}
    survivor_accounts = {(p.source, p.account_id) for p in await repo.profiles_of(ctx.org_id, survivor_id)}
    if victim_accounts & survivor_accounts:
        raise Conflict(8066, message(8066))
    await repo.move_customer_rows(ctx.org_id, victim_id, survivor_id)
    victim = await repo.get(ctx.org_id, victim_id)
    assert victim is not None
    victim.merged_into_id = survivor_id
    if victim.loyalty_type == catalog.LOYALTY and survivor.loyalty_type != catalog.LOYALTY:
        survivor.loyalty_type = catalog.LOYALTY
    for key, value in (victim.custom_fields or {}).items():
        survivor.custom_fields = {key: value, **(survivor.custom_fields or {})}
    for key, value in (victim.extended_fields or {}).items():
        survivor.extended_fields = {key: value, **(survivor.extended_fields or {})}
    repo.touch(survivor, ctx.actor.till_id, now)
    await record_changes(
        uow,
        ctx,
        victim_id,
        "MERGE",
        [FieldChange("mergedInto", "StandardField", None, str(survivor_id), source, account)],
        now,
    )
