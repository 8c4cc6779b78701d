"""A user's relationships and external logins (seed 004): Create / Update / Delete / Get User
Relationship and Add / Update / Delete / Get User External Auth.

Both are `user_record` rows (kinds `relationship` and `external_auth`), every change a row of
the one change log (users/documents.record_user_change; entity codes 23 and 36). These are
not customer changes: they raise no customerUpdated.

- A relationship ties the user (entity 7, the path's user) to `on_entity`/`on_entity_id`.
  When `on_entity` is 7 the other user must exist in the same org (and not be the user);
  other entities (75 organization in the seed) are kept as given. `type`, `status` and
  `verification_status` are small integers whose meanings the seed leaves open: kept as
  given, within the field table's ranges. A user has one relationship per (on_entity,
  on_entity_id, type).
- An external login is `login_id` (the field table's X41: 1-25 digits) of a `type` (0-9),
  one per (type, login_id) in an org. `token` is sealed at rest and never answered.
  `validate: "1"` checks everything and writes nothing (the seed's Add sample answers id 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from patron.context import RequestContext
from patron.customers.cards import series_names
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.errors import NotFound
from patron.users import codes, sensitive
from patron.users import service as users
from patron.users.documents import record_user_change, records_of
from patron.users.fields import FieldError, validate_object
from patron.users.records import UserRecord, UserRecords
from patron.webhooks.secrets import SecretBox

Method = Literal["POST", "PUT", "DELETE"]
RELATIONSHIP = "relationship"
EXTERNAL_AUTH = "external_auth"
USER_ENTITY = 7
MAX_ITEMS = 20
MAX_PER_USER = 200

_UPDATE = Q(
    "UPDATE user_record SET status = :status, verification_status = :verification_status,"
    " data = :data, sealed = :sealed, updated_at = :updated_at"
    " WHERE org_id = :org_id AND record_id = :record_id AND customer_id = :customer_id AND kind = :kind"
)
_DELETE = Q(
    "DELETE FROM user_record WHERE org_id = :org_id AND record_id = :record_id"
    " AND customer_id = :customer_id AND kind = :kind"
)
# The org's external logins: bounded by the org (the primary key's prefix); see the report.
_ORG_LOGINS = Q(
    "SELECT customer_id, record_id, data FROM user_record WHERE org_id = :org_id AND kind = :kind"
)


@dataclass(frozen=True, slots=True)
class Person:
    """What a relationship shows of a user: name, an email and a phone."""

    name: str
    email: str
    phone: str


def _phone(value: str) -> str:
    return "+" + value if value.isdigit() else value


async def person(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> Person | None:
    view = await uow.customers.view(ctx.org_id, user_id, series_names(ctx.config))
    if view is None or view.merged_into_id is not None:
        return None
    source, account = users.user_account(ctx)
    profile = view.profile(source, account) or (view.profiles[0] if view.profiles else None)
    if profile is None:
        return Person("", "", "")
    email = next((i.value for i in profile.identifiers if i.type == "email"), "")
    phone = next((i.value for i in profile.identifiers if i.type == "mobile"), "")
    return Person(f"{profile.first_name} {profile.last_name}".strip(), email, _phone(phone) if phone else "")


def user_person(user: users.UserView) -> Person:
    email = next((e for e in user.emails if e.record.is_primary), user.emails[0] if user.emails else None)
    phone = next((p for p in user.phones if p.record.is_primary), user.phones[0] if user.phones else None)
    return Person(
        f"{user.first_name} {user.last_name}".strip(),
        "" if email is None else str(email.record.data.get("address") or email.value),
        "" if phone is None else _phone(phone.value),
    )


@dataclass(frozen=True, slots=True)
class Related:
    """A relationship as answered: its row and the people on both sides (None when deleted)."""

    record: UserRecord
    deleted: bool = False
    on_person: Person | None = None


@dataclass(frozen=True, slots=True)
class Relationships:
    user: users.UserView
    me: Person
    items: list[Related]


def check_items(key: str, items: Any, method: Method) -> list[dict[str, Any]]:
    """The request's array checked by the seed's field table (names the failing field)."""
    if not isinstance(items, list) or not items:
        raise FieldError(key, "must be a non-empty array", missing=items is None)
    if len(items) > MAX_ITEMS:
        raise FieldError(key, f"at most {MAX_ITEMS} items at once")
    out = []
    for i, item in enumerate(items):
        checked = dict(validate_object(key, item, method=method, path=f"{key}[{i}]"))
        if method != "POST" and checked.get("id") in (None, 0):
            raise FieldError(f"{key}[{i}].id", "is required", missing=True)
        out.append(checked)
    ids = [c["id"] for c in out if method != "POST"]
    if len(set(ids)) != len(ids):
        raise FieldError(f"{key}.id", "names a record twice")
    return out


async def _hold(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> users.UserView:
    core = await uow.customers.core(ctx.org_id, user_id, lock=True)
    if core is None or core.merged_into_id is not None:
        raise codes.not_found(user_id)
    return await users.read_user(uow, ctx, user_id)


def _mine(records: Sequence[UserRecord], items: Sequence[Mapping[str, Any]], key: str, user_id: int) -> None:
    ids = {r.record_id for r in records}
    for i, item in enumerate(items):
        if item["id"] not in ids:
            raise NotFound(
                int(codes.NOT_FOUND.code), f"{key}[{i}].id: no {key} {item['id']} of user {user_id}."
            )


def _history(rec: UserRecord) -> dict[str, Any]:
    return {
        "id": rec.record_id,
        **rec.data,
        "status": rec.status,
        "verification_status": rec.verification_status,
    }


# Relationships ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeRelationships:
    user_id: int
    method: Method
    items: tuple[dict[str, Any], ...]
    source_id: str | None = None


async def change_relationships(
    uow: UnitOfWork, ctx: RequestContext, cmd: ChangeRelationships
) -> Relationships:
    """Create, update or delete the user's relationships, all or nothing."""
    user = await _hold(uow, ctx, cmd.user_id)
    now = utcnow()
    mine = await records_of(uow, ctx.org_id, cmd.user_id, RELATIONSHIP)
    by_id = {r.record_id: r for r in mine}
    out: list[Related] = []
    if cmd.method == "POST":
        planned: list[tuple[dict[str, Any], int, int, Person | None]] = []
        seen = {(r.data.get("on_entity"), r.data.get("on_entity_id"), r.data.get("type")) for r in mine}
        for i, item in enumerate(cmd.items):
            where = f"relationship[{i}]"
            if item.get("entity") not in (None, USER_ENTITY):
                raise FieldError(f"{where}.entity", f"must be {USER_ENTITY} (the user of the path)")
            if item.get("entity_id") not in (None, 0, cmd.user_id):
                raise FieldError(f"{where}.entity_id", f"must be the path's user {cmd.user_id}")
            for name in ("on_entity", "on_entity_id", "type"):
                if item.get(name) is None:
                    raise FieldError(f"{where}.{name}", "is required", missing=True)
            on_entity, on_id = item["on_entity"], item["on_entity_id"]
            other: Person | None = None
            if on_entity == USER_ENTITY:
                if on_id == cmd.user_id:
                    raise FieldError(f"{where}.on_entity_id", "is the user itself")
                other = await person(uow, ctx, on_id)
                if other is None:
                    raise NotFound(
                        int(codes.NOT_FOUND.code), f"{where}.on_entity_id: no user {on_id} in this program."
                    )
            key = (on_entity, on_id, item["type"])
            if key in seen:
                raise codes.conflict(f"{where}: the user already has this relationship.")
            seen.add(key)
            data = {
                "entity": USER_ENTITY,
                "entity_id": cmd.user_id,
                "on_entity": on_entity,
                "on_entity_id": on_id,
                "type": item["type"],
                "order": 0,
                "original_source_id": cmd.source_id,
                "custom_field": _pairs(item.get("custom_field")),
            }
            planned.append((data, item.get("status", 1) or 0, item.get("verification_status") or 0, other))
        if len(mine) + len(planned) > MAX_PER_USER:
            raise codes.invalid(f"A user holds at most {MAX_PER_USER} relationships.")
        ids = await UserRecords(uow.tx).new_ids(len(planned))
        made = [
            UserRecord(rid, RELATIONSHIP, status, verification, False, data, None, now, now)
            for rid, (data, status, verification, _) in zip(ids, planned, strict=True)
        ]
        await UserRecords(uow.tx).insert(ctx.org_id, cmd.user_id, made, ctx.actor.till_id)
        for rec, (_, _, _, other) in zip(made, planned, strict=True):
            await record_user_change(
                uow, ctx, cmd.user_id, RELATIONSHIP, rec.record_id, None, _history(rec), now
            )
            out.append(Related(rec, on_person=other))
        return Relationships(user, user_person(user), out)
    _mine(mine, cmd.items, RELATIONSHIP, cmd.user_id)
    for item in cmd.items:
        old = by_id[item["id"]]
        if cmd.method == "DELETE":
            await uow.tx.run(
                _DELETE,
                org_id=ctx.org_id,
                record_id=old.record_id,
                customer_id=cmd.user_id,
                kind=RELATIONSHIP,
            )
            await record_user_change(
                uow, ctx, cmd.user_id, RELATIONSHIP, old.record_id, _history(old), None, now
            )
            out.append(Related(old, deleted=True))
            continue
        data = dict(old.data)
        if item.get("type") is not None:
            data["type"] = item["type"]
        if "custom_field" in item:
            data["custom_field"] = _pairs(item.get("custom_field"))
        new = replace(
            old,
            status=old.status if item.get("status") is None else item["status"],
            verification_status=old.verification_status
            if item.get("verification_status") is None
            else item["verification_status"],
            data=data,
            updated_at=now,
        )
        await uow.tx.run(
            _UPDATE,
            org_id=ctx.org_id,
            record_id=new.record_id,
            customer_id=cmd.user_id,
            kind=RELATIONSHIP,
            status=new.status,
            verification_status=new.verification_status,
            data=new.data,
            sealed=new.sealed,
            updated_at=now,
        )
        await record_user_change(
            uow, ctx, cmd.user_id, RELATIONSHIP, new.record_id, _history(old), _history(new), now
        )
        out.append(Related(new, on_person=await _on_person(uow, ctx, new)))
    return Relationships(user, user_person(user), out)


