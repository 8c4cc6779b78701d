"""What the user routes answer, as models the OpenAPI document is built from (answers are
rendered from dicts; these only declare their shapes, as api/v2/schemas.py does)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from patron.api.user.envelope import DELETE_KEYS, USER_KEYS
from patron.users import codes


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Result(_Out):
    code: str = Field(description='"0000" on success, else a code of the user namespace\'s table.')
    message: str
    friendly_message: str


class UserInfo(_Out):
    id: int
    program_id: int
    status: str | None
    type: int
    server_date: str
    date_utc: str
    client_date: str
    source_time_zone: str
    original_source_id: str | None


_TYPES: dict[str, Any] = {
    "result": (Result, ...),
    "info": (UserInfo | None, ...),
    "function_code": (int, ...),
    "time_zone": (str, ...),
    "time_zone_name": (str | None, ...),
    "response_time": (int, ...),
    "validate": (str | None, ...),
}
_SECTION = (dict[str, Any] | list[dict[str, Any]] | None, ...)


def _name(key: str) -> str:
    return "validate_" if key == "validate" else key


def _envelope(name: str, keys: tuple[str, ...], doc: str) -> type[BaseModel]:
    fields: dict[str, Any] = {_name(k): _TYPES.get(k, _SECTION) for k in keys}
    fields["validate_"] = (str | None, Field(alias="validate"))
    model: type[BaseModel] = create_model(name, __base__=_Out, __doc__=doc, **fields)
    return model


UserAnswer = _envelope(
    "UserAnswer",
    USER_KEYS,
    "A user-shaped answer of seed 004 (004:L2969-3439): 38 keys, null where untouched.",
)
DeletedUser = _envelope("DeletedUser", DELETE_KEYS, "Delete User's answer (004:L29813-29911).")


_ERROR_FIELDS: dict[str, Any] = {_name(k): (None, ...) for k in USER_KEYS}
_ERROR_FIELDS["validate_"] = (None, Field(alias="validate"))
_ERROR_FIELDS.update(
    {
        "result": (Result, ...),
        "function_code": (int, ...),
        "time_zone": (str, ...),
        "time_zone_name": (str | None, ...),
        "response_time": (int, ...),
    }
)
UserErrorEnvelope: type[BaseModel] = create_model(
    "UserErrorEnvelope",
    __base__=_Out,
    __doc__="Every failure of the user namespace: the user envelope with a code of its own table "
    "(docs/users.md), every other key null.",
    **_ERROR_FIELDS,
)


def user_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a user route: the given statuses, 500 and the failed-login ones."""
    every = set(statuses) | {401, 429, 500}
    return {
        status: {
            "model": UserErrorEnvelope,
            "description": "; ".join(f"{c.code} {c.message}" for c in codes.TABLE if c.status == status),
        }
        for status in sorted(every)
    }
