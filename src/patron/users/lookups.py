"""The user namespace's lookups (docs/users.md, "Lookups"): the user's history (Get User
History, Get User History Latest, `last_activity`), Inquiry User(s) and Get User Group(s).

History is the one change log, `customer_change`, written by both APIs: each row (one
changed field, or one user record) is one `history[]` item, with the seed's entity codes.
A user-record change is a row of kind `USER_RECORD` (field type `UserRecord`) whose
field name is the record's kind and id (`address:123`) and whose values are the record as JSON
(`user_record_change` builds it); every value leaves through `sensitive.redact`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from patron.context import RequestContext
from patron.customers.domain import FieldChange, InvalidIdentifier, normalise_identifier, search_terms
from patron.db.uow import UnitOfWork
from patron.users import codes
from patron.users import lookups_repository as sql
from patron.users.sensitive import SensitiveInputError, check_country, redact
from patron.users.service import UserView, read_user

DATE_TIME = "%Y-%m-%dT%H:%M:%S"
USER_ENTITY = 7
# The seed's entity codes (004:L18838-19471, seed-004-rules.md 2.10); 17 and 18 are ours.
ENTITY_OF_KIND: dict[str, int] = {
    "address": 15,
    "addresses": 15,
    "bank_account": 16,
    "phone": 17,
    "credit_card": 18,
    "email": 19,
    "relationship": 23,
    "identification": 25,
    "document": 26,
    "personal_info": 29,
    "currency": 31,
    "external_auth": 36,
}
ENTITY_NAMES = {
    7: "User",
    15: "Address",
    16: "Bank Account",
    17: "Phone",
    18: "Credit Card",
    19: "Email",
    23: "Relationship",
    25: "Identification",
    26: "Document",
    29: "Personal Info",
    31: "Currency",
    36: "External Login",
}
# v2 field names of the customer record: their entity and the seed's name for the field.
# Every other v2 field (status, loyaltyType, extended and custom fields, enrollments,
# merges) is the user's own (entity 7) under its v2 name.
V2_FIELDS: dict[str, tuple[int, str]] = {
    "firstName": (29, "first_name"),
    "lastName": (29, "last_name"),
    "mobile": (17, "number"),
    "email": (19, "address"),
    "status": (USER_ENTITY, "status"),
    "loyaltyType": (USER_ENTITY, "loyalty_type"),
}
USER_RECORD_KIND = "USER_RECORD"
RECORD_KINDS = frozenset({USER_RECORD_KIND})
USER_RECORD_FIELD_TYPE = "UserRecord"
# activity_type: 1 the user created, 2 a value changed, 3 a record or value removed (ours),
# 4 a record or value added.
CREATED, UPDATED, REMOVED, ADDED = 1, 2, 3, 4
# by_entity: 3 a till (by_entity_id its id), 1 the system (the erasure pass, jobs).
BY_TILL, BY_SYSTEM = 3, 1
# entity_data: -1, or 5 for a status change (the seed's "Update ... Status", L19090).
NO_DATA, STATUS_DATA = -1, 5

HISTORY_PAGE = 100
INQUIRY_PAGE = 10
INQUIRY_MAX_PAGE = 100
# How many names or identifiers a search_term / first_name / last_name prefix may match.
INQUIRY_SCAN = 1000
# Users a dates-only inquiry may consider: a bounded range of the (org_id, created_at) index.
DATE_SCAN = 10_000
INQUIRY_SORTS = ("create_time", "update_time", "user_id")
GROUP_MEMBERS = 500


def user_record_change(
    kind: str,
    record_id: int,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    source: str,
    account: str,
) -> FieldChange:
    """The change-log row of one user record (for customers/history.py record_changes with
    kind USER_RECORD_KIND): field name `kind:record_id`, the record before and after as JSON (redacted)."""

    def text(value: dict[str, Any] | None) -> str | None:
        if value is None:
            return None
        return json.dumps(redact({kind: value})[kind], separators=(",", ":"), ensure_ascii=False, default=str)

    return FieldChange(f"{kind}:{record_id}", USER_RECORD_FIELD_TYPE, text(old), text(new), source, account)


@dataclass(frozen=True, slots=True)
class Entry:
    """One history item, without the clocks the answer states in the caller's zone."""

    id: int
    activity_type: int
    entity: int
    entity_id: int
    by_entity: int
    by_entity_id: int
    entity_data: int
    old_data: str
    new_data: str
    admin_notes: str
    original_source_id: str | None
    changed_at: datetime

    def short(self) -> dict[str, Any]:
        """The seed's `last_activity` form (004:L20320-20338)."""
        return {
            "entity": self.entity,
            "entity_id": self.entity_id,
            "entity_data": self.entity_data,
            "activity_type": self.activity_type,
            "notes": {"user_notes": "", "admin_notes": self.admin_notes},
            "update_date_utc": self.changed_at.astimezone(UTC).strftime(DATE_TIME),
        }