def _pairs(custom: Any) -> list[list[Any]] | None:
    if custom is None:
        return None
    if not isinstance(custom, Mapping) or len(custom) > 50:
        raise FieldError("custom_field", "must be an object of at most 50 fields")
    return [[str(k), v] for k, v in custom.items()]


async def _on_person(uow: UnitOfWork, ctx: RequestContext, rec: UserRecord) -> Person | None:
    if rec.data.get("on_entity") != USER_ENTITY:
        return None
    return await person(uow, ctx, int(rec.data["on_entity_id"]))


async def relationships(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> Relationships:
    """Get User Relationship: every relationship of the user, oldest first."""
    user = await users.read_user(uow, ctx, user_id)
    rows = await records_of(uow, ctx.org_id, user_id, RELATIONSHIP)
    return Relationships(
        user, user_person(user), [Related(r, on_person=await _on_person(uow, ctx, r)) for r in rows]
    )


# External logins ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeExternalAuth:
    user_id: int
    method: Method
    items: tuple[dict[str, Any], ...]
    box: SecretBox
    dry_run: bool = False
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class ExternalLogins:
    user: users.UserView
    items: list[Related]
    dry_run: bool = False


async def change_external_auth(
    uow: UnitOfWork, ctx: RequestContext, cmd: ChangeExternalAuth
) -> ExternalLogins:
    """Add, update or delete the user's external logins, all or nothing; with `dry_run`
    (validate "1") every check runs and nothing is written."""
    user = await _hold(uow, ctx, cmd.user_id)
    now = utcnow()
    mine = await records_of(uow, ctx.org_id, cmd.user_id, EXTERNAL_AUTH)
    by_id = {r.record_id: r for r in mine}
    out: list[Related] = []
    write = not cmd.dry_run
    if cmd.method == "POST":
        taken = {
            (r[2].get("type"), r[2].get("login_id")): r[0]
            for r in await uow.tx.all(_ORG_LOGINS, org_id=ctx.org_id, kind=EXTERNAL_AUTH)
        }
        if len(mine) + len(cmd.items) > MAX_PER_USER:
            raise codes.invalid(f"A user holds at most {MAX_PER_USER} external logins.")
        planned = []
        for i, item in enumerate(cmd.items):
            key = (item["type"], item["login_id"])
            if key in taken:
                raise codes.conflict(
                    f"external_auth[{i}].login_id: this login of type {item['type']} is already linked"
                    + (" to this user." if taken[key] == cmd.user_id else " to another user.")
                )
            taken[key] = cmd.user_id
            planned.append(item)
        ids = await UserRecords(uow.tx).new_ids(len(planned)) if write else [0] * len(planned)
        made = []
        for rid, item in zip(ids, planned, strict=True):
            data = {
                "login_id": item["login_id"],
                "type": item["type"],
                "has_token": item.get("token") is not None,
                "original_source_id": cmd.source_id,
                "custom_field": _pairs(item.get("custom_field")),
            }
            token = item.get("token")
            sealed = (
                sensitive.seal(cmd.box, ctx.org_id, EXTERNAL_AUTH, rid, str(token))
                if token and write
                else None
            )
            status = 1 if item.get("status") is None else item["status"]
            made.append(UserRecord(rid, EXTERNAL_AUTH, status, 1, False, data, sealed, now, now))
        if write:
            await UserRecords(uow.tx).insert(ctx.org_id, cmd.user_id, made, ctx.actor.till_id)
            for rec in made:
                await record_user_change(
                    uow, ctx, cmd.user_id, EXTERNAL_AUTH, rec.record_id, None, _history(rec), now
                )
        return ExternalLogins(user, [Related(r) for r in made], cmd.dry_run)
    _mine(mine, cmd.items, EXTERNAL_AUTH, cmd.user_id)
    for item in cmd.items:
        old = by_id[item["id"]]
        if cmd.method == "DELETE":
            if write:
                await uow.tx.run(
                    _DELETE,
                    org_id=ctx.org_id,
                    record_id=old.record_id,
                    customer_id=cmd.user_id,
                    kind=EXTERNAL_AUTH,
                )
                await record_user_change(
                    uow, ctx, cmd.user_id, EXTERNAL_AUTH, old.record_id, _history(old), None, now
                )
            out.append(Related(old, deleted=True))
            continue
        sealed = old.sealed
        data = dict(old.data)
        if item.get("token") is not None:
            sealed = sensitive.seal(cmd.box, ctx.org_id, EXTERNAL_AUTH, old.record_id, str(item["token"]))
            data["has_token"] = True
        new = replace(
            old,
            status=old.status if item.get("status") is None else item["status"],
            verification_status=old.verification_status
            if item.get("verification_status") is None
            else item["verification_status"],
            data=data,
            sealed=sealed,
            updated_at=now,
        )
        if write:
            await uow.tx.run(
                _UPDATE,
                org_id=ctx.org_id,
                record_id=new.record_id,
                customer_id=cmd.user_id,
                kind=EXTERNAL_AUTH,
                status=new.status,
                verification_status=new.verification_status,
                data=new.data,
                sealed=new.sealed,
                updated_at=now,
            )
            await record_user_change(
                uow, ctx, cmd.user_id, EXTERNAL_AUTH, new.record_id, _history(old), _history(new), now
            )
        out.append(Related(new))
    return ExternalLogins(user, out, cmd.dry_run)


async def external_logins(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> ExternalLogins:
    """Get User External Auth: every external login of the user, oldest first."""
    user = await users.read_user(uow, ctx, user_id)
    rows = await records_of(uow, ctx.org_id, user_id, EXTERNAL_AUTH)
    return ExternalLogins(user, [Related(r) for r in rows])
