"""The console's routes: sign-in, sign-out, and Find a customer (50 results a page).

Every page reads the session first (security/sessions.py); without one it sends the browser
to the sign-in page. Every POST carries the session's CSRF token (the form's hidden `csrf`,
or the `X-CSRF-Token` header htmx sends from the body's `hx-headers`) and is refused with
403 without it. Nothing secret travels in a URL: credentials are posted, the session is a
cookie (HttpOnly, SameSite=Strict, Path=/console, Secure over https).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

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
from patron.customers.views import SearchListing
from patron.errors import Forbidden, InvalidInput, Throttled, Unauthorized
from patron.security.sessions import ConsoleSessions

SEARCH_LIMIT = 50
# Pages of results one may step to (50,000 customers): narrowing the search beats paging further.
MAX_SEARCH_PAGE = 1000
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
    number = _page_number(request.query_params.get("page", ""))
    listing = None
    error = ""
    if number is None:
        error = f"The page must be a whole number from 1 to {MAX_SEARCH_PAGE}."
    elif q:
        ctx = context(request, operator)
        offset = (number - 1) * SEARCH_LIMIT
        try:
            listing = await db.read(queries.search_listing, ctx, SearchCustomers(q, SEARCH_LIMIT, offset))
        except InvalidInput as exc:
            error = exc.message
    return pages.render(
        "_results.html" if htmx(request) else "search.html",
        q=q,
        listing=listing,
        error=error,
        paging=_paging(q, number or 1, listing),
        **page(operator, "search"),
    )


def _page_number(raw: str) -> int | None:
    """The 1-based page of ?page= (1 when absent); None when it is not one we serve."""
    if not raw:
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not 1 <= int(raw) <= MAX_SEARCH_PAGE:
        return None
    return int(raw)


def _paging(q: str, number: int, listing: SearchListing | None) -> dict[str, Any]:
    """The range shown (first, last: 1-based) and the links to the pages around it. The
    search's total counts the matches it read, exactly when `exact`, else at least that
    many; a page beyond it shows no rows."""
    if listing is None:
        return {}
    first = (number - 1) * SEARCH_LIMIT + 1
    shown = len(listing.rows)
    more = shown == SEARCH_LIMIT and number < MAX_SEARCH_PAGE
    more = more and (first - 1 + shown < listing.total or not listing.exact)
    return {
        "number": number,
        "first": first,
        "last": first + shown - 1,
        "prev": f"{ROOT}?{urlencode({'q': q, 'page': number - 1})}" if number > 1 else "",
        "next": f"{ROOT}?{urlencode({'q': q, 'page': number + 1})}" if more else "",
    }


# Included after every page's router: any other path under /console is a 404 page.
fallback = APIRouter(prefix=ROOT, include_in_schema=False)


@fallback.api_route("/{rest:path}", methods=["GET", "POST"])
async def no_such_page(pages: PagesDep, operator: MaybeOperator) -> Response:
    return not_found(pages, operator)
