"""Verify User Email Link/Code, Verify User Phone Code, Confirm User Email/SMS Code (seed 004) and the
email link's page, a route of ours (users/verification.py).

- `POST /user/security/verify/{user_id}`: `info.type` "8" an email (`verify_data.email.address`),
  "10" a phone (`verify_data.phone.number`). The seed's Verify User Email Link and Verify User
  Email Code send the same request (seed-004-rules.md 6.6): ours tells them apart by an
  optional `info.method` ("code" or "link"), whose default is the org configuration's
  `userEmailVerification` ("code" unless set). A phone is always sent a code (by SMS).
- `POST /user/security/confirm/{user_id}`: `info.type` "9" an email, "10" a phone, with
  `confirm_data.verification_code`; throttled per account and client address
  (security/attempts.py).
- `GET /user/security/link/verify_email?token=...` shows a page with a "Confirm my email"
  button, which POSTs the token to the same path: a mail scanner fetching the link does not
  spend it. Public (the person has no till credentials): the token names the org and the
  user, and is checked like a code, throttled per client address.

Answers never hold the code: `confirm_data.verification_code` is Wiped ("____"), and
`authentication[0].code` is the challenge's id, not the secret.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from patron.api.deps import AppSettings, Box, Ctx, Db
from patron.api.http import JSONResponse, request_id
from patron.api.routing import LeanRoute
from patron.api.user.access_rules import client_address
from patron.api.user.envelope import UserHeaders, envelope, headers_for
from patron.api.user.schemas import Result, user_errors
from patron.api.user.security_deps import AttemptsDep
from patron.api.user.users import _HEADERS_DOC, _path_user, email_item, phone_item
from patron.api.writes import Write
from patron.context import RequestContext
from patron.customers.erasure import SYSTEM
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import PatronError, Throttled
from patron.orgs.config import OrgConfig
from patron.users import access_rules, challenges, codes, verification
from patron.users import service as users
from patron.users.sensitive import WIPED

router = APIRouter(tags=["users"], route_class=LeanRoute)

Scalar = str | int | float | bool | None
LINK_PATH = "/user/security/link/verify_email"
VERIFY_TYPES = {"8": verification.EMAIL, "10": verification.PHONE}
CONFIRM_TYPES = {"9": verification.EMAIL, "10": verification.PHONE}
_TAIL = ("geo_coordinates", "notes", "last_activity", "authentication", "validate")
_TRAILER = ("function_code", "time_zone", "time_zone_name", "response_time")
# The answers' keys in the seed's order (004:L10995-11095, L9473-9577).
VERIFY_KEYS: tuple[str, ...] = ("result", "info", "verify_data", *_TAIL, *_TRAILER)
CONFIRM_KEYS: tuple[str, ...] = ("result", "info", "verify_data", "confirm_data", *_TAIL, *_TRAILER)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=320)


class EmailRef(_In):
    address: Scalar = None


class PhoneRef(_In):
    number: Scalar = None


class VerifyData(_In):
    username: Scalar = Field(default=None, description="Ignored.")
    email: EmailRef | None = None
    phone: PhoneRef | None = None


class VerifyInfo(_In):
    type: Scalar = Field(default=None, description='"8" an email, "10" a phone.')
    method: Scalar = Field(
        default=None,
        description='Ours, for an email: "code" or "link"; default the org configuration\'s '
        "userEmailVerification (code).",
    )


class ConfirmInfo(_In):
    type: Scalar = Field(default=None, description='"9" an email, "10" a phone (SMS).')


class ConfirmData(_In):
    verification_code: Scalar = None


class VerifyBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"verify_data": {"email": {"address": "stephen.wilson@example.com"}}, "info": {"type": "8"}},
                {
                    "verify_data": {"email": {"address": "stephen.wilson@example.com"}},
                    "info": {"type": "8", "method": "link"},
                },
                {"verify_data": {"phone": {"number": "+19037558475"}}, "info": {"type": "10"}},
            ]
        }
    )
    verify_data: VerifyData
    info: VerifyInfo


class ConfirmBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "verify_data": {"email": {"address": "stephen.wilson@example.com"}},
                    "confirm_data": {"verification_code": "132614"},
                    "info": {"type": "9"},
                }
            ]
        }
    )
    verify_data: VerifyData
    confirm_data: ConfirmData
    info: ConfirmInfo


_SECTION = (dict[str, Any] | list[dict[str, Any]] | None, ...)


def _answer_model(name: str, keys: tuple[str, ...], doc: str) -> type[BaseModel]:
    fields: dict[str, Any] = {("validate_" if k == "validate" else k): _SECTION for k in keys}
    fields.update(
        {
            "result": (Result, ...),
            "function_code": (int, ...),
            "time_zone": (str, ...),
            "time_zone_name": (str | None, ...),
            "response_time": (int, ...),
            "validate_": (str | None, Field(alias="validate")),
        }
    )
    model: type[BaseModel] = create_model(name, __doc__=doc, **fields)
    return model


VerifyAnswer = _answer_model(
    "VerifyAnswer",
    VERIFY_KEYS,
    "Verify User Email Link / Email Code / Phone Code (004:L10995-11095): the record the code or link "
    "was sent for (verification_status still 0) and the challenge's id; never the code.",
)
ConfirmAnswer = _answer_model(
    "ConfirmAnswer",
    CONFIRM_KEYS,
    "Confirm User Email / SMS Code (004:L9473-9577): the record, now verification_status 1; the code "
    'Wiped ("____").',
)


def _kind(raw: Scalar, types: dict[str, str]) -> str:
    if raw is None or raw == "":
        raise codes.missing("info.type")
    kind = types.get(str(raw).strip()) if not isinstance(raw, bool) else None
    if kind is None:
        raise codes.invalid(f"info.type must be {' or '.join(repr(t) for t in types)}.")
    return kind


def _value(data: VerifyData, kind: str) -> tuple[str, str]:
    """The address or number the request names (and its path), the other one absent."""
    other = data.phone if kind == verification.EMAIL else data.email
    if other is not None:
        mine, theirs = ("email", "phone") if kind == verification.EMAIL else ("phone", "email")
        raise codes.invalid(f"verify_data.{theirs} does not go with this info.type (it names an {mine}).")
    if kind == verification.EMAIL:
        path, raw = "verify_data.email.address", data.email.address if data.email else None
    else:
        path, raw = "verify_data.phone.number", data.phone.number if data.phone else None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise codes.missing(path)
    if isinstance(raw, bool | float) or len(str(raw)) > 320:
        raise codes.invalid(f"{path} must be a string.")
    return str(raw).strip(), path


def _method(info: VerifyInfo, kind: str, config: OrgConfig) -> str:
    raw = info.method
    if raw is None or raw == "":
        return config.user_email_verification if kind == verification.EMAIL else verification.CODE
    method = str(raw).strip().lower() if isinstance(raw, str) else None
    if method not in verification.METHODS:
        raise codes.invalid('info.method must be "code" or "link".')
    if kind == verification.PHONE and method == verification.LINK:
        raise codes.invalid('info.method "link" is for emails; a phone is sent a code.')
    return method


def link_base(request: Request, public_url: str | None) -> str:
    """Where a link points: our page at `public_url`, else at the request's own base URL."""
    base = public_url if public_url else str(request.base_url)
    return base.rstrip("/") + LINK_PATH + "?token="


