"""HTTP plumbing shared by the surfaces: JSON responses, request ids, body limits, auth."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, RootModel, ValidationError
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse as StarletteJSONResponse

from patron.context import RequestContext
from patron.errors import InvalidInput, NotFound, PatronError, Unauthorized
from patron.security.auth import UNAUTHORIZED, Authenticator

M = TypeVar("M", bound=BaseModel)


class JSONResponse(StarletteJSONResponse):
    """JSON rendered by orjson. A JSONResponse subclass, so FastAPI documents the routes'
    response models under it (it does for JSON response classes only)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or uuid.uuid4().hex)


async def read_json(request: Request, max_bytes: int) -> Any:
    """The request body as JSON: 413 above the limit, 400 when it is not JSON."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise PatronError(413, f"Request body is larger than {max_bytes} bytes.", status=413)
    body = bytearray()  # appended in place: a large body is not copied at every chunk
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise PatronError(413, f"Request body is larger than {max_bytes} bytes.", status=413)
    except ClientDisconnect as exc:
        # Nobody is left to answer; say so in the envelope rather than as a server error.
        raise InvalidInput(400, "Input is invalid. The client left before sending the whole body.") from exc
    if not body.strip():
        raise InvalidInput(400, "Input is invalid. The request body is empty; send a JSON object.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(400, f"Input is invalid. The body is not valid JSON: {exc}.") from exc


def parse_body(model: type[M], document: Any) -> M:
    """Validate a JSON document into a wire model; every problem is named in the message.
    A body is a JSON object, except for a model whose root is a list (the bulk arrays of
    seed 003, api/v2/group_wire.py)."""
    if issubclass(model, RootModel):
        if not isinstance(document, list):
            raise InvalidInput(400, "Input is invalid. The body must be a JSON array.")
    elif not isinstance(document, dict):
        raise InvalidInput(400, "Input is invalid. The body must be a JSON object.")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(400, "Input is invalid. " + describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {err['msg']}")
    return "; ".join(parts) + "."


def basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        raise Unauthorized(401, UNAUTHORIZED)
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized(401, UNAUTHORIZED) from exc
    username, sep, password = decoded.partition(":")
    if not sep or not username or len(username) > 200 or len(password) > 200:
        raise Unauthorized(401, UNAUTHORIZED)
    return username, password


class BasicAuth(HTTPBasic):
    """HTTP Basic, declared as the document's security scheme and read by the rules of
    `basic_credentials`: anything but well-formed credentials is 401 in the envelope."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials:  # type: ignore[override]
        username, password = basic_credentials(request)
        return HTTPBasicCredentials(username=username, password=password)


basic_auth = BasicAuth(scheme_name="HTTPBasic", realm="patron")


async def authenticated(
    request: Request, credentials: Annotated[HTTPBasicCredentials, Depends(basic_auth)]
) -> RequestContext:
    """The request's context: the till behind its Basic credentials, in that till's org."""
    authenticator: Authenticator = request.app.state.authenticator
    username, password = credentials.username, credentials.password
    # Failures are throttled per (till, client address): the peer, or with trusted proxies
    # configured, the client their X-Forwarded-For names (security/throttle.py).
    client = authenticator.addresses.of_scope(request.scope)
    principal = await authenticator.authenticate(username, password, client)
    request.scope.setdefault("state", {})["org_id"] = principal.org_id  # for the access log (api/edge.py)
    surface = "user" if request.scope["path"][:6].lower() == "/user/" else "v2"
    return RequestContext(principal.org_id, principal.actor, request_id(request), principal.config, surface)


def path_id(raw: str, missing_code: int, x: object | None = None) -> int:
    """An id in a path: ASCII digits only (str.isdigit() also takes '²', which int() refuses,
    and other scripts' digits, which int() reads), at most 18 of them (below 2**63). Anything
    else names nothing that exists: 404 with the route's code."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(missing_code, x=x)
    return int(raw)


def parse_int(raw: str | None, name: str, *, default: int | None = None) -> int:
    if raw is None or raw == "":
        if default is None:
            raise InvalidInput(400, f"Input is invalid. {name} is required.")
        return default
    text = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,18}", text):  # ASCII digits: \d takes every script's
        raise InvalidInput(400, f"Input is invalid. {name} must be a whole number.")
    return int(text)
