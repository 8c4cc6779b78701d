"""Create User, Get User and Delete User (seed 004): the user namespace over the customer
record (users/service.py, docs/users.md). Paths at the service root as operations.tsv
spells them; answers in the user envelope (api/user/envelope.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.access_rules import client_address
from patron.api.user.envelope import DELETE_KEYS, UserHeaders, envelope, headers_for, respond
from patron.api.user.parts import (
    address_parts,
    currency_item,
    external_item,
    items_out,
    nested_documents,
    preferences_out,
    relationship_item,
    terms_out,
)
from patron.api.user.schemas import DeletedUser, UserAnswer, user_errors
from patron.api.writes import Write
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.users import access_rules, codes, fields, finance, sensitive, updates
from patron.users import service as users
from patron.users.documents import DocumentView, primary_email
from patron.users.lookups import last_activity
from patron.users.records import UserRecord
from patron.users.relations import USER_ENTITY, Person, Related, person, user_person
from patron.webhooks.secrets import SecretBox

router = APIRouter(tags=["users"], route_class=LeanRoute)

# The seed's input leniency (004 §2.8): "1" and 1 alike.
Scalar = str | int | float | bool | None
_HEADERS_DOC = (
    " Configuration headers: `lang`, `source_id` (echoed as original_source_id), `time_zone` "
    "('UTC ±hh:mm' or an IANA zone; sets time_zone, time_zone_name and every client_date; the org's "
    "zone when absent), `show_sensitive_data` (0/1), `show_custom_field` (0/1; 0 leaves custom_field null)."
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=500)


class PersonalInfoIn(_In):
    title: Scalar = None
    first_name: Scalar = None
    last_name: Scalar = None
    nick_name: Scalar = None
    job_title: Scalar = None
    gender: Scalar = None
    date_of_birth: Scalar = None
    verification_status: Scalar = None
    photo: Scalar = None


class AddressIn(_In):
    type: Scalar = None
    is_billing: Scalar = None
    address_line1: Scalar = None
    address_line2: Scalar = None
    postal_zip_code: Scalar = None
    country_code: Scalar = None
    state_region: Scalar = None
    city_town: Scalar = None
    status: Scalar = None
    verification_status: Scalar = None


class EmailIn(_In):
    address: Scalar = None
    type: Scalar = None
    verification_status: Scalar = None
    is_primary: Scalar = None
    custom_field: dict[str, Scalar] | None = None
    status: Scalar = None


class PhoneIn(_In):
    type: Scalar = None
    country_code: Scalar = None
    number: Scalar = None
    verification_status: Scalar = None
    is_primary: Scalar = None
    custom_field: dict[str, Scalar] | None = None
    status: Scalar = None


class PreferencesIn(_In):
    preferred_language_code: Scalar = None
    enable_facebook_account: Scalar = None
    enable_promotion_notification: Scalar = None
    enable_email_notification: Scalar = None
    enable_sms_notification: Scalar = None
    enable_push_notification: Scalar = None
    time_zone: Scalar = None
    enable_device_authentication: Scalar = None


class CurrencyIn(_In):
    code: Scalar = None


class TermsIn(_In):
    acceptance: Scalar = None


class GeoIn(_In):
    latitude: Scalar = None
    longitude: Scalar = None
    position_description: Scalar = None


class NotationIn(_In):
    notes: Scalar = None


class CreateUserBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "personal_info": {
                        "title": "1",
                        "first_name": "Marcos",
                        "last_name": "Collier",
                        "gender": "1",
                    },
                    "email": [{"address": "marcos.collier@example.com", "is_primary": "1"}],
                    "phone": [
                        {"type": "1", "country_code": "840", "number": "+13067898833", "is_primary": 1}
                    ],
                    "currency": [{"code": "USD"}],
                    "terms_conditions": {"acceptance": "1"},
                    "validate": 0,
                }
            ]
        }
    )

    personal_info: PersonalInfoIn | None = None
    address: AddressIn | None = None
    email: list[EmailIn] = Field(default_factory=list, max_length=10)
    phone: list[PhoneIn] = Field(default_factory=list, max_length=10)
    security: dict[str, Scalar] | None = None
    preferences: PreferencesIn | None = None
    currency: list[CurrencyIn] = Field(default_factory=list, max_length=10)
    terms_conditions: TermsIn | None = None
    geo_coordinates: GeoIn | None = None
    custom_field: dict[str, Scalar] | None = None
    notation: NotationIn | None = None
    identification: list[dict[str, Any]] | None = Field(default=None, max_length=10)
    validate_: Scalar = Field(default=None, alias="validate")


def _text(value: Scalar, name: str, limit: int = 255) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise codes.invalid(f"{name} must be a string.")
    text = str(value).strip()
    if len(text) > limit or "\x00" in text:
        raise codes.invalid(f"{name} is longer than {limit} characters or holds NUL.")
    return text


def _int(value: Scalar, name: str, default: int, allowed: range) -> int:
    if value is None or value == "":
        return default
    text = str(value).strip()
    if isinstance(value, bool) or not text.lstrip("-").isdigit() or int(text) not in allowed:
        raise codes.invalid(f"{name} must be a whole number from {allowed.start} to {allowed.stop - 1}.")
    return int(text)


def _flag01(value: Scalar, name: str) -> bool:
    return _int(value, name, 0, range(2)) == 1


def _plain(model: _In | None, name: str, skip: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A section's fields as text (Integer-typed ones the seed renders as numbers stay so)."""
    if model is None:
        return None
    out: dict[str, Any] = {}
    for key, value in model.model_dump().items():
        if key in skip:
            continue
        out[key] = _text(value, f"{name}.{key}")
    return out


