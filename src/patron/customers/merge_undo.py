"""Undo a merge (POST /v2/customers/merge/{mergeId}/undo, ours; docs/merges.md "Undo").

The merge's change set says what moved; the undo gives back what the survivor still holds
of it as the merge left it, and leaves with the survivor what changed since:

    source accounts  a profile goes back with its identifiers unless the survivor changed
                     that account since (its profile updated, an identifier added in it):
                     then the whole account stays. An identifier whose value the survivor
                     holds in an account it keeps does not go back (one value names one
                     customer: it is what made the merge); a profile left with none of its
                     identifiers is dropped.
    cards            follow their card number's identifier
    enrollments      go back with the ledger entries and bills that moved; entries and
                     bills written since stay with the survivor, which gets a summary of
                     its own in that program; every summary touched is folded again from
                     its ledger (as `patron loyalty rebuild` does)
    coupons          go back unless redeemed since the merge
    subscriptions,   go back unless changed since the merge
    user records
    core fields      the victim's are those of `victimBefore`; the survivor loses the
                     custom and extended fields the merge filled (unless changed since) and
                     the loyalty type upgrade (unless it keeps enrollments or cards)

A registration merge had no second customer: its added profiles (with their identifiers,
cards and enrollments) are split off into a new customer, by the same rules.

Refused, in the v2 envelope: an unknown merge (2200), one undone already (2201), past the
org's `mergeUndoDays` (2202), one whose change set was erased with a customer's personal
data (2203), one whose survivor was merged into another customer since (2204), and a
registration merge with nothing left to split off (2205).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.cards import series_names
from patron.customers.domain import FieldChange, as_text
from patron.customers.history import record_changes
from patron.customers.merge_events import CustomersMergeReverted
from patron.customers.merges import REGISTRATION
from patron.customers.merges_repository import MergeRecord
from patron.customers.repository import CustomerCore, remember_till
from patron.customers.views import CustomerView, IdentifierView, TillRef
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.engagement import change_log
from patron.errors import Conflict, NotFound, RuleViolation, Warning_
from patron.events.domain import CustomerAdded, CustomerUpdated
from patron.loyalty.ledger import Balances
from patron.loyalty.repository import Account
from patron.loyalty.service import upgrade_tier

# Why something of the change set did not go back (the answer's keptBySurvivor).
ADDED_SINCE = "addedSinceMerge"  # written on the survivor after the merge
CHANGED_SINCE = "changedSinceMerge"  # changed after the merge (or in an account that was)
REMOVED_SINCE = "removedSinceMerge"  # no longer with the survivor (removed, returned, moved)
HELD_BY_SURVIVOR = "heldBySurvivor"  # the survivor holds the same value in its own account


@dataclass(frozen=True, slots=True)
class UndoMerge:
    merge_id: int


@dataclass(frozen=True, slots=True)
class Undone:
    merge_id: int
    survivor_id: int
    victim_id: int | None
    split_customer_id: int | None
    restored: dict[str, Any]
    kept_by_survivor: list[dict[str, Any]]
    warnings: list[Warning_]


@dataclass(slots=True)
class _Given:
    """What went to the target (victim or split customer), what stayed, and the history."""

    restored: dict[str, Any] = field(default_factory=dict)
    kept: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    # (type, value, source, account) of identifiers the survivor no longer holds.
    left_survivor: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (type, value, source, account) of identifiers the target now holds.
    given: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Programs in which the survivor keeps a summary or enrollment after the undo.
    survivor_programs: set[int] = field(default_factory=set)


async def undo_merge(uow: UnitOfWork, ctx: RequestContext, cmd: UndoMerge) -> Undone:
    """Undo a merge within the org's mergeUndoDays: give the victim back what the survivor
    still holds of what moved (or split a registration merge's profiles into a new
    customer), record it, and raise customerUpdated / customerAdded and
    customersMergeReverted."""
    org_id = ctx.org_id
    merge = await uow.merges.get(org_id, cmd.merge_id)
    if merge is None:
        raise NotFound(2200, x=cmd.merge_id)
    if merge.undone_at is not None:
        raise Conflict(2201, x=merge.merge_id)
    change_set = merge.change_set
    if change_set.get("erased"):
        raise Conflict(2203)
    now = utcnow()
    days = ctx.config.merge_undo_days
    if now >= merge.created_at + timedelta(days=days):
        raise RuleViolation(2202, x=days)
    listed = change_set["added"] if merge.kind == REGISTRATION else change_set["moved"]
    repo = uow.customers
    # Identifier locks first, then rows, in the order every writer takes them (PostgreSQL).
    await repo.lock_identifiers(org_id, [(i["type"], i["value"]) for i in listed["identifiers"]])
    cores: dict[int, CustomerCore] = {}
    for cid in sorted({merge.survivor_id} | ({merge.victim_id} if merge.victim_id else set())):
        core = await repo.core(org_id, cid, lock=True)
        assert core is not None  # customers are never deleted
        cores[cid] = core
    survivor_core = cores[merge.survivor_id]
    if survivor_core.merged_into_id is not None:
        raise Conflict(2204, x=merge.survivor_id)
    till = TillRef(ctx.actor.till_id, ctx.actor.code, ctx.actor.name)
    remember_till(org_id, till)
    survivor = await repo.view(org_id, merge.survivor_id, series_names(ctx.config))
    assert survivor is not None
    if merge.victim_id is None:
        return await _split(uow, ctx, merge, survivor, survivor_core, now, till)
    return await _restore(uow, ctx, merge, survivor, survivor_core, cores[merge.victim_id], now, till)


async def _restore(
    uow: UnitOfWork,
    ctx: RequestContext,
    merge: MergeRecord,
    survivor: CustomerView,
    survivor_core: CustomerCore,
    victim_core: CustomerCore,
    now: datetime,
    till: TillRef,
) -> Undone:
    """Undo a merge of two customers: the victim gets back what moved, as it was."""
    assert merge.victim_id is not None
    moved = merge.change_set["moved"]
    victim_before = merge.change_set["victimBefore"]
    survivor_before = merge.change_set["survivorBefore"]
    given = await _give(uow, ctx, merge, survivor, merge.victim_id, moved, now)
    src, acc = _where(moved, victim_core.created_from_source)

    # The victim's core fields as the merge found them; its id works again.
    victim = replace(
        victim_core,
        loyalty_type=victim_before["loyaltyType"],
        status_label=victim_before["statusLabel"],
        custom_fields=dict(victim_before["customFields"]),
        extended_fields=dict(victim_before["extendedFields"]),
        merged_into_id=None,
        updated_at=now,
        updated_by_till_id=till.till_id,
        version=victim_core.version + 1,
    )
    victim_changes = [FieldChange("mergedInto", "StandardField", str(merge.survivor_id), None, src, acc)]
    victim_changes += _field_changes(victim_core, victim, src, acc)
    victim_changes += [FieldChange(t, "StandardField", None, v, s, a) for t, v, s, a in given.given]

    # The survivor loses what the merge filled in, unless changed since.
    survivor_after, survivor_fields = _unfill(
        survivor_core,
        custom=_filled(survivor_before["customFields"], victim_before["customFields"]),
        extended=_filled(survivor_before["extendedFields"], victim_before["extendedFields"]),
        given=given,
    )
    keeps_loyalty = bool(given.survivor_programs) or len(survivor.cards) > len(given.restored["cards"])
    upgraded = (
        survivor_before["loyaltyType"] != catalog.LOYALTY
        and survivor_core.loyalty_type == catalog.LOYALTY
        and victim_before["loyaltyType"] == catalog.LOYALTY
    )
    if upgraded and keeps_loyalty:
        given.kept.append({"kind": "loyaltyType", "value": catalog.LOYALTY, "reason": CHANGED_SINCE})
    elif upgraded:
        survivor_after = replace(survivor_after, loyalty_type=survivor_before["loyaltyType"])
        survivor_fields["loyaltyType"] = survivor_before["loyaltyType"]
    survivor_after = replace(
        survivor_after, updated_at=now, updated_by_till_id=till.till_id, version=survivor_core.version + 1
    )
    survivor_changes = [FieldChange(t, "StandardField", v, None, s, a) for t, v, s, a in given.left_survivor]
    survivor_changes += _field_changes(survivor_core, survivor_after, src, acc)
    survivor_changes.append(
        FieldChange("mergedCustomerId", "StandardField", str(merge.victim_id), None, src, acc)
    )

    given.restored["fields"] = _fields_of(victim)
    given.restored["survivorFields"] = survivor_fields
    return await _finish(
        uow,
        ctx,
        merge,
        now,
        given,
        (src, acc),
        survivor=survivor_after,
        survivor_changes=survivor_changes,
        target=victim,
        target_changes=victim_changes,
        new=False,
    )


async def _split(
    uow: UnitOfWork,
    ctx: RequestContext,
    merge: MergeRecord,
    survivor: CustomerView,
    survivor_core: CustomerCore,
    now: datetime,
    till: TillRef,
) -> Undone:
    """Undo a registration merge: what it added becomes a customer of its own."""
    added = merge.change_set["added"]
    survivor_before = merge.change_set["survivorBefore"]
    new_id = await uow.tx.id("customer")
    src, acc = _where(added, survivor.created_from_source)
    loyalty_type = added.get("loyaltyType", survivor_before["loyaltyType"])
    custom, extended = dict(added["customFields"]), dict(added["extendedFields"])
    target = CustomerCore(
        customer_id=new_id,
        loyalty_type=loyalty_type,
        status_label=ctx.config.initial_status_label,
        merged_into_id=None,
        extended_fields=extended,
        custom_fields=custom,
        associated_with=None,
        created_from_source=src,
        fraud_status="NOT_FRAUD",
        lifetime_purchases=Decimal(0),
        registered_at=merge.created_at,
        created_at=now,
        updated_at=now,
        created_by_till_id=till.till_id,
        updated_by_till_id=till.till_id,
        version=1,
    )
    await uow.customers.insert_customer(ctx.org_id, _bare_view(ctx, target, till), till.till_id)
    given = await _give(uow, ctx, merge, survivor, new_id, added, now)
    if not given.given:
        raise RuleViolation(
            2205,
            x="every identifier the registration added is held by the survivor in another account,"
            " or its account changed since the merge.",
        )
    survivor_after, survivor_fields = _unfill(survivor_core, custom=custom, extended=extended, given=given)
    survivor_after = replace(
        survivor_after, updated_at=now, updated_by_till_id=till.till_id, version=survivor_core.version + 1
    )
    survivor_changes = [FieldChange(t, "StandardField", v, None, s, a) for t, v, s, a in given.left_survivor]
    survivor_changes += _field_changes(survivor_core, survivor_after, src, acc)
    survivor_changes.append(FieldChange("splitCustomerId", "StandardField", None, str(new_id), src, acc))
    target_changes = [FieldChange(t, "StandardField", None, v, s, a) for t, v, s, a in given.given]
    target_changes += [
        FieldChange("loyaltyType", "StandardField", None, loyalty_type, src, acc),
        FieldChange("status", "StandardField", None, target.status_label, src, acc),
        FieldChange("splitFromCustomerId", "StandardField", None, str(merge.survivor_id), src, acc),
    ]
    target_changes += [
        FieldChange(k, "ExtendedField", None, as_text(v), src, acc) for k, v in extended.items()
    ]
    target_changes += [FieldChange(k, "CustomField", None, as_text(v), src, acc) for k, v in custom.items()]
    given.restored["fields"] = _fields_of(target)
    given.restored["survivorFields"] = survivor_fields
    return await _finish(
        uow,
        ctx,
        merge,
        now,
        given,
        (src, acc),
        survivor=survivor_after,
        survivor_changes=survivor_changes,
        target=target,
        target_changes=target_changes,
        new=True,
    )


async def _give(
    uow: UnitOfWork,
    ctx: RequestContext,
    merge: MergeRecord,
    survivor: CustomerView,
    target_id: int,
    listed: dict[str, Any],
    now: datetime,
) -> _Given:
    """Give the target what the survivor still holds of `listed` (the change set's `moved`
    or `added`) as the merge left it; list what stays and why."""
    org_id, since, merges = ctx.org_id, merge.created_at, uow.merges
    survivor_id = merge.survivor_id
    out = _Given()
    kept = out.kept

    # Source accounts: which go back, and with which identifiers.
    by_account: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for i in listed["identifiers"]:
        by_account.setdefault((i["source"], i["accountId"]), set()).add((i["type"], i["value"]))
    going: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for p in listed["profiles"]:
        key = (p["source"], p["accountId"])
        mine = by_account.get(key, set())
        profile = survivor.profile(*key)
        if profile is None:
            kept.append(_profile_item(key, REMOVED_SINCE))
            kept.extend(_identifier_item(t, v, key, REMOVED_SINCE) for t, v in sorted(mine))
            continue
        holds = {(i.type, i.value) for i in profile.identifiers}
        kept.extend(_identifier_item(t, v, key, REMOVED_SINCE) for t, v in sorted(mine - holds))
        if holds - mine or profile.updated_at > since:
            kept.append(_profile_item(key, CHANGED_SINCE))
            kept.extend(
                _identifier_item(t, v, key, ADDED_SINCE if (t, v) not in mine else CHANGED_SINCE)
                for t, v in sorted(holds)
            )
            continue
        going[key] = holds
    kept_values = {
        (i.type, i.value)
        for p in survivor.profiles
        if (p.source, p.account_id) not in going
        for i in p.identifiers
    }
    repo = uow.customers
    profiles: list[dict[str, str]] = []
    for key, holds in sorted(going.items()):
        for t, v in sorted(holds & kept_values):
            await repo.delete_identifier(org_id, IdentifierView(t, v, *key))
            kept.append(_identifier_item(t, v, key, HELD_BY_SURVIVOR))
            out.left_survivor.append((t, v, *key))
        if not holds - kept_values:
            await merges.drop_profile(org_id, survivor_id, *key)
            kept.append(_profile_item(key, HELD_BY_SURVIVOR))
            continue
        for t, v in await merges.give_account(org_id, survivor_id, target_id, *key):
            out.given.append((t, v, *key))
            out.left_survivor.append((t, v, *key))
        profiles.append({"source": key[0], "accountId": key[1]})
    out.restored["profiles"] = profiles
    out.restored["identifiers"] = [
        {"type": t, "value": v, "source": s, "accountId": a} for t, v, s, a in sorted(out.given)
    ]

    # Cards follow their card number's identifier.
    given_numbers = {v for t, v, _, _ in out.given if t == catalog.CARD}
    survivor_values = {(i.type, i.value) for i in survivor.identifiers()}
    cards = await merges.give_cards(
        org_id,
        survivor_id,
        target_id,
        [c["cardNumber"] for c in listed["cards"] if c["cardNumber"] in given_numbers],
    )
    out.restored["cards"] = [{"cardId": i, "cardNumber": n} for i, n in cards]
    for c in listed["cards"]:
        if c["cardNumber"] not in {n for _, n in cards}:
            held = (catalog.CARD, c["cardNumber"]) in survivor_values
            kept.append({"kind": "card", **c, "reason": CHANGED_SINCE if held else REMOVED_SINCE})

    # Enrollments, their ledger entries and bills; summaries folded again.
    held_programs = {e.program_id for e in survivor.enrollments}
    programs = await merges.give_enrollments(
        org_id, survivor_id, target_id, [p for p in listed["enrollments"] if p in held_programs]
    )
    kept.extend(
        {"kind": "enrollment", "programId": p, "reason": REMOVED_SINCE}
        for p in listed["enrollments"]
        if p not in programs
    )
    if merge.kind == REGISTRATION:
        entries, bills = await merges.give_ledger(
            org_id, survivor_id, target_id, programs=programs, since=since
        )
    else:
        entries, bills = await merges.give_ledger(
            org_id, survivor_id, target_id, entries=listed["ledgerEntries"], bills=listed["bills"]
        )
        kept.extend(
            {"kind": "ledgerEntry", "id": e, "reason": REMOVED_SINCE}
            for e in sorted(set(listed["ledgerEntries"]) - set(entries))
        )
        kept.extend(
            {"kind": "bill", "id": b, "reason": REMOVED_SINCE}
            for b in sorted(set(listed["bills"]) - set(bills))
        )
    out.restored.update(enrollments=programs, ledgerEntries=entries, bills=bills)
    left_entries, left_bills = await merges.ledger_left(org_id, survivor_id, programs)
    kept.extend({"kind": "ledgerEntry", "id": e, "reason": ADDED_SINCE} for e in left_entries)
    kept.extend({"kind": "bill", "id": b, "reason": ADDED_SINCE} for b in left_bills)
    for program_id, balances in (await merges.fold(org_id, target_id, programs)).items():
        await merges.set_balances(org_id, target_id, program_id, balances, now)
    out.survivor_programs = held_programs - set(programs)
    if left_entries or left_bills:
        await _survivor_summaries(uow, ctx, merge, programs, now, out)

    # What follows the person: coupons, subscriptions, user-namespace records.
    coupons = await merges.give_coupons(org_id, survivor_id, target_id, listed.get("coupons", []), since)
    kept.extend(
        {"kind": "coupon", "id": c, "reason": CHANGED_SINCE}
        for c in listed.get("coupons", [])
        if c not in coupons
    )
    subscriptions = []
    for text in listed.get("subscriptions", []):
        if await merges.give_subscription(org_id, survivor_id, target_id, _subscription_key(text), since):
            subscriptions.append(text)
        else:
            kept.append({"kind": "subscription", "key": text, "reason": CHANGED_SINCE})
    records = await merges.give_user_records(
        org_id, survivor_id, target_id, listed.get("userRecords", []), since
    )
    kept.extend(
        {"kind": "userRecord", "id": r, "reason": CHANGED_SINCE}
        for r in listed.get("userRecords", [])
        if r not in records
    )
    out.restored.update(coupons=coupons, subscriptions=subscriptions, userRecords=records)
    return out


async def _survivor_summaries(
    uow: UnitOfWork, ctx: RequestContext, merge: MergeRecord, programs: list[int], now: datetime, out: _Given
) -> None:
    """The survivor keeps the entries and bills written since the merge in the programs
    that went back: it gets a summary of its own in each, folded from them."""
    folded = await uow.merges.fold(ctx.org_id, merge.survivor_id, programs)
    accounts = []
    for program_id, balances in sorted(folded.items()):
        if balances == Balances():
            continue
        account = Account(merge.survivor_id, program_id, exists=False, enrolled_at=now, balances=balances)
        program = ctx.config.program(program_id)
        if program is not None:
            upgrade_tier(account, program, now)
        accounts.append(account)
        out.survivor_programs.add(program_id)
        out.kept.append({"kind": "enrollment", "programId": program_id, "reason": ADDED_SINCE})
        if balances.loyalty_points < 0:
            out.warnings.append(Warning_.of(2206, x=program_id))
    await uow.loyalty.save(ctx.org_id, accounts, now)


async def _finish(
    uow: UnitOfWork,
    ctx: RequestContext,
    merge: MergeRecord,
    now: datetime,
    given: _Given,
    where: tuple[str, str],
    *,
    survivor: CustomerCore,
    survivor_changes: list[FieldChange],
    target: CustomerCore,
    target_changes: list[FieldChange],
    new: bool,
) -> Undone:
    """Write both customers' rows, history, search terms, the change request, the merge's
    undo columns and the events; the answer."""
    org_id, repo = ctx.org_id, uow.customers
    src, acc = where
    undone = FieldChange("mergeUndone", "StandardField", None, str(merge.merge_id), src, acc)
    await repo.update_customer(org_id, survivor)
    if not new:
        await repo.update_customer(org_id, target)
    await record_changes(uow, ctx, merge.survivor_id, "MERGE", [*survivor_changes, undone], now)
    await record_changes(uow, ctx, target.customer_id, "MERGE", [*target_changes, undone], now)
    await uow.merges.mark_undone(
        org_id, merge.merge_id, now=now, till_id=ctx.actor.till_id, request_id=ctx.request_id
    )
    await change_log.applied(
        uow,
        ctx,
        customer_id=merge.survivor_id,
        where=where,
        adds=[],
        removes=[(t, v) for t, v, _, _ in given.left_survivor],
        now=now,
        merged_customer_id=target.customer_id,
        merge_id=merge.merge_id,
        undo=True,
    )
    names = series_names(ctx.config)
    survivor_view = await repo.view(org_id, merge.survivor_id, names)
    target_view = await repo.view(org_id, target.customer_id, names)
    assert survivor_view is not None and target_view is not None
    await repo.rewrite_terms(org_id, merge.survivor_id, survivor_view.profiles)
    await repo.rewrite_terms(org_id, target.customer_id, target_view.profiles)
    actor, request_id = ctx.actor, ctx.request_id
    uow.record(CustomerUpdated(survivor_view, actor, src, acc, now, request_id, tuple(survivor_changes)))
    if new:
        uow.record(CustomerAdded(target_view, actor, src, acc, now, request_id))
    else:
        uow.record(CustomerUpdated(target_view, actor, src, acc, now, request_id, tuple(target_changes)))
    uow.record(
        CustomersMergeReverted(
            survivor_view, target_view, merge.merge_id, merge.kind, new, actor, now, request_id
        )
    )
    return Undone(
        merge.merge_id,
        merge.survivor_id,
        None if new else target.customer_id,
        target.customer_id if new else None,
        given.restored,
        given.kept,
        given.warnings,
    )


def _unfill(
    core: CustomerCore, *, custom: dict[str, Any], extended: dict[str, Any], given: _Given
) -> tuple[CustomerCore, dict[str, Any]]:
    """The survivor without the custom and extended fields the merge filled in, except those
    changed since (listed as kept); what was taken."""
    fields: dict[str, Any] = {"loyaltyType": None, "customFields": [], "extendedFields": []}
    new_custom, new_extended = dict(core.custom_fields), dict(core.extended_fields)
    for name, filled, current, kind in (
        ("customFields", custom, new_custom, "customField"),
        ("extendedFields", extended, new_extended, "extendedField"),
    ):
        for key, value in sorted(filled.items()):
            if key not in current:
                continue
            if current[key] == value:
                del current[key]
                fields[name].append(key)
            else:
                given.kept.append({"kind": kind, "name": key, "reason": CHANGED_SINCE})
    return replace(core, custom_fields=new_custom, extended_fields=new_extended), fields


def _filled(before: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The fields a merge gave the survivor: the victim's, for keys the survivor lacked."""
    return {k: v for k, v in source.items() if k not in before}


