"""The five User Security Reset operations (seed 004) and the forget-password completion route of ours
(users/resets.py).

`POST /user/security/reset/{user_id}` dispatches on `info.type` (seed-004-rules.md 1.2 G4):
1 reset password (with 2FA enabled, plus `authentication[{type: 11, code}]`), 2 reset
security code, 3 forget password, 4 reset security questions. The answers have the seed's
shape (004:L9767-10331) with every secret Wiped ("____"): the seed echoes them.
`POST /user/security/forget_password/{user_id}` redeems the emailed or texted code and sets
the new password.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, create_model

from patron.api.deps import Box, Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.access_rules import client_address
from patron.api.user.envelope import UserHeaders, envelope, headers_for
from patron.api.user.parts import reveal_for
from patron.api.user.schemas import Result, user_errors
from patron.api.user.security_deps import AttemptsDep
from patron.api.user.users import _HEADERS_DOC, _path_user
from patron.api.writes import Write
from patron.context import RequestContext
from patron.customers.commands import IdentifierInput
from patron.customers.identifiers import CHANGE_CODES
from patron.customers.inputs import clean_identifier
from patron.db.base import utcnow
from patron.errors import PatronError
from patron.security.attempts import Attempts, Gate
from patron.users import access_rules, challenges, codes, fields, resets, sensitive
from patron.users.sensitive import WIPED
from patron.users.updates import SecurityInput

router = APIRouter(tags=["users"], route_class=LeanRoute)

Scalar = str | int | float | bool | None
SECRET_MAX = 1024  # characters of a current password read at most (argon2 takes any length)

# The reset family's answer (004:L9767-9837): its keys in the seed's order.
RESET_KEYS: tuple[str, ...] = (
    "result",
    "info",
    "reset_security_data",
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
_SUB = {
    resets.RESET_PASSWORD: "reset_password",
    resets.RESET_SECURITY_CODE: "reset_security_code",
    resets.FORGET_PASSWORD: "forget_password",
    resets.RESET_SECURITY_QUESTIONS: "reset_security_questions",
}
_TWO_FACTOR_TYPE = 11
_RESET_OPERATIONS = [
    "User Security Reset-Reset Password",
    "User Security Reset-Reset Password (With 2FA)",
    "User Security Reset-Reset Security Code",
    "User Security Reset-Forget Password",
    "User Security Reset-Reset Security Questions",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=SECRET_MAX)


class ResetPasswordIn(_In):
    current_password: Scalar = None
    new_password: Scalar = None


class ResetSecurityCodeIn(_In):
    current_password: Scalar = None
    new_security_code: Scalar = None


class ForgetPasswordIn(_In):
    verified_email: Scalar = None
    verified_mobile: Scalar = None
    account_number: Scalar = None


class ResetQuestionsIn(_In):
    current_password: Scalar = None
    secret_question_1: Scalar = None
    secret_answer_1: Scalar = None
    secret_question_2: Scalar = None
    secret_answer_2: Scalar = None


class ResetDataIn(_In):
    reset_password: ResetPasswordIn | None = None
    reset_security_code: ResetSecurityCodeIn | None = None
    forget_password: ForgetPasswordIn | None = None
    reset_security_questions: ResetQuestionsIn | None = None


class ResetInfoIn(BaseModel):
    """`info`: only `type` is read; what a client sends back from an answer is ignored."""

    model_config = ConfigDict(extra="ignore", str_max_length=200)
    type: Scalar = None


class AuthenticationIn(_In):
    type: Scalar = None
    code: Scalar = None


class ResetBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reset_security_data": {
                        "reset_password": {
                            "current_password": "correct horse battery",
                            "new_password": "staple battery horse",
                        }
                    },
                    "info": {"type": "1"},
                    "authentication": [{"type": 11, "code": "942035"}],
                },
                {
                    "reset_security_data": {"forget_password": {"verified_email": "ada@example.com"}},
                    "info": {"type": "3"},
                },
            ]
        }
    )

    reset_security_data: ResetDataIn | None = None
    info: ResetInfoIn | None = None
    authentication: list[AuthenticationIn] | None = Field(default=None, max_length=5)
    # Keys of the seed's reset_user_security table that a reset does not use.
    geo_coordinates: dict[str, Scalar] | None = None
    notes: Scalar | dict[str, Scalar] = None
    validate_: Scalar = Field(default=None, alias="validate")


class ForgetCompletionIn(_In):
    verification_code: Scalar = None
    new_password: Scalar = None


class ForgetCompletionBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"forget_password": {"verification_code": "132614", "new_password": "staple battery horse"}},
                {
                    "forget_password": {
                        "verification_code": "132614",
                        "new_password": "staple battery horse",
                    },
                    "authentication": [{"type": 11, "code": "942035"}],
                },
            ]
        }
    )
    forget_password: ForgetCompletionIn
    authentication: list[AuthenticationIn] | None = Field(default=None, max_length=5)


class ResetInfo(BaseModel):
    id: int = Field(description="0, or for type 3 the id of the code issued (or redeemed).")
    program_id: int
    user_id: int
    type: int
    source_id: str | None
    server_date: str
    date_utc: str
    source_time_zone: str


_SECTION = (dict[str, Any] | list[dict[str, Any]] | None, ...)
_FIELDS: dict[str, Any] = {("validate_" if k == "validate" else k): _SECTION for k in RESET_KEYS}
_FIELDS.update(
    {
        "result": (Result, ...),
        "info": (ResetInfo | None, ...),
        "function_code": (int, ...),
        "time_zone": (str, ...),
        "time_zone_name": (str | None, ...),
        "response_time": (int, ...),
        "validate_": (str | None, Field(alias="validate")),
    }
)
ResetAnswer: type[BaseModel] = create_model(
    "ResetAnswer",
    __doc__="A User Security Reset answer (004:L9767-9837): info, reset_security_data with the "
    "operation's object (every secret Wiped) and authentication.",
    **_FIELDS,
)


# --- input ---------------------------------------------------------------------------------


def _type_of(body: ResetBody) -> int:
    raw = body.info.type if body.info is not None else None
    if raw is None or raw == "":
        raise codes.missing("info.type")
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or int(text) not in resets.TYPES:
        raise codes.invalid(
            "info.type must be 1 (reset password), 2 (reset security code), 3 (forget "
            "password) or 4 (reset security questions)."
        )
    return int(text)


def _sub_object(body: ResetBody, kind: int) -> Any:
    data = body.reset_security_data
    name = _SUB[kind]
    if data is None:
        raise codes.missing(f"reset_security_data.{name}")
    for other in _SUB.values():
        if other != name and getattr(data, other) is not None:
            raise codes.invalid(f"reset_security_data.{other} does not go with info.type {kind}.")
    found = getattr(data, name)
    if found is None:
        raise codes.missing(f"reset_security_data.{name}")
    return found


def _given(value: Scalar, where: str) -> Scalar:
    if value is None or value == "":
        raise codes.missing(where)
    return value


def _current(value: Scalar, where: str) -> str:
    """A current password as given: a non-empty string (checked by verifying it, not by
    today's password policy, which it may predate)."""
    given = _given(value, where)
    if not isinstance(given, str):
        raise codes.invalid(f"{where} must be a string.")
    return given


def _check(kind: sensitive.SecretKind, value: Scalar, where: str) -> str:
    """A new secret checked (users/sensitive.py), never echoed in the error."""
    given = _given(value, where)
    if kind != "security_code" and not isinstance(given, str):
        raise codes.invalid(f"{where} must be a string.")
    try:
        if kind == "password":
            sensitive.check_password(given, where)
        elif kind == "security_code":
            sensitive.check_security_code(given, where)
        else:
            sensitive.check_secret_answer(given, where)
    except sensitive.SensitiveInputError as exc:
        raise codes.invalid(str(exc)) from None
    return str(given)


async def _hash(kind: sensitive.SecretKind, value: str, where: str) -> str:
    try:
        return await sensitive.hash_secret(value, kind=kind, field=where)
    except sensitive.SensitiveInputError as exc:  # pragma: no cover - checked by _check first
        raise codes.invalid(str(exc)) from None


def _totp(items: list[AuthenticationIn] | None) -> object | None:
    """The code of the TOTP entry (type 11) of `authentication`, if any."""
    for item in items or []:
        if (
            item.type is not None
            and not isinstance(item.type, bool)
            and str(item.type).strip() == str(_TWO_FACTOR_TYPE)
        ):
            return item.code if item.code not in (None, "") else None
    return None


# --- answers -------------------------------------------------------------------------------


def _info(h: UserHeaders, ctx: RequestContext, user_id: int, kind: int, record_id: int = 0) -> dict[str, Any]:
    stamps = h.stamps(utcnow())
    return {
        "id": record_id,
        "program_id": ctx.org_id,
        "user_id": user_id,
        "type": kind,
        "source_id": h.source_id,
        "server_date": stamps["server_date"],
        "date_utc": stamps["date_utc"],
        "source_time_zone": h.zone.label,
    }


def _answer(
    h: UserHeaders,
    ctx: RequestContext,
    user_id: int,
    kind: int,
    shown: dict[str, Any],
    *,
    record_id: int = 0,
    authentication: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = dict.fromkeys(_SUB.values())
    data.update(shown)
    parts = {
        "info": _info(h, ctx, user_id, kind, record_id),
        "reset_security_data": data,
        "authentication": authentication,
    }
    return envelope(h, parts, RESET_KEYS)


def _two_factor_shown(checked: bool) -> list[dict[str, Any]] | None:
    """`authentication` of a reset: the TOTP entry when a code was checked, never the code
    (the seed echoes it, 004:L10189-10195, even without 2FA, L10057-10063)."""
    return [{"type": _TWO_FACTOR_TYPE, "code": None}] if checked else None


def _wiped(names: tuple[str, ...]) -> dict[str, str]:
    return dict.fromkeys(names, WIPED)


# --- routes --------------------------------------------------------------------------------


@router.post(
    "/user/security/reset/{user_id}",
    summary="User Security Reset",
    description="Change a credential of the user, by `info.type` (the seed's five User Security Reset "
    "operations):\n"
    "- **1** reset password: `reset_security_data.reset_password{current_password, new_password}`. When "
    "the user's TOTP 2FA is enabled, the top-level `authentication[{type: 11, code}]` must hold a current "
    "code (accepted once); without 2FA `authentication` is ignored.\n"
    "- **2** reset security code: `reset_security_code{current_password, new_security_code}` (1-6 digits).\n"
    "- **4** reset security questions: `reset_security_questions{current_password, secret_question_1, "
    "secret_answer_1, secret_question_2, secret_answer_2}` (answers matched case-insensitively).\n"
    "- **3** forget password: `forget_password{verified_email | verified_mobile | account_number}` (exactly "
    "one): a one-time code (6 digits, valid 10 minutes, one use, burnt after 5 wrong tries, at most 5 "
    "sent per hour) goes to that address or number, which must be one of the user's verified ones "
    "(`verification_status` 1); for an `account_number` (a loyalty card of the user) to the primary "
    "verified email, else the primary verified mobile. `info.id` and `authentication[{type: 2, code}]` "
    "name the code issued, never the code itself. Complete it with POST "
    "/user/security/forget_password/{user_id}.\n\n"
    "Types 1, 2 and 4 need the current password (3014 when it does not match, the user has none or "
    "there is no such user: one answer, in the same time); with 2FA enabled each needs a current TOTP "
    "code too (3015). Type 3 answers 3014 when no verified address, number or card of the user "
    "matches, and sends nothing. Every failure counts against the account's and the client address's "
    "failure throttle (429 with Retry-After after 10 in a row). New secrets are checked (password "
    "8-128 characters, not a common password) and stored as argon2id hashes; the answer shows every "
    'secret Wiped ("____") and never echoes a code. Changes are recorded in the change log with '
    'secrets "____"; a new password raises customerUpdated (no secret in it).' + _HEADERS_DOC,
    response_model=ResetAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
    openapi_extra={"x-seed-operations": _RESET_OPERATIONS},
)
async def reset_security(
    request: Request,
    user_id: str,
    body: Annotated[ResetBody, Body()],
    db: Db,
    write: Write,
    ctx: Ctx,
    attempts: AttemptsDep,
    box: Box,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    kind = _type_of(body)
    sub = _sub_object(body, kind)
    await access_rules.enforce_apart(db, ctx, uid, access_rules.RESET, client_address(request))
    if kind == resets.FORGET_PASSWORD:
        return await _forget(request, h, ctx, uid, sub, write, attempts, box)
    where = f"reset_security_data.{_SUB[kind]}"
    current = _current(sub.current_password, f"{where}.current_password")
    # Every new value checked before anything is verified, hashed or counted.
    news: list[tuple[str, sensitive.SecretKind, str]] = []
    questions: dict[str, str] = {}
    if kind == resets.RESET_PASSWORD:
        news.append(("password", "password", _check("password", sub.new_password, f"{where}.new_password")))
    elif kind == resets.RESET_SECURITY_CODE:
        code = _check("security_code", sub.new_security_code, f"{where}.new_security_code")
        news.append(("security_code", "security_code", code))
    else:
        for n in ("1", "2"):
            q, a = f"secret_question_{n}", f"secret_answer_{n}"
            questions[q] = str(
                fields.coerce(
                    fields.RULES["security"][q], _given(getattr(sub, q), f"{where}.{q}"), f"{where}.{q}"
                )
            )
            news.append((a, "secret_answer", _check("secret_answer", getattr(sub, a), f"{where}.{a}")))
    gate = await attempts.check(ctx.org_id, uid, request.scope)
    stored = await db.read(resets.stored_password, ctx, uid)
    if not await resets.current_password_holds(stored, current):
        await attempts.failed(gate)
        raise codes.mismatch(f"{where}.current_password does not match.")
    assert stored is not None
    hashes = await asyncio.gather(*(_hash(k, v, f"{where}.{name}") for name, k, v in news))
    given = dict(zip((name for name, _, _ in news), hashes, strict=True))
    reset = resets.Reset(
        uid,
        kind,
        stored,
        SecurityInput(
            password=given.get("password"),
            security_code=given.get("security_code"),
            secret_question_1=questions.get("secret_question_1"),
            secret_answer_1=given.get("secret_answer_1"),
            secret_question_2=questions.get("secret_question_2"),
            secret_answer_2=given.get("secret_answer_2"),
        ),
        _totp(body.authentication),
    )
    shown = {
        resets.RESET_PASSWORD: ("current_password", "new_password"),
        resets.RESET_SECURITY_CODE: ("current_password", "new_security_code"),
        resets.RESET_SECURITY_QUESTIONS: (
            "current_password",
            "secret_question_1",
            "secret_answer_1",
            "secret_question_2",
            "secret_answer_2",
        ),
    }[kind]
    answer = await _counted(
        attempts,
        gate,
        write(
            ctx,
            resets.apply_reset,
            ctx,
            box,
            reset,
            render=lambda done: _answer(
                h,
                ctx,
                uid,
                kind,
                {_SUB[kind]: _wiped(shown)},
                authentication=_two_factor_shown(done.two_factor_checked),
            ),
        ),
    )
    await attempts.succeeded(gate)
    return answer


async def _counted(attempts: Attempts, gate: Gate, work: Any) -> JSONResponse:
    """Run the write; a credential it refuses (3014: the password changed meanwhile; 3015: the
    TOTP code) counts against the throttle."""
    try:
        answer: JSONResponse = await work
    except PatronError as exc:
        if exc.code in (int(codes.CREDENTIAL_MISMATCH.code), int(codes.CODE_INVALID.code)):
            await attempts.failed(gate)
        raise
    return answer


def _forget_request(ctx: RequestContext, uid: int, sub: ForgetPasswordIn) -> resets.ForgetRequest:
    where = "reset_security_data.forget_password"
    given = {k: v for k, v in sub.model_dump().items() if v is not None and v != ""}
    if not given:
        raise codes.missing(f"{where}.verified_email, verified_mobile or account_number")
    if len(given) > 1:
        raise codes.invalid(f"{where}: give one of verified_email, verified_mobile and account_number.")
    ((name, value),) = given.items()
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise codes.invalid(f"{where}.{name} must be a string.")
    if name == "account_number":
        number = str(
            fields.coerce(fields.RULES["forget_password"]["account_number"], value, f"{where}.{name}")
        )
        return resets.ForgetRequest(uid, account_number=number.strip())
    id_type = "email" if name == "verified_email" else "mobile"
    try:
        clean = clean_identifier(IdentifierInput(id_type, str(value)), ctx.config, CHANGE_CODES).value
    except PatronError as exc:
        raise codes.invalid(
            f"{where}.{name} is not a valid {'email address' if id_type == 'email' else 'mobile number'}."
        ) from exc
    if id_type == "email":
        return resets.ForgetRequest(uid, email=clean)
    return resets.ForgetRequest(uid, mobile=clean)


async def _forget(
    request: Request,
    h: UserHeaders,
    ctx: RequestContext,
    uid: int,
    sub: ForgetPasswordIn,
    write: Any,
    attempts: Attempts,
    box: Any,
) -> JSONResponse:
    req = _forget_request(ctx, uid, sub)
    gate = await attempts.check(ctx.org_id, uid, request.scope)
    reveal = reveal_for(h, ctx)

    def render(sent: resets.CodeSent) -> dict[str, Any]:
        shown = {
            "verified_email": sub.verified_email if req.email is not None else None,
            "verified_mobile": sub.verified_mobile if req.mobile is not None else None,
            "account_number": reveal.pan(req.account_number),
        }
        return _answer(
            h,
            ctx,
            uid,
            resets.FORGET_PASSWORD,
            {"forget_password": shown},
            record_id=sent.issued.challenge_id,
            authentication=challenges.render_authentication(sent.issued.challenge_id),
        )

    # No attempts.succeeded here: knowing a verified address is no credential, and a success
    # would forgive a run of wrong passwords.
    return await _counted(attempts, gate, write(ctx, resets.request_code, ctx, box, req, render=render))


@router.post(
    "/user/security/forget_password/{user_id}",
    summary="Complete Forget Password (ours)",
    description="The second half of User Security Reset-Forget Password, which the seed does not "
    "document: `forget_password.verification_code` is the 6-digit code Forget Password sent to the "
    "user's verified email or mobile, `forget_password.new_password` the new password (8-128 "
    "characters, not a common password). The code is checked (valid 10 minutes, one use, burnt after "
    "5 wrong tries) and, in the same transaction, the new password's argon2id hash replaces the old "
    "one; the current password is not needed. When the user's TOTP 2FA is enabled, "
    "`authentication[{type: 11, code}]` must hold a current code too (a lost password does not skip "
    "the second factor); a wrong TOTP code leaves the emailed code usable. A wrong, expired, used or "
    "burnt code, or a wrong TOTP code: 3015, counted against the failure throttle (429 with "
    "Retry-After after 10 in a row). Answers the reset envelope (`info.type` 3, `info.id` the code's "
    'id) with `reset_password.new_password` "____" and `forget_password` naming where the code went; '
    "the change is in the change log and raises customerUpdated (no secret in either)." + _HEADERS_DOC,
    response_model=ResetAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
)
async def complete_forget_password(
    request: Request,
    user_id: str,
    body: Annotated[ForgetCompletionBody, Body()],
    db: Db,
    ctx: Ctx,
    attempts: AttemptsDep,
    box: Box,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    where = "forget_password"
    code = _given(body.forget_password.verification_code, f"{where}.verification_code")
    new_password = _check("password", body.forget_password.new_password, f"{where}.new_password")
    await access_rules.enforce_apart(db, ctx, uid, access_rules.RESET, client_address(request))
    gate = await attempts.check(ctx.org_id, uid, request.scope)
    hashed = await _hash("password", new_password, f"{where}.new_password")
    done = await resets.complete_forget(
        db, ctx, box, uid, code, hashed, _totp(body.authentication), attempts=attempts, gate=gate
    )
    await attempts.succeeded(gate)
    channel, target = done.target if done.target is not None else ("", None)
    shown = {
        "verified_email": target.record.data.get("address") or target.value
        if target is not None and channel == "email"
        else None,
        "verified_mobile": ("+" + target.value if target.value.isdigit() else target.value)
        if target is not None and channel == "sms"
        else None,
        "account_number": None,
    }
    return JSONResponse(
        _answer(
            h,
            ctx,
            uid,
            resets.FORGET_PASSWORD,
            {"reset_password": {"current_password": None, "new_password": WIPED}, "forget_password": shown},
            record_id=done.redeemed.challenge_id,
            authentication=_two_factor_shown(done.two_factor_checked),
        )
    )
