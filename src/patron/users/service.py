"""The user namespace's use cases over the one customer record (docs/users.md).

A user is a customer: Create User registers through customers/register.py (the same
`RegisterCustomer`, so customerAdded, merges and codes are v2's), the names are the
user profile's (the org's `userSource`), emails and phones are that profile's `email` and
`mobile` identifiers, and what only the user namespace knows is `user_record` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pycountry

from patron.context import RequestContext
from patron.customers import catalog
from patron.customers.addressing import resolve_account
from patron.customers.cards import series_names
from patron.customers.commands import (
    CustomerRef,
    IdentifierInput,
    ProfileInput,
    RegisterCustomer,
    SourceAccount,
    UpdateStatus,
)
from patron.customers.register import apply_registration, plan_registration
from patron.customers.service import update_status
from patron.customers.views import CustomerView
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.users import codes
from patron.users.records import UserRecord, UserRecords

# Records of one per user (a later write replaces the row's data).
SINGLE_KINDS = (
    "personal_info",
    "address",
    "preferences",
    "terms_conditions",
    "geo_coordinates",
    "custom_field",
    "notation",
    "security",
    "two_factor",
)
ACTIVE = 1


@dataclass(frozen=True, slots=True)
class EmailInput:
    address: str
    type: int = 0
    is_primary: bool = False
    custom_field: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PhoneInput:
    number: str
    type: int = 1
    country_code: str | None = None
    is_primary: bool = False
    custom_field: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CreateUser:
    first_name: str | None
    last_name: str | None
    emails: tuple[EmailInput, ...]
    phones: tuple[PhoneInput, ...]
    # personal_info beyond the names, address, preferences, terms_conditions,
    # geo_coordinates, custom_field, notation: plain fields, checked by the adapter.
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    currencies: tuple[str, ...] = ()
    source_id: str | None = None
    # The security record's data: argon2id hashes and question ids (users/updates.py
    # security_data), hashed by the adapter before the unit of work opens.
    security: dict[str, Any] | None = None
    # identification[] as checked by users/finance.py check_items, sealed with `box`.
    identifications: tuple[dict[str, Any], ...] = ()
    box: Any = None


@dataclass(frozen=True, slots=True)
class Identified:
    """An email or phone of the user: the identifier's value and its user_record row."""

    value: str
    record: UserRecord


@dataclass(frozen=True, slots=True)
class UserView:
    user_id: int
    status_label: str
    created_at: datetime
    first_name: str
    last_name: str
    emails: list[Identified]
    phones: list[Identified]
    records: list[UserRecord]

    def single(self, kind: str) -> UserRecord | None:
        return next((r for r in self.records if r.kind == kind), None)

    def all_of(self, kind: str) -> list[UserRecord]:
        return [r for r in self.records if r.kind == kind]


def user_account(ctx: RequestContext) -> tuple[str, str]:
    """The user profile's source account: the org's userSource and its first account."""
    source = ctx.config.user_source
    accounts = ctx.config.sources.get(source)
    if accounts is None:
        raise codes.invalid(f"The org's userSource {source} is not an enabled source.")
    return resolve_account(ctx.config, SourceAccount(source, accounts[0] if accounts else None))


def currency_code(raw: str) -> str:
    code = raw.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise codes.invalid(f"currency.code '{raw}' is not an ISO 4217 currency.")
    return code


async def create_user(uow: UnitOfWork, ctx: RequestContext, cmd: CreateUser) -> UserView:
    """Register the person through the customers service, then keep the user records."""
    if not cmd.emails and not cmd.phones:
        raise codes.missing("email or phone")
    source, account = user_account(ctx)
    identifiers = tuple(IdentifierInput("email", e.address) for e in cmd.emails) + tuple(
        IdentifierInput("mobile", p.number) for p in cmd.phones
    )
    has_primary = ctx.config.primary_identifier in {i.type for i in identifiers}
    register = RegisterCustomer(
        loyalty_type=catalog.LOYALTY if has_primary else catalog.NON_LOYALTY,
        profiles=(ProfileInput(source, account, cmd.first_name or "", cmd.last_name or "", identifiers),),
    )
    plan = plan_registration(ctx, register)
    cleaned = {(i.raw.type, str(i.raw.value)): i.value for p in plan.profiles for i in p.identifiers}
    if len(cleaned) != len(identifiers):
        raise codes.invalid("email and phone: a value is given twice.")
    registered = await apply_registration(uow, ctx, plan)
    now = utcnow()
    repo = UserRecords(uow.tx)
    ids = iter(
        await repo.new_ids(len(cmd.emails) + len(cmd.phones) + len(cmd.sections) + len(cmd.currencies) + 1)
    )
    origin = {"original_source_id": cmd.source_id}
    emails, phones, records = [], [], []
    primary_email = next((i for i, e in enumerate(cmd.emails) if e.is_primary), 0)
    for index, e in enumerate(cmd.emails):
        value = cleaned[("email", e.address)]
        data = {"address": e.address.strip(), "type": e.type, "custom_field": e.custom_field, **origin}
        rec = UserRecord(next(ids), "email", ACTIVE, 0, index == primary_email, data, None, now, now)
        emails.append(Identified(value, rec))
    primary_phone = next((i for i, p in enumerate(cmd.phones) if p.is_primary), 0)
    for index, p in enumerate(cmd.phones):
        value = cleaned[("mobile", p.number)]
        data = {
            "type": p.type,
            "country_code": p.country_code,
            "number": value,
            "custom_field": p.custom_field,
            **origin,
        }
        rec = UserRecord(next(ids), "phone", ACTIVE, 0, index == primary_phone, data, None, now, now)
        phones.append(Identified(value, rec))
    for kind, fields in cmd.sections.items():
        records.append(UserRecord(next(ids), kind, ACTIVE, 0, False, {**fields, **origin}, None, now, now))
    for index, code in enumerate(cmd.currencies):
        data = {"code": code, "number": None}
        records.append(UserRecord(next(ids), "currency", ACTIVE, 0, index == 0, data, None, now, now))
    if cmd.security is not None:
        data = {**cmd.security, **origin}
        records.append(UserRecord(next(ids), "security", ACTIVE, 0, False, data, None, now, now))
    await repo.insert(
        ctx.org_id,
        registered.customer_id,
        [i.record for i in emails] + [i.record for i in phones] + records,
        ctx.actor.till_id,
    )
    if cmd.identifications:
        from patron.users import finance  # it builds on this module

        records += await finance.add_identifications(
            uow, ctx, registered.customer_id, cmd.identifications, cmd.box, now
        )
    return UserView(
        registered.customer_id,
        ctx.config.initial_status_label,
        now,
        cmd.first_name or "",
        cmd.last_name or "",
        emails,
        phones,
        records,
    )


