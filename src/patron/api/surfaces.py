"""API surfaces and their error envelopes.

Patron serves more than one API style from one app: the v2 customers API of seed 003 (and
Patron's own `/v2/...` additions) and, later, the user namespace of seed 004. Each surface
renders every failure in its own envelope. A route belongs to the surface of its router
(its path prefix: `/v2/...` is the v2 surface); a request that matched no route (an unknown
path, a malformed URL) belongs to the surface its path names, else to the default surface.

The app has one handler per kind of failure (`install`), and each asks the request's surface
for the body: adding a surface means adding a `Surface`, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from patron.api.http import JSONResponse
from patron.api.user.envelope import error_envelope
from patron.errors import PatronError, Throttled

log = structlog.get_logger("patron.api")

INTERNAL = "Internal error; the request changed nothing."


class Surface(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    def error_body(self, status: int, code: int, message: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class V2Surface:
    """Seed 003's envelope: `{"warnings": [], "errors": [{"status": false, "code", "message"}]}`
    (the item shape of the seed's warnings, ENV-2), the HTTP status by kind of failure."""

    name: str = "v2"
    prefix: str = "/v2"

    def error_body(self, status: int, code: int, message: str) -> dict[str, Any]:
        return {"warnings": [], "errors": [{"status": False, "code": code, "message": message}]}


@dataclass(frozen=True, slots=True)
class UserSurface:
    """Seed 004's envelope (api/user/envelope.py): `result{code, message, friendly_message}`
    with a code of users/codes.py, every other key of a user answer null, the trailer."""

    name: str = "user"
    prefix: str = "/user"

    def error_body(self, status: int, code: int, message: str) -> dict[str, Any]:
        return error_envelope(status, code, message)


V2 = V2Surface()
USER = UserSurface()
# `User/currency` and `User/security/rule` are spelled with a capital U (004:L58-59).
USER_CAPITAL = UserSurface(prefix="/User")
SURFACES: tuple[Surface, ...] = (V2, USER, USER_CAPITAL)
DEFAULT: Surface = V2


def surface_of(scope: Scope) -> Surface:
    """The surface of the route the request matched (by the route's path), else of the path."""
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("path", "")
    for candidate in SURFACES:
        if path == candidate.prefix or path.startswith(candidate.prefix + "/"):
            return candidate
    return DEFAULT


def error_response(
    scope: Scope, status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = surface_of(scope).error_body(status, code, message)
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def error_bytes(scope: Scope, status: int, code: int, message: str) -> bytes:
    """The body of an error answered below the framework (the edge middleware, the server)."""
    return orjson.dumps(surface_of(scope).error_body(status, code, message))


def _describe(errors: Sequence[Any]) -> str:
    parts = []
    for err in list(errors)[:10]:
        where = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {err['msg']}")
    return "; ".join(parts) + "."


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (a 405 lists them all in `Allow`)."""
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install(app: FastAPI) -> None:
    """One handler per kind of failure; the body comes from the request's surface."""

    @app.exception_handler(PatronError)
    async def _patron(request: Request, exc: PatronError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, Throttled):
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="patron"'
        if exc.status == 408:
            headers["Connection"] = "close"  # the rest of the body may still be on its way
        return error_response(request.scope, exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request.scope, 400, 400, "Input is invalid. " + _describe(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(request.scope, exc.status_code, exc.status_code, str(exc.detail), headers)


__all__ = ["DEFAULT", "INTERNAL", "SURFACES", "V2", "Surface", "error_bytes", "error_response", "install"]
