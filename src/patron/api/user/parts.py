"""The renderers of the user records, one per part of a user-shaped answer (docs/users.md):
credit cards, bank accounts and identifications (masked unless revealed), addresses,
preferences, currencies, terms, documents, relationships and external logins. Shared by the
part routes (api/user/finance.py, profile.py, documents.py) and by the whole-user answer
(users.py `user_parts`: Get User, Create/Update/Delete User, Inquiry User(s)); this module
imports no route module, so none of them imports another to render."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from patron.api.user.envelope import SUCCESS_RESULT, UserHeaders, envelope, parse_zone
from patron.context import RequestContext
from patron.db.base import utcnow
from patron.users import documents as docs
from patron.users import finance, sensitive
from patron.users import profile as prof
from patron.users import relations as rel
from patron.users.records import UserRecord
from patron.users.sensitive import Reveal
from patron.webhooks.secrets import SecretBox

# Credit cards, bank accounts, identifications ------------------------------------------


def reveal_for(h: UserHeaders, ctx: RequestContext) -> Reveal:
    """Numbers in clear only for `show_sensitive_data: 1` from a till in sensitiveDataTills."""
    return Reveal(h.show_sensitive_data and ctx.actor.code in ctx.config.sensitive_data_tills)


def record_stamps(h: UserHeaders, rec: UserRecord) -> dict[str, Any]:
    return {
        "original_source_id": rec.data.get("original_source_id"),
        **h.stamps(rec.created_at),
        "update_date_utc": h.stamps(rec.updated_at)["date_utc"],
    }


def custom_value(h: UserHeaders, value: Any) -> Any:
    return value if h.show_custom_field else None


def card_out(h: UserHeaders, rec: UserRecord, f: dict[str, Any]) -> dict[str, Any]:
    """A credit card in the seed's order (004:L4586-4624); security_code is never kept: null."""
    return {
        "id": rec.record_id,
        "first_name": f.get("first_name"),
        "last_name": f.get("last_name"),
        "type": f.get("type"),
        "number": f.get("number"),
        "currency_code": f.get("currency_code"),
        "expiry_year": f.get("expiry_year"),
        "expiry_month": f.get("expiry_month"),
        "security_code": None,
        "address_id": f.get("address_id"),
        "is_primary": int(rec.is_primary),
        "status": rec.status,
        "verification_status": rec.verification_status,
        **record_stamps(h, rec),
        "custom_field": custom_value(h, f.get("custom_field")),
    }


def bank_out(h: UserHeaders, rec: UserRecord, f: dict[str, Any]) -> dict[str, Any]:
    """A bank account in the seed's order (004:L5923-5993)."""
    return {
        "id": rec.record_id,
        "linked_account_id": f.get("linked_account_id"),
        "name": f.get("name"),
        "beneficiary_name": None,
        "holder_name": f.get("holder_name"),
        "country_code": f.get("country_code"),
        "currency_code": f.get("currency_code"),
        "type": f.get("type"),
        "payment_type": None,
        "beneficiary_type": f.get("beneficiary_type"),
        "number": f.get("number"),
        "swift_code": f.get("swift_code"),
        "iban": f.get("iban"),
        "transit_number": f.get("transit_number"),
        "institution_number": f.get("institution_number"),
        "routing_number": f.get("routing_number"),
        "phone_id": f.get("phone_id"),
        "address_id": f.get("address_id"),
        "bank_address": f.get("bank_address"),
        "state_region": None,
        "is_primary": int(rec.is_primary),
        "status": rec.status,
        "verification_status": rec.verification_status,
        "city_town": f.get("city_town"),
        "postal_zip_code": f.get("postal_zip_code"),
        "extended_data": None,
        "sort_code": None,
        **record_stamps(h, rec),
        "service_provider": -1,
        "custom_field": custom_value(h, f.get("custom_field")),
    }


def identification_out(h: UserHeaders, rec: UserRecord, f: dict[str, Any]) -> dict[str, Any]:
    """An identification in the seed's order (004:L4834-4868)."""
    return {
        "result": None,
        "id": rec.record_id,
        "type": f.get("type"),
        "country_of_issue": f.get("country_of_issue"),
        "country_of_residence": f.get("country_of_residence"),
        "number": f.get("number"),
        "issue_date": f.get("issue_date"),
        "expiry_date": f.get("expiry_date"),
        "status": rec.status,
        "verification_status": rec.verification_status,
        **record_stamps(h, rec),
        "extra_data": None,
        "custom_field": custom_value(h, f.get("custom_field")),
    }


FINANCE_RENDER: dict[str, Callable[[UserHeaders, UserRecord, dict[str, Any]], dict[str, Any]]] = {
    "credit_card": card_out,
    "bank_account": bank_out,
    "identification": identification_out,
}