def _create_command(
    body: CreateUserBody, h: UserHeaders, security: dict[str, Any] | None = None
) -> users.CreateUser:
    _flag01(body.validate_, "validate")
    personal = body.personal_info or PersonalInfoIn()
    emails = []
    for i, e in enumerate(body.email):
        address = _text(e.address, f"email[{i}].address")
        if not address:
            raise codes.missing(f"email[{i}].address")
        emails.append(
            users.EmailInput(
                address,
                _int(e.type, f"email[{i}].type", 0, range(10)),
                _flag01(e.is_primary, f"email[{i}].is_primary"),
                _custom(e.custom_field, f"email[{i}].custom_field"),
            )
        )
    phones = []
    for i, p in enumerate(body.phone):
        number = _text(p.number, f"phone[{i}].number", 32)
        if not number:
            raise codes.missing(f"phone[{i}].number")
        phones.append(
            users.PhoneInput(
                number,
                _int(p.type, f"phone[{i}].type", 1, range(10)),
                _text(p.country_code, f"phone[{i}].country_code", 3),
                _flag01(p.is_primary, f"phone[{i}].is_primary"),
                _custom(p.custom_field, f"phone[{i}].custom_field"),
            )
        )
    sections: dict[str, dict[str, Any]] = {}
    info = _plain(personal, "personal_info", skip=("first_name", "last_name", "verification_status"))
    if info is not None and any(v is not None for v in info.values()):
        sections["personal_info"] = info
    place = _plain(body.address, "address", skip=("type", "is_billing", "status", "verification_status"))
    if place is not None and body.address is not None:
        place["type"] = _int(body.address.type, "address.type", 0, range(10))
        place["is_billing"] = _int(body.address.is_billing, "address.is_billing", 0, range(2))
        sections["address"] = place
    for name, model in (
        ("preferences", body.preferences),
        ("terms_conditions", body.terms_conditions),
        ("geo_coordinates", body.geo_coordinates),
        ("notation", body.notation),
    ):
        plain = _plain(model, name)
        if plain is not None:
            sections[name] = plain
    custom = _custom(body.custom_field, "custom_field")
    if custom is not None:
        # As ordered pairs: JSONB keeps no key order, and the answer echoes the caller's.
        sections["custom_field"] = {"fields": [[k, v] for k, v in custom.items()]}
    currencies = []
    for i, c in enumerate(body.currency):
        code = _text(c.code, f"currency[{i}].code", 3)
        if not code:
            raise codes.missing(f"currency[{i}].code")
        currencies.append(users.currency_code(code))
    return users.CreateUser(
        _text(personal.first_name, "personal_info.first_name", 100),
        _text(personal.last_name, "personal_info.last_name", 100),
        tuple(emails),
        tuple(phones),
        sections,
        tuple(dict.fromkeys(currencies)),
        h.source_id,
        security,
    )