def _info(
    h: UserHeaders, ctx: RequestContext, user_id: int, type_: int, challenge_id: int, at: datetime
) -> dict[str, Any]:
    stamps = h.stamps(at)
    return {
        "id": challenge_id,
        "program_id": ctx.org_id,
        "user_id": user_id,
        "pos_id": ctx.actor.till_id,
        "type": type_,
        "source_id": h.source_id,
        "server_date": stamps["server_date"],
        "date_utc": stamps["date_utc"],
        "source_time_zone": h.zone.label,
    }


def _verify_data(h: UserHeaders, kind: str, contact: users.Identified) -> dict[str, Any]:
    return {
        "username": None,
        "email": email_item(h, contact) if kind == verification.EMAIL else None,
        "phone": phone_item(h, contact) if kind == verification.PHONE else None,
    }


@router.post(
    "/user/security/verify/{user_id}",
    summary="Verify User Email Code",
    description="Send a one-time code, or for an email a link, to an address or number the user has "
    '(3013 otherwise): `info.type` "8" with `verify_data.email.address`, or "10" with '
    "`verify_data.phone.number` (by SMS). The seed's two email operations send the same request: "
    '`info.method` ("code" or "link", ours) chooses, else the org configuration\'s '
    "`userEmailVerification` (default code). A code has 6 digits, a link carries 32 random bytes "
    "to our page `/user/security/link/verify_email`; both are kept hashed, valid 10 minutes, single "
    "use (5 wrong tries burn a code); a new request replaces the pending one; at most 5 per user and "
    "purpose per hour (3012). The message goes out after commit. The answer is the record (still "
    "verification_status 0) and `authentication[{type:2, code:<challenge id>}]`, never the code."
    + _HEADERS_DOC,
    response_model=VerifyAnswer,
    responses=user_errors(400, 404, 408, 413),
    openapi_extra={
        "x-seed-operations": ["Verify User Email Link", "Verify User Email Code", "Verify User Phone Code"]
    },
)
async def verify(
    request: Request,
    user_id: str,
    body: Annotated[VerifyBody, Body()],
    write: Write,
    ctx: Ctx,
    box: Box,
    settings: AppSettings,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    kind = _kind(body.info.type, VERIFY_TYPES)
    raw, path = _value(body.verify_data, kind)
    method = _method(body.info, kind, ctx.config)
    value = verification.clean_value(ctx, kind, raw, path)
    base = link_base(request, settings.public_url) if method == verification.LINK else None
    type_ = 8 if kind == verification.EMAIL else 10

    def render(v: verification.Verifying) -> dict[str, Any]:
        parts = {
            "info": _info(h, ctx, uid, type_, v.challenge_id, v.at),
            "verify_data": _verify_data(h, kind, v.contact),
            "authentication": challenges.render_authentication(v.challenge_id),
        }
        return envelope(h, parts, VERIFY_KEYS)

    issue = access_rules.before(access_rules.VERIFY, ctx, uid, client_address(request), verification.verify)
    return await write(ctx, issue, ctx, box, uid, kind, value, path=path, link_base=base, render=render)


async def _record_id(db: Database, ctx: RequestContext, uid: int, kind: str, value: str, path: str) -> int:
    try:
        found: int = await db.read(verification.contact_of, ctx, uid, kind, value, path)
    except users.NeedsRows:  # identifiers added through v2 get their rows first
        found = await db.write(verification.contact_of, ctx, uid, kind, value, path)
    return found


@router.post(
    "/user/security/confirm/{user_id}",
    summary="Confirm User Email Code",
    description='Prove an email (`info.type` "9", `verify_data.email.address`) or phone ("10", '
    "`verify_data.phone.number`) with the code Verify sent (`confirm_data.verification_code`): the "
    "record's verification_status becomes 1 (change log, customerUpdated). A wrong, expired, used or "
    "burnt code is 3015 and changes nothing; failures are throttled per account and client address "
    '(after 10, 429 with Retry-After). The answer shows the record and Wiped code ("____").' + _HEADERS_DOC,
    response_model=ConfirmAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
    openapi_extra={"x-seed-operations": ["Confirm User Email Code", "Confirm User SMS Code"]},
)
async def confirm(
    request: Request,
    user_id: str,
    body: Annotated[ConfirmBody, Body()],
    db: Db,
    ctx: Ctx,
    box: Box,
    attempts: AttemptsDep,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    kind = _kind(body.info.type, CONFIRM_TYPES)
    raw, path = _value(body.verify_data, kind)
    code = body.confirm_data.verification_code
    if code is None or code == "":
        raise codes.missing("confirm_data.verification_code")
    value = verification.clean_value(ctx, kind, raw, path)
    await access_rules.enforce_apart(db, ctx, uid, access_rules.VERIFY, client_address(request))
    gate = await attempts.check(ctx.org_id, uid, request.scope)
    record_id = await _record_id(db, ctx, uid, kind, value, path)
    purpose = verification.purpose_of(kind)
    done = await challenges.redeem(
        db,
        ctx.org_id,
        box,
        uid,
        purpose,
        code,
        verification.then_verify(ctx, uid, kind, purpose),
        record_id=record_id,
        attempts=attempts,
        gate=gate,
    )
    await attempts.succeeded(gate)
    info = _info(h, ctx, uid, 9 if kind == verification.EMAIL else 10, done.challenge_id, done.at)
    info.pop("pos_id")  # the confirm answer has none (004:L9485-9501)
    parts = {
        "info": info,
        "verify_data": _verify_data(h, kind, done.contact),
        "confirm_data": {"verification_code": WIPED},
        "authentication": challenges.render_authentication(done.challenge_id),
    }
    return JSONResponse(envelope(h, parts, CONFIRM_KEYS))


# --- the email link's page (public) --------------------------------------------------------

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}"
    "button{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:0;background:#1a5fb4;color:#fff}"
)


