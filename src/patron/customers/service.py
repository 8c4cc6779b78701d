"""Update Customer Details (by id or identifier) and Update customer status."""

from __future__ import annotations

from dataclasses import dataclass, replace

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.addressing import find_customer, resolve_account
from patron.customers.commands import IdentifierInput, UpdateCustomer, UpdateStatus
from patron.customers.domain import (
    FieldChange,
    clean_custom_fields,
    clean_name,
    diff_mapping,
    unknown_custom_fields,
    validate_extended_fields,
)
from patron.customers.enrollments import check_enrollments, new_enrollments
from patron.customers.erasure import cancel_erasure, request_erasure
from patron.customers.history import record_changes
from patron.customers.inputs import channels_text, clean_comm_channels, clean_identifier
from patron.customers.repository import core_of, remember_till
from patron.customers.views import TillRef
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound, RuleViolation, Warning_
from patron.events.domain import CustomerUpdated, StatusChange
from patron.loyalty.service import enroll
from patron.orgs.config import OrgConfig

CONVERSION_CODES = {"mobile": 1006, "email": 1048, "externalId": 1049}


@dataclass(frozen=True, slots=True)
class Updated:
    customer_id: int
    warnings: list[Warning_]


async def update(uow: UnitOfWork, ctx: RequestContext, cmd: UpdateCustomer) -> Updated:
    """Change only what the request names; identifiers and source stay as they are."""
    config = ctx.config
    source, account = resolve_account(config, cmd.where)
    view = await find_customer(uow, ctx, cmd.ref, source, account, missing_code=8009, lock=True)
    core = core_of(view)
    profile = view.profile(source, account)
    if profile is None:
        raise NotFound(8065, detail=f"The customer has no {source} profile {account}.".rstrip())
    warnings: list[Warning_] = []
    changes: list[FieldChange] = []
    first, last, channels = profile.first_name, profile.last_name, profile.comm_channels
    custom, extended, loyalty = core.custom_fields, core.extended_fields, core.loyalty_type
    p = cmd.profile
    if p is not None:
        if (p.source and p.source != source) or (p.account_id and p.account_id != account):
            warnings.append(Warning_.of(91006, x="source"))
        first = _name(p.first_name, "firstName", first, source, account, changes)
        last = _name(p.last_name, "lastName", last, source, account, changes)
        if p.identifiers:
            held = {(i.type, i.value) for i in profile.identifiers}
            if not all(_held(i, held, config) for i in p.identifiers):
                warnings.append(Warning_.of(91006, x="identifiers"))
        if p.comm_channels is not None:
            cleaned = clean_comm_channels(p.comm_channels, config, source)
            if cleaned != channels:
                changes.append(
                    FieldChange(
                        "commChannels",
                        "StandardField",
                        channels_text(channels),
                        channels_text(cleaned),
                        source,
                        account,
                    )
                )
                channels = cleaned
        if p.fields:
            unknown = unknown_custom_fields(p.fields, config)
            if unknown:
                raise InvalidInput(1017, detail=f"Not configured: {', '.join(unknown)}.")
            try:
                merged = {**custom, **clean_custom_fields(p.fields)}
            except ValueError as exc:
                raise InvalidInput(1017, detail=str(exc)) from exc
            changes.extend(diff_mapping(custom, merged, "CustomField", source, account))
            custom = merged
    if cmd.extended_fields:
        accepted, ext_warnings = validate_extended_fields(cmd.extended_fields, config)
        warnings.extend(ext_warnings)
        merged_ext = {**extended, **accepted}
        changes.extend(diff_mapping(extended, merged_ext, "ExtendedField", source, account))
        extended = merged_ext
    if cmd.loyalty_type is not None and cmd.loyalty_type != loyalty:
        if cmd.loyalty_type not in catalog.LOYALTY_TYPES:
            raise InvalidInput(400, detail="loyaltyType must be loyalty or non_loyalty.")
        if cmd.loyalty_type == catalog.NON_LOYALTY:
            raise RuleViolation(1046)
        if config.primary_identifier not in {i.type for i in view.identifiers()}:
            code = CONVERSION_CODES[config.primary_identifier]
            raise RuleViolation(code)
        changes.append(
            FieldChange("loyaltyType", "StandardField", loyalty, cmd.loyalty_type, source, account)
        )
        loyalty = cmd.loyalty_type
    now = utcnow()
    enrollments = []
    if cmd.enrollments:
        check_enrollments(cmd.enrollments)
        enrollments = new_enrollments(cmd.enrollments, {e.program_id for e in view.enrollments}, now)
        await enroll(
            uow, ctx, core.customer_id, enrollments, loyalty_type=loyalty, registering=False, now=now
        )
        changes.extend(
            FieldChange("loyaltyProgramEnrollment", "StandardField", None, str(e.program_id), source, account)
            for e in enrollments
        )
    if not changes:
        return Updated(core.customer_id, warnings)
    till = _till_ref(ctx)
    repo = uow.customers
    new_profile = replace(
        profile, first_name=first, last_name=last, comm_channels=channels, updated_at=now, updated_by=till
    )
    await repo.update_profile(ctx.org_id, core.customer_id, new_profile)
    core = replace(
        core,
        custom_fields=custom,
        extended_fields=extended,
        loyalty_type=loyalty,
        updated_at=now,
        updated_by_till_id=till.till_id,
        version=core.version + 1,
    )
    await repo.update_customer(ctx.org_id, core)
    await record_changes(uow, ctx, core.customer_id, "PROFILE", changes, now)
    view = replace(
        view,
        loyalty_type=loyalty,
        custom_fields=custom,
        extended_fields=extended,
        updated_at=now,
        updated_by=till,
        version=core.version,
        profiles=[new_profile if q is profile else q for q in view.profiles],
        enrollments=sorted([*view.enrollments, *enrollments], key=lambda e: e.program_id),
    )
    if first != profile.first_name or last != profile.last_name:
        await repo.rewrite_terms(ctx.org_id, core.customer_id, view.profiles)
    uow.record(CustomerUpdated(view, ctx.actor, source, account, now, ctx.request_id, tuple(changes)))
    return Updated(core.customer_id, warnings)