def _profile_of(view: CustomerView, source: str, account: str) -> Any:
    return view.profile(source, account) or (view.profiles[0] if view.profiles else None)


async def read_user(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, *, provisional: bool = False
) -> UserView:
    """The user as stored; an email or phone with no user_record yet gets one (so its id
    is stable from then on): call in a writable unit of work when `missing_rows` says so.
    `provisional` reads it in a read-only unit of work instead: such an email or phone is
    shown with a record of id 0 that is not written (the data export)."""
    view = await uow.customers.view(ctx.org_id, user_id, series_names(ctx.config))
    if view is None or view.merged_into_id is not None:
        raise codes.not_found(user_id)
    source, account = user_account(ctx)
    profile = _profile_of(view, source, account)
    records = await UserRecords(uow.tx).of_customer(ctx.org_id, user_id)
    emails, phones, missing = _pair(profile, records)
    if missing:
        if not uow.writable and not provisional:
            raise _NeedsRows()
        now = utcnow()
        fresh = await UserRecords(uow.tx).new_ids(len(missing)) if uow.writable else [0] * len(missing)
        ids = iter(fresh)
        made: list[UserRecord] = []
        for kind, value in missing:
            first = not any(r.kind == kind for r in records) and not any(m.kind == kind for m in made)
            data: dict[str, Any] = {"type": 0 if kind == "email" else 1, "custom_field": None}
            data.update({"address": value} if kind == "email" else {"country_code": None, "number": value})
            made.append(UserRecord(next(ids), kind, ACTIVE, 0, first, data, None, now, now))
        if uow.writable:
            await UserRecords(uow.tx).insert(ctx.org_id, user_id, made, ctx.actor.till_id)
        records = records + made
        emails, phones, _ = _pair(profile, records)
    others = [r for r in records if r.kind not in ("email", "phone")]
    return UserView(
        user_id,
        view.status_label,
        view.created_at,
        profile.first_name if profile else "",
        profile.last_name if profile else "",
        emails,
        phones,
        others,
    )


class _NeedsRows(Exception):
    """A read found identifiers without their user_record rows (added through v2)."""


NeedsRows = _NeedsRows


def _pair(
    profile: Any, records: list[UserRecord]
) -> tuple[list[Identified], list[Identified], list[tuple[str, str]]]:
    """The profile's emails and mobiles with their rows (emails by case-folded address,
    phones by the number kept in the row), and the ones lacking a row."""
    by_email = {str(r.data.get("address", "")).casefold(): r for r in records if r.kind == "email"}
    phone_rows = [r for r in records if r.kind == "phone"]
    emails: list[Identified] = []
    phones: list[Identified] = []
    missing: list[tuple[str, str]] = []
    if profile is None:
        return emails, phones, missing
    for ident in profile.identifiers:
        if ident.type == "email":
            rec = by_email.get(ident.value.casefold())
            if rec is None:
                missing.append(("email", ident.value))
            else:
                emails.append(Identified(ident.value, rec))
        elif ident.type == "mobile":
            rec = next((r for r in phone_rows if r.data.get("number") == ident.value), None)
            if rec is None:
                missing.append(("phone", ident.value))
            else:
                phones.append(Identified(ident.value, rec))
    emails.sort(key=lambda i: i.record.record_id)
    phones.sort(key=lambda i: i.record.record_id)
    return emails, phones, missing


async def delete_user(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> UserView:
    """File the erasure of the person's data: v2's PII deletion (the org's pending-deletion
    label through update_status, then the erasure pass), which also wipes user_record."""
    user = await read_user(uow, ctx, user_id)
    source, account = user_account(ctx)
    if user.status_label in (ctx.config.pending_deletion_label, ctx.config.deleted_label):
        raise codes.conflict(f"User {user_id} is already being deleted.")
    await update_status(
        uow,
        ctx,
        UpdateStatus(
            CustomerRef(customer_id=user_id),
            SourceAccount(source, account or None),
            ctx.config.pending_deletion_label,
            "Delete User (user namespace)",
        ),
    )
    return UserView(
        user.user_id,
        ctx.config.pending_deletion_label,
        user.created_at,
        user.first_name,
        user.last_name,
        user.emails,
        user.phones,
        user.records,
    )