def _field_changes(before: CustomerCore, after: CustomerCore, src: str, acc: str) -> list[FieldChange]:
    """History rows of the core fields an undo changed."""
    out = []
    if before.loyalty_type != after.loyalty_type:
        out.append(
            FieldChange("loyaltyType", "StandardField", before.loyalty_type, after.loyalty_type, src, acc)
        )
    if before.status_label != after.status_label:
        out.append(FieldChange("status", "StandardField", before.status_label, after.status_label, src, acc))
    for kind, old, new in (
        ("ExtendedField", before.extended_fields, after.extended_fields),
        ("CustomField", before.custom_fields, after.custom_fields),
    ):
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                previous = None if key not in old else as_text(old[key])
                current = None if key not in new else as_text(new[key])
                out.append(FieldChange(key, kind, previous, current, src, acc))
    return out


def _fields_of(core: CustomerCore) -> dict[str, Any]:
    return {
        "loyaltyType": core.loyalty_type,
        "statusLabel": core.status_label,
        "customFields": dict(core.custom_fields),
        "extendedFields": dict(core.extended_fields),
    }


def _where(listed: dict[str, Any], fallback: str) -> tuple[str, str]:
    """The source account history rows and events of the undo name: the first that moved."""
    profiles = listed["profiles"]
    if profiles:
        return profiles[0]["source"], profiles[0]["accountId"]
    return fallback, ""


