"""The user namespace's changes to a user (docs/users.md, "Core changes"): security (hashes
only), personal info (names through the customers service), emails and phones (through
change_identifiers, so customerUpdated fires with updatedFields) and their user_record rows.

Secrets arrive here already hashed: the adapter checks and hashes them on the CPU pool
before the unit of work opens (users/sensitive.py hash_secret), so a transaction never
waits on argon2id and nothing unhashed reaches this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from patron.context import RequestContext
from patron.customers.cards import series_names
from patron.customers.commands import (
    ChangeIdentifiers,
    CustomerRef,
    IdentifierInput,
    ProfileInput,
    SourceAccount,
    UpdateCustomer,
)
from patron.customers.domain import FieldChange
from patron.customers.history import record_changes
from patron.customers.identifiers import CHANGE_CODES, change_identifiers
from patron.customers.inputs import clean_identifier
from patron.customers.service import update as update_customer
from patron.customers.views import ProfileView, TillRef
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.errors import NotFound, PatronError, RuleViolation
from patron.events.domain import CustomerUpdated
from patron.users import codes
from patron.users.lookups import USER_RECORD_FIELD_TYPE, USER_RECORD_KIND, user_record_change
from patron.users.profile import AddressInput, set_preferences, set_primary_address
from patron.users.records import UserRecord, UserRecords
from patron.users.sensitive import WIPED
from patron.users.service import ACTIVE, Identified, UserView, read_user, user_account

_UPDATE = Q(
    "UPDATE user_record SET status = :status, verification_status = :verification_status,"
    " is_primary = :is_primary, data = :data, updated_at = :updated_at"
    " WHERE org_id = :org_id AND customer_id = :customer_id AND record_id = :record_id"
)
_DELETE = Q(
    "DELETE FROM user_record WHERE org_id = :org_id AND customer_id = :customer_id AND record_id = :record_id"
)

# The secret fields of the security record (their argon2id hashes are what `data` holds).
SECRET_FIELDS = ("password", "security_code", "secret_answer_1", "secret_answer_2")
QUESTION_FIELDS = ("secret_question_1", "secret_question_2")
# personal_info fields kept in the user record (the names are the profile's).
PERSONAL_FIELDS = ("title", "nick_name", "job_title", "gender", "date_of_birth", "photo")
_IDENT_TYPE = {"email": "email", "phone": "mobile"}


@dataclass(frozen=True, slots=True)
class SecurityInput:
    """Security as hashes (argon2id) and question ids; None: not given (kept as stored)."""

    password: str | None = None
    security_code: str | None = None
    secret_question_1: str | None = None
    secret_answer_1: str | None = None
    secret_question_2: str | None = None
    secret_answer_2: str | None = None
    status: int | None = None

    def given(self) -> dict[str, str]:
        return {k: v for k in (*SECRET_FIELDS, *QUESTION_FIELDS) if (v := getattr(self, k)) is not None}


@dataclass(frozen=True, slots=True)
class PersonalInfoInput:
    """The names (None: unchanged) and the other personal_info fields given."""

    first_name: str | None = None
    last_name: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContactInput:
    """An email (`value` its address) or phone (`value` its number) of a request.
    None: not given. `id` names the row on update and delete."""

    id: int | None = None
    value: str | None = None
    type: int | None = None
    country_code: str | None = None
    is_primary: bool | None = None
    status: int | None = None
    custom_field: dict[str, Any] | None = None
    path: str = ""


@dataclass(frozen=True, slots=True)
class UpdateUser:
    user_id: int
    personal_info: PersonalInfoInput | None = None
    security: SecurityInput | None = None
    emails: tuple[ContactInput, ...] = ()
    phones: tuple[ContactInput, ...] = ()
    source_id: str | None = None
    # The main address and the preferences, as users/profile.py takes them.
    address: AddressInput | None = None
    preferences: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The user after a change, and the rows the change touched (for answers that show
    only those: Create/Update/Delete User Email and Phone)."""

    user: UserView
    touched: list[Identified] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)


