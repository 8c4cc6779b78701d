"""Patron's own org routes: read and replace the org configuration document."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from patron.api.http import JSONResponse, authenticated, read_json
from patron.context import RequestContext
from patron.db.uow import unit_of_work
from patron.orgs import service

router = APIRouter(prefix="/v2/org", tags=["org"])


@router.get("/config", summary="Read the org configuration")
async def read_config(request: Request, ctx: RequestContext = Depends(authenticated)) -> JSONResponse:
    async with unit_of_work(request.app.state.db, write=False) as uow:
        config = await service.get_config(uow, ctx.org_id)
    return JSONResponse(config.to_document())


@router.put("/config", summary="Replace the org configuration")
async def replace_config(request: Request, ctx: RequestContext = Depends(authenticated)) -> JSONResponse:
    config = service.parse_config(await read_json(request, request.app.state.settings.max_body_bytes))
    async with unit_of_work(request.app.state.db, write=True) as uow:
        await service.replace_config(uow, ctx.org_id, config)
    request.app.state.authenticator.forget_org(ctx.org_id)
    return JSONResponse(config.to_document())
