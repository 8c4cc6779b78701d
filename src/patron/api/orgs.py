"""Patron's own org routes: read and replace the org configuration document."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from patron.api.http import JSONResponse, authenticated, read_json
from patron.api.routing import LeanRoute
from patron.context import RequestContext
from patron.orgs import service

router = APIRouter(prefix="/v2/org", tags=["org"], route_class=LeanRoute)


@router.get("/config", summary="Read the org configuration")
async def read_config(request: Request, ctx: RequestContext = Depends(authenticated)) -> JSONResponse:
    config = await request.app.state.db.read(service.get_config, ctx.org_id)
    return JSONResponse(config.to_document())


@router.put("/config", summary="Replace the org configuration")
async def replace_config(request: Request, ctx: RequestContext = Depends(authenticated)) -> JSONResponse:
    config = service.parse_config(await read_json(request, request.app.state.settings.max_body_bytes))
    await request.app.state.db.write(service.replace_config, ctx.org_id, config)
    return JSONResponse(config.to_document())
