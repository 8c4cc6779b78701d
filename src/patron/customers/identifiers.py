"""Update Customer Identifiers / Issue Card: add and remove identifiers and cards; and
Merge Customers (ours), which folds one customer into another through the same merge.

An added identifier already held by another customer in another source or account merges
this customer (the victim) into that one (the survivor), keeping each source's entries.
Every merge is recorded with its change set (customers/merges.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from patron.context import RequestContext
from patron.customers import catalog, merges
from patron.customers.addressing import resolve_account
from patron.customers.cards import CardPlan, issue_card, plan_card, require_loyalty, return_card, series_names
from patron.customers.commands import ChangeIdentifiers
from patron.customers.domain import FieldChange
from patron.customers.history import record_changes
from patron.customers.inputs import CleanIdentifier, clean_identifier
from patron.customers.repository import CustomerCore, core_of, remember_till
from patron.customers.views import CustomerView, IdentifierView, ProfileView, TillRef, sort_profiles
from patron.db.base import utcnow
from patron.db.tx import IntegrityError
from patron.db.uow import UnitOfWork
from patron.engagement import change_log
from patron.errors import Conflict, InvalidInput, NotFound, RuleViolation, Warning_
from patron.events.domain import CustomerUpdated

CHANGE_CODES = {"mobile": 8056, "email": 8055, "externalId": 8064}


@dataclass(frozen=True, slots=True)
class Changed:
    customer_id: int
    warnings: list[Warning_]
    # The change request waiting for approval (identifierChangeApproval); nothing changed yet.
    pending_request: int | None = None
    # The merge (customer_merge) when the change merged this customer into another (8051).
    merge_id: int | None = None


async def change_identifiers(
    uow: UnitOfWork, ctx: RequestContext, cmd: ChangeIdentifiers, *, approving: int | None = None
) -> Changed:
    """Add and remove identifiers (merging into another customer where one is held there),
    recorded as an APPROVED change request; when the org wants identifier changes approved,
    only check the change and record it PENDING (`approving`: the request being approved,
    engagement/change_requests.py)."""
    source, account = resolve_account(ctx.config, cmd.where)
    if not cmd.add and not cmd.remove:
        raise InvalidInput(400, detail="Pass add or remove.")
    adds = _dedupe(clean_identifier(i, ctx.config, CHANGE_CODES) for i in cmd.add)
    removes = _dedupe(clean_identifier(i, ctx.config, CHANGE_CODES) for i in cmd.remove)
    repo = uow.customers
    # Identifier locks first, then rows: the order registration takes them in, so the two
    # never wait on each other in a cycle (PostgreSQL).
    await uow.customers.lock_identifiers(ctx.org_id, [(i.type, i.value) for i in adds])
    names = series_names(ctx.config)
    view = await repo.view(ctx.org_id, cmd.customer_id, names, lock=True)
    if view is None:
        raise NotFound(8009)
    if view.merged_into_id is not None:
        raise Conflict(8067, x=view.merged_into_id)
    core = core_of(view)
    cid = core.customer_id

    survivors: set[int] = set()
    for h in await repo.holders(ctx.org_id, [(i.type, i.value) for i in adds]):
        if h.source == source and h.account_id == account:
            code = 8008 if h.customer_id == cid else 8007
            raise Conflict(code)
        if h.customer_id != cid:
            survivors.add(h.customer_id)
    if len(survivors) > 1:
        raise Conflict(8053)

    profile = view.profile(source, account)
    held = {(i.type, i.value) for i in profile.identifiers} if profile else set()
    for r in removes:
        if (r.type, r.value) not in held:
            raise InvalidInput(1041, detail=f"{r.type} {r.value!r} is not held in {source}.")

    plans: list[CardPlan] = []
    warnings: list[Warning_] = []
    for a in adds:
        if a.type == catalog.CARD:
            require_loyalty(core.loyalty_type)
            plan, card_warnings = await plan_card(
                uow, ctx, a.value, a.raw, 8007, holder_id=cid, pending=plans
            )
            warnings.extend(card_warnings)
            plans.append(plan)

    now = utcnow()
    add_pairs = [(a.type, a.value) for a in adds]
    remove_pairs = [(r.type, r.value) for r in removes]
    if approving is None and ctx.config.identifier_change_approval:
        _check_primary(ctx, core.loyalty_type, view.profiles, source, account, adds, removes, survivors)
        request_id = await change_log.pending(
            uow, ctx, cmd, where=(source, account), adds=add_pairs, removes=remove_pairs, now=now
        )
        return Changed(cid, [*warnings, Warning_.of(2160, x=request_id)], request_id)
    till = TillRef(ctx.actor.till_id, ctx.actor.code, ctx.actor.name)
    remember_till(ctx.org_id, till)
    changes: list[FieldChange] = []
    removed = {(r.type, r.value) for r in removes}
    for r in removes:
        await repo.delete_identifier(ctx.org_id, IdentifierView(r.type, r.value, source, account))
        if r.type == catalog.CARD:
            await return_card(uow, ctx, r.value, now)
        changes.append(FieldChange(r.type, "StandardField", r.value, None, source, account))
    added = sorted(
        (IdentifierView(a.type, a.value, source, account) for a in adds), key=lambda i: (i.type, i.value)
    )
    if adds and profile is None:
        profile = ProfileView(source, account, "", "", [], [], now, now, till, till)
        await repo.insert_profiles(ctx.org_id, cid, [profile])
        profiles = [*view.profiles, profile]
    else:
        profiles = list(view.profiles)
    try:
        await repo.insert_identifiers(ctx.org_id, cid, added, now)
        await uow.flush()
    except IntegrityError as exc:
        raise Conflict(8007) from exc
    cards = [c for c in view.cards if c.card_number not in {v for t, v in removed if t == catalog.CARD}]
    for plan in plans:
        cards.append(await issue_card(uow, ctx, plan, cid, now, names))
    changes.extend(FieldChange(a.type, "StandardField", None, a.value, source, account) for a in adds)
    profiles = [
        replace(
            p,
            identifiers=[i for i in p.identifiers if (i.type, i.value) not in removed] + added,
        )
        if p.source == source and p.account_id == account
        else p
        for p in profiles
    ]

    _check_primary(ctx, core.loyalty_type, profiles, source, account, [], [], survivors)

    core = replace(core, updated_at=now, updated_by_till_id=till.till_id, version=core.version + 1)
    merge_id: int | None = None
    if survivors:
        survivor_id = survivors.pop()
        result, merge_id, _ = await _merge(
            uow, ctx, view, core, survivor_id, source, account, now, till, kind=merges.CHANGE_IDENTIFIER
        )
        changes.append(FieldChange("mergedCustomerId", "StandardField", None, str(cid), source, account))
        warnings.append(Warning_.of(8051, x=survivor_id))
    else:
        await repo.update_customer(ctx.org_id, core)
        result = replace(
            view,
            updated_at=now,
            updated_by=till,
            version=core.version,
            profiles=sort_profiles(profiles),
            cards=sorted(cards, key=lambda c: c.card_id),
        )
    logged = changes if merge_id is None else [*changes, merges.merge_change(merge_id, source, account)]
    await record_changes(uow, ctx, result.customer_id, "IDENTIFIER", logged, now)
    await repo.rewrite_terms(ctx.org_id, result.customer_id, result.profiles)
    if approving is None:
        await change_log.applied(
            uow,
            ctx,
            customer_id=result.customer_id,
            where=(source, account),
            adds=add_pairs,
            removes=remove_pairs,
            now=now,
            merged_customer_id=cid if result.customer_id != cid else None,
            merge_id=merge_id,
        )
    uow.record(CustomerUpdated(result, ctx.actor, source, account, now, ctx.request_id, tuple(changes)))
    return Changed(result.customer_id, warnings, merge_id=merge_id)


def _check_primary(
    ctx: RequestContext,
    loyalty_type: str,
    profiles: Iterable[ProfileView],
    source: str,
    account: str,
    adds: list[CleanIdentifier],
    removes: list[CleanIdentifier],
    survivors: set[int],
) -> None:
    """A loyalty customer keeps its primary identifier, unless it merges into another."""
    removed = {(r.type, r.value) for r in removes}
    remaining = {
        i.type
        for p in profiles
        for i in p.identifiers
        if not (p.source == source and p.account_id == account and (i.type, i.value) in removed)
    } | {a.type for a in adds}
    primary = ctx.config.primary_identifier
    if loyalty_type == catalog.LOYALTY and primary not in remaining and not survivors:
        raise RuleViolation(1041, detail=f"A loyalty customer keeps a {primary}.")


def _dedupe(items: Iterable[CleanIdentifier]) -> list[CleanIdentifier]:
    seen: dict[tuple[str, str], CleanIdentifier] = {}
    for item in items:
        seen.setdefault((item.type, item.value), item)
    return list(seen.values())


async def _merge(
    uow: UnitOfWork,
    ctx: RequestContext,
    victim: CustomerView,
    victim_core: CustomerCore,
    survivor_id: int,
    source: str,
    account: str,
    now: datetime,
    till: TillRef,
    *,
    kind: str,
) -> tuple[CustomerView, int, dict[str, Any]]:
    """Fold the victim into the survivor and record the merge; refuse when both hold the
    same source account.

    Returns the survivor's record as stored after the merge (read back: merges are rare,
    and the survivor's rows are not in this request's hands), the merge's id and its
    change set.
    """
    repo = uow.customers
    survivor_view = await repo.view(ctx.org_id, survivor_id, series_names(ctx.config), lock=True)
    assert survivor_view is not None
    survivor = core_of(survivor_view)
    victim_accounts = {(p.source, p.account_id) for p in victim.profiles}
    if victim_accounts & {(p.source, p.account_id) for p in survivor_view.profiles}:
        raise Conflict(8066)
    moved = await repo.move_customer_rows(
        ctx.org_id, victim.customer_id, survivor_id, {e.program_id for e in survivor_view.enrollments}
    )
    change_set = merges.customers_change_set(
        moved,
        await uow.merges.stayed(ctx.org_id, victim.customer_id),
        survivor_before=survivor,
        victim_before=core_of(victim),
    )
    merge_id = await merges.record(
        uow,
        ctx,
        kind=kind,
        survivor_id=survivor_id,
        victim_id=victim.customer_id,
        change_set=change_set,
        now=now,
    )
    await repo.update_customer(ctx.org_id, replace(victim_core, merged_into_id=survivor_id))
    loyalty = survivor.loyalty_type
    if victim.loyalty_type == catalog.LOYALTY and loyalty != catalog.LOYALTY:
        loyalty = catalog.LOYALTY
    survivor = replace(
        survivor,
        loyalty_type=loyalty,
        custom_fields={**victim.custom_fields, **survivor.custom_fields},
        extended_fields={**victim.extended_fields, **survivor.extended_fields},
        updated_at=now,
        updated_by_till_id=till.till_id,
        version=survivor.version + 1,
    )
    await repo.update_customer(ctx.org_id, survivor)
    await record_changes(
        uow,
        ctx,
        victim.customer_id,
        "MERGE",
        [
            FieldChange("mergedInto", "StandardField", None, str(survivor_id), source, account),
            merges.merge_change(merge_id, source, account),
        ],
        now,
    )
    merged = await repo.view(ctx.org_id, survivor_id, series_names(ctx.config))
    assert merged is not None
    return merged, merge_id, change_set


@dataclass(frozen=True, slots=True)
class MergeCustomers:
    survivor_id: int
    victim_id: int
    preview: bool = False


@dataclass(frozen=True, slots=True)
class Merged:
    merge_id: int | None  # None for a preview: nothing was recorded
    survivor_id: int
    victim_id: int
    change_set: dict[str, Any]
    warnings: list[Warning_]


class MergePreviewed(Exception):
    """A preview's answer, raised once the merge ran so that its unit of work rolls back:
    nothing it wrote (rows, history, events, ids) is ever committed."""

    def __init__(self, merged: Merged) -> None:
        super().__init__("merge preview")
        self.merged = merged


async def merge_customers(uow: UnitOfWork, ctx: RequestContext, cmd: MergeCustomers) -> Merged:
    """Fold the victim into the survivor as a changeIdentifier merge does (the same moves,
    refusals and customerUpdated on the survivor), recorded as an explicit merge; a preview
    runs it all and raises MergePreviewed with the change set instead of committing."""
    if cmd.survivor_id == cmd.victim_id:
        raise InvalidInput(400, detail="survivorId and victimId name the same customer.")
    repo = uow.customers
    org_id = ctx.org_id
    # Both rows held in ascending id order (PostgreSQL): two merges of one pair, either
    # way round, never wait on each other in a cycle.
    for cid in sorted((cmd.survivor_id, cmd.victim_id)):
        found = await repo.core(org_id, cid, lock=True)
        if found is None:
            raise NotFound(8009)
        if found.merged_into_id is not None:
            raise Conflict(8067, x=found.merged_into_id)
    names = series_names(ctx.config)
    victim = await repo.view(org_id, cmd.victim_id, names)
    assert victim is not None
    now = utcnow()
    till = TillRef(ctx.actor.till_id, ctx.actor.code, ctx.actor.name)
    remember_till(org_id, till)
    if victim.profiles:
        source, account = victim.profiles[0].source, victim.profiles[0].account_id
    else:
        source, account = victim.created_from_source, ""
    victim_core = replace(
        core_of(victim), updated_at=now, updated_by_till_id=till.till_id, version=victim.version + 1
    )
    result, merge_id, change_set = await _merge(
        uow, ctx, victim, victim_core, cmd.survivor_id, source, account, now, till, kind=merges.EXPLICIT
    )
    victim_id = str(victim.customer_id)
    changes = [FieldChange("mergedCustomerId", "StandardField", None, victim_id, source, account)]
    await record_changes(
        uow, ctx, cmd.survivor_id, "MERGE", [*changes, merges.merge_change(merge_id, source, account)], now
    )
    await repo.rewrite_terms(org_id, cmd.survivor_id, result.profiles)
    await change_log.applied(
        uow,
        ctx,
        customer_id=cmd.survivor_id,
        where=(source, account),
        adds=[],
        removes=[],
        now=now,
        merged_customer_id=victim.customer_id,
        merge_id=merge_id,
    )
    uow.record(CustomerUpdated(result, ctx.actor, source, account, now, ctx.request_id, tuple(changes)))
    merged = Merged(merge_id, cmd.survivor_id, cmd.victim_id, change_set, [])
    if cmd.preview:
        await uow.flush()  # what would break at commit breaks the preview too
        raise MergePreviewed(replace(merged, merge_id=None))
    return merged