def security_data(previous: dict[str, Any] | None, given: SecurityInput) -> dict[str, Any]:
    data = dict(previous or {})
    data.update(given.given())
    data.setdefault("trust_level", "0")
    return data


def render_security(rec: UserRecord | None) -> dict[str, Any] | None:
    """Get User Security's object (004:L20564-20710): the question ids as stored, every
    secret Wiped ("____" when held, null when not); no signup code is ever held."""
    if rec is None:
        return None
    d = rec.data

    def wiped(key: str) -> str | None:
        return WIPED if d.get(key) else None

    return {
        "trust_level": str(d.get("trust_level", "0")),
        "password": wiped("password"),
        "security_code": wiped("security_code"),
        "signup_code": None,
        "secret_question_1": d.get("secret_question_1"),
        "secret_answer_1": wiped("secret_answer_1"),
        "secret_question_2": d.get("secret_question_2"),
        "secret_answer_2": wiped("secret_answer_2"),
    }


async def _write_row(uow: UnitOfWork, ctx: RequestContext, user_id: int, rec: UserRecord) -> None:
    await uow.tx.later(
        _UPDATE,
        org_id=ctx.org_id,
        customer_id=user_id,
        record_id=rec.record_id,
        status=rec.status,
        verification_status=rec.verification_status,
        is_primary=rec.is_primary,
        data=rec.data,
        updated_at=rec.updated_at,
    )


def _shown(rec: UserRecord | None) -> dict[str, Any] | None:
    if rec is None:
        return None
    flags = {"is_primary": int(rec.is_primary), "status": rec.status}
    return {**rec.data, **flags, "verification_status": rec.verification_status}


def record_change(old: UserRecord | None, new: UserRecord | None, source: str, account: str) -> FieldChange:
    """One user record's change-log row in the lookups' form (kind USER_RECORD_KIND, field
    `kind:record_id`, the record before and after as redacted JSON: secrets "____")."""
    rec = new or old
    assert rec is not None
    return user_record_change(rec.kind, rec.record_id, _shown(old), _shown(new), source, account)


async def _log(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, changes: list[FieldChange], now: datetime
) -> None:
    await record_changes(uow, ctx, user_id, USER_RECORD_KIND, changes, now)


async def _raise_updated(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, changes: list[FieldChange], now: datetime
) -> None:
    """customerUpdated for a customer change kept in user records (personal info, an
    email's or phone's attributes): the same event v2's changes raise."""
    if not changes:
        return
    view = await uow.customers.view(ctx.org_id, user_id, series_names(ctx.config))
    if view is None:  # pragma: no cover - read_user found it in this transaction
        raise codes.not_found(user_id)
    source, account = user_account(ctx)
    uow.record(CustomerUpdated(view, ctx.actor, source, account, now, ctx.request_id, tuple(changes)))


# --- security ---------------------------------------------------------------------------


async def _set_security(
    uow: UnitOfWork,
    ctx: RequestContext,
    user: UserView,
    given: SecurityInput,
    source_id: str | None,
    now: datetime,
) -> UserRecord:
    repo = UserRecords(uow.tx)
    old = user.single("security")
    data = security_data(old.data if old else None, given)
    status = given.status if given.status is not None else (old.status if old else ACTIVE)
    source, account = user_account(ctx)
    if old is None:
        (rid,) = await repo.new_ids(1)
        rec = UserRecord(
            rid, "security", status, 0, False, {**data, "original_source_id": source_id}, None, now, now
        )
        await repo.insert(ctx.org_id, user.user_id, [rec], ctx.actor.till_id)
    else:
        rec = replace(old, status=status, data=data, updated_at=now)
        await _write_row(uow, ctx, user.user_id, rec)
    await _log(uow, ctx, user.user_id, [record_change(old, rec, source, account)], now)
    if given.password is not None:
        await _raise_updated(uow, ctx, user.user_id, [password_change(old, rec, source, account)], now)
    return rec


def password_change(old: UserRecord | None, new: UserRecord, source: str, account: str) -> FieldChange:
    """customerUpdated's updatedFields entry of a password change: it names the field
    (`security:<record id>.password`, fieldType UserRecord) and never carries a secret or a
    hash: the values are Wiped ("____" when a password is held, null when none was)."""
    before = WIPED if old is not None and old.data.get("password") else None
    return FieldChange(
        f"security:{new.record_id}.password", USER_RECORD_FIELD_TYPE, before, WIPED, source, account
    )


