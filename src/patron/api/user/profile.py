"""User records of the profile kind (seed 004): addresses, preferences, currencies, custom
fields, terms and conditions (users/profile.py, docs/users.md "Profile records"). Bodies are
checked by users/fields.py and the sensitive validators; answers are user-shaped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.envelope import UserHeaders, envelope, headers_for, parse_zone, respond
from patron.api.user.parts import (
    address_item,
    address_main,
    address_parts,
    currency_item,
    preferences_out,
    terms_out,
)
from patron.api.user.parts import pairs_out as _pairs_out
from patron.api.user.schemas import UserAnswer, user_errors
from patron.api.user.users import _HEADERS_DOC, _path_user, user_parts
from patron.api.writes import Write
from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.users import codes, fields, sensitive
from patron.users import profile as prof
from patron.users import service as users

router = APIRouter(tags=["users"], route_class=LeanRoute)

Scalar = str | int | float | bool | None


class _Body(BaseModel):
    # Keys no table lists are dropped by users/fields.py (docs/users.md, "Field rules").
    model_config = ConfigDict(extra="allow", str_max_length=500)


class AddressItem(_Body):
    id: Scalar = None
    type: Scalar = None
    is_primary: Scalar = None
    is_billing: Scalar = None
    address_line1: Scalar = None
    address_line2: Scalar = None
    postal_zip_code: Scalar = None
    country_code: Scalar = Field(default=None, description='ISO 3166: "840", 840, "US" or "USA".')
    state_region: Scalar = None
    city_town: Scalar = None
    status: Scalar = Field(default=None, description="Server-owned: ignored.")
    verification_status: Scalar = Field(default=None, description="Server-owned: ignored.")
    custom_field: dict[str, Scalar] | None = None


class CreateAddressBody(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "addresses": [
                        {
                            "type": 0,
                            "is_primary": 0,
                            "is_billing": 0,
                            "address_line1": "148 Woodvale Road",
                            "postal_zip_code": "K0E 1L0",
                            "country_code": "840",
                            "state_region": "NY",
                            "city_town": "Lansdowne",
                        }
                    ]
                }
            ]
        }
    )
    addresses: list[AddressItem] = Field(default_factory=list, max_length=prof.MAX_ADDRESSES)


class UpdateAddressBody(_Body):
    address: AddressItem | None = Field(default=None, description="The main address's new fields (no id).")
    addresses: list[AddressItem] | None = Field(
        default=None, max_length=prof.MAX_ADDRESSES, description="Addresses by id (the seed's new approach)."
    )


class AddressId(_Body):
    id: Scalar = None


class DeleteAddressBody(_Body):
    addresses: list[AddressId] = Field(default_factory=list, max_length=prof.MAX_ADDRESSES)


class PreferencesItem(_Body):
    preferred_language_code: Scalar = Field(default=None, description='ISO 639-1, e.g. "en" or "en-CA".')
    enable_facebook_account: Scalar = None
    enable_promotion_notification: Scalar = None
    enable_email_notification: Scalar = None
    enable_sms_notification: Scalar = None
    enable_push_notification: Scalar = None
    enable_device_authentication: Scalar = None
    time_zone: Scalar = Field(default=None, description='"UTC ±hh:mm".')


class PreferencesBody(_Body):
    preferences: PreferencesItem | None = None


class CurrencyItem(_Body):
    id: Scalar = None
    code: Scalar = Field(default=None, description='ISO 4217, "EUR" or "978".')
    is_primary: Scalar = None


class CurrencyBody(_Body):
    currency: list[CurrencyItem] = Field(default_factory=list, max_length=prof.MAX_CURRENCIES)


class CustomFieldBody(_Body):
    custom_field: dict[str, Scalar] | None = None


# --- checks --------------------------------------------------------------------------------


def _sensitive(check: Callable[..., Any], value: Any, where: str) -> Any:
    try:
        return check(value, where)
    except sensitive.SensitiveInputError as exc:
        raise codes.invalid(f"{exc.field}: {exc.message}.") from None


def _raw(item: BaseModel) -> dict[str, Any]:
    return item.model_dump(exclude_unset=True)


def _address(item: AddressItem, table: str, method: fields.Method, where: str) -> prof.AddressInput:
    raw = _raw(item)
    if raw.get("country_code") not in (None, ""):
        raw["country_code"] = _sensitive(
            sensitive.check_country, raw["country_code"], f"{where}.country_code"
        )
    custom = raw.pop("custom_field", None)
    cleaned = fields.validate_object(table, raw, method=method, path=where)
    given = {k: cleaned[k] for k in prof.ADDRESS_FIELDS if k in cleaned}
    primary = cleaned.get("is_primary")
    rid = cleaned.get("id")
    return prof.AddressInput(
        given,
        int(rid) if rid is not None else None,
        None if primary is None else bool(primary),
        _custom(custom, f"{where}.custom_field") if method == "POST" else None,
    )


def _custom(given: dict[str, Any] | None, where: str) -> dict[str, Any] | None:
    if given is None:
        return None
    if len(given) > prof.MAX_CUSTOM_FIELDS:
        raise codes.invalid(f"{where} has more than {prof.MAX_CUSTOM_FIELDS} fields.")
    for key in given:
        if not key.strip() or len(key) > 100 or any(ord(c) < 32 for c in key):
            raise codes.invalid(
                f"{where}: a field name is empty, longer than 100 characters or holds a control character."
            )
    return dict(given)


def _ids(items: Sequence[BaseModel], table: str, where: str) -> tuple[int, ...]:
    out = []
    for index, item in enumerate(items):
        cleaned = fields.validate_object(table, _raw(item), method="DELETE", path=f"{where}[{index}]")
        out.append(int(cleaned["id"]))
    return tuple(out)


def _preferences(given: PreferencesItem, h: UserHeaders) -> dict[str, Any]:
    cleaned = fields.validate_object("preferences", _raw(given), method="PUT")
    out: dict[str, Any] = {}
    for key in ("preferred_language_code", *prof.PREFERENCE_FLAGS, "time_zone"):
        if key not in cleaned:
            continue
        value = cleaned[key]
        if value is not None and key == "preferred_language_code":
            value = _sensitive(sensitive.check_language, value, "preferences.preferred_language_code")
        elif value is not None and key == "time_zone":
            value = parse_zone(str(value), h.org_zone, utcnow()).label
        out[key] = value
    if not out:
        raise codes.missing("preferences")
    return out


def _currency(item: CurrencyItem, method: fields.Method, where: str) -> prof.CurrencyInput:
    raw = _raw(item)
    code = number = None
    if raw.get("code") not in (None, ""):
        # ISO 4217 alpha-3 in any case or numeric (sensitive.py), then the field's own rule.
        found = _sensitive(sensitive.check_currency, raw["code"], f"{where}.code")
        raw["code"] = code = found.code
        number = found.number or None
    cleaned = fields.validate_object("currency", raw, method=method, path=where)
    primary = cleaned.get("is_primary")
    rid = cleaned.get("id")
    return prof.CurrencyInput(
        code, number, int(rid) if rid is not None else None, None if primary is None else bool(primary)
    )


# --- answers -------------------------------------------------------------------------------


def _deleted_address(rid: int) -> dict[str, Any]:
    return {
        "id": rid,
        **dict.fromkeys(
            (
                "type",
                "is_primary",
                "is_billing",
                *prof.ADDRESS_FIELDS[2:],
                "status",
                "verification_status",
                "original_source_id",
                "server_date",
                "date_utc",
                "client_date",
                "update_date_utc",
                "custom_field",
            )
        ),
    }


def _info(h: UserHeaders, ctx: Any, user: users.UserView) -> dict[str, Any]:
    info: dict[str, Any] = user_parts(h, ctx, user)["info"]
    return info


def _answer(h: UserHeaders, ctx: Any, user: users.UserView, parts: dict[str, Any]) -> dict[str, Any]:
    return envelope(h, {"info": _info(h, ctx, user), **parts})


async def _read(uow: UnitOfWork, ctx: Any, user_id: int) -> users.UserView | None:
    try:
        return await users.read_user(uow, ctx, user_id)
    except users.NeedsRows:
        return None


async def _user(db: Any, ctx: Any, user_id: int) -> users.UserView:
    user = await db.read(_read, ctx, user_id)
    if user is None:
        user = await db.write(users.read_user, ctx, user_id)
    assert isinstance(user, users.UserView)
    return user


# --- addresses -----------------------------------------------------------------------------


@router.post(
    "/user/address/{user_id}",
    summary="Create User Address",
    description="Add addresses to the user (`addresses[]`, all of them or none). `country_code` is "
    'ISO 3166 (alpha-2, alpha-3 or numeric), answered as the numeric string ("840"). `status` and '
    "`verification_status` are the server's: a new address is unverified (0). One address marked "
    "`is_primary` becomes the main one; a user's first address is the main one." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def create_user_address(
    request: Request, user_id: str, body: Annotated[CreateAddressBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    items = tuple(_address(a, "addresses", "POST", f"addresses[{i}]") for i, a in enumerate(body.addresses))
    cmd = prof.AddAddresses(uid, items, h.source_id)

    def render(c: prof.Changed) -> dict[str, Any]:
        return _answer(h, ctx, c.user, {"addresses": [address_item(h, r, r.is_primary) for r in c.records]})

    return await write(ctx, prof.create_addresses, ctx, cmd, render=render)


@router.put(
    "/user/address/{user_id}",
    summary="Update User Address",
    description="Two shapes, told apart by the body (seed-004-rules.md 1.2 G7): a single `address{}` "
    "(no id) updates the user's main address (made when the user has none) and answers `address`; "
    '`addresses[{id, ...}]` (the seed\'s "Update User Addresses (new approach)") updates those '
    "addresses, all or none, and answers `addresses`. Fields sent replace the stored ones (null "
    "clears an optional one); a changed address is unverified again. `is_primary: 1` makes an "
    "address the main one; the main one cannot be unmarked without marking another (3011)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
    openapi_extra={"x-seed-operations": ["Update User Address", "Update User Addresses (new approach)"]},
)
async def update_user_address(
    request: Request, user_id: str, body: Annotated[UpdateAddressBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    if (body.address is None) == (body.addresses is None):
        raise codes.invalid("Send either address{} (the main address) or addresses[{id, ...}], not both.")
    if body.address is not None:
        item = _address(body.address, "address", "PUT", "address")
        cmd1 = prof.UpdatePrimaryAddress(uid, item, h.source_id)

        def one(c: prof.Changed) -> dict[str, Any]:
            return _answer(h, ctx, c.user, {"address": address_main(h, c.records[0])})

        return await write(ctx, prof.update_primary_address, ctx, cmd1, render=one)
    assert body.addresses is not None
    items = tuple(_address(a, "addresses", "PUT", f"addresses[{i}]") for i, a in enumerate(body.addresses))
    cmd = prof.UpdateAddresses(uid, items)

    def many(c: prof.Changed) -> dict[str, Any]:
        return _answer(h, ctx, c.user, {"addresses": [address_item(h, r, r.is_primary) for r in c.records]})

    return await write(ctx, prof.update_addresses, ctx, cmd, render=many)


@router.delete(
    "/user/address/{user_id}",
    summary="Delete User Address",
    description="Remove the addresses named (`addresses[{id}]`), all of them or none (3013 for an id "
    "that is not one of the user's addresses). When the main address goes, the oldest one left "
    "becomes the main one. Answers each removed id with its other fields null." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def delete_user_address(
    request: Request, user_id: str, body: Annotated[DeleteAddressBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    cmd = prof.DeleteRecords(uid, _ids(body.addresses, "addresses", "addresses"))

    def render(c: prof.Changed) -> dict[str, Any]:
        return _answer(h, ctx, c.user, {"addresses": [_deleted_address(r) for r in c.removed]})

    return await write(ctx, prof.remove_addresses, ctx, cmd, render=render)


@router.get(
    "/user/address/{user_id}",
    summary="Get User Address",
    description="The user's main address (`address`) and all their addresses (`addresses`, the main "
    "one first)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_address(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    user = await _user(db, ctx, _path_user(user_id))
    return respond(h, {"info": _info(h, ctx, user), **address_parts(h, user.records)})


# --- preferences ---------------------------------------------------------------------------


@router.put(
    "/user/preferences/{user_id}",
    summary="Update User Preferences",
    description="Change the user's preferences (`preferences{}`; the fields sent replace the stored "
    'ones): `preferred_language_code` ISO 639-1 with an optional region ("en", "en-CA"), the '
    'flags "0"/"1", `time_zone` "UTC ±hh:mm". `is_agent`, `is_reseller` and `is_seller` are the '
    'server\'s ("0").' + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def update_user_preferences(
    request: Request, user_id: str, body: Annotated[PreferencesBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    if body.preferences is None:
        raise codes.missing("preferences")
    cmd = prof.SetPreferences(uid, _preferences(body.preferences, h))

    def render(c: prof.Changed) -> dict[str, Any]:
        return _answer(h, ctx, c.user, {"preferences": preferences_out(h, c.records[0])})

    return await write(ctx, prof.update_preferences, ctx, cmd, render=render)


@router.get(
    "/user/preferences/{user_id}",
    summary="Get User Preferences",
    description="The user's preferences (null when none were ever set)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_preferences(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    user = await _user(db, ctx, _path_user(user_id))
    prefs = preferences_out(h, prof.single(user.records, prof.PREFERENCES))
    return respond(h, {"info": _info(h, ctx, user), "preferences": prefs})


# --- currencies ----------------------------------------------------------------------------


@router.post(
    "/user/currency/{user_id}",
    summary="Create User Currency",
    description="Add currencies to the user (`currency[{code}]`, ISO 4217 alpha-3 or numeric; all "
    "or none; 3009 for a currency the user has). A user's first currency is primary, as is one sent "
    "with `is_primary: 1`. Answers the new ones with their ISO numeric code (`number`)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 409, 413, 422),
)
async def create_user_currency(
    request: Request, user_id: str, body: Annotated[CurrencyBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    items = tuple(_currency(c, "POST", f"currency[{i}]") for i, c in enumerate(body.currency))
    cmd = prof.AddCurrencies(uid, items)

    def render(c: prof.Changed) -> dict[str, Any]:
        return _answer(h, ctx, c.user, {"currency": [currency_item(r) for r in c.records]})

    return await write(ctx, prof.create_currencies, ctx, cmd, render=render)


_UPDATE_CURRENCY_DOC = (
    "Change currency records named by id (`currency[{id, is_primary, code?}]`, all or none). The "
    "seed's path names no user: the records name it (each id must be a currency of this org, all "
    "of one user; 3013 otherwise). `is_primary: 1` moves the user's one primary currency there; "
    "the primary cannot be unmarked without marking another (3011). `User/currency` and "
    "`user/currency` are the same operation." + _HEADERS_DOC
)


async def _update_currency(request: Request, body: CurrencyBody, write: Write, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    items = tuple(_currency(c, "PUT", f"currency[{i}]") for i, c in enumerate(body.currency))
    cmd = prof.UpdateCurrencies(items)

    def render(c: prof.Changed) -> dict[str, Any]:
        return _answer(h, ctx, c.user, {"currency": [currency_item(r) for r in c.records]})

    return await write(ctx, prof.update_currencies, ctx, cmd, render=render)


@router.put(
    "/User/currency",
    summary="Update Currency",
    description=_UPDATE_CURRENCY_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 409, 413, 422),
)
async def update_currency(
    request: Request, body: Annotated[CurrencyBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _update_currency(request, body, write, ctx)


@router.put(
    "/user/currency",
    summary="Update Currency (lower-case path)",
    description="The same operation as `PUT /User/currency`. " + _UPDATE_CURRENCY_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 409, 413, 422),
)
async def update_currency_lower(
    request: Request, body: Annotated[CurrencyBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _update_currency(request, body, write, ctx)


@router.get(
    "/user/currency/{user_id}",
    summary="Get User Currency",
    description="The user's currencies, oldest first, with their ISO numeric code (`number`)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_currency(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    user = await _user(db, ctx, _path_user(user_id))
    rows = [currency_item(r) for r in prof.currencies_of(user.records)]
    return respond(h, {"info": _info(h, ctx, user), "currency": rows or None})


# --- custom fields and terms ---------------------------------------------------------------


@router.post(
    "/user/custom_field/{user_id}",
    summary="Create User Custom Field",
    description="Merge `custom_field{}` into the user's custom fields: a known name takes the new "
    "value, a new one is added, null removes one (at most 50). Answers the user's custom fields "
    "(null with `show_custom_field: 0`)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def create_user_custom_field(
    request: Request, user_id: str, body: Annotated[CustomFieldBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    given = _custom(body.custom_field, "custom_field")
    if not given:
        raise codes.missing("custom_field")
    fields.validate_parts("user_data", {"custom_field": given}, method="POST")
    cmd = prof.MergeCustomFields(uid, given)

    def render(c: prof.Changed) -> dict[str, Any]:
        return _answer(h, ctx, c.user, {"custom_field": _pairs_out(h, c.records[0].data.get("fields"))})

    return await write(ctx, prof.add_custom_fields, ctx, cmd, render=render)


@router.get(
    "/user/terms_conditions/{user_id}",
    summary="Get User Terms & Conditions",
    description="The terms and conditions the user accepted at Create User (null when none were "
    "sent)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_user_terms(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    user = await _user(db, ctx, _path_user(user_id))
    terms = terms_out(h, prof.single(user.records, prof.TERMS))
    return respond(h, {"info": _info(h, ctx, user), "terms_conditions": terms})
