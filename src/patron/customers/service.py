"""Update Customer Details (by id or identifier) and Update customer status."""

from __future__ import annotations

from dataclasses import dataclass

from patron.codes import message
from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.commands import IdentifierInput, UpdateCustomer, UpdateStatus
from patron.customers.common import (
    channels_text,
    clean_comm_channels,
    clean_identifier,
    find_customer,
    load_view,
    record_changes,
    resolve_account,
)
from patron.customers.domain import (
    FieldChange,
    clean_custom_fields,
    clean_name,
    diff_mapping,
    unknown_custom_fields,
    validate_extended_fields,
)
from patron.customers.enrollments import check_enrollments, enroll
from patron.customers.erasure import cancel_erasure, request_erasure
from patron.customers.repository import CustomerRepository
from patron.db.base import utcnow
from patron.db.models import CustomerProfile
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound, RuleViolation, Warning_
from patron.events.domain import CustomerUpdated, StatusChange
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
    repo = CustomerRepository(uow.session)
    customer = await find_customer(repo, ctx, cmd.ref, source, account, missing_code=8009, lock=True)
    profile = next(
        (
            p
            for p in await repo.profiles_of(ctx.org_id, customer.customer_id)
            if p.source == source and p.account_id == account
        ),
        None,
    )
    if profile is None:
        raise NotFound(
            8065, message(8065, detail=f"The customer has no {source} profile {account}.".rstrip())
        )
    warnings: list[Warning_] = []
    changes: list[FieldChange] = []
    p = cmd.profile
    if p is not None:
        if (p.source and p.source != source) or (p.account_id and p.account_id != account):
            warnings.append(Warning_(91006, message(91006, "source")))
        changes.extend(_name_changes(profile, p.first_name, p.last_name, source, account))
        if p.identifiers:
            held = {
                (i.id_type, i.value)
                for i in await repo.identifiers_of(ctx.org_id, customer.customer_id)
                if i.source == source and i.account_id == account
            }
            if not all(_held(i, held, config) for i in p.identifiers):
                warnings.append(Warning_(91006, message(91006, "identifiers")))
        if p.comm_channels is not None:
            channels = clean_comm_channels(p.comm_channels, config, source)
            if channels != list(profile.comm_channels or []):
                changes.append(
                    FieldChange(
                        "commChannels",
                        "StandardField",
                        channels_text(list(profile.comm_channels or [])),
                        channels_text(channels),
                        source,
                        account,
                    )
                )
                profile.comm_channels = channels
        if p.fields:
            unknown = unknown_custom_fields(p.fields, config)
            if unknown:
                raise InvalidInput(1017, message(1017, detail=f"Not configured: {', '.join(unknown)}."))
            try:
                merged = {**(customer.custom_fields or {}), **clean_custom_fields(p.fields)}
            except ValueError as exc:
                raise InvalidInput(1017, message(1017, detail=str(exc))) from exc
            changes.extend(diff_mapping(customer.custom_fields or {}, merged, "CustomField", source, account))
            customer.custom_fields = merged
    if cmd.extended_fields:
        accepted, ext_warnings = validate_extended_fields(cmd.extended_fields, config)
        warnings.extend(ext_warnings)
        merged_ext = {**(customer.extended_fields or {}), **accepted}
        changes.extend(
            diff_mapping(customer.extended_fields or {}, merged_ext, "ExtendedField", source, account)
        )
        customer.extended_fields = merged_ext
    if cmd.loyalty_type is not None and cmd.loyalty_type != customer.loyalty_type:
        if cmd.loyalty_type not in catalog.LOYALTY_TYPES:
            raise InvalidInput(400, message(400, detail="loyaltyType must be loyalty or non_loyalty."))
        if cmd.loyalty_type == catalog.NON_LOYALTY:
            raise RuleViolation(1046, message(1046))
        types = {i.id_type for i in await repo.identifiers_of(ctx.org_id, customer.customer_id)}
        if config.primary_identifier not in types:
            code = CONVERSION_CODES[config.primary_identifier]
            raise RuleViolation(code, message(code))
        changes.append(
            FieldChange(
                "loyaltyType", "StandardField", customer.loyalty_type, cmd.loyalty_type, source, account
            )
        )
        customer.loyalty_type = cmd.loyalty_type
    if cmd.enrollments:
        check_enrollments(cmd.enrollments)
        added = await enroll(uow, ctx.org_id, customer.customer_id, cmd.enrollments, utcnow())
        changes.extend(
            FieldChange("loyaltyProgramEnrollment", "StandardField", None, str(pid), source, account)
            for pid in added
        )
    if not changes:
        return Updated(customer.customer_id, warnings)
    now = utcnow()
    profile.updated_at = now
    profile.updated_by_till_id = ctx.actor.till_id
    repo.touch(customer, ctx.actor.till_id, now)
    await uow.session.flush()
    await record_changes(uow, ctx, customer.customer_id, "PROFILE", changes, now)
    if any(c.field_name in ("firstName", "lastName") for c in changes):
        await repo.reindex(ctx.org_id, customer.customer_id)
    view = await load_view(uow, ctx, customer.customer_id)
    uow.record(CustomerUpdated(view, ctx.actor, source, account, now, ctx.request_id, tuple(changes)))
    return Updated(customer.customer_id, warnings)


