"""Credit cards, bank accounts and identifications of a user (seed 004), and the user's
accounts: `user_record` rows whose numbers are sealed at rest and masked in answers
(docs/users.md, "Credit cards, bank accounts, identifications and accounts").

Each record keeps its plain fields in `data` (with the masked forms of its numbers, so an
answer that masks needs no key) and its numbers in `sealed` (`sensitive.seal_fields`, bound
to org, kind and record id). The CVV is checked and never kept. Every change is a row of the
one change log (`customer_change`, kind `USER_RECORD`, field_name `<kind>:<record id>`,
field_type `UserRecord`, the record before and after as masked JSON), so Get User History
shows it; these changes are not customer changes and raise no customerUpdated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from patron.context import RequestContext
from patron.customers.domain import FieldChange
from patron.customers.history import record_changes
from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.errors import NotFound
from patron.users import codes, sensitive
from patron.users.fields import FieldError, validate_object
from patron.users.lookups import USER_RECORD_KIND
from patron.users.records import UserRecord, UserRecords
from patron.users.sensitive import Reveal, SensitiveInputError
from patron.users.service import ACTIVE, UserView, read_user, user_account
from patron.webhooks.secrets import SecretBox

Kind = Literal["credit_card", "bank_account", "identification"]
Method = Literal["POST", "PUT", "DELETE"]
KINDS: tuple[Kind, ...] = ("credit_card", "bank_account", "identification")
# The history entity codes of docs/users.md (16 and 25 the seed's, 18 ours).
ENTITY: dict[str, int] = {"bank_account": 16, "credit_card": 18, "identification": 25}
HISTORY_KIND = USER_RECORD_KIND
HISTORY_FIELD_TYPE = "UserRecord"
MAX_ITEMS = 20

_UPDATE = Q(
    "UPDATE user_record SET status = :status, verification_status = :verification_status,"
    " is_primary = :is_primary, data = :data, sealed = :sealed, updated_at = :updated_at"
    " WHERE org_id = :org_id AND record_id = :record_id AND customer_id = :customer_id"
)
_DELETE = Q(
    "DELETE FROM user_record WHERE org_id = :org_id AND record_id = :record_id AND customer_id = :customer_id"
)


def history_field(kind: str, record_id: int) -> str:
    """The change log's field_name of a user record: `credit_card:18430` (its kind gives the
    entity code: ENTITY)."""
    return f"{kind}:{record_id}"


# ---------------------------------------------------------------------------------------
# Checking one item


def _refuse(exc: SensitiveInputError) -> FieldError:
    return FieldError(exc.field, exc.message)


def _check(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except SensitiveInputError as exc:
        raise _refuse(exc) from None


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None


@dataclass(frozen=True, slots=True)
class Planned:
    """One record as it will be written: its plain data, its numbers (to seal), flags."""

    data: dict[str, Any]
    secrets: dict[str, str]
    status: int | None
    verification_status: int | None
    is_primary: bool | None


_CARD_PLAIN = ("first_name", "last_name", "type", "currency_code", "address_id", "custom_field")
_BANK_PLAIN = (
    "name",
    "holder_name",
    "type",
    "beneficiary_type",
    "transit_number",
    "institution_number",
    "phone_id",
    "address_id",
    "linked_account_id",
    "bank_address",
    "city_town",
    "postal_zip_code",
    "custom_field",
)
_ID_PLAIN = ("type", "issue_date", "expiry_date", "custom_field")


def _currency(value: Any, where: str) -> str:
    return str(_check(sensitive.check_currency, value, where).code)


def _card(item: Mapping[str, Any], where: str, old: UserRecord | None, today: date) -> Planned:
    data: dict[str, Any] = {k: item[k] for k in _CARD_PLAIN if k in item}
    if "currency_code" in item and item["currency_code"] is not None:
        data["currency_code"] = _currency(item["currency_code"], f"{where}.currency_code")
    out: dict[str, str] = {}
    brand = old.data.get("brand", "other") if old else "other"
    if item.get("number") is not None:
        card = _check(sensitive.check_pan, item["number"], f"{where}.number")
        out["number"] = card.number
        brand = card.brand
        data.update(
            {"brand": card.brand, "bin": card.bin, "last4": card.last4, "masked": {"number": card.masked}}
        )
    if item.get("security_code") is not None:  # checked against the card's network, never kept
        _check(sensitive.check_cvv, item["security_code"], brand, f"{where}.security_code")
    month, year = item.get("expiry_month"), item.get("expiry_year")
    if month is not None or year is not None:
        before = old.data if old else {}
        mm, yyyy = _check(
            sensitive.check_card_expiry,
            month if month is not None else before.get("expiry_month"),
            year if year is not None else before.get("expiry_year"),
            today=today,
            month_field=f"{where}.expiry_month",
            year_field=f"{where}.expiry_year",
        )
        data.update({"expiry_month": mm, "expiry_year": yyyy})
    return Planned(data, out, item.get("status"), item.get("verification_status"), _primary(item))


def _bank(item: Mapping[str, Any], where: str, old: UserRecord | None, today: date) -> Planned:
    del today
    data: dict[str, Any] = {k: item[k] for k in _BANK_PLAIN if k in item}
    for key in ("name", "holder_name", "bank_address", "city_town", "postal_zip_code"):
        if key in data:
            data[key] = _text(data[key])
    if item.get("country_code") is not None:
        data["country_code"] = _check(sensitive.check_country, item["country_code"], f"{where}.country_code")
    if item.get("currency_code") is not None:
        data["currency_code"] = _currency(item["currency_code"], f"{where}.currency_code")
    if item.get("swift_code") is not None:
        data["swift_code"] = _check(sensitive.check_bic, item["swift_code"], f"{where}.swift_code")
    if item.get("routing_number") is not None:
        data["routing_number"] = _check(
            sensitive.check_routing_number, item["routing_number"], f"{where}.routing_number"
        )
    out: dict[str, str] = {}
    masked = dict(old.data.get("masked", {})) if old else {}
    if item.get("number") is not None:
        out["number"] = _check(sensitive.check_bank_number, item["number"], f"{where}.number")
        masked["number"] = sensitive.mask_bank_number(out["number"])
    if item.get("iban") is not None:
        out["iban"] = _check(sensitive.check_iban, item["iban"], f"{where}.iban")
        masked["iban"] = sensitive.mask_iban(out["iban"])
    data["masked"] = masked
    merged = {**(old.data if old else {}), **data}
    if (
        old is None
        and not any(merged.get(k) for k in ("swift_code", "routing_number", "transit_number"))
        and "iban" not in out
    ):
        raise FieldError(
            where, "give the bank: one of iban, swift_code, routing_number or transit_number", missing=True
        )
    return Planned(data, out, item.get("status"), item.get("verification_status"), _primary(item))


def _identification(item: Mapping[str, Any], where: str, old: UserRecord | None, today: date) -> Planned:
    del today
    data: dict[str, Any] = {k: item[k] for k in _ID_PLAIN if k in item}
    for key in ("country_of_issue", "country_of_residence"):
        if item.get(key) is not None:
            data[key] = _check(sensitive.check_country, item[key], f"{where}.{key}")
    out: dict[str, str] = {}
    if item.get("number") is not None:
        number = str(item["number"]).strip()
        if not 1 <= len(number) <= 50:
            raise FieldError(f"{where}.number", "an identification number has 1 to 50 characters")
        out["number"] = number
        data["masked"] = {"number": sensitive.mask_id_number(number)}
    merged = {**(old.data if old else {}), **data}
    issued, expires = merged.get("issue_date"), merged.get("expiry_date")
    if issued and expires and str(expires) < str(issued):
        raise FieldError(f"{where}.expiry_date", "is before issue_date")
    return Planned(data, out, item.get("status"), item.get("verification_status"), None)


def _primary(item: Mapping[str, Any]) -> bool | None:
    value = item.get("is_primary")
    return None if value is None else bool(value)


_PLANNERS: dict[str, Callable[[Mapping[str, Any], str, UserRecord | None, date], Planned]] = {
    "credit_card": _card,
    "bank_account": _bank,
    "identification": _identification,
}


def check_items(kind: Kind, items: Any, method: Method) -> list[dict[str, Any]]:
    """The items of a request's `kind` array checked by the seed's field table (names the
    failing field); FieldError when the array is missing, empty or too long."""
    if not isinstance(items, list) or not items:
        raise FieldError(kind, "must be a non-empty array", missing=items is None)
    if len(items) > MAX_ITEMS:
        raise FieldError(kind, f"at most {MAX_ITEMS} items at once")
    return [
        dict(validate_object(kind, item, method=method, path=f"{kind}[{i}]")) for i, item in enumerate(items)
    ]


# ---------------------------------------------------------------------------------------
# Use cases


@dataclass(frozen=True, slots=True)
class RecordChange:
    """Create, update or delete records of one kind for one user (items checked by
    check_items; `box` seals the numbers)."""

    user_id: int
    kind: Kind
    method: Method
    items: tuple[dict[str, Any], ...]
    box: SecretBox
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class Changed:
    """The user after the change and the records the request named, in its order (a deleted
    record is its id alone)."""

    user: UserView
    records: list[UserRecord]
    deleted: list[int]


async def change_records(uow: UnitOfWork, ctx: RequestContext, cmd: RecordChange) -> Changed:
    """Apply one request to a user's records of one kind, all or nothing."""
    core = await uow.customers.core(ctx.org_id, cmd.user_id, lock=True)
    if core is None or core.merged_into_id is not None:
        raise codes.not_found(cmd.user_id)
    user = await read_user(uow, ctx, cmd.user_id)
    now = utcnow()
    if cmd.method == "POST":
        made = await add_records(
            uow, ctx, cmd.user_id, cmd.kind, cmd.items, cmd.box, now, user.records, cmd.source_id
        )
        records = user.records + made
        return Changed(replace(user, records=records), made, [])
    mine = {r.record_id: r for r in user.records if r.kind == cmd.kind}
    ids = []
    for index, item in enumerate(cmd.items):
        rid = item.get("id")
        if rid not in mine:
            raise NotFound(
                int(codes.NOT_FOUND.code),
                f"{cmd.kind}[{index}].id: no {cmd.kind} {rid} of user {cmd.user_id}.",
            )
        if rid in ids:
            raise FieldError(f"{cmd.kind}[{index}].id", "names a record twice")
        ids.append(rid)
    changes: list[FieldChange] = []
    source, account = user_account(ctx)
    if cmd.method == "DELETE":
        for rid in ids:
            await uow.tx.run(_DELETE, org_id=ctx.org_id, record_id=rid, customer_id=cmd.user_id)
            changes.append(_change(mine[rid], None, source, account))
        await record_changes(uow, ctx, cmd.user_id, HISTORY_KIND, changes, now)
        kept = [r for r in user.records if r.record_id not in set(ids)]
        return Changed(replace(user, records=kept), [], ids)
    today = now.date()
    updated: dict[int, UserRecord] = {}
    for index, item in enumerate(cmd.items):
        old = mine[item["id"]]
        plan = _PLANNERS[cmd.kind](item, f"{cmd.kind}[{index}]", old, today)
        sealed = old.sealed
        if plan.secrets:
            opened = _open(cmd.box, ctx.org_id, old)
            sealed = sensitive.seal_fields(
                cmd.box, ctx.org_id, cmd.kind, old.record_id, {**opened, **plan.secrets}
            )
        updated[old.record_id] = UserRecord(
            old.record_id,
            old.kind,
            old.status if plan.status is None else plan.status,
            old.verification_status if plan.verification_status is None else plan.verification_status,
            old.is_primary if plan.is_primary is None else plan.is_primary,
            {**old.data, **plan.data},
            sealed,
            old.created_at,
            now,
        )
    records = _one_primary(user.records, cmd.kind, list(updated.values()), now)
    for rec in records:
        before = next(r for r in user.records if r.record_id == rec.record_id)
        if rec is before:
            continue
        await uow.tx.run(
            _UPDATE,
            org_id=ctx.org_id,
            customer_id=cmd.user_id,
            record_id=rec.record_id,
            status=rec.status,
            verification_status=rec.verification_status,
            is_primary=rec.is_primary,
            data=rec.data,
            sealed=rec.sealed,
            updated_at=rec.updated_at,
        )
        changes.append(_change(before, rec, source, account))
    await record_changes(uow, ctx, cmd.user_id, HISTORY_KIND, changes, now)
    by_id = {r.record_id: r for r in records}
    return Changed(replace(user, records=records), [by_id[i] for i in ids], [])