def _json_text(value: str | None, key: str, entity: int, record: bool) -> str:
    if value is None:
        return ""
    if record:
        return value  # already a record's JSON; redacted again below
    return json.dumps({key: value}, separators=(",", ":"), ensure_ascii=False)


def entry_of(customer_id: int, r: Any) -> Entry:
    """One customer_change row as a history item (redacted)."""
    change_id, kind, field_name, field_type, previous, current, till_id, request_id, changed_at = r[:9]
    record = kind in RECORD_KINDS or field_type == USER_RECORD_FIELD_TYPE
    entity_id = customer_id
    if record:
        record_kind, _, raw_id = str(field_name).partition(":")
        entity = ENTITY_OF_KIND.get(record_kind, USER_ENTITY)
        key = record_kind
        if raw_id.isdigit():
            entity_id = int(raw_id)
    else:
        entity, key = V2_FIELDS.get(field_name, (USER_ENTITY, field_name))
    if kind == "CREATE":
        activity = CREATED
    elif previous is None and current is not None:
        activity = ADDED
    elif current is None and previous is not None:
        activity = REMOVED
    else:
        activity = UPDATED
    name = ENTITY_NAMES.get(entity, "User")
    label = name if entity != USER_ENTITY or record else f"{name} {field_name}"
    notes = {
        CREATED: f"New User Created ({field_name})",
        ADDED: f"New User {label} Created",
        UPDATED: f"Update User {label}",
        REMOVED: f"User {label} Removed",
    }[activity]
    item = redact(
        {
            "entity": entity,
            "old_data": _json_text(previous, key, entity, record),
            "new_data": _json_text(current, key, entity, record),
        }
    )
    return Entry(
        int(change_id),
        activity,
        entity,
        entity_id,
        BY_TILL if till_id is not None else BY_SYSTEM,
        int(till_id) if till_id is not None else 0,
        STATUS_DATA if key == "status" else NO_DATA,
        item["old_data"],
        item["new_data"],
        notes,
        request_id,
        changed_at,
    )


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: int
    status_label: str
    created_at: datetime