def _custom(given: dict[str, Scalar] | None, name: str) -> dict[str, Any] | None:
    if given is None:
        return None
    if len(given) > 50:
        raise codes.invalid(f"{name} has more than 50 fields.")
    for key in given:
        if not key or len(key) > 100:
            raise codes.invalid(f"{name}: a field name is empty or longer than 100 characters.")
    return dict(given)


def _row_stamps(h: UserHeaders, rec: UserRecord) -> dict[str, Any]:
    return {
        "original_source_id": rec.data.get("original_source_id"),
        **h.stamps(rec.created_at),
        "update_date_utc": h.stamps(rec.updated_at)["date_utc"],
    }


def _custom_out(h: UserHeaders, value: Any) -> Any:
    return value if h.show_custom_field else None


def email_item(h: UserHeaders, e: users.Identified) -> dict[str, Any]:
    return {
        "id": e.record.record_id,
        "type": e.record.data.get("type", 0),
        "address": e.record.data.get("address") or e.value,
        "is_primary": int(e.record.is_primary),
        "status": e.record.status,
        "verification_status": e.record.verification_status,
        **_row_stamps(h, e.record),
        "custom_field": _custom_out(h, e.record.data.get("custom_field")),
    }


def phone_item(h: UserHeaders, ph: users.Identified) -> dict[str, Any]:
    return {
        "id": ph.record.record_id,
        "type": ph.record.data.get("type", 1),
        "country_code": ph.record.data.get("country_code"),
        "number": "+" + ph.value if ph.value.isdigit() else ph.value,
        "is_primary": int(ph.record.is_primary),
        "status": ph.record.status,
        "verification_status": ph.record.verification_status,
        **_row_stamps(h, ph.record),
        "custom_field": _custom_out(h, ph.record.data.get("custom_field")),
    }


def user_parts(
    h: UserHeaders,
    ctx: Any,
    user: users.UserView,
    *,
    box: SecretBox | None = None,
    persons: dict[int, Person] | None = None,
) -> dict[str, Any]:
    """The user-shaped keys an answer about the whole user fills (004:L2969-3439, Get User
    004:L15808-16452): every record kind, each by the renderer its own route uses
    (api/user/parts.py), numbers masked unless revealed (`box` opens them then; without it
    they stay masked). `persons`: the other users the relationships name (related_people);
    without them their names, email and phone answer ""."""
    personal = user.single("personal_info")
    p = personal.data if personal else {}
    parts: dict[str, Any] = {
        "info": {
            "id": user.user_id,
            "program_id": ctx.org_id,
            "status": _status(ctx, user.status_label),
            "type": 1,
            **h.stamps(user.created_at),
            "source_time_zone": h.zone.label,
            "original_source_id": h.source_id,
        },
        "personal_info": {
            "title": p.get("title"),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "nick_name": p.get("nick_name"),
            "job_title": p.get("job_title"),
            "gender": p.get("gender"),
            "date_of_birth": p.get("date_of_birth"),
            "verification_status": personal.verification_status if personal else 0,
            "picture": p.get("photo") or None,
            "custom_field": None,
        },
        "email": [email_item(h, e) for e in user.emails],
        "phone": [phone_item(h, ph) for ph in user.phones],
        "security": updates.render_security(user.single("security")),
        "currency": [currency_item(c) for c in user.all_of("currency")] or None,
        "validate": "0",
    }
    parts.update(address_parts(h, user.records))
    parts["preferences"] = preferences_out(h, user.single("preferences"))
    for kind in ("identification", "bank_account", "credit_card"):
        parts[kind] = items_out(h, ctx, box, kind, user.all_of(kind)) or None
    email = primary_email(user)
    documents = [
        DocumentView(user.user_id, r, email, user.first_name, user.last_name) for r in user.all_of("document")
    ]
    parts["documents"] = nested_documents(h, ctx, documents) or None
    parts["terms_conditions"] = terms_out(h, user.single("terms_conditions"))
    parts["external_auth"] = [
        external_item(h, Related(r), False) for r in user.all_of("external_auth")
    ] or None
    me = user_person(user)
    related = persons or {}
    parts["relationship"] = [
        relationship_item(h, me, Related(r, on_person=related.get(_on_user(r) or 0)))
        for r in user.all_of("relationship")
    ] or None
    geo = user.single("geo_coordinates")
    if geo is not None:
        parts["geo_coordinates"] = {
            k: geo.data.get(k) for k in ("latitude", "longitude", "position_description")
        }
    custom = user.single("custom_field")
    if custom is not None and h.show_custom_field:
        parts["custom_field"] = {str(k): v for k, v in custom.data.get("fields", [])}
    return parts