async def update_security(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, given: SecurityInput
) -> UserView:
    """Update User Security: the given secrets' new hashes (and question ids) replace the
    stored ones; the rest stay. Recorded in the change log with every secret as "____"; a
    new password raises customerUpdated (`password_change`, no secret in it)."""
    user = await read_user(uow, ctx, user_id)
    rec = await _set_security(uow, ctx, user, given, None, utcnow())
    return _with_records(user, [rec])


def _with_records(user: UserView, records: list[UserRecord]) -> UserView:
    """The user with these records in place of the ones of the same id (or added)."""
    ids = {r.record_id for r in records}
    return replace(user, records=[*(r for r in user.records if r.record_id not in ids), *records])


# --- personal info ------------------------------------------------------------------------


async def _set_personal_info(
    uow: UnitOfWork,
    ctx: RequestContext,
    user: UserView,
    given: PersonalInfoInput,
    source_id: str | None,
    now: datetime,
) -> UserView:
    source, account = user_account(ctx)
    first = given.first_name if given.first_name is not None and given.first_name != user.first_name else None
    last = given.last_name if given.last_name is not None and given.last_name != user.last_name else None
    if first is not None or last is not None:
        await _ensure_profile(uow, ctx, user.user_id, source, account, now)
        await update_customer(
            uow,
            ctx,
            UpdateCustomer(
                CustomerRef(customer_id=user.user_id),
                SourceAccount(source, account or None),
                profile=ProfileInput(source, account or None, first, last),
            ),
        )
        user = replace(
            user,
            first_name=first if first is not None else user.first_name,
            last_name=last if last is not None else user.last_name,
        )
    old = user.single("personal_info")
    before = old.data if old else {}
    changed = {k: v for k, v in given.fields.items() if k in PERSONAL_FIELDS and before.get(k) != v}
    if not changed:
        return user
    repo = UserRecords(uow.tx)
    if old is None:
        (rid,) = await repo.new_ids(1)
        rec = UserRecord(
            rid,
            "personal_info",
            ACTIVE,
            0,
            False,
            {**changed, "original_source_id": source_id},
            None,
            now,
            now,
        )
        await repo.insert(ctx.org_id, user.user_id, [rec], ctx.actor.till_id)
    else:
        rec = replace(old, data={**before, **changed}, updated_at=now)
        await _write_row(uow, ctx, user.user_id, rec)
    changes = [record_change(old, rec, source, account)]
    await _log(uow, ctx, user.user_id, changes, now)
    await _raise_updated(uow, ctx, user.user_id, changes, now)
    return _with_records(user, [rec])


async def _ensure_profile(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, source: str, account: str, now: datetime
) -> None:
    """The first write through the user namespace adds the userSource profile (a customer
    registered through v2 may lack it)."""
    view = await uow.customers.view(ctx.org_id, user_id, series_names(ctx.config))
    if view is None or view.profile(source, account) is not None:
        return
    till = TillRef(ctx.actor.till_id, ctx.actor.code, ctx.actor.name)
    await uow.customers.insert_profiles(
        ctx.org_id, user_id, [ProfileView(source, account, "", "", [], [], now, now, till, till)]
    )
    await uow.flush()


async def update_personal_info(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, given: PersonalInfoInput
) -> UserView:
    """Update User Personal Info: names through the customers service (customerUpdated,
    history PROFILE), the other fields in the personal_info record (history
    USER_PERSONAL_INFO, customerUpdated with those fields)."""
    user = await read_user(uow, ctx, user_id)
    return await _set_personal_info(uow, ctx, user, given, None, utcnow())


# --- emails and phones --------------------------------------------------------------------


def _clean(ctx: RequestContext, kind: str, item: ContactInput) -> str:
    try:
        return clean_identifier(
            IdentifierInput(_IDENT_TYPE[kind], item.value), ctx.config, CHANGE_CODES
        ).value
    except PatronError as exc:
        name = "address" if kind == "email" else "number"
        raise codes.invalid(
            f"{item.path}.{name} is not a valid {'email address' if kind == 'email' else 'phone number'}."
        ) from exc


