"""Credit cards, bank accounts, identifications and accounts: sealed at rest, masked in answers.

Seed 004's Create/Update/Delete/Get of a user's credit cards, bank accounts and
identifications (users/finance.py) and Get User Account(s) (the customer's v2 cards). Numbers
are masked (card 6+4, bank number 2+4, IBAN 4+4, identification 2+2) unless the request sends
`show_sensitive_data: 1` from a till in the org's `sensitiveDataTills`; the CVV is never kept
and never answered (null).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse, parse_body
from patron.api.routing import LeanRoute
from patron.api.user import documents as doc_api
from patron.api.user.envelope import UserHeaders, envelope, headers_for, respond
from patron.api.user.parts import FINANCE_RENDER as _RENDER
from patron.api.user.parts import items_out, nested_documents, reveal_for
from patron.api.user.schemas import UserAnswer, user_errors
from patron.api.user.users import _path_user, user_parts
from patron.api.v2.images import Store
from patron.api.writes import Write
from patron.context import RequestContext
from patron.customers.cards import series_names
from patron.customers.views import CardView
from patron.db.uow import UnitOfWork
from patron.users import codes, finance
from patron.users import documents as docs
from patron.users import service as users
from patron.users.records import UserRecord
from patron.webhooks.secrets import SecretBox

router = APIRouter(tags=["users"], route_class=LeanRoute)

_HEADERS_DOC = (
    " Configuration headers: `lang`, `source_id` (kept as the records' original_source_id), "
    "`time_zone`, `show_sensitive_data` (1 shows numbers in clear only to a till listed in the org's "
    "sensitiveDataTills; otherwise masked), `show_custom_field`."
)
_ITEMS = Field(default=None, max_length=finance.MAX_ITEMS)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardsBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "credit_card": [
                        {
                            "first_name": "Winston",
                            "last_name": "Collier",
                            "type": "1",
                            "number": "4606607755411750",
                            "currency_code": "USD",
                            "expiry_year": "2030",
                            "expiry_month": "12",
                            "is_primary": 0,
                            "status": 1,
                            "security_code": 123,
                        }
                    ]
                }
            ]
        }
    )
    credit_card: list[dict[str, Any]] | None = _ITEMS


class BankAccountsBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bank_account": [
                        {
                            "name": "Marcos Collier",
                            "country_code": 840,
                            "currency_code": "USD",
                            "holder_name": "Collier",
                            "type": 1,
                            "number": 42247074,
                            "swift_code": "AAFMGB21",
                            "iban": "GB17BARC20038446275882",
                            "routing_number": 123456780,
                            "is_primary": "1",
                            "beneficiary_type": "2",
                        }
                    ]
                }
            ]
        }
    )
    bank_account: list[dict[str, Any]] | None = _ITEMS


class IdentificationsBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "identification": [
                        {
                            "type": 3,
                            "country_of_issue": 124,
                            "country_of_residence": 124,
                            "issue_date": "2020-09-21",
                            "expiry_date": "2030-09-21",
                            "number": "5299990044524768",
                        }
                    ]
                }
            ]
        }
    )
    identification: list[dict[str, Any]] | None = _ITEMS
    documents: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=finance.MAX_ITEMS,
        description="Documents of the identification (the identification-with-document operations).",
    )


# ---------------------------------------------------------------------------------------
# Rendering


def _deleted(h: UserHeaders, kind: str, record_id: int) -> dict[str, Any]:
    """A deleted record as the seed answers it: its id, every other field null."""
    at = datetime.now(UTC)
    keys = list(_RENDER[kind](h, UserRecord(record_id, kind, 0, 0, False, {}, None, at, at), {}))
    item: dict[str, Any] = dict.fromkeys(keys)
    item["id"] = record_id
    if kind == "bank_account":
        item["service_provider"] = -1
    return item


def _parts(
    h: UserHeaders, ctx: RequestContext, user: users.UserView, kind: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    everything = user_parts(h, ctx, user)
    parts: dict[str, Any] = {"info": everything["info"], kind: items}
    if kind == "identification":
        parts["personal_info"] = everything["personal_info"]
        parts["address"] = everything.get("address")
    return parts


# ---------------------------------------------------------------------------------------
# Writes and reads


async def _write(
    request: Request,
    user_id: str,
    kind: finance.Kind,
    method: finance.Method,
    raw: list[dict[str, Any]] | None,
    write: Write,
    ctx: RequestContext,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    items = finance.check_items(kind, raw, method)
    box: SecretBox = request.app.state.box
    cmd = finance.RecordChange(uid, kind, method, tuple(items), box, h.source_id)

    def render(changed: finance.Changed) -> dict[str, Any]:
        rendered = items_out(h, ctx, box, kind, changed.records)
        rendered += [_deleted(h, kind, rid) for rid in changed.deleted]
        return envelope(h, _parts(h, ctx, changed.user, kind, rendered))

    # sealed: an idempotent replay's stored answer may hold numbers in clear.
    return await write(ctx, finance.change_records, ctx, cmd, render=render, sealed=True)


async def _read_user(uow: UnitOfWork, ctx: RequestContext, user_id: int) -> users.UserView | None:
    try:
        return await users.read_user(uow, ctx, user_id)
    except users.NeedsRows:
        return None


async def _get(
    request: Request, user_id: str, kind: finance.Kind, db: Db, ctx: RequestContext
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    user = await db.read(_read_user, ctx, uid)
    if user is None:  # identifiers added through v2 get their rows on this first read
        user = await db.write(users.read_user, ctx, uid)
    items = items_out(h, ctx, request.app.state.box, kind, user.all_of(kind))
    return respond(h, {"info": user_parts(h, ctx, user)["info"], kind: items})


# Credit cards ---------------------------------------------------------------------------


@router.post(
    "/user/credit_card/{user_id}",
    summary="Create Credit Card",
    description="Add payment cards to the user. The number (PAN) must pass Luhn and be of a length its "
    "network issues; it is kept sealed (AES-256-GCM) with its BIN and last 4 digits, and answered "
    "masked (first 6 + last 4). The security code (CVV) is checked (3 digits, 4 for American "
    "Express) and never kept: it answers null. Expiry month/year: the current month or later, at "
    "most 20 years ahead. is_primary 1 makes it the user's one primary card. All or nothing." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def create_credit_card(
    request: Request, user_id: str, body: Annotated[CardsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _write(request, user_id, "credit_card", "POST", body.credit_card, write, ctx)


@router.put(
    "/user/credit_card/{user_id}",
    summary="Update User CreditCard",
    description="Change the user's cards by `id`: the fields sent change, the rest stay. A new number "
    "is checked and sealed as on create; a new expiry is checked with the kept month or year." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def update_credit_card(
    request: Request, user_id: str, body: Annotated[CardsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _write(request, user_id, "credit_card", "PUT", body.credit_card, write, ctx)


@router.delete(
    "/user/credit_card/{user_id}",
    summary="Delete User Credit Card",
    description="Delete the user's cards named by `id` (sealed number and all); each answers its id "
    "with every other field null. An id that is not this user's card is 3005 and nothing is deleted."
    + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def delete_credit_card(
    request: Request, user_id: str, body: Annotated[CardsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _write(request, user_id, "credit_card", "DELETE", body.credit_card, write, ctx)


@router.get(
    "/user/credit_card/{user_id}",
    summary="Get User Credit Card(s)",
    description="The user's cards, numbers masked (first 6 + last 4) unless revealed; the CVV is "
    "never kept (null)." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_credit_cards(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    return await _get(request, user_id, "credit_card", db, ctx)


# Bank accounts --------------------------------------------------------------------------


@router.post(
    "/user/bank_account/{user_id}",
    summary="Create Bank Account",
    description="Add bank accounts to the user. number: 4-34 letters or digits; iban: check digits and "
    "the country's format; swift_code: a SWIFT/BIC; routing_number: an ABA number with its check "
    "digit; country_code ISO 3166, currency_code ISO 4217. One of iban, swift_code, routing_number "
    "or transit_number is required. The number and IBAN are kept sealed and answered masked (first "
    "2 + last 4, IBAN first 4 + last 4). All or nothing." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def create_bank_account(
    request: Request, user_id: str, body: Annotated[BankAccountsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _write(request, user_id, "bank_account", "POST", body.bank_account, write, ctx)


@router.put(
    "/user/bank_account/{user_id}",
    summary="Update User Bank Account",
    description="Change the user's bank accounts by `id`: the fields sent change (checked as on "
    "create), the rest stay." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def update_bank_account(
    request: Request, user_id: str, body: Annotated[BankAccountsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _write(request, user_id, "bank_account", "PUT", body.bank_account, write, ctx)


@router.delete(
    "/user/bank_account/{user_id}",
    summary="Delete User Bank Account",
    description="Delete the user's bank accounts named by `id`; each answers its id with every other "
    "field null. An id that is not this user's is 3005 and nothing is deleted." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def delete_bank_account(
    request: Request, user_id: str, body: Annotated[BankAccountsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    return await _write(request, user_id, "bank_account", "DELETE", body.bank_account, write, ctx)


@router.get(
    "/user/bank_account/{user_id}",
    summary="Get User Bank Account(s)",
    description="The user's bank accounts in `bank_account` (the seed's sample answers an "
    "identification array here by mistake), number and IBAN masked unless revealed." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_bank_accounts(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    return await _get(request, user_id, "bank_account", db, ctx)


# Identifications ------------------------------------------------------------------------


# The body is read by hand (up to users/documents.py's limit: documents carry base64 files);
# its schema is IdentificationsBody's, registered by Delete User Identification.
_IDENTIFICATION_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IdentificationsBody"}}},
}
_WITH_DOCUMENTS_DOC = (
    " With `documents` (Add / Update Identification With Document and their Selfie forms) the "
    "identifications are changed as without them, then the documents (base64 attachments: JPEG, "
    "PNG, WebP or PDF, at most 5 MB each) are attached to them (users/documents.py), and the answer "
    "carries `credit_limit` and the `documents`."
)


async def _identification_write(
    request: Request, user_id: str, method: finance.Method, write: Write, ctx: RequestContext, store: Store
) -> JSONResponse:
    """One route per method for both shapes: without `documents` an identification change,
    with them users/documents.py's identification_with_documents."""
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    body = parse_body(IdentificationsBody, await doc_api.read_large_json(request))
    if body.documents is None:
        return await _write(request, user_id, "identification", method, body.identification, write, ctx)
    box: SecretBox = request.app.state.box
    items = finance.check_items("identification", body.identification, method)
    documents = await docs.prepare_documents(ctx, uid, body.documents)

    def render(done: docs.IdentificationWithDocuments) -> dict[str, Any]:
        changed: finance.Changed = done.changed
        parts = _parts(
            h, ctx, changed.user, "identification", items_out(h, ctx, box, "identification", changed.records)
        )
        parts["documents"] = nested_documents(h, ctx, done.documents)
        # This family's info has risk_rate after type (Patron rates no risk: null) and its
        # identifications end with ticket (004:L5027-5375).
        info = parts["info"]
        parts["info"] = {k: v for k, v in info.items() if k in ("id", "program_id", "status", "type")}
        parts["info"]["risk_rate"] = None
        parts["info"].update({k: v for k, v in info.items() if k not in parts["info"]})
        for item in parts["identification"]:
            item["ticket"] = None
        return envelope(h, parts, doc_api.IDENTIFICATION_WITH_DOCUMENT_KEYS)

    try:
        return await write(
            ctx,
            docs.identification_with_documents,
            ctx,
            uid,
            items,
            documents,
            method=method,
            box=box,
            store=store,
            source_id=h.source_id,
            render=render,
            sealed=True,
        )
    except BaseException:
        await docs.forget(store, docs.file_keys(documents))
        raise