def _one_primary(
    records: list[UserRecord], kind: str, chosen: list[UserRecord], now: datetime
) -> list[UserRecord]:
    """`records` with the chosen ones put in; when one of them is primary, no other record of
    the kind stays primary (the last one named wins)."""
    chosen_ids = {r.record_id: r for r in chosen}
    out: list[UserRecord] = []
    primary = [r.record_id for r in chosen if r.is_primary]
    winner = primary[-1] if primary else None
    for r in records:
        if r.record_id in chosen_ids:
            rec = chosen_ids[r.record_id]
            out.append(rec if winner is None or rec.record_id == winner else replace(rec, is_primary=False))
        elif winner is not None and r.kind == kind and r.is_primary:
            out.append(replace(r, is_primary=False, updated_at=now))
        else:
            out.append(r)
    return out


async def add_records(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    kind: Kind,
    items: Sequence[Mapping[str, Any]],
    box: SecretBox,
    now: datetime,
    existing: Sequence[UserRecord] = (),
    source_id: str | None = None,
) -> list[UserRecord]:
    """New records of one kind (items checked by check_items): every item planned (checked)
    before anything is written, numbers sealed under each record's own id."""
    today = now.date()
    plans = [_PLANNERS[kind](item, f"{kind}[{i}]", None, today) for i, item in enumerate(items)]
    repo = UserRecords(uow.tx)
    ids = await repo.new_ids(len(plans))
    made: list[UserRecord] = []
    for rid, plan in zip(ids, plans, strict=True):
        sealed = sensitive.seal_fields(box, ctx.org_id, kind, rid, plan.secrets) if plan.secrets else None
        data = {**plan.data, "original_source_id": source_id}
        made.append(
            UserRecord(
                rid,
                kind,
                ACTIVE if plan.status is None else plan.status,
                0 if plan.verification_status is None else plan.verification_status,
                bool(plan.is_primary),
                data,
                sealed,
                now,
                now,
            )
        )
    primary = [r for r in made if r.is_primary]
    if primary:
        made = [r if r.record_id == primary[-1].record_id else replace(r, is_primary=False) for r in made]
        for r in existing:
            if r.kind == kind and r.is_primary:
                await uow.tx.run(
                    _UPDATE,
                    org_id=ctx.org_id,
                    customer_id=user_id,
                    record_id=r.record_id,
                    status=r.status,
                    verification_status=r.verification_status,
                    is_primary=False,
                    data=r.data,
                    sealed=r.sealed,
                    updated_at=now,
                )
    await repo.insert(ctx.org_id, user_id, made, ctx.actor.till_id)
    source, account = user_account(ctx)
    changes = [_change(None, r, source, account) for r in made]
    await record_changes(uow, ctx, user_id, HISTORY_KIND, changes, now)
    return made


