"""The user's profile records (seed 004): addresses, preferences, currencies, custom fields
and terms and conditions, each a `user_record` row of the user (docs/users.md, "Profile
records").

- **Addresses** (kind `address`): any number; exactly one is primary (the `address{}` the
  seed answers beside `addresses[]`). Countries are ISO 3166, kept as the seed shows them
  (the three-digit numeric string). `status` and `verification_status` are the server's:
  a new address is unverified (0), and changing one makes it unverified again.
- **Preferences** (kind `preferences`): one per user, the seed's flags as "0"/"1" strings.
- **Currencies** (kind `currency`): ISO 4217, one record per code, exactly one primary.
- **Custom fields** (kind `custom_field`): one per user, ordered `[name, value]` pairs
  (JSONB keeps no key order); a write merges into them.
- **Terms and conditions** (kind `terms_conditions`): written by Create User, read here.

Every change is a row of the one change log (customers/history.py `record_changes`), read
by Get User History, as users/lookups.py `user_record_change` writes it: `kind` USER,
`field_name` "<record kind>:<record id>", the values the record's JSON before (none when
created) and after (none when deleted).
None of these records is a name, email, phone or personal info, so they raise no
customerUpdated (docs/users.md).

The functions taking `(uow, ctx, user_id, existing, ..., now)` are the building blocks
Create User and Update User can call with the records they already hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from patron.context import RequestContext
from patron.customers.history import record_changes
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.users import codes
from patron.users.lookups import USER_RECORD_KIND, user_record_change
from patron.users.records import UserRecord, UserRecords
from patron.users.service import ACTIVE, UserView, read_user, user_account

ADDRESS = "address"
CURRENCY = "currency"
PREFERENCES = "preferences"
CUSTOM_FIELD = "custom_field"
TERMS = "terms_conditions"

# The history `entity` of each record kind (users/lookups.py ENTITY_OF_KIND): the seed's
# 15 address and 31 currency (L19144, L18928); the one-per-user parts the seed never shows
# in history (preferences, custom fields, terms) are the user's own, 7.
ENTITY_CODES = {ADDRESS: 15, CURRENCY: 31, PREFERENCES: 7, CUSTOM_FIELD: 7, TERMS: 7}
CREATED, UPDATED, DELETED = "Created", "Updated", "Deleted"

# The address fields a client sets, in the seed's order (L3889-3907).
ADDRESS_FIELDS = (
    "type",
    "is_billing",
    "address_line1",
    "address_line2",
    "postal_zip_code",
    "country_code",
    "state_region",
    "city_town",
)
# Required when an address is made (the `addresses` table's POST letters, L473-498).
ADDRESS_REQUIRED = ("address_line1", "postal_zip_code", "country_code")
PREFERENCE_FLAGS = (
    "enable_facebook_account",
    "enable_promotion_notification",
    "enable_email_notification",
    "enable_sms_notification",
    "enable_push_notification",
    "enable_device_authentication",
)
MAX_ADDRESSES = 20
MAX_CURRENCIES = 20
MAX_CUSTOM_FIELDS = 50

_UPDATE = Q(
    "UPDATE user_record SET status = :status, verification_status = :verification_status,"
    " is_primary = :is_primary, data = :data, updated_at = :updated_at, till_id = :till_id"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND record_id = :record_id"
)
_DELETE = Q(
    "DELETE FROM user_record WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND record_id IN (:record_ids*)"
)
_OWNERS = Q(
    "SELECT record_id, customer_id FROM user_record WHERE org_id = :org_id AND kind = :kind"
    " AND record_id IN (:record_ids*)"
)


# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressInput:
    """One address as the client gave it: `fields` holds only the keys sent (None clears an
    optional one); `id` names the record on an update; `is_primary` None when not sent."""

    fields: dict[str, Any]
    id: int | None = None
    is_primary: bool | None = None
    custom_field: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AddAddresses:
    user_id: int
    items: tuple[AddressInput, ...]
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdatePrimaryAddress:
    user_id: int
    item: AddressInput
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateAddresses:
    user_id: int
    items: tuple[AddressInput, ...]


@dataclass(frozen=True, slots=True)
class DeleteRecords:
    user_id: int
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SetPreferences:
    user_id: int
    # Only the keys sent: preferred_language_code (BCP 47 case), the flags ("0"/"1"),
    # time_zone ("UTC ±hh:mm"); None clears one.
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CurrencyInput:
    code: str | None = None  # ISO 4217 alpha-3
    number: str | None = None  # its numeric code
    id: int | None = None
    is_primary: bool | None = None


@dataclass(frozen=True, slots=True)
class AddCurrencies:
    user_id: int
    items: tuple[CurrencyInput, ...]


@dataclass(frozen=True, slots=True)
class UpdateCurrencies:
    """Update Currency names records only (`currency[{id, is_primary}]`, no user id)."""

    items: tuple[CurrencyInput, ...]


@dataclass(frozen=True, slots=True)
class MergeCustomFields:
    user_id: int
    fields: dict[str, Any]  # a None value removes the field


@dataclass(frozen=True, slots=True)
class Changed:
    """The user (for `info`) and the records the operation wrote or removed."""

    user: UserView
    records: list[UserRecord] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


# --- records of the user -------------------------------------------------------------------


def addresses_of(records: Sequence[UserRecord]) -> list[UserRecord]:
    """The user's addresses, the primary first, then by age."""
    rows = sorted((r for r in records if r.kind == ADDRESS), key=lambda r: r.record_id)
    main = primary_address(rows)
    return [main, *(r for r in rows if r is not main)] if main else rows