def _on_user(rec: UserRecord) -> int | None:
    """The other user of a relationship to a user (entity 7), else None."""
    if rec.data.get("on_entity") != USER_ENTITY:
        return None
    try:
        return int(rec.data["on_entity_id"])
    except (KeyError, TypeError, ValueError):
        return None


async def related_people(uow: UnitOfWork, ctx: Any, user: users.UserView) -> dict[int, Person]:
    """The other users the user's relationships name (their names, email and phone): no
    statement for a user without relationships to users, one read per user named."""
    out: dict[int, Person] = {}
    for rec in user.all_of("relationship"):
        other = _on_user(rec)
        if other is not None and other not in out:
            found = await person(uow, ctx, other)
            if found is not None:
                out[other] = found
    return out


def _status(ctx: Any, label: str) -> str:
    """info.status: "1" for a user in use, "-1" once its deletion is filed or done."""
    config = ctx.config
    return "-1" if label in (config.pending_deletion_label, config.deleted_label) else "1"


def _path_user(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise codes.not_found(raw[:20])
    return int(raw)


@router.post(
    "/user",
    summary="Create User",
    description="Register a person as a customer (the same registration as Register Customer: "
    "customerAdded, merges, uniqueness) in the org's userSource profile, with their emails and "
    "phones as that profile's identifiers and the rest of the user (personal info, address, "
    "preferences, currencies, terms, geo coordinates, custom fields, notation) as user records. "
    "`info.id` is the customer id of the v2 API. `security` (password, security code, two "
    "questions and their answers, all required) is stored as argon2id hashes and answered Wiped "
    '("____"); `identification[]` is checked and its numbers sealed as Create User Identification '
    "does (users/finance.py), masked in the answer." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 408, 409, 413, 422),
)
async def create_user(
    request: Request, body: Annotated[CreateUserBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    security = None
    if body.security is not None:
        given = await security_input(body.security, "security", create=True)
        security = updates.security_data(None, given)
    cmd = _create_command(body, h, security)
    box: SecretBox = request.app.state.box
    if body.identification:  # checked and sealed by users/finance.py (masked in the answer)
        checked = finance.check_items("identification", body.identification, "POST")
        cmd = dataclasses.replace(cmd, identifications=tuple(checked), box=box)
    # sealed: an idempotent replay's stored answer may hold numbers in clear.
    return await write(
        ctx,
        users.create_user,
        ctx,
        cmd,
        render=lambda u: envelope(h, user_parts(h, ctx, u, box=box)),
        sealed=True,
    )


async def _read(uow: UnitOfWork, ctx: Any, user_id: int) -> users.UserView | None:
    try:
        return await users.read_user(uow, ctx, user_id)
    except users.NeedsRows:
        return None


@router.get(
    "/user/{user_id}",
    summary="Get User",
    description="The whole user: the customer's userSource profile (or its first profile), its "
    "emails and phones (an identifier added through v2 gets its user record on this first read), "
    "and every user record, each as its own Get route renders it: main address and addresses, "
    "security (secrets Wiped), preferences, identifications, bank accounts and credit cards (numbers "
    "masked unless `show_sensitive_data: 1` comes from a till in sensitiveDataTills), documents "
    '(attachment content "____"), currencies, terms, external logins (token never answered), '
    "relationships, geo coordinates, custom fields and the last activity." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    found = await db.read(_whole, ctx, uid)
    if found is None:  # identifiers added through v2 get their rows on this first read
        await db.write(users.read_user, ctx, uid)
        found = await db.read(_whole, ctx, uid)
    assert found is not None
    user, persons, activity = found
    parts = user_parts(h, ctx, user, box=request.app.state.box, persons=persons)
    # The newest entry of the change log, in the seed's short form (users/lookups.py).
    parts["last_activity"] = activity
    return respond(h, parts)


async def _whole(
    uow: UnitOfWork, ctx: Any, user_id: int
) -> tuple[users.UserView, dict[int, Person], dict[str, Any] | None] | None:
    """Get User's reads in one unit of work: the user with every record (one statement for
    the records), the other users its relationships name, and the newest change."""
    user = await _read(uow, ctx, user_id)
    if user is None:
        return None
    return user, await related_people(uow, ctx, user), await last_activity(uow, ctx, user_id)


@router.delete(
    "/user/{user_id}",
    summary="Delete User",
    description="File the erasure of the person's personal data, as v2's PII deletion does: the "
    "customer moves to the org's pending-deletion label (customerUpdated) and the erasure pass then "
    "wipes identifiers, names, history values and every user record. Answers the user as it was, "
    "with info.status -1. 3009 when a deletion is already filed." + _HEADERS_DOC,
    response_model=DeletedUser,
    responses=user_errors(400, 404, 409),
)
async def delete_user(request: Request, user_id: str, write: Write, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    box: SecretBox = request.app.state.box
    # sealed: the answer may hold numbers in clear (a revealing till).
    return await write(
        ctx, users.delete_user, ctx, uid, render=lambda u: _deleted(h, ctx, u, box), sealed=True
    )


def _deleted(h: UserHeaders, ctx: Any, user: users.UserView, box: SecretBox) -> dict[str, Any]:
    """Delete User's answer (004:L29813-29911): its info has no client_date."""
    parts = user_parts(h, ctx, user, box=box)
    parts["info"].pop("client_date")
    return envelope(h, parts, DELETE_KEYS)


# --- Update User, personal info, security, emails and phones ------------------------------


class SecurityIn(_In):
    status: Scalar = None
    trust_level: Scalar = None
    password: Scalar = None
    security_code: Scalar = None
    secret_question_1: Scalar = None
    secret_answer_1: Scalar = None
    secret_question_2: Scalar = None
    secret_answer_2: Scalar = None


class EmailItemIn(EmailIn):
    id: Scalar = None


class PhoneItemIn(PhoneIn):
    id: Scalar = None


class EmailsBody(_In):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": [{"address": "m.collier@example.com", "is_primary": "0"}]}]}
    )
    email: list[EmailItemIn] = Field(max_length=10)


class PhonesBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"phone": [{"type": "0", "country_code": "840", "number": "+13413739950", "is_primary": "0"}]}
            ]
        }
    )
    phone: list[PhoneItemIn] = Field(max_length=10)