def _held(item: IdentifierInput, held: set[tuple[str, str]], config: OrgConfig) -> bool:
    """Whether the profile already holds this identifier (an invalid one it cannot hold)."""
    try:
        cleaned = clean_identifier(item, config, {})
    except InvalidInput:
        return False
    return (cleaned.type, cleaned.value) in held


def _name_changes(
    profile: CustomerProfile, first: str | None, last: str | None, source: str, account: str
) -> list[FieldChange]:
    changes = []
    for field_name, attr, given in (("firstName", "first_name", first), ("lastName", "last_name", last)):
        if given is None:
            continue
        try:
            value = clean_name(given, field_name)
        except ValueError as exc:
            raise InvalidInput(400, message(400, detail=str(exc))) from exc
        old = getattr(profile, attr)
        if value != old:
            changes.append(FieldChange(field_name, "StandardField", old, value, source, account))
            setattr(profile, attr, value)
    return changes


async def update_status(uow: UnitOfWork, ctx: RequestContext, cmd: UpdateStatus) -> bool:
    """Set a customer's status label; returns whether it changed (only then an event)."""
    source, account = resolve_account(ctx.config, cmd.where)
    labels = ctx.config.status_labels
    label = next((x for x in labels if x.casefold() == (cmd.label or "").strip().casefold()), None)
    if label is None:
        raise InvalidInput(400, message(400, detail=f"label must be one of: {', '.join(labels)}."))
    reason = (cmd.reason or "").strip()
    if not reason:
        raise InvalidInput(400, message(400, detail="reason is required."))
    if len(reason) > 500:
        raise InvalidInput(400, message(400, detail="reason is longer than 500 characters."))
    config = ctx.config
    if label == config.deleted_label:
        raise InvalidInput(
            400,
            message(400, detail=f"'{label}' is set by the erasure; set '{config.pending_deletion_label}'."),
        )
    repo = CustomerRepository(uow.session)
    customer = await find_customer(repo, ctx, cmd.ref, source, account, lock=True)
    previous = customer.status_label
    if previous == config.deleted_label:
        raise InvalidInput(400, message(400, detail="The customer's personal data was erased."))
    if previous == label:
        return False
    now = utcnow()
    customer.status_label = label
    repo.touch(customer, ctx.actor.till_id, now)
    await uow.session.flush()
    if label == config.pending_deletion_label:
        await request_erasure(
            uow, ctx.org_id, customer.customer_id, reason, now, config.erasure_grace_seconds
        )
    elif previous == config.pending_deletion_label:
        await cancel_erasure(uow, ctx.org_id, customer.customer_id)
    change = FieldChange("status", "StandardField", previous, label, source, account)
    await record_changes(uow, ctx, customer.customer_id, "STATUS", [change], now)
    view = await load_view(uow, ctx, customer.customer_id)
    uow.record(
        CustomerUpdated(
            view, ctx.actor, source, account, now, ctx.request_id, (), StatusChange(previous, label, reason)
        )
    )
    return True