def items_out(
    h: UserHeaders, ctx: RequestContext, box: SecretBox | None, kind: str, records: list[UserRecord]
) -> list[dict[str, Any]]:
    reveal = reveal_for(h, ctx)
    return [FINANCE_RENDER[kind](h, r, finance.plain_fields(r, reveal, box, ctx.org_id)) for r in records]


# Addresses, preferences, currencies, terms ---------------------------------------------


def pairs_out(h: UserHeaders, pairs: Any) -> dict[str, Any] | None:
    if not h.show_custom_field or not pairs:
        return None
    return {str(k): v for k, v in pairs}


def address_item(h: UserHeaders, rec: UserRecord, primary: bool) -> dict[str, Any]:
    """One of `addresses[]` (004:L3883-3921)."""
    a = rec.data
    return {
        "id": rec.record_id,
        "type": a.get("type", 0),
        "is_primary": int(primary),
        "is_billing": a.get("is_billing", 0),
        **{k: a.get(k) for k in prof.ADDRESS_FIELDS[2:]},
        "status": rec.status,
        "verification_status": rec.verification_status,
        **record_stamps(h, rec),
        "custom_field": pairs_out(h, a.get("custom_field")),
    }


def address_main(h: UserHeaders, rec: UserRecord) -> dict[str, Any]:
    """The main address, `address{}` (004:L12695-12733): no id, no is_primary."""
    item = address_item(h, rec, True)
    del item["id"], item["is_primary"]
    return item


def address_parts(h: UserHeaders, records: Sequence[UserRecord]) -> dict[str, Any]:
    """`address` (the main one) and `addresses` (all, the main first) of a user."""
    main = prof.primary_address(records)
    rows = prof.addresses_of(records)
    return {
        "address": address_main(h, main) if main else None,
        "addresses": [address_item(h, r, r is main) for r in rows] or None,
    }


def preferences_out(h: UserHeaders, rec: UserRecord | None) -> dict[str, Any] | None:
    """`preferences{}` in the seed's order (004:L14979-15003): flags as "0"/"1" strings;
    is_agent, is_reseller, is_seller are the server's ("0": no such roles here)."""
    if rec is None:
        return None
    d = rec.data
    zone = d.get("time_zone")
    name = None
    if zone:
        try:
            name = parse_zone(str(zone), h.org_zone, utcnow()).name
        except Exception:  # a value stored before it was checked: shown, unnamed
            name = None
    return {
        "preferred_language_code": d.get("preferred_language_code"),
        **{k: _flag_text(d.get(k)) for k in prof.PREFERENCE_FLAGS},
        "time_zone": zone,
        "time_zone_name": name,
        "is_agent": "0",
        "is_reseller": "0",
        "is_seller": "0",
    }


def _flag_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def currency_item(rec: UserRecord) -> dict[str, Any]:
    code = rec.data.get("code")
    number = rec.data.get("number")
    if number is None and code:
        try:
            number = sensitive.check_currency(code).number or None
        except sensitive.SensitiveInputError:
            number = None
    return {"id": rec.record_id, "code": code, "number": number, "is_primary": int(rec.is_primary)}


def terms_out(h: UserHeaders, rec: UserRecord | None) -> dict[str, Any] | None:
    if rec is None:
        return None
    return {
        "id": rec.record_id,
        "acceptance": rec.data.get("acceptance"),
        "title": rec.data.get("title"),
        "version_name": rec.data.get("version_name"),
        "server_date": h.server_date(rec.created_at),
    }


# Documents, relationships, external logins ---------------------------------------------


# The seed's document envelope (seed-004-rules.md 2.3, 004:L4097-4241) and inquiry envelope
# (004:L29435-29621): top-level keys in order.
DOCUMENT_KEYS: tuple[str, ...] = (
    "result",
    "info",
    "attachment",
    "custom_field",
    "geo_coordinates",
    "notes",
    "last_activity",
    "authentication",
    "validate",
    "function_code",
    "time_zone",
    "time_zone_name",
    "response_time",
)


def custom_pairs(h: UserHeaders, pairs: Any) -> dict[str, Any] | None:
    if pairs is None or not h.show_custom_field:
        return None
    return {str(k): v for k, v in pairs}


def attachment_path(user_id: int, file_id: int) -> str:
    return f"/user/document/{user_id}/attachment/{file_id}"


