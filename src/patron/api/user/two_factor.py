"""Enroll User In 2FA and Activate User 2FA (seed 004, users/two_factor.py).

Both answer the user envelope with `credit_limit` after `currency` and `authentication_data`
after `organization` (004:L11581-11717, L11751-11887). The secret is in Enroll's answer only;
its QR code is drawn here (segno, an SVG data: URI), never by a third party.
"""

from __future__ import annotations

import base64
import io
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, create_model

from patron.api.deps import Box, Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.access_rules import client_address
from patron.api.user.envelope import USER_KEYS, UserHeaders, envelope, headers_for
from patron.api.user.schemas import Result, user_errors
from patron.api.user.security_deps import AttemptsDep
from patron.api.user.users import _HEADERS_DOC, _path_user, user_parts
from patron.api.writes import Write
from patron.context import RequestContext
from patron.cpu import run_cpu
from patron.db.engine import Database
from patron.errors import PatronError
from patron.users import access_rules, codes, two_factor
from patron.users import service as users
from patron.users.records import UserRecord

router = APIRouter(tags=["users"], route_class=LeanRoute)

Scalar = str | int | float | bool | None
_AT = USER_KEYS.index("currency") + 1
_AT_DATA = USER_KEYS.index("organization") + 1
# The 2FA answers' keys (004:L11581-11717): the user keys with `credit_limit` after
# `currency` and `authentication_data` after `organization`.
TWO_FACTOR_KEYS: tuple[str, ...] = (
    *USER_KEYS[:_AT],
    "credit_limit",
    *USER_KEYS[_AT:_AT_DATA],
    "authentication_data",
    *USER_KEYS[_AT_DATA:],
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100)


class AuthenticationIn(_In):
    type: Scalar = None
    code: Scalar = None


class EnrollBody(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"authentication_data": [{"type": 11}]}]})
    authentication_data: list[AuthenticationIn] = Field(min_length=1, max_length=1)


class ActivateBody(_In):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"authentication_data": [{"type": 11, "code": "848201"}]}]}
    )
    authentication_data: list[AuthenticationIn] = Field(min_length=1, max_length=1)


class AuthenticationOut(BaseModel):
    type: int
    is_enabled: int = Field(description="1 once activated.")
    issuer: str | None = Field(description="The org's name, as the authenticator app shows it.")
    title: str | None = Field(description="The account: the user's primary email, else mobile, else id.")
    secret_key: str | None = Field(description="Enroll only: the TOTP secret (base32). Never again.")
    code: str | None = Field(description="Always null: a code is never echoed.")
    manual_entry_key: str | None = Field(description="Enroll only: the secret to type in (base32).")
    qr_image_url: str | None = Field(
        description="Enroll only: the otpauth:// URI as a QR code, a data:image/svg+xml;base64 URI."
    )


_SECTION = (dict[str, Any] | list[dict[str, Any]] | None, ...)
_FIELDS: dict[str, Any] = {("validate_" if k == "validate" else k): _SECTION for k in TWO_FACTOR_KEYS}
_FIELDS.update(
    {
        "result": (Result, ...),
        "authentication_data": (list[AuthenticationOut] | None, ...),
        "function_code": (int, ...),
        "time_zone": (str, ...),
        "time_zone_name": (str | None, ...),
        "response_time": (int, ...),
        "validate_": (str | None, Field(alias="validate")),
    }
)
TwoFactorAnswer: type[BaseModel] = create_model(
    "TwoFactorAnswer",
    __doc__="Enroll User In 2FA / Activate User 2FA (004:L11581-11717): the user envelope with "
    "credit_limit and authentication_data.",
    **_FIELDS,
)


