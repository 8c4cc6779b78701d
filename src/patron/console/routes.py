"""The console's routes: sign-in, sign-out, and Find a customer.

Every page reads the session first (security/sessions.py); without one it sends the browser
to the sign-in page. Every POST carries the session's CSRF token (the form's hidden `csrf`,
or the `X-CSRF-Token` header htmx sends from the body's `hx-headers`) and is refused with
403 without it. Nothing secret travels in a URL: credentials are posted, the session is a
cookie (HttpOnly, SameSite=Strict, Path=/console, Secure over https).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from starlette.responses import Response

from patron.api.deps import Db
from patron.console.pages import Pages, redirect
from patron.console.web import (
    COOKIE,
    LOGIN,
    LOGIN_COOKIE,
    ROOT,
    FormTooLarge,
    MaybeOperator,
    PagesDep,
    Sessions,
    context,
    htmx,
    not_found,
    page,
    posted,
    read_form,
    refused,
    sign_in_first,
    too_large,
)
from patron.customers import queries
from patron.customers.commands import SearchCustomers
from patron.errors import Forbidden, InvalidInput, Throttled, Unauthorized
from patron.security.sessions import ConsoleSessions

SEARCH_LIMIT = 50
MAX_FIELD = 200
WRONG_CREDENTIALS = "Wrong username or password, or the till is not active."

router = APIRouter(prefix=ROOT, include_in_schema=False)


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
        form = await read_form(request)
    except FormTooLarge:
        return too_large(pages)
    pre = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf", "")
    if not pre or not sent or not sessions.same(sent, sessions.login_csrf(pre)):
        return refused(pages, None)
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
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    await sessions.sign_out(operator)
    response = redirect(LOGIN, htmx=htmx(request))
    _drop_cookie(response, request, COOKIE)
    return response


@router.get("")
async def find_customer(request: Request, pages: PagesDep, db: Db, operator: MaybeOperator) -> Response:
    """Find a customer: the API's prefix search over names and identifiers, as a table."""
    if operator is None:
        return sign_in_first(request)
    q = request.query_params.get("q", "").strip()
    listing = None
    error = ""
    if q:
        ctx = context(request, operator)
        try:
            listing = await db.read(queries.search_listing, ctx, SearchCustomers(q, SEARCH_LIMIT, 0))
        except InvalidInput as exc:
            error = exc.message
    return pages.render(
        "_results.html" if htmx(request) else "search.html",
        q=q,
        listing=listing,
        error=error,
        **page(operator, "search"),
    )


# Included after every page's router: any other path under /console is a 404 page.
fallback = APIRouter(prefix=ROOT, include_in_schema=False)


@fallback.api_route("/{rest:path}", methods=["GET", "POST"])
async def no_such_page(pages: PagesDep, operator: MaybeOperator) -> Response:
    return not_found(pages, operator)
