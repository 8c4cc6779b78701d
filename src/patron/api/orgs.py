"""Patron's own org routes: read and replace the org configuration document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from patron.api.deps import Ctx, Db
from patron.api.http import JSONResponse
from patron.api.routing import LeanRoute
from patron.api.v2.schemas import BODY, errors
from patron.api.writes import Write
from patron.orgs import service
from patron.orgs.config import OrgConfig

router = APIRouter(prefix="/v2/org", tags=["org"], route_class=LeanRoute)


@router.get("/config", summary="Read the org configuration", response_model=OrgConfig, responses=errors(404))
async def read_config(db: Db, ctx: Ctx) -> JSONResponse:
    config = await db.read(service.get_config, ctx.org_id)
    return JSONResponse(config.to_document())


@router.put(
    "/config",
    summary="Replace the org configuration",
    response_model=OrgConfig,
    responses=errors(*BODY, 404),
)
async def replace_config(config: Annotated[OrgConfig, Body()], write: Write, ctx: Ctx) -> JSONResponse:
    return await write(ctx, service.replace_config, ctx.org_id, config, render=lambda _: config.to_document())