@router.post(
    "/user/identification/{user_id}",
    summary="Create User Identification",
    description="Add identity documents' data to the user: type, country_of_issue and "
    "country_of_residence (ISO 3166), issue_date and expiry_date (yyyy-mm-dd, expiry not before "
    "issue), number (kept sealed, answered masked: first 2 + last 2). All or nothing."
    + _WITH_DOCUMENTS_DOC
    + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
    openapi_extra={
        "x-seed-operations": [
            "Create User Identification",
            "Add Identification With Document (Selfie)",
            "Add Identification With Document",
        ],
        "requestBody": _IDENTIFICATION_BODY,
    },
)
async def create_identification(
    request: Request, user_id: str, write: Write, ctx: Ctx, store: Store
) -> JSONResponse:
    return await _identification_write(request, user_id, "POST", write, ctx, store)


@router.put(
    "/user/identification/{user_id}",
    summary="Update User Identification",
    description="Change the user's identifications by `id`: the fields sent change (checked as on "
    "create), the rest stay." + _WITH_DOCUMENTS_DOC + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
    openapi_extra={
        "x-seed-operations": [
            "Update User Identification",
            "Update Identification With Document (Selfie)",
            "Update Identification With Document",
        ],
        "requestBody": _IDENTIFICATION_BODY,
    },
)
async def update_identification(
    request: Request, user_id: str, write: Write, ctx: Ctx, store: Store
) -> JSONResponse:
    return await _identification_write(request, user_id, "PUT", write, ctx, store)


