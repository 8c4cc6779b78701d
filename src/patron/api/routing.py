"""A lean way to call Patron's endpoints, keeping FastAPI's declarations.

Each route declares its parameters, dependencies and body in its signature, and FastAPI
builds the OpenAPI document from them. To call an endpoint, FastAPI's generic resolver
inspects every parameter's annotation again on every request: about 25 us per query
parameter, more than Patron's own work on a lookup. Patron's adapters only take text
query and path parameters (they validate values themselves, in the API's own envelope),
the `Request`, and dependencies that take the `Request`; for such routes `LeanRoute`
plans the call once and then passes the values straight through. A route declaring
anything else is called by FastAPI as usual.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute

_Fetch = Callable[[Request], Any]


def _is_optional_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set(typing.get_args(annotation)) == {str, type(None)}
    return False


def _plan(dependant: Dependant) -> list[tuple[str, _Fetch, bool]] | None:
    """How to fetch each argument of the endpoint from the request, or None to fall back."""
    if dependant.header_params or dependant.cookie_params or dependant.body_params:
        return None
    if dependant.response_param_name or dependant.background_tasks_param_name:
        return None
    if dependant.websocket_param_name or dependant.http_connection_param_name:
        return None
    if dependant.security_scopes_param_name:
        return None
    plan: list[tuple[str, _Fetch, bool]] = []
    if dependant.request_param_name:
        plan.append((dependant.request_param_name, lambda request: request, False))
    for field in dependant.query_params:
        if not _is_optional_text(field.field_info.annotation) or field.field_info.is_required():
            return None
        plan.append((field.name, _query(field.alias, field.field_info.default), False))
    for field in dependant.path_params:
        if field.field_info.annotation is not str:
            return None
        plan.append((field.name, _path(field.alias), False))
    for sub in dependant.dependencies:
        call = sub.call
        if sub.name is None or call is None or _plan(sub) is None:
            return None
        if sub.query_params or sub.path_params or sub.dependencies:
            return None
        if not sub.request_param_name or not _is_coroutine(call):
            return None
        plan.append((sub.name, call, True))
    return plan


def _is_coroutine(call: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(call)


def _returns_response(call: Callable[..., Any]) -> bool:
    try:
        returned = typing.get_type_hints(call).get("return")
    except Exception:  # an annotation that does not resolve: let FastAPI handle the route
        return False
    return isinstance(returned, type) and issubclass(returned, Response)


def _query(alias: str, default: Any) -> _Fetch:
    def fetch(request: Request) -> Any:
        return request.query_params.get(alias, default)

    return fetch


def _path(alias: str) -> _Fetch:
    def fetch(request: Request) -> Any:
        return request.path_params[alias]

    return fetch


class LeanRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        plan = _plan(self.dependant)
        endpoint = self.dependant.call
        if plan is None or endpoint is None or not _is_coroutine(endpoint) or not _returns_response(endpoint):
            return super().get_route_handler()
        steps = tuple(plan)

        async def handle(request: Request) -> Response:
            kwargs: dict[str, Any] = {}
            for name, fetch, awaited in steps:
                kwargs[name] = await fetch(request) if awaited else fetch(request)
            response: Response = await endpoint(**kwargs)
            return response

        return handle