async def _check_free(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, kind: str, values: dict[str, str]
) -> None:
    """An address or number held by another customer is a conflict naming the field (the
    user namespace never merges two people, as v2's identifier change would)."""
    id_type = _IDENT_TYPE[kind]
    holders = await uow.customers.holders(ctx.org_id, [(id_type, v) for v in values.values()])
    for h in holders:
        if h.customer_id != user_id:
            path = next(p for p, v in values.items() if v == h.value)
            raise codes.conflict(f"{path} is held by another user.")


def _refuse_pending(ctx: RequestContext) -> None:
    if ctx.config.identifier_change_approval:
        raise RuleViolation(
            int(codes.REFUSED.code),
            detail="This program approves identifier changes: request them through the v2 change requests.",
        )


def _set_rows(user: UserView, kind: str, rows: list[Identified]) -> UserView:
    return replace(user, emails=rows) if kind == "email" else replace(user, phones=rows)


def _rows(user: UserView, kind: str) -> list[Identified]:
    return user.emails if kind == "email" else user.phones


def _data_for(kind: str, item: ContactInput, value: str, source_id: str | None) -> dict[str, Any]:
    if kind == "email":
        assert item.value is not None
        return {
            "address": item.value.strip(),
            "type": item.type or 0,
            "custom_field": item.custom_field,
            "original_source_id": source_id,
        }
    return {
        "type": item.type if item.type is not None else 1,
        "country_code": item.country_code,
        "number": value,
        "custom_field": item.custom_field,
        "original_source_id": source_id,
    }


async def add_contacts(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    kind: str,
    items: tuple[ContactInput, ...],
    source_id: str | None,
) -> Outcome:
    """Create User Email / Phone: the values become identifiers of the user profile
    (change_identifiers: customerUpdated, history IDENTIFIER) with their rows. One primary:
    a new primary takes it from the old one; a user's first gets it."""
    _refuse_pending(ctx)
    user = await read_user(uow, ctx, user_id)
    values: dict[str, str] = {}
    for item in items:
        value = _clean(ctx, kind, item)
        name = f"{item.path}.{'address' if kind == 'email' else 'number'}"
        if value in values.values():
            raise codes.invalid(f"{name} is given twice.")
        if any(i.value == value for i in _rows(user, kind)):
            raise codes.conflict(f"{name} is already this user's.")
        values[name] = value
    primaries = [i for i in items if i.is_primary]
    if len(primaries) > 1:
        raise codes.invalid(f"{kind}: only one can be primary.")
    await _check_free(uow, ctx, user_id, kind, values)
    source, account = user_account(ctx)
    adds = tuple(IdentifierInput(_IDENT_TYPE[kind], v) for v in values.values())
    await change_identifiers(
        uow, ctx, ChangeIdentifiers(user_id, SourceAccount(source, account or None), add=adds)
    )
    now = utcnow()
    repo = UserRecords(uow.tx)
    ids = iter(await repo.new_ids(len(items)))
    existing = _rows(user, kind)
    has_primary = any(i.record.is_primary for i in existing)
    made: list[Identified] = []
    for index, (item, value) in enumerate(zip(items, values.values(), strict=True)):
        primary = bool(item.is_primary) or (not has_primary and not primaries and index == 0)
        rec = UserRecord(
            next(ids),
            kind,
            item.status if item.status is not None else ACTIVE,
            0,
            primary,
            _data_for(kind, item, value, source_id),
            None,
            now,
            now,
        )
        made.append(Identified(value, rec))
    await repo.insert(ctx.org_id, user_id, [m.record for m in made], ctx.actor.till_id)
    rest = existing
    if primaries:
        changes: list[FieldChange] = []
        rest = await _demote(uow, ctx, user_id, existing, now, changes)
        await _log(uow, ctx, user_id, changes, now)
    user = _set_rows(user, kind, [*rest, *made])
    return Outcome(user, made)


