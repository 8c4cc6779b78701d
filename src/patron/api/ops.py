"""The app's own routes: the health and readiness checks, the Prometheus metrics, and the
API documentation served offline.

Swagger UI's files come from an installed package (swagger-ui-bundle-v2), mounted under
`/docs/assets`, so /docs needs no CDN. ReDoc is not served.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from patron import metrics, readiness
from patron.api.deps import Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.v2.schemas import ErrorEnvelope, errors
from patron.db.uow import UnitOfWork

DOCS = "/docs"
ASSETS = "/docs/assets"

router = APIRouter(tags=["ops"], route_class=LeanRoute)


class Health(BaseModel):
    status: Literal["ok"]


@router.get("/health", summary="Health check", response_model=Health, responses=errors(authenticated=False))
async def health(db: Db) -> JSONResponse:
    await db.read(_ping)
    return JSONResponse({"status": "ok"})


async def _ping(uow: UnitOfWork) -> None:
    await uow.orgs.ping()


class Ready(BaseModel):
    status: Literal["ready"]
    checks: dict[str, Literal["ok"]]


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorEnvelope,
        "description": "Not ready: one error per failing check (database, migrations, worker), "
        "its message starting with the check's name.",
    }
}


@router.get(
    "/ready",
    summary="Readiness check",
    response_model=Ready,
    responses={**errors(authenticated=False), **_NOT_READY},
)
async def ready(db: Db) -> JSONResponse:
    found = await readiness.check(db)
    if found.ready:
        return JSONResponse({"status": "ready", "checks": dict.fromkeys(readiness.CHECKS, "ok")})
    failing = [
        {"status": False, "code": 503, "message": f"{name}: {reason}"}
        for name, reason in found.failures.items()
    ]
    return JSONResponse({"warnings": [], "errors": failing}, status_code=503)


_METRICS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The metrics in Prometheus's text format (docs/operations.md, Metrics).",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={**errors(authenticated=False), **_METRICS},
)
async def prometheus_metrics(db: Db) -> Response:
    """Unauthenticated, as Prometheus scrapes: counts, latencies and queue depths by route
    template, endpoint id and org id; no personal data."""
    return Response(await metrics.render(db), media_type=metrics.CONTENT_TYPE)


def install(app: FastAPI) -> None:
    """The health and readiness routes, and /docs with its assets (the app is made with docs_url=None)."""
    readiness.code_head()  # read the migration scripts now, not on the first /ready
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get(DOCS, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - API documentation",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
        )