def _type_of(body: EnrollBody | ActivateBody) -> AuthenticationIn:
    item = body.authentication_data[0]
    raw = item.type
    if raw is None or raw == "":
        raise codes.missing("authentication_data[0].type")
    if isinstance(raw, bool) or str(raw).strip() != str(two_factor.TOTP_TYPE):
        raise codes.invalid(f"authentication_data[0].type must be {two_factor.TOTP_TYPE} (TOTP).")
    return item


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as a QR code: an SVG in a base64 data: URI, drawn locally."""
    out = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _answer(
    h: UserHeaders, ctx: RequestContext, user: users.UserView, rec: UserRecord, shown: dict[str, Any]
) -> dict[str, Any]:
    info = user_parts(h, ctx, user)["info"]
    # This family's info has risk_rate after type (Patron rates no risk: null).
    head = {k: info[k] for k in ("id", "program_id", "status", "type")}
    parts = {
        "info": {**head, "risk_rate": None, **{k: v for k, v in info.items() if k not in head}},
        "authentication_data": [
            {
                "type": two_factor.TOTP_TYPE,
                "is_enabled": 1 if rec.data.get("is_enabled") == 1 else 0,
                "issuer": rec.data.get("issuer"),
                "title": rec.data.get("title"),
                "secret_key": None,
                "code": None,
                "manual_entry_key": None,
                "qr_image_url": None,
                **shown,
            }
        ],
    }
    return envelope(h, parts, TWO_FACTOR_KEYS)


async def _label(db: Database, ctx: RequestContext, uid: int) -> two_factor.Label:
    try:
        label: two_factor.Label = await db.read(two_factor.label_of, ctx, uid)
    except users.NeedsRows:  # identifiers added through v2 get their rows on a first read
        await db.write(users.read_user, ctx, uid)
        label = await db.read(two_factor.label_of, ctx, uid)
    return label


@router.post(
    "/user/auth/enroll/{user_id}",
    summary="Enroll User In 2FA",
    description="Start TOTP two-factor authentication (RFC 6238: 30 s, 6 digits, SHA-1): a new "
    "160-bit secret, stored encrypted, pending activation (`is_enabled` 0). The answer is the only "
    "place the secret ever appears: `secret_key` and `manual_entry_key` (base32) and `qr_image_url`, the "
    "otpauth:// URI as a QR code drawn here (a data:image/svg+xml;base64 URI; the seed's third-party "
    "chart URL is not used). `issuer` is the org's name, `title` the user's primary email (else mobile, "
    "else id). Enrolling again while pending replaces the secret; with 2FA enabled it is refused "
    "(3011). Recorded in the change log without the secret; no customerUpdated." + _HEADERS_DOC,
    response_model=TwoFactorAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def enroll(
    request: Request,
    user_id: str,
    body: Annotated[EnrollBody, Body()],
    db: Db,
    write: Write,
    ctx: Ctx,
    box: Box,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    if _type_of(body).code is not None:
        raise codes.invalid("authentication_data[0].code is not taken by Enroll User In 2FA.")
    label = await _label(db, ctx, uid)
    secret = two_factor.new_secret()
    qr = await run_cpu(qr_data_uri, two_factor.provisioning_uri(secret, label.title, label.issuer))
    shown = {"secret_key": secret, "manual_entry_key": secret, "qr_image_url": qr}
    return await write(
        ctx,
        access_rules.before(access_rules.TWO_FACTOR, ctx, uid, client_address(request), two_factor.enroll),
        ctx,
        box,
        uid,
        secret,
        label,
        render=lambda e: _answer(h, ctx, e.user, e.record, shown),
        sealed=True,  # a replay's stored answer holds the secret
    )


@router.post(
    "/user/auth/activate/{user_id}",
    summary="Activate User 2FA",
    description="Turn on the pending TOTP enrolment with a current code from the authenticator "
    "(6 digits, as a string or a number; one 30 s step of clock drift either way): `is_enabled` "
    "becomes 1. A code's time step is accepted once: a reused code, or one older than the last "
    "accepted, is refused like a wrong one (3015), and each such failure counts against the "
    "account's and the client address's failure throttle (429 with Retry-After after 10 in a row). "
    "With 2FA already enabled, a valid code is checked and spent the same way and nothing else "
    "changes. No enrolment: 3011. The code is never echoed (`code` null)." + _HEADERS_DOC,
    response_model=TwoFactorAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def activate(
    request: Request,
    user_id: str,
    body: Annotated[ActivateBody, Body()],
    write: Write,
    ctx: Ctx,
    attempts: AttemptsDep,
    box: Box,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    raw = _type_of(body).code
    if raw is None or raw == "":
        raise codes.missing("authentication_data[0].code")
    code = two_factor.normalise_code(raw)
    if code is None:
        raise codes.invalid("authentication_data[0].code must be 6 digits.")
    gate = await attempts.check(ctx.org_id, uid, request.scope)
    try:
        answer = await write(
            ctx,
            access_rules.before(
                access_rules.TWO_FACTOR, ctx, uid, client_address(request), two_factor.activate
            ),
            ctx,
            box,
            uid,
            code,
            render=lambda done: _answer(h, ctx, done[0], done[1], {}),
        )
    except PatronError as exc:
        if exc.code == int(codes.CODE_INVALID.code):
            await attempts.failed(gate)
        raise
    await attempts.succeeded(gate)
    return answer