async def _demote(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    rows: list[Identified],
    now: datetime,
    changes: list[FieldChange],
) -> list[Identified]:
    """The other rows' primary flag off (one primary per kind), each logged."""
    source, account = user_account(ctx)
    out = []
    for i in rows:
        if i.record.is_primary:
            after = replace(i.record, is_primary=False, updated_at=now)
            await _write_row(uow, ctx, user_id, after)
            changes.append(record_change(i.record, after, source, account))
            i = Identified(i.value, after)
        out.append(i)
    return out


def _by_id(user: UserView, kind: str, items: tuple[ContactInput, ...]) -> list[Identified]:
    rows = {i.record.record_id: i for i in _rows(user, kind)}
    found: list[Identified] = []
    for item in items:
        if item.id is None:
            raise codes.missing(f"{item.path}.id")
        row = rows.get(item.id)
        if row is None:
            raise NotFound(int(codes.NOT_FOUND.code), f"{item.path}.id: the user has no {kind} {item.id}.")
        if any(f.record.record_id == item.id for f in found):
            raise codes.invalid(f"{item.path}.id {item.id} is given twice.")
        found.append(row)
    return found


async def update_contacts(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, kind: str, items: tuple[ContactInput, ...]
) -> Outcome:
    user = await read_user(uow, ctx, user_id)
    return await _update_contacts(uow, ctx, user, kind, items, utcnow())


async def _update_contacts(
    uow: UnitOfWork,
    ctx: RequestContext,
    user: UserView,
    kind: str,
    items: tuple[ContactInput, ...],
    now: datetime,
) -> Outcome:
    """Update User Email / Phone by id: a new address or number replaces the identifier
    (change_identifiers: customerUpdated) and resets verification_status to 0; type,
    status, country code and primary are the row's (history USER_EMAIL / USER_PHONE and
    customerUpdated). Exactly one primary: making one primary takes it from the other; a
    primary cannot be made non-primary (make another one primary instead)."""
    if not items:
        return Outcome(user)
    rows = _by_id(user, kind, items)
    uid = user.user_id
    source, account = user_account(ctx)
    primaries = [i for i in items if i.is_primary]
    if len(primaries) > 1:
        raise codes.invalid(f"{kind}: only one can be primary.")
    new_values: dict[str, str] = {}
    for item, row in zip(items, rows, strict=True):
        if item.is_primary is False and row.record.is_primary:
            raise RuleViolation(
                int(codes.REFUSED.code),
                detail=f"{item.path}.is_primary: a user keeps one primary {kind}; "
                "make another one primary instead.",
            )
        if item.value is not None:
            value = _clean(ctx, kind, item)
            if value != row.value:
                name = f"{item.path}.{'address' if kind == 'email' else 'number'}"
                if value in new_values.values() or any(
                    i.value == value
                    for i in _rows(user, kind)
                    if i.record.record_id not in {r.record.record_id for r in rows}
                ):
                    raise codes.conflict(f"{name} is already this user's.")
                new_values[name] = value
    if new_values:
        _refuse_pending(ctx)
        await _check_free(uow, ctx, uid, kind, new_values)
    replaced = {
        row.record.record_id: _clean(ctx, kind, item)
        for item, row in zip(items, rows, strict=True)
        if item.value is not None and _clean(ctx, kind, item) != row.value
    }
    if replaced:
        id_type = _IDENT_TYPE[kind]
        await change_identifiers(
            uow,
            ctx,
            ChangeIdentifiers(
                uid,
                SourceAccount(source, account or None),
                add=tuple(IdentifierInput(id_type, v) for v in replaced.values()),
                remove=tuple(
                    IdentifierInput(id_type, r.value) for r in rows if r.record.record_id in replaced
                ),
            ),
        )
    changes: list[FieldChange] = []
    touched: list[Identified] = []
    for item, row in zip(items, rows, strict=True):
        rec = row.record
        value = row.value
        data = dict(rec.data)
        verification = rec.verification_status
        if rec.record_id in replaced:
            value = replaced[rec.record_id]
            if kind == "email":
                assert item.value is not None
                data["address"] = item.value.strip()
            else:
                data["number"] = value
            verification = 0
        for key, new in (
            ("type", item.type),
            ("country_code", item.country_code if kind == "phone" else None),
        ):
            if new is not None and data.get(key) != new:
                data[key] = new
        status = rec.status
        if item.status is not None and item.status != status:
            status = item.status
        primary = rec.is_primary or bool(item.is_primary)
        new_rec = replace(
            rec,
            data=data,
            status=status,
            verification_status=verification,
            is_primary=primary,
            updated_at=now,
        )
        if new_rec != rec:
            await _write_row(uow, ctx, uid, new_rec)
            if _shown(new_rec) != _shown(rec):
                changes.append(record_change(rec, new_rec, source, account))
        touched.append(Identified(value, new_rec))
    done = {t.record.record_id: t for t in touched}
    others = [i for i in _rows(user, kind) if i.record.record_id not in done]
    if primaries:
        others = await _demote(uow, ctx, uid, others, now, changes)
    await _log(uow, ctx, uid, changes, now)
    await _raise_updated(uow, ctx, uid, changes, now)
    merged = sorted([*others, *touched], key=lambda i: i.record.record_id)
    user = _set_rows(user, kind, merged)
    return Outcome(user, touched)


