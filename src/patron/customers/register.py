"""Register Customer: a new record, or a new source profile on the record that already
holds one of the identifiers in another source (a merge, warning 8050).

Registration never overwrites an existing customer: on a merge it adds profiles,
identifiers, cards and enrollments, and only custom or extended fields the record lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from patron.context import RequestContext
from patron.customers import catalog, merges
from patron.customers.addressing import resolve_account
from patron.customers.cards import CardPlan, issue_card, plan_card, require_loyalty, series_names
from patron.customers.commands import RegisterCustomer, SourceAccount
from patron.customers.domain import (
    FieldChange,
    as_text,
    clean_custom_fields,
    clean_name,
    unknown_custom_fields,
    validate_extended_fields,
)
from patron.customers.enrollments import check_enrollments, new_enrollments
from patron.customers.history import record_changes
from patron.customers.inputs import CleanIdentifier, clean_comm_channels, clean_identifier
from patron.customers.repository import core_of, remember_till
from patron.customers.views import CardView, CustomerView, IdentifierView, ProfileView, TillRef, sort_profiles
from patron.db.base import utcnow
from patron.db.tx import IntegrityError
from patron.db.uow import UnitOfWork
from patron.engagement import change_log
from patron.engagement.coupons import ISSUED_ON_REGISTRATION, coupon_effect, issue_in
from patron.engagement.referrals import after_registration, before_registration
from patron.errors import Conflict, InvalidInput, Warning_
from patron.events.domain import CustomerAdded, CustomerUpdated
from patron.loyalty.service import SideEffect, enroll

REGISTER_CODES = {"mobile": 1001, "email": 1002, "externalId": 1003}
TAKEN_CODES = {"mobile": 1032, "email": 1016, "externalId": 1033}
REQUIRED_CODES = {"mobile": 1006, "email": 1039, "externalId": 1043}


@dataclass
class _Profile:
    source: str
    account_id: str
    first_name: str
    last_name: str
    identifiers: list[CleanIdentifier]
    comm_channels: list[dict[str, Any]]
    cards: list[CardPlan] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Registered:
    customer_id: int
    warnings: list[Warning_]
    side_effects: list[SideEffect] = field(default_factory=list)
    # The merge (customer_merge) of a registration that merged (8050).
    merge_id: int | None = None


@dataclass(frozen=True, slots=True)
class RegistrationPlan:
    """A registration checked and normalised against the org's rules, before any storage."""

    cmd: RegisterCustomer
    profiles: tuple[_Profile, ...]
    custom: dict[str, str | None]
    extended: dict[str, Any]
    registered_at: datetime
    warnings: tuple[Warning_, ...]


async def register(uow: UnitOfWork, ctx: RequestContext, cmd: RegisterCustomer) -> Registered:
    """Register a customer, or add a source profile to the customer who already holds one."""
    return await apply_registration(uow, ctx, plan_registration(ctx, cmd))


def plan_registration(ctx: RequestContext, cmd: RegisterCustomer) -> RegistrationPlan:
    """Check and normalise a registration; storage is not touched (callers run this before
    they queue the write, so a single writer spends its turn on storing only)."""
    config = ctx.config
    warnings: list[Warning_] = []
    if cmd.loyalty_type not in catalog.LOYALTY_TYPES:
        raise InvalidInput(400, detail="loyaltyInfo.loyaltyType must be loyalty or non_loyalty.")
    if not cmd.profiles:
        raise InvalidInput(400, detail="profiles: at least one profile is required.")

    profiles: list[_Profile] = []
    custom: dict[str, str | None] = {}
    for index, p in enumerate(cmd.profiles):
        if not p.source:
            raise InvalidInput(400, detail=f"profiles[{index}].source is required.")
        source, account = resolve_account(config, SourceAccount(p.source, p.account_id))
        if any(q.source == source and q.account_id == account for q in profiles):
            raise InvalidInput(400, detail=f"Two profiles name {source} {account}.".rstrip())
        if not p.identifiers:
            raise InvalidInput(400, detail=f"profiles[{index}].identifiers is required.")
        try:
            first, last = clean_name(p.first_name, "firstName"), clean_name(p.last_name, "lastName")
        except ValueError as exc:
            raise InvalidInput(400, detail=str(exc)) from exc
        cleaned: dict[tuple[str, str], CleanIdentifier] = {}
        for item in p.identifiers:
            ident = clean_identifier(item, config, REGISTER_CODES)
            cleaned.setdefault((ident.type, ident.value), ident)
        channels = clean_comm_channels(p.comm_channels or (), config, source)
        profiles.append(_Profile(source, account, first, last, list(cleaned.values()), channels))
        if p.fields:
            unknown = unknown_custom_fields(p.fields, config)
            if unknown:
                raise InvalidInput(1017, detail=f"Not configured: {', '.join(unknown)}.")
            try:
                custom.update(clean_custom_fields(p.fields))
            except ValueError as exc:
                raise InvalidInput(1017, detail=str(exc)) from exc

    extended, ext_warnings = validate_extended_fields(cmd.extended_fields, config)
    warnings.extend(ext_warnings)
    all_types = {i.type for p in profiles for i in p.identifiers}
    if cmd.loyalty_type == catalog.LOYALTY and config.primary_identifier not in all_types:
        code = REQUIRED_CODES[config.primary_identifier]
        raise InvalidInput(code)
    if cmd.loyalty_type == catalog.NON_LOYALTY and not all_types & {"mobile", "email"}:
        raise InvalidInput(1045)
    registered_at = _registration_date(cmd.create_date, utcnow(), ctx)
    check_enrollments(cmd.enrollments)
    return RegistrationPlan(cmd, tuple(profiles), custom, extended, registered_at, tuple(warnings))


