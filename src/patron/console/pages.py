"""Rendering console pages: the Jinja2 environment, the headers every page carries, and the
static files (served at /console/static/ with long cache lifetimes: their URLs carry a
digest of their content, so a new release is a new URL)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_URL = "/console/static"

# Pages hold personal data and act for the signed-in till: no cache keeps them, no frame
# shows them, no referrer carries their URL away, and they run only their own scripts.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none';"
    " object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC_CACHE = "public, max-age=31536000, immutable"


class Pages:
    """The templates and the digests of the static files, made once per app."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.versions = {
            path.relative_to(STATIC).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in STATIC.rglob("*")
            if path.is_file()
        }
        self.env.globals["static"] = self.static_url

    def static_url(self, name: str) -> str:
        return f"{STATIC_URL}/{name}?v={self.versions[name]}"

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def redirect(url: str, *, htmx: bool = False) -> Response:
    """303 to a console URL; to an htmx request, the instruction to load it as a page."""
    if htmx:
        return Response(status_code=204, headers={**PAGE_HEADERS, "HX-Redirect": url})
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


class CachedStatic(StaticFiles):
    """Static files with a year's cache lifetime (their URLs change with their content)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = STATIC_CACHE
        return response


def install(app: FastAPI) -> None:
    """The console's routes and static files."""
    from patron.console import configuration, customer, customer_activity, dashboard, routes, webhooks

    app.state.console_pages = Pages()
    for module in (routes, customer, customer_activity, configuration, webhooks, dashboard):
        app.include_router(module.router)
    app.mount(STATIC_URL, CachedStatic(directory=str(STATIC)), name="console-static")
    app.include_router(routes.fallback)  # last: any other /console path is an HTML 404