@router.delete(
    "/user/identification/{user_id}",
    summary="Delete User Identification",
    description="Delete the user's identifications named by `id`; each answers its id with every "
    "other field null. An id that is not this user's is 3005 and nothing is deleted." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404, 408, 413),
)
async def delete_identification(
    request: Request, user_id: str, body: Annotated[IdentificationsBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    if body.documents is not None:
        raise codes.invalid("documents: Delete User Identification takes identification ids only.")
    return await _write(request, user_id, "identification", "DELETE", body.identification, write, ctx)


@router.get(
    "/user/identification/{user_id}",
    summary="Get User Identification(s)",
    description="The user's identifications, numbers masked (first 2 + last 2) unless revealed."
    + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_identifications(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    return await _get(request, user_id, "identification", db, ctx)


# Accounts -------------------------------------------------------------------------------


async def _cards_of(
    uow: UnitOfWork, ctx: RequestContext, user_id: int
) -> tuple[users.UserView, list[CardView]]:
    view = await uow.customers.view(ctx.org_id, user_id, series_names(ctx.config))
    if view is None or view.merged_into_id is not None:
        raise codes.not_found(user_id)
    user = users.UserView(user_id, view.status_label, view.created_at, "", "", [], [], [])
    return user, list(view.cards)


def account_out(h: UserHeaders, ctx: RequestContext, user_id: int, card: CardView) -> dict[str, Any]:
    """A loyalty card as the seed's account (004:L17383-17447): Patron keeps no balance, CVV,
    activation code, expiry or PIN of a card, so those are null; the number is masked as a PAN
    (first 6 + last 4) unless revealed."""
    active = "1" if card.status_label.upper() == "ACTIVE" else "0"
    info = {
        "id": card.card_id,
        "supplied_id": None,
        "program_id": ctx.org_id,
        "bin_id": None,
        "user_id": user_id,
        "name": card.series_name or card.series_code,
        "nick_name": None,
        "type": "0",
        "number": reveal_for(h, ctx).pan(card.card_number),
        "card_image": None,
        "currency": None,
        "status": active,
        "usage_status": active,
        "balance": None,
        "external_balance": None,
        "available_balance": None,
        "external_available_balance": None,
        "activation_date_time": h.server_date(card.issued_at) if card.issued_at else None,
        "replace_account": None,
        "original_source_id": None,
        **h.stamps(card.created_at),
        "source_time_zone": h.zone.label,
        "security": {"security_code": None, "activation_code": None, "expiry_date": None, "pin_code": None},
        "is_multi_currency": False,
    }
    item: dict[str, Any] = {"result": None, "info": info}
    item.update(dict.fromkeys(_ACCOUNT_TAIL))
    item.update({"function_code": 0, "response_time": 0})
    return item


_ACCOUNT_TAIL = (
    "limits",
    "archive",
    "custom_field",
    "geo_coordinates",
    "options",
    "bank_account",
    "history",
    "fulfilment",
    "access_rule",
    "notes",
    "last_activity",
    "authentication",
    "validate",
    "function_code",
    "time_zone",
    "time_zone_name",
    "response_time",
)


@router.get(
    "/user/account/{user_id}",
    summary="Get User Account(s)",
    description="The user's accounts: the customer's v2 loyalty cards (every series), each as the "
    "seed's account item with the card number masked as a PAN (first 6 + last 4) unless revealed. "
    "Patron keeps no balance, CVV, activation code, expiry or PIN for a card: those are null." + _HEADERS_DOC,
    response_model=UserAnswer,
    responses=user_errors(400, 404),
)
async def get_accounts(request: Request, user_id: str, db: Db, ctx: Ctx) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    user, cards = await db.read(_cards_of, ctx, uid)
    accounts = [account_out(h, ctx, uid, c) for c in cards]
    return respond(h, {"info": user_parts(h, ctx, user)["info"], "account": accounts})