async def apply_registration(uow: UnitOfWork, ctx: RequestContext, plan: RegistrationPlan) -> Registered:
    """Store a planned registration: a new customer, or a merge into the holder."""
    cmd, custom, extended, registered_at = plan.cmd, plan.custom, plan.extended, plan.registered_at
    warnings = list(plan.warnings)
    profiles = [replace(p, cards=[]) for p in plan.profiles]
    now = utcnow()
    pairs = [(i.type, i.value) for p in profiles for i in p.identifiers]
    await uow.customers.lock_identifiers(ctx.org_id, pairs)
    holders = await uow.customers.holders(ctx.org_id, pairs)
    targets: set[int] = set()
    for h in holders:
        mine = next((p for p in profiles if p.source == h.source and p.account_id == h.account_id), None)
        if mine is not None and any(i.type == h.id_type and i.value == h.value for i in mine.identifiers):
            code = TAKEN_CODES.get(h.id_type, 1014)
            raise Conflict(code, detail=f"{h.id_type} is registered in {h.source}.")
        targets.add(h.customer_id)
    if len(targets) > 1:
        raise Conflict(8053)

    if cmd.associated_with and await uow.orgs.till_by_code(ctx.org_id, cmd.associated_with) is None:
        raise InvalidInput(91020, detail=f"No till '{cmd.associated_with}' in this org.")
    holder = next(iter(targets), None)
    for prepared in profiles:
        for card_ident in prepared.identifiers:
            if card_ident.type == catalog.CARD:
                require_loyalty(cmd.loyalty_type)
                pending = [c for q in profiles for c in q.cards]
                card, card_warnings = await plan_card(
                    uow, ctx, card_ident.value, card_ident.raw, 1014, holder_id=holder, pending=pending
                )
                prepared.cards.append(card)
                warnings.extend(card_warnings)
    # The referrer (held now: its id is lower than the new customer's), if any.
    referral = await before_registration(
        uow, ctx, cmd.referral_code, pairs, merging_into=holder, warnings=warnings
    )

    try:
        if targets:
            customer_id = targets.pop()
            merge_id = await _merge_into(uow, ctx, customer_id, profiles, custom, extended, cmd, now)
            # The merge is a change request of the record it joined (APPROVED at once).
            await change_log.applied(
                uow,
                ctx,
                customer_id=customer_id,
                where=(profiles[0].source, profiles[0].account_id),
                adds=[(i.type, i.value) for p in profiles for i in p.identifiers],
                removes=[],
                now=now,
                merge_id=merge_id,
            )
            await uow.flush()
            warnings.insert(0, Warning_.of(8050))
            return Registered(customer_id, warnings, merge_id=merge_id)
        customer_id, effects = await _create(uow, ctx, cmd, profiles, custom, extended, registered_at, now)
        if referral is not None:
            effects.extend(
                await after_registration(uow, ctx, referral, customer_id, cmd.loyalty_type, now, warnings)
            )
        await uow.flush()
    except IntegrityError as exc:
        # A concurrent writer claimed an identifier first (PostgreSQL without the lock held
        # on every path); the request changes nothing and says why.
        raise Conflict(1014) from exc
    return Registered(customer_id, warnings, effects)