async def add_identifications(
    uow: UnitOfWork,
    ctx: RequestContext,
    user_id: int,
    items: Sequence[Mapping[str, Any]],
    box: SecretBox,
    now: datetime,
) -> list[UserRecord]:
    """For Create User: the request's `identification[]` (as sent, or as validate_parts left
    it) checked and added to the new user, numbers sealed. Raises before writing anything
    when an item fails."""
    checked = check_items("identification", list(items), "POST")
    return await add_records(uow, ctx, user_id, "identification", checked, box, now)


def _open(box: SecretBox, org_id: int, rec: UserRecord) -> dict[str, str]:
    if not rec.sealed:
        return {}
    return sensitive.unseal_fields(box, org_id, rec.kind, rec.record_id, rec.sealed)


def _change(old: UserRecord | None, new: UserRecord | None, source: str, account: str) -> FieldChange:
    """A change-log row of one record (users/documents.py writes them alike): field_name
    `<kind>:<id>`, field_type `UserRecord`, the record before and after as masked JSON (null
    when created / deleted; never a number in clear), the user profile's source account."""
    rec = new or old
    assert rec is not None
    return FieldChange(
        history_field(rec.kind, rec.record_id),
        HISTORY_FIELD_TYPE,
        None if old is None else _logged(old),
        None if new is None else _logged(new),
        source,
        account,
    )


def _logged(rec: UserRecord) -> str:
    body = {"id": rec.record_id, **plain_fields(rec, sensitive.MASKED, None, 0)}
    body.update(
        {
            "is_primary": int(rec.is_primary),
            "status": rec.status,
            "verification_status": rec.verification_status,
        }
    )
    return json.dumps(sensitive.redact({rec.kind: body})[rec.kind], separators=(",", ":"), ensure_ascii=False)


def plain_fields(rec: UserRecord, reveal: Reveal, box: SecretBox | None, org_id: int) -> dict[str, Any]:
    """A record's fields with its numbers masked, or in clear when `reveal` allows (the box
    opens them then)."""
    d = rec.data
    masked: dict[str, str] = dict(d.get("masked") or {})
    clear = _open(box, org_id, rec) if reveal.clear and box is not None else {}
    numbers = {k: clear.get(k, v) for k, v in masked.items()}
    out = {k: v for k, v in d.items() if k not in ("masked", "bin", "last4", "brand", "original_source_id")}
    out.update(numbers)
    return out