def document_entry(
    h: UserHeaders,
    ctx: Any,
    view: docs.DocumentView,
    *,
    nested: bool,
    client_date: bool,
    validate: str | None = None,
) -> dict[str, Any]:
    """One document as the seed answers it: the document envelope (004:L4097-4241), or an
    item of `documents[]` (nested: result and trailer of its own, 004:L17560-17822)."""
    rec = view.record
    d = rec.data
    dry = rec.record_id == 0
    stamps = h.stamps(rec.created_at)
    info: dict[str, Any] = {
        "program_id": ctx.org_id,
        "user_id": view.user_id,
        "entity": d.get("entity"),
        "entity_id": d.get("entity_id"),
        "document_id": rec.record_id,
        "first_name": d.get("first_name") or view.user_first_name,
        "last_name": d.get("last_name") or view.user_last_name,
        "email_address": view.email_address,
        "type": d.get("type"),
        "language": d.get("language"),
        "status": rec.status,
        "subject": d.get("subject"),
        "notes": d.get("notes"),
        "number_of_attachments": len(d.get("attachments", [])),
        "support_notes": None,
        "update_datetime_utc": stamps["date_utc"] if not dry else None,
    }
    if client_date:
        info["client_date"] = stamps["client_date"] if not dry else None
    info.update(
        {
            "source_id": d.get("source_id"),
            "server_date": stamps["server_date"],
            "date_utc": stamps["date_utc"],
            "source_time_zone": h.zone.label,
            "attachment_status": docs.STORED,
        }
    )
    attachments = [
        {
            "file_name": a.get("file_name"),
            "file_extension": a.get("file_extension"),
            "content": "____",
            "file_id": a.get("file_id"),
            "file_url": None if dry else attachment_path(view.user_id, a["file_id"]),
            "is_selfie": bool(a.get("is_selfie")),
        }
        for a in d.get("attachments", [])
    ]
    parts: dict[str, Any] = {
        "info": info,
        "attachment": attachments,
        "custom_field": custom_pairs(h, d.get("custom_field")),
        "geo_coordinates": d.get("geo_coordinates"),
        "validate": validate,
    }
    if not nested:
        return envelope(h, parts, DOCUMENT_KEYS)
    body: dict[str, Any] = dict.fromkeys(DOCUMENT_KEYS)
    body.update(parts)
    body.update({"result": None, "function_code": 0, "response_time": 0})
    return body


def nested_documents(h: UserHeaders, ctx: Any, views: list[docs.DocumentView]) -> list[dict[str, Any]]:
    """The `documents[]` of an identification-with-document answer (004:L5027-5375): each a
    document envelope with its own result and trailer."""
    out = []
    for v in views:
        item = document_entry(h, ctx, v, nested=True, client_date=True)
        item["result"] = dict(SUCCESS_RESULT)
        item["time_zone"] = h.zone.label
        out.append(item)
    return out


def dry_stamps(h: UserHeaders, rec: Any, dry: bool) -> dict[str, Any]:
    if dry:
        return dict.fromkeys(
            ("original_source_id", "server_date", "date_utc", "client_date", "update_date_utc")
        )
    s = h.stamps(rec.created_at)
    return {
        "original_source_id": rec.data.get("original_source_id"),
        "server_date": s["server_date"],
        "date_utc": s["date_utc"],
        "client_date": s["client_date"],
        "update_date_utc": h.stamps(rec.updated_at)["date_utc"],
    }


RELATIONSHIP_KEYS = (
    "id",
    "entity",
    "entity_id",
    "entity_name",
    "entity_email",
    "entity_phone",
    "on_entity",
    "on_entity_id",
    "on_entity_name",
    "on_entity_email",
    "on_entity_phone",
    "type",
    "status",
    "verification_status",
    "order",
    "original_source_id",
    "server_date",
    "date_utc",
    "client_date",
    "update_date_utc",
    "custom_field",
)


def relationship_item(h: UserHeaders, me: rel.Person, item: rel.Related) -> dict[str, Any]:
    rec = item.record
    if item.deleted:
        return {**dict.fromkeys(RELATIONSHIP_KEYS), "id": rec.record_id}
    d = rec.data
    other = item.on_person
    return {
        "id": rec.record_id,
        "entity": d.get("entity"),
        "entity_id": d.get("entity_id"),
        "entity_name": me.name,
        "entity_email": me.email,
        "entity_phone": me.phone,
        "on_entity": d.get("on_entity"),
        "on_entity_id": d.get("on_entity_id"),
        "on_entity_name": other.name if other else "",
        "on_entity_email": other.email if other else "",
        "on_entity_phone": other.phone if other else "",
        "type": d.get("type"),
        "status": rec.status,
        "verification_status": rec.verification_status,
        "order": d.get("order", 0),
        **dry_stamps(h, rec, False),
        "custom_field": custom_pairs(h, d.get("custom_field")),
    }


def external_item(h: UserHeaders, item: rel.Related, dry: bool) -> dict[str, Any]:
    rec = item.record
    keys = ("login_id", "token", "type", "status", "verification_status")
    if item.deleted:
        return {"id": rec.record_id, **dict.fromkeys(keys), **dry_stamps(h, rec, True), "custom_field": None}
    d = rec.data
    return {
        "id": rec.record_id,
        "login_id": d.get("login_id"),
        "token": None,  # sealed at rest, never answered
        "type": d.get("type"),
        "status": rec.status,
        "verification_status": rec.verification_status,
        **dry_stamps(h, rec, dry and rec.record_id == 0),
        "custom_field": custom_pairs(h, d.get("custom_field")),
    }