def _page(title: str, text: str, status: int, form_token: str | None = None, **headers: str) -> HTMLResponse:
    form = ""
    if form_token is not None:
        form = (
            '<form method="post" action="verify_email">'
            f'<input type="hidden" name="token" value="{html.escape(form_token)}">'
            '<button type="submit">Confirm my email</button></form>'
        )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={**_PAGE_HEADERS, **headers})


_BAD_LINK = (
    "This link is not valid",
    "It may have expired (links last 10 minutes), been used already, or been replaced by a newer "
    "one. Ask for a new verification email.",
)


@router.get(
    LINK_PATH,
    summary="Email verification link page",
    description="Ours (no seed operation): the page a Verify User Email Link message points at. It "
    'shows a "Confirm my email" button that POSTs the token to this path; nothing is spent by '
    "opening the link, so a mail scanner fetching it does no harm. Public: no credentials.",
    response_class=HTMLResponse,
    include_in_schema=False,  # a page for people, not an API operation (no credentials, HTML)
)
async def link_page(token: str = "") -> HTMLResponse:
    if challenges.parse_link_token(token) is None:
        return _page(*_BAD_LINK, status=400)
    return _page(
        "Confirm your email address",
        "Press the button to confirm that this email address is yours.",
        200,
        form_token=token,
    )