def stores_without_reads(plan: RegistrationPlan, ctx: RequestContext) -> bool:
    """Whether a new customer of this plan is written without reading anything first: no
    card (stock and series checks), no till to associate with, no referral (the org's
    campaigns look up invitations). The batch import writes such lines together."""
    return not (
        plan.cmd.associated_with
        or plan.cmd.referral_code
        or ctx.config.referral_campaigns
        or any(i.type == catalog.CARD for p in plan.profiles for i in p.identifiers)
    )


async def create_registered(uow: UnitOfWork, ctx: RequestContext, plan: RegistrationPlan) -> Registered:
    """Store a planned registration none of whose identifiers is held, as a new customer,
    as apply_registration does; the caller checked the holders (the batch import, for a
    whole batch in one statement) and `stores_without_reads`."""
    profiles = [replace(p, cards=[]) for p in plan.profiles]
    customer_id, effects = await _create(
        uow, ctx, plan.cmd, profiles, plan.custom, plan.extended, plan.registered_at, utcnow()
    )
    return Registered(customer_id, list(plan.warnings), effects)


def _registration_date(stated: datetime | None, now: datetime, ctx: RequestContext) -> datetime:
    if stated is None:
        return now
    earliest = now - timedelta(days=ctx.config.registration_past_days)
    latest = now + timedelta(days=ctx.config.registration_future_days)
    if not earliest <= stated <= latest:
        raise InvalidInput(1034)
    return stated


def _till_ref(ctx: RequestContext) -> TillRef:
    ref = TillRef(ctx.actor.till_id, ctx.actor.code, ctx.actor.name)
    remember_till(ctx.org_id, ref)
    return ref


async def _write_profiles(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, profiles: list[_Profile], now: datetime
) -> tuple[list[ProfileView], list[CardView], list[FieldChange]]:
    """Insert profiles, identifiers and cards; return them and the history of what was added."""
    till = _till_ref(ctx)
    views = [
        ProfileView(
            source=p.source,
            account_id=p.account_id,
            first_name=p.first_name,
            last_name=p.last_name,
            comm_channels=p.comm_channels,
            identifiers=sorted(
                (IdentifierView(i.type, i.value, p.source, p.account_id) for i in p.identifiers),
                key=lambda i: (i.type, i.value),
            ),
            created_at=now,
            updated_at=now,
            created_by=till,
            updated_by=till,
        )
        for p in profiles
    ]
    repo = uow.customers
    await repo.insert_profiles(ctx.org_id, customer_id, views)
    await repo.insert_identifiers(ctx.org_id, customer_id, [i for v in views for i in v.identifiers], now)
    names = series_names(ctx.config)
    cards: list[CardView] = []
    changes: list[FieldChange] = []
    for p in profiles:
        for plan in p.cards:
            cards.append(await issue_card(uow, ctx, plan, customer_id, now, names))
        for name, value in (("firstName", p.first_name), ("lastName", p.last_name)):
            if value:
                changes.append(FieldChange(name, "StandardField", None, value, p.source, p.account_id))
        changes.extend(
            FieldChange(i.type, "StandardField", None, i.value, p.source, p.account_id) for i in p.identifiers
        )
    return views, cards, changes