class PersonalInfoBody(_In):
    personal_info: PersonalInfoIn


class SecurityBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "security": {
                        "password": "correct horse battery",
                        "security_code": "123",
                        "secret_question_1": "7",
                        "secret_answer_1": "Alexes",
                        "secret_question_2": "8",
                        "secret_answer_2": "Mendal",
                    }
                }
            ]
        }
    )
    security: SecurityIn


class UpdateUserBody(_In):
    personal_info: PersonalInfoIn | None = None
    address: AddressIn | None = None
    security: SecurityIn | None = None
    preferences: PreferencesIn | None = None
    email: list[EmailItemIn] = Field(default_factory=list, max_length=10)
    phone: list[PhoneItemIn] = Field(default_factory=list, max_length=10)
    validate_: Scalar = Field(default=None, alias="validate")


_SECRETS: tuple[tuple[str, sensitive.SecretKind], ...] = (
    ("password", "password"),
    ("security_code", "security_code"),
    ("secret_answer_1", "secret_answer"),
    ("secret_answer_2", "secret_answer"),
)


async def security_input(
    raw: SecurityIn | dict[str, Any], where: str, *, create: bool
) -> updates.SecurityInput:
    """Check a security object and hash its secrets (argon2id on the CPU pool) before any
    unit of work opens. On create every secret and question is required; on update any
    of them, a question only with its answer. trust_level is the server's (dropped)."""
    given = (
        raw.model_dump(exclude_none=True)
        if isinstance(raw, SecurityIn)
        else {k: v for k, v in raw.items() if v is not None}
    )
    unknown = sorted(set(given) - set(SecurityIn.model_fields))
    if unknown:
        raise codes.invalid(f"{where}.{unknown[0]} is not a security field.")
    given = {k: v for k, v in given.items() if v != "" and k != "trust_level"}
    names = [n for n, _ in _SECRETS] + list(updates.QUESTION_FIELDS)
    if create:
        for name in names:
            if name not in given:
                raise codes.missing(f"{where}.{name}")
    elif not any(n in given for n in names):
        raise codes.missing(f"{where}.password, security_code or a secret question and answer")
    for n in ("1", "2"):
        if (f"secret_question_{n}" in given) != (f"secret_answer_{n}" in given):
            raise codes.missing(f"{where}.secret_question_{n} and {where}.secret_answer_{n} (together)")
    questions: dict[str, str] = {}
    for q in updates.QUESTION_FIELDS:
        if q in given:
            questions[q] = fields.coerce(fields.RULES["security"][q], given[q], f"{where}.{q}")
    status = None
    if "status" in given:
        status = fields.coerce(fields.RULES["security"]["status"], given["status"], f"{where}.status")
    todo = [(name, kind) for name, kind in _SECRETS if name in given]
    try:
        for name, _ in todo:  # every check first: a bad one hashes nothing
            if not isinstance(given[name], str | int) or isinstance(given[name], bool):
                raise sensitive.SensitiveInputError(f"{where}.{name}", "must be a string")
        hashes = await asyncio.gather(
            *(sensitive.hash_secret(str(given[n]), kind=k, field=f"{where}.{n}") for n, k in todo)
        )
    except sensitive.SensitiveInputError as exc:
        raise codes.invalid(str(exc)) from None
    secrets = dict(zip((n for n, _ in todo), hashes, strict=True))
    return updates.SecurityInput(
        password=secrets.get("password"),
        security_code=secrets.get("security_code"),
        secret_question_1=questions.get("secret_question_1"),
        secret_answer_1=secrets.get("secret_answer_1"),
        secret_question_2=questions.get("secret_question_2"),
        secret_answer_2=secrets.get("secret_answer_2"),
        status=status,
    )