async def _org_config(uow: UnitOfWork, org_id: int) -> OrgConfig | None:
    org = await uow.orgs.get(org_id)
    return None if org is None else OrgConfig.model_validate(org.config)


@router.post(
    LINK_PATH,
    summary="Confirm an email by its link",
    description="Ours (no seed operation): the link page's button. Redeems the token (form field "
    "`token`, or the query's) once: the email it was sent for gets verification_status 1 (change "
    "log, customerUpdated, attributed to the system actor). Answers an HTML page: confirmed, or "
    "why not (400 malformed, 422 wrong/expired/used, 429 with Retry-After while the client address "
    "is throttled). Public: no credentials; the token names the org and the user.",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def redeem_link(request: Request, db: Db, box: Box, attempts: AttemptsDep) -> HTMLResponse:
    raw = bytearray()
    async for chunk in request.stream():  # a form with one token: anything past 2 KiB is not ours
        raw += chunk
        if len(raw) > 2048:
            return _page(*_BAD_LINK, status=400)
    form = parse_qs(raw.decode("latin-1")) if raw else {}
    token = (form.get("token") or [request.query_params.get("token", "")])[0]
    parsed = challenges.parse_link_token(token)
    if parsed is None:
        return _page(*_BAD_LINK, status=400)
    org_id, user_id, secret = parsed
    config = await db.read(_org_config, org_id)
    if config is None:
        return _page(*_BAD_LINK, status=422)
    ctx = RequestContext(org_id, SYSTEM, request_id(request), config, "user")
    purpose = challenges.VERIFY_EMAIL_LINK
    try:
        gate = await attempts.check(org_id, None, request.scope)
        await challenges.redeem(
            db,
            org_id,
            box,
            user_id,
            purpose,
            secret,
            verification.then_verify(ctx, user_id, verification.EMAIL, purpose),
            attempts=attempts,
            gate=gate,
            link=True,
        )
    except Throttled as exc:
        return _page(
            "Too many attempts",
            "Please wait a moment and try again.",
            429,
            **{"Retry-After": str(exc.retry_after)},
        )
    except PatronError:
        return _page(*_BAD_LINK, status=422)
    await attempts.succeeded(gate)
    return _page("Email confirmed", "Thank you: your email address is confirmed.", 200)
