"""What every console route shares: the page renderer and the session as dependencies, the
signed-in check, the request context the service layer takes, and reading a posted form
with its CSRF check.

A page route reads like this:

    @router.get("/things")
    async def things(request: Request, pages: PagesDep, db: Db, operator: MaybeOperator) -> Response:
        if operator is None:
            return sign_in_first(request)
        ctx = context(request, operator)
        ...
        return pages.render("things.html", **page(operator, "things"), things=...)

and a form's POST:

        form = await posted(request, pages, operator)
        if isinstance(form, Response):
            return form          # 403 (CSRF), 413 (too large), or the sign-in page
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from patron.api.http import request_id
from patron.console.pages import Pages, redirect
from patron.context import RequestContext
from patron.security.sessions import ConsoleSessions, Operator

ROOT = "/console"
LOGIN = "/console/login"
COOKIE = "patron_console"
LOGIN_COOKIE = "patron_console_login"
MAX_FORM_BYTES = 16 * 1024  # a console form is small; a bigger body is refused unread
MAX_FORM_FIELDS = 20
STALE_FORM = (
    "This form could not be accepted: it was not sent from a page of this console session"
    " (the CSRF check failed). Reload the page and try again."
)


async def console_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.console_pages
    return pages


async def console_sessions(request: Request) -> ConsoleSessions:
    sessions: ConsoleSessions = request.app.state.console_sessions
    return sessions


async def signed_in(
    request: Request, sessions: Annotated[ConsoleSessions, Depends(console_sessions)]
) -> Operator | None:
    return await sessions.resolve(request.cookies.get(COOKIE))


PagesDep = Annotated[Pages, Depends(console_pages)]
Sessions = Annotated[ConsoleSessions, Depends(console_sessions)]
MaybeOperator = Annotated[Operator | None, Depends(signed_in)]


def htmx(request: Request) -> bool:
    """A partial request of htmx (a history restore wants the whole page)."""
    return request.headers.get("hx-request") == "true" and "hx-history-restore-request" not in request.headers


def sign_in_first(request: Request) -> Response:
    """The answer to a request without a live session: to the sign-in page."""
    return redirect(LOGIN, htmx=htmx(request))


def context(request: Request, operator: Operator) -> RequestContext:
    """The service layer's context for a console request: the signed-in till is the actor,
    so every change made here is attributed to it, as the API attributes its own."""
    request.scope.setdefault("state", {})["org_id"] = operator.org_id  # for the access log (api/edge.py)
    return RequestContext(operator.org_id, operator.actor, request_id(request), operator.config, "console")


def page(operator: Operator | None, nav: str) -> dict[str, Any]:
    """What base.html needs of every page: the operator, the CSRF token, the current nav item."""
    return {"operator": operator, "csrf": operator.csrf if operator else "", "nav": nav}


MAX_PAGE = 100_000
_INT64_MAX = 2**63 - 1


def path_id(raw: str) -> int | None:
    """An id in a console path: ASCII digits naming a positive 64-bit integer, else None
    (the page answers 404: such an id names nothing)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
        if 1 <= value <= _INT64_MAX:
            return value
    return None


def page_number(raw: str | None) -> int:
    """A page number from a query parameter: a positive integer (at most MAX_PAGE), anything
    else is page 1."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 6:
        return max(1, min(int(raw), MAX_PAGE))
    return 1


class FormTooLarge(Exception):
    pass


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """A URL-encoded form, read up to `limit` bytes (FormTooLarge past it); a field given twice
    keeps its first value; a client gone before the end sent an empty form."""
    body = bytearray()
    try:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise FormTooLarge
    except ClientDisconnect:
        return {}
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return {}
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def csrf_ok(request: Request, form: dict[str, str], operator: Operator) -> bool:
    sent = form.get("csrf") or request.headers.get("x-csrf-token", "")
    return bool(sent) and secrets.compare_digest(sent.encode(), operator.csrf.encode())


def refused(pages: Pages, operator: Operator | None) -> Response:
    return pages.render("error.html", 403, title="Refused", message=STALE_FORM, **page(operator, ""))


def too_large(pages: Pages) -> Response:
    return pages.render(
        "error.html",
        413,
        title="Too large",
        message="The form sent more than a console form holds.",
        **page(None, ""),
    )


def not_found(
    pages: Pages, operator: Operator | None, message: str = "There is no such page in the console."
) -> Response:
    return pages.render("error.html", 404, title="Not found", message=message, **page(operator, ""))


async def posted(request: Request, pages: Pages, operator: Operator | None) -> dict[str, str] | Response:
    """The form of a POST from a signed-in operator, its CSRF token checked; otherwise the
    response to send instead (the sign-in page, 413, or 403)."""
    if operator is None:
        return sign_in_first(request)
    try:
        form = await read_form(request)
    except FormTooLarge:
        return too_large(pages)
    if not csrf_ok(request, form, operator):
        return refused(pages, operator)
    return form