async def _customer(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> Customer:
    row = await uow.tx.one(sql.CUSTOMER, org_id=ctx.org_id, customer_id=user_id)
    if row is None or row[0] is not None:
        raise codes.not_found(user_id)
    return Customer(user_id, row[1], row[2])


@dataclass(frozen=True, slots=True)
class HistoryPage:
    customer: Customer
    entries: list[Entry]


def page_bounds(start_index: int, page_size: int, maximum: int) -> None:
    if start_index < 1:
        raise codes.invalid("start_index must be 1 or more (the first item is 1).")
    if not 1 <= page_size <= maximum:
        raise codes.invalid(f"page_size must be from 1 to {maximum}.")


async def history(
    uow: UnitOfWork, ctx: RequestContext, user_id: int, start_index: int = 1, page_size: int = HISTORY_PAGE
) -> HistoryPage:
    """The user's change log, newest first, one page (start_index 1-based)."""
    page_bounds(start_index, page_size, HISTORY_PAGE)
    customer = await _customer(uow, ctx, user_id)
    rows = await uow.tx.all(
        sql.HISTORY, org_id=ctx.org_id, customer_id=user_id, limit=page_size, offset=start_index - 1
    )
    return HistoryPage(customer, [entry_of(user_id, r) for r in rows])


async def last_activity(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> dict[str, Any] | None:
    """The newest history entry of the user in the seed's short form, or None."""
    rows = await uow.tx.all(sql.HISTORY, org_id=ctx.org_id, customer_id=user_id, limit=1, offset=0)
    return entry_of(user_id, rows[0]).short() if rows else None


# Inquiry User(s) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inquiry:
    from_date: date
    to_date: date
    start_index: int = 1
    page_size: int = INQUIRY_PAGE
    sort_by: str = "create_time"
    descending: bool = True
    program_id: int | None = None
    user_id: int | None = None
    search_term: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    status: str | None = None
    currency: str | None = None
    archive: bool | None = None
    country_code: str | None = None
    original_source_id: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    user: UserView
    last_activity: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class InquiryPage:
    total: int
    users: list[Found]


def date_range(ctx: RequestContext, q: Inquiry) -> tuple[datetime, datetime]:
    """[from_date 00:00, to_date + 1 day 00:00) in the org's time zone, as UTC moments."""
    zone = ZoneInfo(ctx.config.timezone)
    low = datetime.combine(q.from_date, time(0), zone)
    high = datetime.combine(q.to_date + timedelta(days=1), time(0), zone)
    return low.astimezone(UTC), high.astimezone(UTC)


async def _by_term(
    uow: UnitOfWork, ctx: RequestContext, value: str, id_type: str | None, name: str
) -> set[int]:
    low = search_terms(value.strip())
    rows = await uow.tx.all(
        sql.BY_TERM, org_id=ctx.org_id, low=low, high=low + "\U0010ffff", scan=INQUIRY_SCAN + 1
    )
    if len(rows) > INQUIRY_SCAN:
        raise codes.invalid(f"{name} matches more than {INQUIRY_SCAN} names or identifiers; give more of it.")
    return {int(r[0]) for r in rows if id_type is None or r[1] == id_type}


async def _candidates(uow: UnitOfWork, ctx: RequestContext, q: Inquiry) -> set[int] | None:
    """The customers the narrowing filters allow (each through an index), intersected."""
    found: set[int] | None = None

    def narrow(ids: set[int]) -> None:
        nonlocal found
        found = ids if found is None else found & ids

    if q.user_id is not None:
        narrow({q.user_id})
    if q.email is not None:
        try:
            address = normalise_identifier("email", q.email, ctx.config)
        except InvalidIdentifier as exc:
            raise codes.invalid("email is not a valid email address.") from exc
        rows = await uow.tx.all(sql.BY_IDENTIFIER, org_id=ctx.org_id, id_type="email", value=address)
        narrow({int(r[0]) for r in rows})
    for term, id_type, name in (
        (q.search_term, None, "search_term"),
        (q.first_name, "firstName", "first_name"),
        (q.last_name, "lastName", "last_name"),
    ):
        if term is not None:
            narrow(await _by_term(uow, ctx, term, id_type, name))
    return found


async def inquire(uow: UnitOfWork, ctx: RequestContext, q: Inquiry) -> InquiryPage:
    """The users the filters select, created within the dates, one sorted page of them."""
    page_bounds(q.start_index, q.page_size, INQUIRY_MAX_PAGE)
    if q.from_date > q.to_date:
        raise codes.invalid("from_date is after to_date.")
    candidates = await _candidates(uow, ctx, q)
    low, high = date_range(ctx, q)
    if candidates is None:
        # Dates alone: a range of the (org_id, created_at) index, bounded.
        rows = await uow.tx.all(sql.BY_CREATED, org_id=ctx.org_id, low=low, high=high, scan=DATE_SCAN + 1)
        if len(rows) > DATE_SCAN:
            raise codes.invalid(
                f"more than {DATE_SCAN} users were created between from_date and to_date; "
                "narrow the dates or add a filter."
            )
        candidates = {int(r[0]) for r in rows}
    if q.program_id is not None and q.program_id != ctx.org_id:
        candidates = set()
    ids = sorted(candidates)
    if not ids:
        return InquiryPage(0, [])
    gone = (ctx.config.pending_deletion_label, ctx.config.deleted_label)
    kept: list[tuple[int, datetime, datetime]] = []
    for r in await uow.tx.all(sql.CUSTOMERS, org_id=ctx.org_id, ids=ids):
        cid, label, merged, created, updated = int(r[0]), r[1], r[2], r[3], r[4]
        archived = label in gone
        if merged is not None or not low <= created < high:
            continue
        if q.archive is not None and archived != q.archive:
            continue
        if q.status is not None and q.status != ("-1" if archived else "1"):
            continue
        kept.append((cid, created, updated))
    ids = [k[0] for k in kept]
    if ids and q.currency is not None:
        rows = await uow.tx.all(sql.RECORDS_OF_KIND, org_id=ctx.org_id, ids=ids, kind="currency")
        ok = {int(r[0]) for r in rows if str(_data(r[1]).get("code", "")).upper() == q.currency}
        kept = [k for k in kept if k[0] in ok]
    if kept and q.country_code is not None:
        rows = await uow.tx.all(sql.RECORDS_OF_KIND, org_id=ctx.org_id, ids=ids, kind="address")
        ok = {int(r[0]) for r in rows if country_of(_data(r[1]).get("country_code")) == q.country_code}
        kept = [k for k in kept if k[0] in ok]
    if kept and q.original_source_id is not None:
        rows = await uow.tx.all(sql.RECORDS_WITH_SOURCE, org_id=ctx.org_id, ids=[k[0] for k in kept])
        ok = {int(r[0]) for r in rows if _data(r[1]).get("original_source_id") == q.original_source_id}
        kept = [k for k in kept if k[0] in ok]
    index = {"create_time": 1, "update_time": 2, "user_id": 0}[q.sort_by]
    kept.sort(key=lambda k: (k[index], k[0]), reverse=q.descending)
    start = q.start_index - 1
    page = kept[start : start + q.page_size]
    users = []
    for cid, _, _ in page:
        user = await read_user(uow, ctx, cid)
        users.append(Found(user, await last_activity(uow, ctx, cid)))
    return InquiryPage(len(kept), users)


def _data(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def country_of(raw: Any) -> str | None:
    """A country code in the stored form (ISO 3166 numeric), or None when it is none."""
    if raw is None or raw == "":
        return None
    try:
        return check_country(raw)
    except SensitiveInputError:  # a stored value of another shape matches nothing
        return None


# Get User Group(s) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    customer_id: int
    role: str
    joined_at: datetime | None
    name: str | None


@dataclass(frozen=True, slots=True)
class GroupView:
    group_id: int
    name: str
    hierarchy_code: str
    group_program_id: int | None
    primary_customer_id: int
    loyalty_points: int
    lifetime_points: int
    created_at: datetime
    updated_at: datetime
    members: list[Member]


@dataclass(frozen=True, slots=True)
class Groups:
    customer: Customer
    groups: list[GroupView]


async def groups(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> Groups:
    """The groups the user heads or belongs to, with their members (the primary first)."""
    customer = await _customer(uow, ctx, user_id)
    headed = await uow.tx.all(sql.GROUPS_HEADED, org_id=ctx.org_id, customer_id=user_id)
    joined = await uow.tx.all(sql.GROUPS_JOINED, org_id=ctx.org_id, customer_id=user_id)
    rows = sorted({int(r[0]): r for r in [*headed, *joined]}.values(), key=lambda r: int(r[0]))
    if not rows:
        return Groups(customer, [])
    group_ids = [int(r[0]) for r in rows]
    members: dict[int, list[tuple[int, str, datetime | None]]] = {
        int(r[0]): [(int(r[4]), r[5] or "", None)] for r in rows
    }
    for m in await uow.tx.all(sql.MEMBERS, org_id=ctx.org_id, ids=group_ids, limit=GROUP_MEMBERS):
        members[int(m[0])].append((int(m[1]), m[2] or "", m[3]))
    people = sorted({cid for ms in members.values() for cid, _, _ in ms})
    names: dict[int, str] = {}
    source = ctx.config.user_source
    for p in sorted(
        await uow.tx.all(sql.PROFILES, org_id=ctx.org_id, ids=people),
        key=lambda p: (p[1] != source, p[1], p[2]),
    ):
        full = f"{p[3]} {p[4]}".strip()
        if full and int(p[0]) not in names:
            names[int(p[0])] = full
    return Groups(
        customer,
        [
            GroupView(
                int(r[0]),
                r[1],
                r[2],
                None if r[3] is None else int(r[3]),
                int(r[4]),
                int(r[6] or 0),
                int(r[7] or 0),
                r[8],
                r[9],
                [Member(cid, role, joined, names.get(cid)) for cid, role, joined in members[int(r[0])]],
            )
            for r in rows
        ],
    )
