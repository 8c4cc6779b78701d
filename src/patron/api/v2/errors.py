"""The v2 surface's one error handler: every failure in the seed's envelope.

An error body is `{"warnings": [], "errors": [{"status": false, "code", "message"}]}`,
the item shape of the seed's warnings (ENV-2), with an HTTP status by kind of failure.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from patron.api.http import JSONResponse
from patron.errors import PatronError, Throttled

log = logging.getLogger("patron.api")


def error_body(code: int, message: str) -> dict[str, object]:
    return {"warnings": [], "errors": [{"status": False, "code": code, "message": message}]}


def install(app: FastAPI) -> None:
    @app.exception_handler(PatronError)
    async def _patron(_: Request, exc: PatronError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": 'Basic realm="patron"'}
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:10]:
            where = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path"))
            parts.append(f"{where}: {err['msg']}")
        return JSONResponse(error_body(400, "Input is invalid. " + "; ".join(parts) + "."), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse(error_body(500, "Internal error; the request changed nothing."), status_code=500)


__all__ = ["error_body", "install"]