def _contacts(kind: str, items: list[Any], method: fields.Method) -> tuple[updates.ContactInput, ...]:
    """Each email or phone checked by its table (fields.py) on the method's letters."""
    if not items:
        raise codes.missing(kind)
    out = []
    for i, item in enumerate(items):
        path = f"{kind}[{i}]"
        raw = item.model_dump(exclude_none=True) if isinstance(item, BaseModel) else dict(item)
        c = fields.validate_object(kind, raw, method=method, path=path)
        value = c.get("address" if kind == "email" else "number")
        country = c.get("country_code")
        if country is not None:
            try:
                country = sensitive.check_country(country, f"{path}.country_code")
            except sensitive.SensitiveInputError as exc:
                raise codes.invalid(str(exc)) from None
        primary = c.get("is_primary")
        out.append(
            updates.ContactInput(
                id=c.get("id"),
                value=str(value) if value is not None else None,
                type=c.get("type"),
                country_code=country,
                is_primary=None if primary is None else bool(primary),
                status=c.get("status"),
                custom_field=_custom(c.get("custom_field"), f"{path}.custom_field"),
                path=path,
            )
        )
    return tuple(out)


def _personal(raw: PersonalInfoIn, where: str = "personal_info") -> updates.PersonalInfoInput:
    c = fields.validate_object("personal_info", raw.model_dump(exclude_none=True), method="PUT", path=where)
    kept = {k: c[k] for k in updates.PERSONAL_FIELDS if k in c and c[k] is not None}
    first, last = c.get("first_name"), c.get("last_name")
    return updates.PersonalInfoInput(
        None if first is None else str(first), None if last is None else str(last), kept
    )


def _only(h: UserHeaders, ctx: Any, user: users.UserView, *keys: str) -> dict[str, Any]:
    parts = user_parts(h, ctx, user)
    return {k: parts[k] for k in ("info", *keys)}


def _touched(h: UserHeaders, ctx: Any, kind: str, outcome: updates.Outcome) -> dict[str, Any]:
    """The rows a change touched (004:L3479-3621 etc.); deleted ones as their id alone."""
    parts = _only(h, ctx, outcome.user)
    item = email_item if kind == "email" else phone_item
    if outcome.deleted:
        keys = list(item(h, users.Identified("", _BLANK)))
        parts[kind] = [{**dict.fromkeys(keys), "id": rid} for rid in outcome.deleted]
    else:
        parts[kind] = [item(h, t) for t in outcome.touched]
    return envelope(h, parts)