def _subscription_key(text: str) -> tuple[str, str, str, str]:
    """A subscription as the change set writes it, "source account channel priority" (an
    account id may be empty, or hold spaces)."""
    parts = text.split(" ")
    return parts[0], " ".join(parts[1:-2]), parts[-2], parts[-1]


def _profile_item(key: tuple[str, str], reason: str) -> dict[str, Any]:
    return {"kind": "profile", "source": key[0], "accountId": key[1], "reason": reason}


def _identifier_item(t: str, v: str, key: tuple[str, str], reason: str) -> dict[str, Any]:
    return {
        "kind": "identifier",
        "type": t,
        "value": v,
        "source": key[0],
        "accountId": key[1],
        "reason": reason,
    }


def _bare_view(ctx: RequestContext, core: CustomerCore, till: TillRef) -> CustomerView:
    """A customer row to insert, before any of its children are given to it."""
    return CustomerView(
        org_id=ctx.org_id,
        customer_id=core.customer_id,
        loyalty_type=core.loyalty_type,
        status_label=core.status_label,
        extended_fields=core.extended_fields,
        custom_fields=core.custom_fields,
        associated_with=core.associated_with,
        created_from_source=core.created_from_source,
        fraud_status=core.fraud_status,
        lifetime_purchases=core.lifetime_purchases,
        registered_at=core.registered_at,
        created_at=core.created_at,
        updated_at=core.updated_at,
        created_by=till,
        updated_by=till,
    )
