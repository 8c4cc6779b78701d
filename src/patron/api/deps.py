"""What routes are given, as `Annotated` dependencies: the database, the caller's context,
the settings and the secret box. Only these functions read the app's state; a route names
what it needs in its signature and never reaches into `request.app`.

They are coroutines taking the `Request` (or other dependencies), so `LeanRoute` plans them
once and FastAPI, when it calls a route itself, runs them on the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from patron.api.http import authenticated
from patron.config import Settings
from patron.context import RequestContext
from patron.db.engine import Database
from patron.webhooks.secrets import SecretBox


async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


async def secret_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


Db = Annotated[Database, Depends(database)]
Ctx = Annotated[RequestContext, Depends(authenticated)]
AppSettings = Annotated[Settings, Depends(settings)]
Box = Annotated[SecretBox, Depends(secret_box)]
