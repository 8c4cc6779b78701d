"""The six Validate operations of seed 004 (users/validation.py): one route,
`POST /user/security/validate/{user_id}`, dispatching on `info.type` (seed-004-rules.md 1.2 G5).

The answer is the seed's (004:L10365-10957): `result`, `info`, `validate_data`, then
`geo_coordinates`, `notes`, `last_activity`, `authentication`, `validate` and the trailer;
`validate_data` never echoes the value checked (every key null). A wrong credential, an
unknown user and a user without that credential all answer 3014 (422) alike; failures count
against the credential throttle (security/attempts.py, 429 with Retry-After).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, create_model

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.user.access_rules import client_address
from patron.api.user.envelope import envelope, headers_for
from patron.api.user.schemas import Result, user_errors
from patron.api.user.security_deps import AttemptsDep
from patron.api.user.users import _HEADERS_DOC, _path_user
from patron.db.base import utcnow
from patron.users import access_rules, codes, validation

router = APIRouter(tags=["users"], route_class=LeanRoute)

Scalar = str | int | float | bool | None
OPERATIONS = [
    "Validate User Phone",
    "Validate User Security Code",
    "Validate User Password",
    "Validate User Email",
    "Validate User Date Of Birth",
    "Validate User Security Answers",
]
# The answer's keys (004:L10365-10435).
VALIDATE_ANSWER_KEYS: tuple[str, ...] = (
    "result",
    "info",
    "validate_data",
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


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=500)


class ValidateDataIn(_In):
    password: Scalar = None
    security_code: Scalar = None
    email: Scalar = None
    phone: Scalar = None
    secret_answer_1: Scalar = None
    secret_answer_2: Scalar = None
    birth_date: Scalar = None


class ValidateInfoIn(_In):
    """`validate_user_security_info` (004:L2490-2530): only `type` is read; the rest are the
    server's and ignored."""

    type: Scalar = None
    id: Scalar = None
    program_id: Scalar = None
    user_id: Scalar = None
    source_id: Scalar = None
    server_date: Scalar = None
    date_utc: Scalar = None
    source_time_zone: Scalar = None


class ValidateBody(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"validate_data": {"password": "correct horse battery"}, "info": {"type": "10"}},
                {
                    "validate_data": {"secret_answer_1": "alix", "secret_answer_2": "soma"},
                    "info": {"type": "13"},
                },
            ]
        }
    )

    validate_data: ValidateDataIn | None = None
    info: ValidateInfoIn | None = None
    geo_coordinates: dict[str, Scalar] | None = None
    notes: dict[str, Scalar] | None = None
    authentication: list[dict[str, Scalar]] | dict[str, Scalar] | None = None
    validate_: Scalar = Field(default=None, alias="validate")


class ValidateInfoOut(BaseModel):
    id: int = Field(description="0: a validation keeps no record.")
    program_id: int
    user_id: int
    type: int
    source_id: str | None
    server_date: str
    date_utc: str
    source_time_zone: str


class ValidateDataOut(BaseModel):
    password: None
    security_code: None
    email: None
    phone: None
    secret_answer_1: None
    secret_answer_2: None
    birth_date: None


_FIELDS: dict[str, Any] = {
    ("validate_" if k == "validate" else k): (dict[str, Any] | None, ...) for k in VALIDATE_ANSWER_KEYS
}
_FIELDS.update(
    {
        "result": (Result, ...),
        "info": (ValidateInfoOut, ...),
        "validate_data": (
            ValidateDataOut,
            Field(description="Every key null: the value checked is never echoed (the seed echoes it)."),
        ),
        "function_code": (int, ...),
        "time_zone": (str, ...),
        "time_zone_name": (str | None, ...),
        "response_time": (int, ...),
        "validate_": (str | None, Field(alias="validate")),
    }
)
ValidateAnswer: type[BaseModel] = create_model(
    "ValidateAnswer",
    __doc__="A Validate operation's answer (004:L10365-10435); nothing of the credential in it.",
    **_FIELDS,
)


@router.post(
    "/user/security/validate/{user_id}",
    summary="Validate User Phone",
    description="Check one credential of a user, chosen by `info.type`: 8 `email` (one of the user's "
    "addresses, compared as stored: case-insensitive), 9 `phone` (one of the user's numbers, E.164 as "
    "stored), 10 `password` (argon2id, case-sensitive), 11 `security_code` (argon2id), 12 `birth_date` "
    "(the personal info's date of birth, yyyy-mm-dd or yyyy/mm/dd), 13 `secret_answer_1` and "
    "`secret_answer_2` (both must match; case-insensitive). Exactly one credential per call: the type's "
    "key(s) non-empty and every other key absent or null (else 3001/3002 naming the field). Success: "
    '"0000" with `validate_data` all null (the value is never echoed). A wrong value, an unknown user and '
    "a user without that credential all answer 3014 (422) after the same work (one argon2id verify per "
    "secret). Failures count against the account's and the client address's credential throttle: after "
    "10 in a row, 429 (3012) with Retry-After until a growing delay passes. A match against a hash made "
    "with older argon2 parameters stores a fresh hash." + _HEADERS_DOC,
    response_model=ValidateAnswer,
    responses=user_errors(400, 404, 408, 413, 422),
    openapi_extra={"x-seed-operations": OPERATIONS},
)
async def validate_user_security(
    request: Request,
    user_id: str,
    body: Annotated[ValidateBody, Body()],
    db: Db,
    ctx: Ctx,
    attempts: AttemptsDep,
) -> JSONResponse:
    h = headers_for(request, ctx)
    uid = _path_user(user_id)
    data = body.validate_data.model_dump() if body.validate_data is not None else None
    credential = validation.credential_of(body.info.type if body.info else None, data, ctx)
    await access_rules.enforce_apart(db, ctx, uid, access_rules.VALIDATE, client_address(request))
    gate = await attempts.check(ctx.org_id, uid, request.scope)
    checked = await validation.check(db, ctx, uid, credential)
    if not checked.matched:
        await attempts.failed(gate)
        raise codes.mismatch()
    await attempts.succeeded(gate)
    now = utcnow()
    info = {
        "id": 0,
        "program_id": ctx.org_id,
        "user_id": uid,
        "type": credential.type,
        "source_id": h.source_id,
        "server_date": h.server_date(now),
        "date_utc": h.stamps(now)["date_utc"],
        "source_time_zone": h.zone.label,
    }
    parts = {"info": info, "validate_data": dict.fromkeys(validation.VALIDATE_KEYS)}
    return JSONResponse(envelope(h, parts, VALIDATE_ANSWER_KEYS))