async def delete_contacts(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, kind: str, items: tuple[ContactInput, ...]
) -> Outcome:
    """Delete User Email / Phone by id: the identifiers leave the profile
    (change_identifiers: customerUpdated) and their rows go. Deleting the primary promotes
    the remaining one with the lowest id (the oldest); the user's last one may go unless the
    customers service keeps it (a loyalty customer's primary identifier type)."""
    _refuse_pending(ctx)
    user = await read_user(uow, ctx, user_id)
    rows = _by_id(user, kind, items)
    source, account = user_account(ctx)
    id_type = _IDENT_TYPE[kind]
    await change_identifiers(
        uow,
        ctx,
        ChangeIdentifiers(
            user_id,
            SourceAccount(source, account or None),
            remove=tuple(IdentifierInput(id_type, r.value) for r in rows),
        ),
    )
    gone = {r.record.record_id for r in rows}
    for rid in sorted(gone):
        await uow.tx.later(_DELETE, org_id=ctx.org_id, customer_id=user_id, record_id=rid)
    rest = [i for i in _rows(user, kind) if i.record.record_id not in gone]
    now = utcnow()
    if rest and any(r.record.is_primary for r in rows):
        first = rest[0]
        promoted = Identified(first.value, replace(first.record, is_primary=True, updated_at=now))
        await _write_row(uow, ctx, user_id, promoted.record)
        rest = [promoted, *rest[1:]]
        await _log(uow, ctx, user_id, [record_change(first.record, promoted.record, source, account)], now)
    user = _set_rows(user, kind, rest)
    return Outcome(user, deleted=sorted(gone))


# --- Update User --------------------------------------------------------------------------


async def update_user(uow: UnitOfWork, ctx: RequestContext, cmd: UpdateUser) -> UserView:
    """Update User: personal info, emails and phones by id, the main address and the
    preferences (users/profile.py), security, in one unit of work (all or nothing), each
    as its own operation does it."""
    user = await read_user(uow, ctx, cmd.user_id)
    now = utcnow()
    if cmd.personal_info is not None:
        user = await _set_personal_info(uow, ctx, user, cmd.personal_info, cmd.source_id, now)
    if cmd.emails:
        user = (await _update_contacts(uow, ctx, user, "email", cmd.emails, now)).user
    if cmd.phones:
        user = (await _update_contacts(uow, ctx, user, "phone", cmd.phones, now)).user
    if cmd.address is not None:
        rec = await set_primary_address(uow, ctx, user.user_id, user.records, cmd.address, now, cmd.source_id)
        user = _with_records(user, [rec])
    if cmd.preferences is not None:
        rec = await set_preferences(uow, ctx, user.user_id, user.records, cmd.preferences, now)
        user = _with_records(user, [rec])
    if cmd.security is not None:
        rec = await _set_security(uow, ctx, user, cmd.security, cmd.source_id, now)
        user = _with_records(user, [rec])
    return user
