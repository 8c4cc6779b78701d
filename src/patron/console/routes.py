"""The console's routes: sign-in, sign-out, and Find a customer.

Every page reads the session first (security/sessions.py); without one it sends the browser
to the sign-in page. Every POST carries the session's CSRF token (the form's hidden `csrf`,
or the `X-CSRF-Token` header htmx sends from the body's `hx-headers`) and is refused with
403 without it. Nothing secret travels in a URL: credentials are posted, the session is a
cookie (HttpOnly, SameSite=Strict, Path=/console, Secure over https).
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from patron.api.deps import Db
from patron.api.http import request_id
from patron.console.pages import Pages, redirect
from patron.context import RequestContext
from patron.customers import queries
from patron.customers.commands import SearchCustomers
from patron.errors import Forbidden, InvalidInput, Throttled, Unauthorized
from patron.security.sessions import ConsoleSessions, Operator

ROOT = "/console"
LOGIN = "/console/login"
COOKIE = "patron_console"
LOGIN_COOKIE = "patron_console_login"
SEARCH_LIMIT = 50
MAX_FIELD = 200
MAX_FORM_BYTES = 16 * 1024  # the console's forms are small; nothing bigger is read
WRONG_CREDENTIALS = "Wrong username or password, or the till is not active."
STALE_FORM = (
    "This form could not be accepted: it was not sent from a page of this console session"
    " (the CSRF check failed). Reload the page and try again."
)

router = APIRouter(prefix=ROOT, include_in_schema=False)


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


def _htmx(request: Request) -> bool:
    """A partial request of htmx (a history restore wants the whole page)."""
    return request.headers.get("hx-request") == "true" and "hx-history-restore-request" not in request.headers


class FormTooLarge(Exception):
    pass


async def _form(request: Request) -> dict[str, str]:
    """A URL-encoded form, read up to MAX_FORM_BYTES (a form of a console page is far
    smaller); a field given twice keeps its first value."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=ROOT,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _drop_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path=ROOT, secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )


def _csrf_ok(request: Request, form: dict[str, str], operator: Operator) -> bool:
    sent = form.get("csrf") or request.headers.get("x-csrf-token", "")
    return bool(sent) and secrets.compare_digest(sent.encode(), operator.csrf.encode())


def _refused(pages: Pages, operator: Operator | None) -> Response:
    return pages.render(
        "error.html",
        403,
        title="Refused",
        message=STALE_FORM,
        operator=operator,
        csrf=operator.csrf if operator else "",
        nav="",
    )


def _too_large(pages: Pages) -> Response:
    return pages.render(
        "error.html",
        413,
        title="Too large",
        message="The form sent more than a console form holds.",
        operator=None,
        csrf="",
        nav="",
    )


def _login_page(
    request: Request,
    pages: Pages,
    sessions: ConsoleSessions,
    *,
    status: int = 200,
    error: str = "",
    username: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    # The login form's CSRF token is bound to a random value in a cookie of its own.
    pre = request.cookies.get(LOGIN_COOKIE, "")
    if len(pre) != 43:
        pre = secrets.token_urlsafe(32)
    response = pages.render(
        "login.html",
        status,
        csrf=sessions.login_csrf(pre),
        error=error,
        username=username,
        operator=None,
        nav="",
    )
    _set_cookie(response, request, LOGIN_COOKIE, pre)
    response.headers.update(headers or {})
    return response


@router.get("/login")
async def login_form(
    request: Request, pages: PagesDep, sessions: Sessions, operator: MaybeOperator
) -> Response:
    if operator is not None:
        return redirect(ROOT)
    return _login_page(request, pages, sessions)


@router.post("/login")
async def login(request: Request, pages: PagesDep, sessions: Sessions) -> Response:
    try:
        form = await _form(request)
    except FormTooLarge:
        return _too_large(pages)
    pre = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf", "")
    if not pre or not sent or not sessions.same(sent, sessions.login_csrf(pre)):
        return _refused(pages, None)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if not username or not password or len(username) > MAX_FIELD or len(password) > MAX_FIELD:
        return _login_page(request, pages, sessions, status=401, error=WRONG_CREDENTIALS, username=username)
    client = sessions.authenticator.addresses.of_scope(request.scope)
    try:
        session = await sessions.sign_in(username, password, client)
    except Throttled as exc:
        return _login_page(
            request,
            pages,
            sessions,
            status=429,
            error=f"Too many failed sign-ins for this username from this address. Try again in"
            f" {exc.retry_after} seconds.",
            username=username,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except Unauthorized:
        return _login_page(request, pages, sessions, status=401, error=WRONG_CREDENTIALS, username=username)
    except Forbidden as exc:
        return _login_page(request, pages, sessions, status=403, error=exc.message, username=username)
    response = redirect(ROOT)
    _set_cookie(response, request, COOKIE, session.cookie)
    _drop_cookie(response, request, LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, pages: PagesDep, sessions: Sessions, operator: MaybeOperator) -> Response:
    if operator is None:
        return redirect(LOGIN, htmx=_htmx(request))
    try:
        form = await _form(request)
    except FormTooLarge:
        return _too_large(pages)
    if not _csrf_ok(request, form, operator):
        return _refused(pages, operator)
    await sessions.sign_out(operator)
    response = redirect(LOGIN, htmx=_htmx(request))
    _drop_cookie(response, request, COOKIE)
    return response


@router.get("")
async def find_customer(request: Request, pages: PagesDep, db: Db, operator: MaybeOperator) -> Response:
    """Find a customer: the API's prefix search over names and identifiers, as a table."""
    if operator is None:
        return redirect(LOGIN, htmx=_htmx(request))
    q = request.query_params.get("q", "").strip()
    listing = None
    error = ""
    if q:
        ctx = RequestContext(operator.org_id, operator.actor, request_id(request), operator.config)
        try:
            listing = await db.read(queries.search_listing, ctx, SearchCustomers(q, SEARCH_LIMIT, 0))
        except InvalidInput as exc:
            error = exc.message
    return pages.render(
        "_results.html" if _htmx(request) else "search.html",
        q=q,
        listing=listing,
        error=error,
        operator=operator,
        csrf=operator.csrf,
        nav="search",
    )
