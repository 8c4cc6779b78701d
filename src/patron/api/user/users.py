"""Create User, Get User and Delete User (seed 004): the user namespace over the customer
record (users/service.py, docs/users.md). Paths at the service root as operations.tsv
spells them; answers in the user envelope (api/user/envelope.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.envelope import DELETE_KEYS, UserHeaders, envelope, headers_for, respond
from patron.api.user.schemas import DeletedUser, UserAnswer, user_errors
from patron.api.writes import Write
from patron.db.uow import UnitOfWork
from patron.users import codes
from patron.users import service as users
from patron.users.records import UserRecord

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


class PhoneIn(_In):
    type: Scalar = None
    country_code: Scalar = None
    number: Scalar = None
    verification_status: Scalar = None
    is_primary: Scalar = None
    custom_field: dict[str, Scalar] | None = None


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
    identification: list[dict[str, Scalar]] | None = None
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


def _create_command(body: CreateUserBody, h: UserHeaders) -> users.CreateUser:
    if body.security is not None:
        raise codes.invalid(
            "security is not accepted yet: passwords, security codes and answers are stored only as "
            "argon2id hashes, which this server does not take through Create User yet; send it later "
            "through Update User Security."
        )
    if body.identification:
        raise codes.invalid(
            "identification is not accepted yet: identification numbers are stored only sealed; "
            "add them later through Create User Identification."
        )
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


def user_parts(h: UserHeaders, ctx: Any, user: users.UserView) -> dict[str, Any]:
    """The user-shaped keys an answer about the whole user fills (004:L2969-3439)."""
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
        "email": [
            {
                "id": e.record.record_id,
                "type": e.record.data.get("type", 0),
                "address": e.record.data.get("address") or e.value,
                "is_primary": int(e.record.is_primary),
                "status": e.record.status,
                "verification_status": e.record.verification_status,
                **_row_stamps(h, e.record),
                "custom_field": _custom_out(h, e.record.data.get("custom_field")),
            }
            for e in user.emails
        ],
        "phone": [
            {
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
            for ph in user.phones
        ],
        "currency": [
            {
                "id": c.record_id,
                "code": c.data.get("code"),
                "number": c.data.get("number"),
                "is_primary": int(c.is_primary),
            }
            for c in user.all_of("currency")
        ]
        or None,
        "validate": "0",
    }
    address = user.single("address")
    if address is not None:
        a = address.data
        parts["address"] = {
            "type": a.get("type", 0),
            "is_billing": a.get("is_billing", 0),
            **{k: a.get(k) for k in ("address_line1", "address_line2", "postal_zip_code", "country_code")},
            **{k: a.get(k) for k in ("state_region", "city_town")},
            "status": address.status,
            "verification_status": address.verification_status,
            **_row_stamps(h, address),
            "custom_field": None,
        }
    prefs = user.single("preferences")
    if prefs is not None:
        parts["preferences"] = {
            **{k: prefs.data.get(k) for k in _PREFERENCES},
            "time_zone": prefs.data.get("time_zone"),
            "time_zone_name": None,
            "is_agent": "0",
            "is_reseller": "0",
            "is_seller": "0",
        }
    terms = user.single("terms_conditions")
    if terms is not None:
        parts["terms_conditions"] = {
            "id": terms.record_id,
            "acceptance": terms.data.get("acceptance"),
            "title": None,
            "version_name": None,
            "server_date": h.server_date(terms.created_at),
        }
    geo = user.single("geo_coordinates")
    if geo is not None:
        parts["geo_coordinates"] = {
            k: geo.data.get(k) for k in ("latitude", "longitude", "position_description")
        }
    custom = user.single("custom_field")
    if custom is not None and h.show_custom_field:
        parts["custom_field"] = {str(k): v for k, v in custom.data.get("fields", [])}
    return parts


# The seed's order (004:L3139-3163); JSONB keeps no key order, so the answer states it.
_PREFERENCES = (
    "preferred_language_code",
    "enable_facebook_account",
    "enable_promotion_notification",
    "enable_email_notification",
    "enable_sms_notification",
    "enable_push_notification",
    "enable_device_authentication",
)


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
    "`info.id` is the customer id of the v2 API. `security` and `identification` are refused "
    "(3001) until their secrets can be hashed and sealed." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 408, 409, 413, 422),
)
async def create_user(
    request: Request, body: Annotated[CreateUserBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    cmd = _create_command(body, h)
    return await write(ctx, users.create_user, ctx, cmd, render=lambda u: envelope(h, user_parts(h, ctx, u)))


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
    "and the user records." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    user = await db.read(_read, ctx, uid)
    if user is None:
        user = await db.write(users.read_user, ctx, uid)
    return respond(h, user_parts(h, ctx, user))


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
    return await write(ctx, users.delete_user, ctx, uid, render=lambda u: _deleted(h, ctx, u))


def _deleted(h: UserHeaders, ctx: Any, user: users.UserView) -> dict[str, Any]:
    """Delete User's answer (004:L29813-29911): its info has no client_date."""
    parts = user_parts(h, ctx, user)
    parts["info"].pop("client_date")
    return envelope(h, parts, DELETE_KEYS)