def _till_ref(ctx: RequestContext) -> TillRef:
    ref = TillRef(ctx.actor.till_id, ctx.actor.code, ctx.actor.name)
    remember_till(ctx.org_id, ref)
    return ref


def _held(item: IdentifierInput, held: set[tuple[str, str]], config: OrgConfig) -> bool:
    """Whether the profile already holds this identifier (an invalid one it cannot hold)."""
    try:
        cleaned = clean_identifier(item, config, {})
    except InvalidInput:
        return False
    return (cleaned.type, cleaned.value) in held


def _name(
    given: str | None, field_name: str, old: str, source: str, account: str, changes: list[FieldChange]
) -> str:
    if given is None:
        return old
    try:
        value = clean_name(given, field_name)
    except ValueError as exc:
        raise InvalidInput(400, detail=str(exc)) from exc
    if value != old:
        changes.append(FieldChange(field_name, "StandardField", old, value, source, account))
    return value


async def update_status(uow: UnitOfWork, ctx: RequestContext, cmd: UpdateStatus) -> bool:
    """Set a customer's status label; returns whether it changed (only then an event)."""
    source, account = resolve_account(ctx.config, cmd.where)
    labels = ctx.config.status_labels
    label = next((x for x in labels if x.casefold() == (cmd.label or "").strip().casefold()), None)
    if label is None:
        raise InvalidInput(400, detail=f"label must be one of: {', '.join(labels)}.")
    reason = (cmd.reason or "").strip()
    if not reason:
        raise InvalidInput(400, detail="reason is required.")
    if len(reason) > 500:
        raise InvalidInput(400, detail="reason is longer than 500 characters.")
    config = ctx.config
    if label == config.deleted_label:
        raise InvalidInput(
            400,
            detail=f"'{label}' is set by the erasure; set '{config.pending_deletion_label}'.",
        )
    view = await find_customer(uow, ctx, cmd.ref, source, account, lock=True)
    core = core_of(view)
    previous = core.status_label
    if previous == config.deleted_label:
        raise InvalidInput(400, detail="The customer's personal data was erased.")
    if previous == label:
        return False
    now = utcnow()
    till = _till_ref(ctx)
    core = replace(
        core, status_label=label, updated_at=now, updated_by_till_id=till.till_id, version=core.version + 1
    )
    await uow.customers.update_customer(ctx.org_id, core)
    if label == config.pending_deletion_label:
        await request_erasure(uow, ctx.org_id, core.customer_id, reason, now, config.erasure_grace_seconds)
    elif previous == config.pending_deletion_label:
        await cancel_erasure(uow, ctx.org_id, core.customer_id)
    change = FieldChange("status", "StandardField", previous, label, source, account)
    await record_changes(uow, ctx, core.customer_id, "STATUS", [change], now)
    view = replace(view, status_label=label, updated_at=now, updated_by=till, version=core.version)
    uow.record(
        CustomerUpdated(
            view, ctx.actor, source, account, now, ctx.request_id, (), StatusChange(previous, label, reason)
        )
    )
    return True