_BLANK = UserRecord(0, "", 0, 0, False, {}, None, utcnow(), utcnow())


async def _get(db: Any, ctx: Any, uid: int) -> users.UserView:
    user = await db.read(_read, ctx, uid)
    if user is None:
        user = await db.write(users.read_user, ctx, uid)
    assert isinstance(user, users.UserView)
    return user


@router.put(
    "/user/{user_id}",
    summary="Update User",
    description="Change a user in one unit of work (all or nothing): `personal_info` (names through "
    "the customers service, customerUpdated; the other fields in the personal info record), `security` "
    "(the given secrets re-hashed with argon2id, never returned), `email[]` and `phone[]` by id (as "
    "Update User Email / Phone), `address` (the main address, as Update User Address) and `preferences` "
    "(as Update User Preferences)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 409, 413, 422),
)
async def update_user(
    request: Request, user_id: str, body: Annotated[UpdateUserBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    _flag01(body.validate_, "validate")
    # The main address and the preferences are checked as their own operations check them.
    from patron.api.user import profile  # it builds on this module

    address = preferences = None
    if body.address is not None:
        item = profile.AddressItem.model_validate(body.address.model_dump(exclude_unset=True))
        address = profile._address(item, "address", "PUT", "address")
    if body.preferences is not None:
        given = profile.PreferencesItem.model_validate(body.preferences.model_dump(exclude_unset=True))
        preferences = profile._preferences(given, h)
    cmd = updates.UpdateUser(
        uid,
        _personal(body.personal_info) if body.personal_info is not None else None,
        await security_input(body.security, "security", create=False) if body.security is not None else None,
        _contacts("email", body.email, "PUT") if body.email else (),
        _contacts("phone", body.phone, "PUT") if body.phone else (),
        h.source_id,
        address,
        preferences,
    )
    box: SecretBox = request.app.state.box
    return await write(
        ctx,
        updates.update_user,
        ctx,
        cmd,
        render=lambda u: envelope(h, user_parts(h, ctx, u, box=box)),
        sealed=True,  # the answer may hold numbers in clear (a revealing till)
    )


@router.put(
    "/user/personal_info/{user_id}",
    summary="Update User Personal Info",
    description="Change the user's personal information: first and last name are the userSource "
    "profile's names (through the customers service: customerUpdated with updatedFields, history); "
    "title, nick name, job title, gender, date of birth and photo are the personal info record's, "
    "recorded in the change log and raising customerUpdated too. Fields not sent stay." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def update_personal_info(
    request: Request, user_id: str, body: Annotated[PersonalInfoBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    given = _personal(body.personal_info)
    return await write(
        ctx,
        updates.update_personal_info,
        ctx,
        uid,
        given,
        render=lambda u: envelope(h, _only(h, ctx, u, "personal_info")),
    )


@router.get(
    "/user/personal_info/{user_id}",
    summary="Get User Personal Info",
    description="The user's personal information: the userSource profile's names and the personal "
    "info record." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_personal_info(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    user = await _get(db, ctx, _path_user(user_id))
    return respond(h, _only(h, ctx, user, "personal_info"))


@router.put(
    "/user/security/{user_id}",
    summary="Update User Security",
    description="Replace the user's password, security code and secret questions and answers (any of "
    "them; a question with its answer). Secrets are checked (password 8-128 characters, NIST SP 800-63B; "
    "security code 1-6 digits; answers 1-101 characters, matched case-insensitively) and stored only as "
    'argon2id hashes; the answer shows them Wiped ("____"). Recorded in the change log with every secret '
    'as "____"; a new password raises customerUpdated, whose updatedFields entry '
    '(`security:<id>.password`) holds no secret ("____").' + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def update_security(
    request: Request, user_id: str, body: Annotated[SecurityBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    given = await security_input(body.security, "security", create=False)
    # The org's and the user's access rules for "security_update" (users/access_rules.py).
    client = client_address(request)
    guarded = access_rules.guarded(access_rules.SECURITY_UPDATE, client, updates.update_security)
    return await write(
        ctx,
        guarded,
        ctx,
        uid,
        given,
        render=lambda u: envelope(h, _only(h, ctx, u, "security")),
    )


@router.get(
    "/user/security/{user_id}",
    summary="Get User Security",
    description="The user's security settings: trust level and question ids; every secret Wiped "
    '("____" when set, null when not), never its value or hash.' + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_security(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    user = await _get(db, ctx, _path_user(user_id))
    return respond(h, _only(h, ctx, user, "security"))


def _contact_routes(kind: str, label: str, body_model: type[BaseModel]) -> None:
    """The four routes of a user's emails or phones (they differ only in their field)."""
    word = "address" if kind == "email" else "number"
    plural = "Email(s)" if kind == "email" else "Phone(s)"
    ident = "email" if kind == "email" else "mobile"

    async def create(request: Request, user_id: str, body: Any, write: Write, ctx: Ctx) -> JSONResponse:
        h = headers_for(request, ctx)
        uid = _path_user(user_id)
        items = _contacts(kind, getattr(body, kind), "POST")
        return await write(
            ctx,
            updates.add_contacts,
            ctx,
            uid,
            kind,
            items,
            h.source_id,
            render=lambda o: _touched(h, ctx, kind, o),
        )

    async def update(request: Request, user_id: str, body: Any, write: Write, ctx: Ctx) -> JSONResponse:
        h = headers_for(request, ctx)
        uid = _path_user(user_id)
        items = _contacts(kind, getattr(body, kind), "PUT")
        return await write(
            ctx, updates.update_contacts, ctx, uid, kind, items, render=lambda o: _touched(h, ctx, kind, o)
        )

    async def delete(request: Request, user_id: str, body: Any, write: Write, ctx: Ctx) -> JSONResponse:
        h = headers_for(request, ctx)
        uid = _path_user(user_id)
        items = _contacts(kind, getattr(body, kind), "DELETE")
        return await write(
            ctx, updates.delete_contacts, ctx, uid, kind, items, render=lambda o: _touched(h, ctx, kind, o)
        )

    async def read(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
        h = headers_for(request, ctx)
        user = await _get(db, ctx, _path_user(user_id))
        return respond(h, _only(h, ctx, user, kind))

    for fn in (create, update, delete):
        fn.__annotations__["body"] = Annotated[body_model, Body()]
    path = f"/user/{kind}/{{user_id}}"
    router.post(
        path,
        summary=f"Create User {label}",
        description=f"Add {kind}s to the user: each {word} becomes a `{ident}` identifier of the userSource "
        "profile (through the customers service: customerUpdated, uniqueness; one held by another user is "
        f"3009), with its user record (type, primary, status, custom field). One primary {kind}: a new "
        "primary takes it over; a user's first is primary. All or nothing." + _HEADERS_DOC,
        response_model=UserAnswer,
        responses=user_errors(400, 404, 408, 409, 413, 422),
    )(create)
    router.put(
        path,
        summary=f"Update User {label}",
        description=f"Change the user's {kind}s by id: a new {word} replaces the identifier "
        f"(customerUpdated) and resets verification_status to 0 (verification is the server's); type, status"
        f"{', country code' if kind == 'phone' else ''} and primary are the record's (change log, "
        "customerUpdated). Making one primary takes it from the other; a primary cannot be made "
        "non-primary. All or nothing." + _HEADERS_DOC,
        response_model=UserAnswer,
        responses=user_errors(400, 404, 408, 409, 413, 422),
    )(update)
    router.delete(
        path,
        summary=f"Delete User {label}",
        description=f"Remove the user's {kind}s by id (their identifiers and records; customerUpdated). "
        f"When the primary goes, the remaining {kind} with the lowest id becomes primary. A loyalty customer "
        "keeps its primary identifier type (3011). All or nothing." + _HEADERS_DOC,
        response_model=UserAnswer,
        responses=user_errors(400, 404, 408, 409, 413, 422),
    )(delete)
    router.get(
        path,
        summary=f"Get User {plural}",
        description=f"The user's {kind}s: the userSource profile's `{ident}` identifiers with their records "
        "(one added through v2 gets its record on this first read)." + _HEADERS_DOC,
        response_model=UserAnswer,
        responses=user_errors(400, 404),
    )(read)


_contact_routes("email", "Email", EmailsBody)
_contact_routes("phone", "Phone", PhonesBody)
