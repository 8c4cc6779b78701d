"""A lean way to call Patron's endpoints, keeping FastAPI's declarations.

Each route declares its parameters, dependencies, body and responses in its signature and
decorator, and FastAPI builds the OpenAPI document from them. To call an endpoint, FastAPI's
generic resolver inspects every parameter's annotation again on every request: about 25 us
per query parameter, more than Patron's own work on a lookup. Patron's adapters take only:

- text query and path parameters (they validate values themselves, in the API's envelope);
  none may hold U+0000, which PostgreSQL cannot store (400, on every engine alike);
- the `Request`;
- dependencies that are coroutines (functions, or objects such as the HTTP Basic security
  scheme whose `__call__` is one) taking the `Request` and other such dependencies; each is
  called once per request however many times it is named, as FastAPI caches them;
- at most one body: a Pydantic model, read with the size limit (`max_body_bytes`, 413) and
  validated into the model, every problem a 400 in the envelope (`read_json`, `parse_body`);
  no string in it may hold U+0000 either.

For such routes `LeanRoute` plans the call once: a list of steps (the dependencies in the
order FastAPI solves them, then the body), each with the getters of its arguments. A request
runs the steps and passes the values straight through. A route declaring anything else is
called by FastAPI as usual; `lean` says which way a route goes.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, params
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from patron.api.http import parse_body, read_json
from patron.errors import InvalidInput

# An argument's value, from the request or from the results of the steps run so far.
_Get = Callable[[Request, list[Any]], Any]
_Args = tuple[tuple[str, _Get], ...]


@dataclass(frozen=True, slots=True)
class _Step:
    call: Callable[..., Awaitable[Any]]
    args: _Args


class _Unsupported(Exception):
    """The route declares something the lean path does not handle."""


def _is_optional_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set(typing.get_args(annotation)) == {str, type(None)}
    return False


def _is_coroutine(call: Any) -> bool:
    if inspect.iscoroutinefunction(call):
        return True
    if inspect.isroutine(call) or inspect.isclass(call) or not callable(call):
        return False
    return inspect.iscoroutinefunction(call.__call__)  # an object such as a security scheme


def _returns_response(call: Callable[..., Any]) -> bool:
    try:
        returned = typing.get_type_hints(call).get("return")
    except Exception:  # an annotation that does not resolve: let FastAPI handle the route
        return False
    return isinstance(returned, type) and issubclass(returned, Response)


def _request(request: Request, _: list[Any]) -> Request:
    return request


_NUL = "\x00"


def _query(alias: str, default: Any) -> _Get:
    def get(request: Request, _: list[Any]) -> Any:
        value = request.query_params.get(alias, default)
        if value and _NUL in value:
            raise InvalidInput(400, f"Input is invalid. {alias} holds the NUL character (U+0000).")
        return value

    return get


def _path(alias: str) -> _Get:
    def get(request: Request, _: list[Any]) -> Any:
        value: str = request.path_params[alias]
        if _NUL in value:
            raise InvalidInput(400, f"Input is invalid. {alias} holds the NUL character (U+0000).")
        return value

    return get


def _holds_nul(document: Any) -> bool:
    """Whether a string of a JSON document, or a key, holds U+0000."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if _NUL in node:
                return True
        elif isinstance(node, dict):
            for key, value in node.items():
                if _NUL in key:
                    return True
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _result(slot: int) -> _Get:
    def get(_: Request, values: list[Any]) -> Any:
        return values[slot]

    return get


def _body_reader(model: type[BaseModel]) -> Callable[[Request], Awaitable[BaseModel]]:
    # A body model may set its own limit as a `max_body_bytes` class variable (the user
    # documents' base64 files, users/documents.py); otherwise the settings' limit.
    own: int | None = getattr(model, "max_body_bytes", None)

    async def read(request: Request) -> BaseModel:
        limit: int = own or request.app.state.settings.max_body_bytes
        document = await read_json(request, limit)
        if _holds_nul(document):
            raise InvalidInput(400, "Input is invalid. The body holds the NUL character (U+0000).")
        return parse_body(model, document)

    return read


class _Planner:
    def __init__(self) -> None:
        self.steps: list[_Step] = []
        self.slots: dict[Any, int] = {}

    def add(self, call: Callable[..., Awaitable[Any]], args: _Args, key: Any = None) -> int:
        self.steps.append(_Step(call, args))
        slot = len(self.steps) - 1
        if key is not None:
            self.slots[key] = slot
        return slot

    def arguments(self, dependant: Dependant, *, endpoint: bool) -> _Args:
        """The getters of a callable's arguments; its dependencies become steps first."""
        d = dependant
        if d.header_params or d.cookie_params or d.response_param_name or d.background_tasks_param_name:
            raise _Unsupported
        if d.websocket_param_name or d.http_connection_param_name or d.security_scopes_param_name:
            raise _Unsupported
        if d.own_oauth_scopes or (d.body_params and not endpoint):
            raise _Unsupported
        args: list[tuple[str, _Get]] = []
        if d.request_param_name:
            args.append((d.request_param_name, _request))
        for field in d.query_params:
            if not _is_optional_text(field.field_info.annotation) or field.field_info.is_required():
                raise _Unsupported
            args.append((field.name, _query(field.alias, field.field_info.default)))
        for field in d.path_params:
            if field.field_info.annotation is not str:
                raise _Unsupported
            args.append((field.name, _path(field.alias)))
        for sub in d.dependencies:
            if sub.name is None:
                raise _Unsupported
            args.append((sub.name, _result(self.dependency(sub))))
        if d.body_params:
            args.append(self.body(d.body_params))
        return tuple(args)

    def dependency(self, sub: Dependant) -> int:
        call = sub.call
        if call is None or not _is_coroutine(call):
            raise _Unsupported  # sync callables and generators: FastAPI's own machinery
        if sub.use_cache and call in self.slots:
            return self.slots[call]
        args = self.arguments(sub, endpoint=False)
        return self.add(call, args, key=call if sub.use_cache else None)

    def body(self, fields: list[Any]) -> tuple[str, _Get]:
        if len(fields) != 1:
            raise _Unsupported
        field = fields[0]
        model = field.field_info.annotation
        if type(field.field_info) is not params.Body or getattr(field.field_info, "embed", False):
            raise _Unsupported
        if not field.field_info.is_required():
            raise _Unsupported
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise _Unsupported
        return field.name, _result(self.add(_body_reader(model), (("request", _request),)))


def plan(dependant: Dependant) -> tuple[tuple[_Step, ...], _Args] | None:
    """The steps before the endpoint and the endpoint's arguments, or None to fall back."""
    planner = _Planner()
    try:
        args = planner.arguments(dependant, endpoint=True)
    except _Unsupported:
        return None
    return tuple(planner.steps), args


class LeanRoute(APIRoute):
    lean: bool = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        planned = plan(self.dependant)
        endpoint = self.dependant.call
        if (
            planned is None
            or endpoint is None
            or not _is_coroutine(endpoint)
            or not _returns_response(endpoint)
        ):
            self.lean = False
            return super().get_route_handler()
        self.lean = True
        steps, endpoint_args = planned

        async def handle(request: Request) -> Response:
            values: list[Any] = []
            for step in steps:
                values.append(await step.call(**{name: get(request, values) for name, get in step.args}))
            response: Response = await endpoint(**{name: get(request, values) for name, get in endpoint_args})
            return response

        return handle