def primary_address(records: Sequence[UserRecord]) -> UserRecord | None:
    """The user's main address: the one marked primary, else the oldest (an address written
    as Create User's single `address{}` before the mark existed)."""
    rows = sorted((r for r in records if r.kind == ADDRESS), key=lambda r: r.record_id)
    return next((r for r in rows if r.is_primary), rows[0] if rows else None)


def currencies_of(records: Sequence[UserRecord]) -> list[UserRecord]:
    return sorted((r for r in records if r.kind == CURRENCY), key=lambda r: r.record_id)


def single(records: Sequence[UserRecord], kind: str) -> UserRecord | None:
    return next((r for r in records if r.kind == kind), None)


def custom_pairs(record: UserRecord | None) -> list[list[Any]]:
    return [list(p) for p in (record.data.get("fields") or [])] if record else []


async def _hold(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> UserView:
    """The user, held for the transaction (two writers never both make a primary)."""
    if not await uow.tx.lock_row("customer", ctx.org_id, "customer_id", user_id):
        raise codes.not_found(user_id)
    return await read_user(uow, ctx, user_id)


def _record_value(rec: UserRecord) -> dict[str, Any]:
    """A record as the change log keeps it (the history's old_data / new_data): its id, its
    plain fields and its marks."""
    return {
        "id": rec.record_id,
        **rec.data,
        "is_primary": int(rec.is_primary),
        "status": rec.status,
        "verification_status": rec.verification_status,
    }


async def log_changes(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    changes: Sequence[tuple[str, UserRecord | None, UserRecord | None]],
    now: datetime,
) -> None:
    """One change-log row per record, (action, before, after), in the convention of
    users/lookups.py (`user_record_change`, kind USER): Get User History reads them."""
    source, account = user_account(ctx)
    rows = []
    for _action, old, new in changes:
        rec = new or old
        assert rec is not None
        rows.append(
            user_record_change(
                rec.kind,
                rec.record_id,
                _record_value(old) if old else None,
                _record_value(new) if new else None,
                source,
                account,
            )
        )
    await record_changes(uow, ctx, user_id, USER_RECORD_KIND, rows, now)


async def _save(uow: UnitOfWork, ctx: RequestContext, user_id: int, rec: UserRecord) -> None:
    await uow.tx.run(
        _UPDATE,
        org_id=ctx.org_id,
        customer_id=user_id,
        record_id=rec.record_id,
        status=rec.status,
        verification_status=rec.verification_status,
        is_primary=rec.is_primary,
        data=rec.data,
        updated_at=rec.updated_at,
        till_id=ctx.actor.till_id,
    )


def _demote(
    existing: Sequence[UserRecord], kind: str, keep: set[int], now: datetime
) -> list[tuple[UserRecord, UserRecord]]:
    """(before, after) of every record of `kind` marked primary and not in `keep`."""
    return [
        (r, replace(r, is_primary=False, updated_at=now))
        for r in existing
        if r.kind == kind and r.is_primary and r.record_id not in keep
    ]


# --- addresses -----------------------------------------------------------------------------


def _address_data(item: AddressInput, base: dict[str, Any], source_id: str | None) -> dict[str, Any]:
    data = {k: base.get(k) for k in ADDRESS_FIELDS}
    data.update({k: v for k, v in item.fields.items() if k in ADDRESS_FIELDS})
    data["type"] = data["type"] if data["type"] is not None else 0
    data["is_billing"] = data["is_billing"] if data["is_billing"] is not None else 0
    if item.custom_field is not None:
        data["custom_field"] = [[k, v] for k, v in item.custom_field.items()]
    elif "custom_field" in base:
        data["custom_field"] = base["custom_field"]
    origin = base.get("original_source_id") if "original_source_id" in base else source_id
    data["original_source_id"] = origin
    return data


def _check_address(data: dict[str, Any], where: str) -> None:
    for name in ADDRESS_REQUIRED:
        if data.get(name) in (None, ""):
            raise codes.missing(f"{where}.{name}")


async def add_addresses(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    existing: Sequence[UserRecord],
    items: Sequence[AddressInput],
    now: datetime,
    source_id: str | None = None,
) -> list[UserRecord]:
    """New addresses of the user (unverified). One marked primary becomes the user's main
    address; a user's first address is primary whether marked or not."""
    marked = [i for i, item in enumerate(items) if item.is_primary]
    if len(marked) > 1:
        raise codes.invalid("addresses: only one address can be primary.")
    have = [r for r in existing if r.kind == ADDRESS]
    if len(have) + len(items) > MAX_ADDRESSES:
        raise codes.refused(f"addresses: a user has at most {MAX_ADDRESSES} addresses.")
    first = marked[0] if marked else (0 if not have else None)
    datas = []
    for index, item in enumerate(items):
        data = _address_data(item, {}, source_id)
        _check_address(data, f"addresses[{index}]")
        datas.append(data)
    ids = await UserRecords(uow.tx).new_ids(len(items))
    made = [
        UserRecord(rid, ADDRESS, ACTIVE, 0, index == first, data, None, now, now)
        for index, (rid, data) in enumerate(zip(ids, datas, strict=True))
    ]
    changes: list[tuple[str, UserRecord | None, UserRecord | None]] = []
    if first is not None:
        for before, after in _demote(existing, ADDRESS, set(), now):
            await _save(uow, ctx, user_id, after)
            changes.append((UPDATED, before, after))
    await UserRecords(uow.tx).insert(ctx.org_id, user_id, made, ctx.actor.till_id)
    changes += [(CREATED, None, rec) for rec in made]
    await log_changes(uow, ctx, user_id, changes, now)
    return made


def _changed_address(old: UserRecord, data: dict[str, Any], now: datetime, primary: bool) -> UserRecord:
    moved = any(old.data.get(k) != data.get(k) for k in ADDRESS_FIELDS)
    return replace(
        old,
        data=data,
        is_primary=primary,
        verification_status=0 if moved else old.verification_status,
        updated_at=now,
    )


async def set_primary_address(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    existing: Sequence[UserRecord],
    item: AddressInput,
    now: datetime,
    source_id: str | None = None,
) -> UserRecord:
    """Update the user's main address with the fields given (Update User Address's single
    `address{}`, Update User's `address`); a user without one gets it as a new address."""
    main = primary_address(existing)
    if main is None:
        made = await add_addresses(
            uow, ctx, user_id, existing, [replace(item, is_primary=True)], now, source_id
        )
        return made[0]
    data = _address_data(item, main.data, source_id)
    _check_address(data, "address")
    after = _changed_address(main, data, now, True)
    await _save(uow, ctx, user_id, after)
    await log_changes(uow, ctx, user_id, [(UPDATED, main, after)], now)
    return after


async def update_addresses_by_id(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    existing: Sequence[UserRecord],
    items: Sequence[AddressInput],
    now: datetime,
) -> list[UserRecord]:
    """Update addresses named by id (`addresses[{id, ...}]`): all of them or none."""
    by_id = {r.record_id: r for r in existing if r.kind == ADDRESS}
    seen: set[int] = set()
    for item in items:
        if item.id is None:
            raise codes.missing("addresses[].id")
        if item.id in seen:
            raise codes.invalid(f"addresses: address {item.id} is given twice.")
        seen.add(item.id)
        if item.id not in by_id:
            raise codes.record_not_found("address", item.id)
    promoted = [item.id for item in items if item.is_primary and item.id is not None]
    if len(promoted) > 1:
        raise codes.invalid("addresses: only one address can be primary.")
    main = primary_address(existing)
    demoted = {item.id for item in items if item.is_primary is False}
    if not promoted and main is not None and main.record_id in demoted:
        raise codes.refused(
            "addresses: a user keeps exactly one primary address; make another one primary instead."
        )
    changes: list[tuple[str, UserRecord | None, UserRecord | None]] = []
    out: list[UserRecord] = []
    for index, item in enumerate(items):
        assert item.id is not None
        old = by_id[item.id]
        data = _address_data(item, old.data, None)
        _check_address(data, f"addresses[{index}]")
        primary = bool(item.is_primary) or (old is main and not promoted)
        after = _changed_address(old, data, now, primary)
        out.append(after)
        changes.append((UPDATED, old, after))
    if promoted:
        for before, after in _demote(existing, ADDRESS, set(promoted), now):
            if before.record_id in seen:
                continue
            changes.append((UPDATED, before, after))
            await _save(uow, ctx, user_id, after)
    for rec in out:
        await _save(uow, ctx, user_id, rec)
    await log_changes(uow, ctx, user_id, changes, now)
    return out


async def delete_addresses(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    existing: Sequence[UserRecord],
    ids: Sequence[int],
    now: datetime,
) -> list[int]:
    """Remove addresses by id, all or none; when the main one goes, the oldest left becomes
    primary."""
    by_id = {r.record_id: r for r in existing if r.kind == ADDRESS}
    if len(set(ids)) != len(ids):
        raise codes.invalid("addresses: an id is given twice.")
    for rid in ids:
        if rid not in by_id:
            raise codes.record_not_found("address", rid)
    main = primary_address(existing)
    await uow.tx.run(_DELETE, org_id=ctx.org_id, customer_id=user_id, record_ids=list(ids))
    changes: list[tuple[str, UserRecord | None, UserRecord | None]] = [
        (DELETED, by_id[rid], None) for rid in ids
    ]
    if main is not None and main.record_id in ids:
        left = sorted((r for r in by_id.values() if r.record_id not in ids), key=lambda r: r.record_id)
        if left:
            after = replace(left[0], is_primary=True, updated_at=now)
            await _save(uow, ctx, user_id, after)
            changes.append((UPDATED, left[0], after))
    await log_changes(uow, ctx, user_id, changes, now)
    return list(ids)


async def create_addresses(uow: UnitOfWork, ctx: RequestContext, cmd: AddAddresses) -> Changed:
    """Create User Address."""
    if not cmd.items:
        raise codes.missing("addresses")
    user = await _hold(uow, ctx, cmd.user_id)
    made = await add_addresses(uow, ctx, cmd.user_id, user.records, cmd.items, utcnow(), cmd.source_id)
    return Changed(user, made)


async def update_primary_address(uow: UnitOfWork, ctx: RequestContext, cmd: UpdatePrimaryAddress) -> Changed:
    """Update User Address with the single `address{}` (seed-004-rules.md 1.2 G7, #38)."""
    user = await _hold(uow, ctx, cmd.user_id)
    rec = await set_primary_address(uow, ctx, cmd.user_id, user.records, cmd.item, utcnow(), cmd.source_id)
    return Changed(user, [rec])


async def update_addresses(uow: UnitOfWork, ctx: RequestContext, cmd: UpdateAddresses) -> Changed:
    """Update User Address with `addresses[{id, ...}]` (G7, #39 "new approach")."""
    if not cmd.items:
        raise codes.missing("addresses")
    user = await _hold(uow, ctx, cmd.user_id)
    out = await update_addresses_by_id(uow, ctx, cmd.user_id, user.records, cmd.items, utcnow())
    return Changed(user, out)


async def remove_addresses(uow: UnitOfWork, ctx: RequestContext, cmd: DeleteRecords) -> Changed:
    """Delete User Address."""
    if not cmd.ids:
        raise codes.missing("addresses[].id")
    user = await _hold(uow, ctx, cmd.user_id)
    gone = await delete_addresses(uow, ctx, cmd.user_id, user.records, cmd.ids, utcnow())
    return Changed(user, removed=gone)


# --- preferences ---------------------------------------------------------------------------


async def set_preferences(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    existing: Sequence[UserRecord],
    fields: dict[str, Any],
    now: datetime,
) -> UserRecord:
    """Merge the preferences given (checked by the adapter) into the user's one record."""
    old = single(existing, PREFERENCES)
    keys = ("preferred_language_code", *PREFERENCE_FLAGS, "time_zone")
    data = {k: (old.data.get(k) if old else None) for k in keys}
    data.update({k: v for k, v in fields.items() if k in keys})
    if old is None:
        rid = (await UserRecords(uow.tx).new_ids(1))[0]
        rec = UserRecord(rid, PREFERENCES, ACTIVE, 0, False, data, None, now, now)
        await UserRecords(uow.tx).insert(ctx.org_id, user_id, [rec], ctx.actor.till_id)
        await log_changes(uow, ctx, user_id, [(CREATED, None, rec)], now)
        return rec
    after = replace(old, data={**old.data, **data}, updated_at=now)
    await _save(uow, ctx, user_id, after)
    await log_changes(uow, ctx, user_id, [(UPDATED, old, after)], now)
    return after


async def update_preferences(uow: UnitOfWork, ctx: RequestContext, cmd: SetPreferences) -> Changed:
    """Update User Preferences."""
    user = await _hold(uow, ctx, cmd.user_id)
    rec = await set_preferences(uow, ctx, cmd.user_id, user.records, cmd.fields, utcnow())
    return Changed(user, [rec])


# --- currencies ----------------------------------------------------------------------------


async def add_currencies(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    existing: Sequence[UserRecord],
    items: Sequence[CurrencyInput],
    now: datetime,
) -> list[UserRecord]:
    """New currencies of the user; one marked primary becomes it, and a user's first
    currency is primary whether marked or not. A code the user has is a conflict."""
    have = {str(r.data.get("code")): r for r in existing if r.kind == CURRENCY}
    codes_given = [i.code for i in items]
    for index, item in enumerate(items):
        if not item.code:
            raise codes.missing(f"currency[{index}].code")
        if item.code in have:
            raise codes.conflict(f"currency[{index}].code: the user already has {item.code}.")
        if codes_given.count(item.code) > 1:
            raise codes.invalid(f"currency[{index}].code: {item.code} is given twice.")
    if len(have) + len(items) > MAX_CURRENCIES:
        raise codes.refused(f"currency: a user has at most {MAX_CURRENCIES} currencies.")
    marked = [i for i, item in enumerate(items) if item.is_primary]
    if len(marked) > 1:
        raise codes.invalid("currency: only one currency can be primary.")
    first = marked[0] if marked else (0 if not have else None)
    ids = await UserRecords(uow.tx).new_ids(len(items))
    made = [
        UserRecord(
            rid,
            CURRENCY,
            ACTIVE,
            0,
            index == first,
            {"code": item.code, "number": item.number},
            None,
            now,
            now,
        )
        for index, (rid, item) in enumerate(zip(ids, items, strict=True))
    ]
    changes: list[tuple[str, UserRecord | None, UserRecord | None]] = []
    if first is not None:
        for before, after in _demote(existing, CURRENCY, set(), now):
            await _save(uow, ctx, user_id, after)
            changes.append((UPDATED, before, after))
    await UserRecords(uow.tx).insert(ctx.org_id, user_id, made, ctx.actor.till_id)
    changes += [(CREATED, None, rec) for rec in made]
    await log_changes(uow, ctx, user_id, changes, now)
    return made


async def create_currencies(uow: UnitOfWork, ctx: RequestContext, cmd: AddCurrencies) -> Changed:
    """Create User Currency."""
    if not cmd.items:
        raise codes.missing("currency")
    user = await _hold(uow, ctx, cmd.user_id)
    made = await add_currencies(uow, ctx, cmd.user_id, user.records, cmd.items, utcnow())
    return Changed(user, made)


async def owner_of_currencies(uow: UnitOfWork, ctx: RequestContext, ids: Sequence[int]) -> int:
    """The user whose currency records these are (Update Currency names no user): each id
    must be a currency record of this org, all of one user."""
    rows = await uow.tx.all(_OWNERS, org_id=ctx.org_id, kind=CURRENCY, record_ids=list(ids))
    owners = {int(r[0]): int(r[1]) for r in rows}
    for rid in ids:
        if rid not in owners:
            raise codes.record_not_found("currency", rid)
    if len(set(owners.values())) > 1:
        raise codes.invalid(
            "currency: the records named belong to different users; send one user's at a time."
        )
    return next(iter(owners.values()))


async def update_currencies(uow: UnitOfWork, ctx: RequestContext, cmd: UpdateCurrencies) -> Changed:
    """Update Currency: mark a currency primary (the one primary moves) and/or change its
    code, all of the records named or none."""
    if not cmd.items:
        raise codes.missing("currency")
    ids = [item.id for item in cmd.items]
    if any(i is None for i in ids):
        raise codes.missing("currency[].id")
    named = [int(i) for i in ids if i is not None]
    if len(set(named)) != len(named):
        raise codes.invalid("currency: an id is given twice.")
    user_id = await owner_of_currencies(uow, ctx, named)
    user = await _hold(uow, ctx, user_id)
    now = utcnow()
    rows = currencies_of(user.records)
    by_id = {r.record_id: r for r in rows}
    for rid in named:
        if rid not in by_id:  # removed between the two reads
            raise codes.record_not_found("currency", rid)
    promoted = [item.id for item in cmd.items if item.is_primary]
    if len(promoted) > 1:
        raise codes.invalid("currency: only one currency can be primary.")
    main = next((r for r in rows if r.is_primary), None)
    if (
        not promoted
        and main is not None
        and any(item.id == main.record_id and item.is_primary is False for item in cmd.items)
    ):
        raise codes.refused(
            "currency: a user keeps exactly one primary currency; make another one primary instead."
        )
    held = {str(r.data.get("code")): r.record_id for r in rows}
    changes: list[tuple[str, UserRecord | None, UserRecord | None]] = []
    out: list[UserRecord] = []
    for index, item in enumerate(cmd.items):
        assert item.id is not None
        old = by_id[item.id]
        data = dict(old.data)
        if item.code and item.code != old.data.get("code"):
            if held.get(item.code, old.record_id) != old.record_id:
                raise codes.conflict(f"currency[{index}].code: the user already has {item.code}.")
            held.pop(str(old.data.get("code")), None)
            held[item.code] = old.record_id
            data.update(code=item.code, number=item.number)
        primary = bool(item.is_primary) or (old.is_primary and not promoted)
        after = replace(old, data=data, is_primary=primary, updated_at=now)
        out.append(after)
        changes.append((UPDATED, old, after))
    if promoted:
        for before, after in _demote(rows, CURRENCY, {int(p) for p in promoted if p is not None}, now):
            if before.record_id in by_id and before.record_id not in named:
                await _save(uow, ctx, user_id, after)
                changes.append((UPDATED, before, after))
    for rec in out:
        await _save(uow, ctx, user_id, rec)
    await log_changes(uow, ctx, user_id, changes, now)
    return Changed(user, out)


# --- custom fields -------------------------------------------------------------------------


async def merge_custom_fields(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    existing: Sequence[UserRecord],
    fields: dict[str, Any],
    now: datetime,
) -> UserRecord:
    """Merge fields into the user's custom fields: a known name takes the new value in its
    place, a new one is added at the end, a None value removes the name."""
    old = single(existing, CUSTOM_FIELD)
    pairs = custom_pairs(old)
    index = {str(p[0]): i for i, p in enumerate(pairs)}
    for name, value in fields.items():
        if name in index:
            pairs[index[name]][1] = value
        else:
            index[name] = len(pairs)
            pairs.append([name, value])
    pairs = [p for p in pairs if p[1] is not None]
    if len(pairs) > MAX_CUSTOM_FIELDS:
        raise codes.refused(f"custom_field: a user has at most {MAX_CUSTOM_FIELDS} custom fields.")
    if old is None:
        rid = (await UserRecords(uow.tx).new_ids(1))[0]
        rec = UserRecord(rid, CUSTOM_FIELD, ACTIVE, 0, False, {"fields": pairs}, None, now, now)
        await UserRecords(uow.tx).insert(ctx.org_id, user_id, [rec], ctx.actor.till_id)
        await log_changes(uow, ctx, user_id, [(CREATED, None, rec)], now)
        return rec
    after = replace(old, data={**old.data, "fields": pairs}, updated_at=now)
    await _save(uow, ctx, user_id, after)
    await log_changes(uow, ctx, user_id, [(UPDATED, old, after)], now)
    return after


async def add_custom_fields(uow: UnitOfWork, ctx: RequestContext, cmd: MergeCustomFields) -> Changed:
    """Create User Custom Field."""
    if not cmd.fields:
        raise codes.missing("custom_field")
    user = await _hold(uow, ctx, cmd.user_id)
    rec = await merge_custom_fields(uow, ctx, cmd.user_id, user.records, cmd.fields, utcnow())
    return Changed(user, [rec])