async def _create(
    uow: UnitOfWork,
    ctx: RequestContext,
    cmd: RegisterCustomer,
    profiles: list[_Profile],
    custom: dict[str, str | None],
    extended: dict[str, Any],
    registered_at: datetime,
    now: datetime,
) -> tuple[int, list[SideEffect]]:
    customer_id = await uow.tx.id("customer")
    till = _till_ref(ctx)
    first = profiles[0]
    customer = CustomerView(
        org_id=ctx.org_id,
        customer_id=customer_id,
        loyalty_type=cmd.loyalty_type,
        status_label=ctx.config.initial_status_label,
        extended_fields=extended,
        custom_fields=dict(custom),
        associated_with=cmd.associated_with,
        created_from_source=first.source,
        fraud_status="NOT_FRAUD",
        lifetime_purchases=Decimal(0),
        registered_at=registered_at,
        created_at=now,
        updated_at=now,
        created_by=till,
        updated_by=till,
    )
    repo = uow.customers
    await repo.insert_customer(ctx.org_id, customer, till.till_id)
    views, cards, changes = await _write_profiles(uow, ctx, customer_id, profiles, now)
    enrollments = new_enrollments(cmd.enrollments, set(), now)
    effects = await enroll(
        uow, ctx, customer_id, enrollments, loyalty_type=cmd.loyalty_type, registering=True, now=now
    )
    if ctx.config.coupon_on_registration is not None:
        coupon = await issue_in(
            uow, ctx, customer_id, ctx.config.coupon_on_registration, now, issued_for=ISSUED_ON_REGISTRATION
        )
        effects.append(coupon_effect(coupon))
    src, acc = first.source, first.account_id
    changes.append(FieldChange("loyaltyType", "StandardField", None, cmd.loyalty_type, src, acc))
    changes.append(FieldChange("status", "StandardField", None, ctx.config.initial_status_label, src, acc))
    changes.extend(FieldChange(k, "ExtendedField", None, as_text(v), src, acc) for k, v in extended.items())
    changes.extend(FieldChange(k, "CustomField", None, v, src, acc) for k, v in custom.items())
    await record_changes(uow, ctx, customer_id, "CREATE", changes, now)
    view = replace(
        customer,
        profiles=sort_profiles(views),
        cards=sorted(cards, key=lambda c: c.card_id),
        enrollments=sorted(enrollments, key=lambda e: e.program_id),
    )
    await repo.insert_terms(ctx.org_id, customer_id, view.profiles)
    uow.record(CustomerAdded(view, ctx.actor, src, acc, now, ctx.request_id))
    return customer_id, effects


async def _merge_into(
    uow: UnitOfWork,
    ctx: RequestContext,
    customer_id: int,
    profiles: list[_Profile],
    custom: dict[str, str | None],
    extended: dict[str, Any],
    cmd: RegisterCustomer,
    now: datetime,
) -> int:
    """Add the registration's profiles to the customer holding one of its identifiers; the
    merge's id (its change set lists what the registration added)."""
    repo = uow.customers
    before = await repo.view(ctx.org_id, customer_id, series_names(ctx.config), lock=True)
    assert before is not None
    core = core_of(before)
    held = {(p.source, p.account_id) for p in before.profiles}
    for p in profiles:
        if (p.source, p.account_id) in held:
            raise Conflict(8066)
    views, cards, changes = await _write_profiles(uow, ctx, customer_id, profiles, now)
    src, acc = profiles[0].source, profiles[0].account_id
    new_custom = {k: v for k, v in custom.items() if k not in core.custom_fields}
    new_extended = {k: v for k, v in extended.items() if k not in core.extended_fields}
    changes.extend(FieldChange(k, "CustomField", None, v, src, acc) for k, v in new_custom.items())
    changes.extend(
        FieldChange(k, "ExtendedField", None, as_text(v), src, acc) for k, v in new_extended.items()
    )
    enrollments = new_enrollments(cmd.enrollments, {e.program_id for e in before.enrollments}, now)
    await enroll(
        uow, ctx, customer_id, enrollments, loyalty_type=core.loyalty_type, registering=False, now=now
    )
    till = _till_ref(ctx)
    core = replace(
        core,
        custom_fields={**core.custom_fields, **new_custom},
        extended_fields={**core.extended_fields, **new_extended},
        updated_at=now,
        updated_by_till_id=till.till_id,
        version=core.version + 1,
    )
    await repo.update_customer(ctx.org_id, core)
    change_set = merges.registration_change_set(
        views,
        cards,
        enrollments,
        new_custom,
        new_extended,
        loyalty_type=cmd.loyalty_type,
        survivor_before=core_of(before),
    )
    merge_id = await merges.record(
        uow,
        ctx,
        kind=merges.REGISTRATION,
        survivor_id=customer_id,
        victim_id=None,
        change_set=change_set,
        now=now,
    )
    await record_changes(
        uow, ctx, customer_id, "MERGE", [*changes, merges.merge_change(merge_id, src, acc)], now
    )
    await repo.insert_terms(ctx.org_id, customer_id, views)
    view = replace(
        before,
        custom_fields=core.custom_fields,
        extended_fields=core.extended_fields,
        updated_at=now,
        updated_by=till,
        version=core.version,
        profiles=sort_profiles([*before.profiles, *views]),
        cards=sorted([*before.cards, *cards], key=lambda c: c.card_id),
        enrollments=sorted([*before.enrollments, *enrollments], key=lambda e: e.program_id),
    )
    uow.record(CustomerUpdated(view, ctx.actor, src, acc, now, ctx.request_id, tuple(changes)))
    return merge_id
