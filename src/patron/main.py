"""The ASGI application. Nothing is built at import: `create_app(settings)` builds it, and
`patron.main:app` (used by tools that import an app object) is made on first access."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from patron import __version__, metrics
from patron.api import ops, orgs, surfaces, webhooks
from patron.api.edge import EdgeMiddleware
from patron.api.http import JSONResponse
from patron.api.openapi import PatronAPI
from patron.api.routing import LeanRoute
from patron.api.user import access_rules as user_access_rules
from patron.api.user import documents as user_documents
from patron.api.user import finance as user_finance
from patron.api.user import lookups as user_lookups
from patron.api.user import profile as user_profile
from patron.api.user import reset as user_reset
from patron.api.user import two_factor as user_two_factor
from patron.api.user import users as user_routes
from patron.api.user import validate as user_validate
from patron.api.user import verify as user_verify
from patron.api.v2 import (
    change_requests,
    coupons,
    customers,
    export,
    groups,
    images,
    loyalty,
    loyalty_reads,
    merges,
    partners,
    points,
    referrals,
    subscriptions,
)
from patron.config import Settings
from patron.console import pages as console
from patron.db.engine import create_database
from patron.logs import configure_logging
from patron.security.apikeys import ApiKeys
from patron.security.attempts import AttemptPolicy, Attempts
from patron.security.auth import Authenticator
from patron.security.keys import load_master_key
from patron.security.sessions import ConsoleSessions
from patron.security.throttle import ClientAddresses, LoginThrottle
from patron.webhooks.secrets import SecretBox
from patron.webhooks.worker import DeliveryWorker

# The API's routers in matching order: fixed paths (/v2/customers/bulk, .../lookup/...)
# before the customers router's /v2/customers/{customerId}.
ROUTERS = (
    groups.router,
    loyalty_reads.router,
    coupons.router,
    referrals.router,
    change_requests.router,
    images.router,
    export.router,
    customers.router,
    merges.router,
    subscriptions.router,
    loyalty.router,
    points.router,
    partners.router,
    orgs.router,
    webhooks.router,
    user_lookups.router,
    user_access_rules.router,
    user_verify.router,
    user_reset.router,
    user_validate.router,
    user_two_factor.router,
    user_profile.router,
    user_finance.router,
    user_documents.router,
    user_routes.router,
)

DESCRIPTION = """\
Patron keeps one record per customer across every channel and serves the v2 customers API.
Authenticate with HTTP Basic credentials of a till (`patron org create NAME --json`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        db = create_database(settings)
        await db.start()
        master = load_master_key(settings)
        app.state.db = db
        app.state.box = SecretBox(master)  # the same key load_box() gives other processes
        app.state.authenticator = Authenticator(
            db,
            ApiKeys(master),
            throttle=LoginThrottle(settings.auth_max_failures, settings.auth_failure_window_seconds),
            addresses=ClientAddresses(settings.trusted_proxies),
        )
        app.state.console_sessions = ConsoleSessions(db, app.state.box, app.state.authenticator)
        app.state.attempts = Attempts(
            db,
            AttemptPolicy(
                threshold=settings.credential_lock_threshold,
                address_threshold=settings.credential_address_threshold,
                base_delay=settings.credential_lock_base_seconds,
                cap=settings.credential_lock_cap_seconds,
                hourly=settings.credential_hourly_failures,
            ),
            ClientAddresses(settings.trusted_proxies),
        )
        # Everything made so far lives as long as the process: keep it out of the collector's
        # way, so a full collection walks only what requests made (shorter pauses).
        gc.collect()
        gc.freeze()
        stop = asyncio.Event()
        sampler = asyncio.create_task(metrics.sample_forever(db, stop))
        worker = None
        if settings.worker_enabled:
            worker = asyncio.create_task(DeliveryWorker(db, settings, app.state.box).run(stop))
        try:
            yield
        finally:
            stop.set()
            await sampler
            if worker is not None:
                await worker
            await db.dispose()

    app = PatronAPI(
        title="Patron",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url=None,  # served offline by ops.install
        redoc_url=None,
    )
    app.router.route_class = LeanRoute
    app.state.settings = settings
    app.add_middleware(
        EdgeMiddleware,
        access_log=settings.access_log,
        count_statements=settings.statement_header,
        body_timeout=settings.body_timeout_seconds,
    )
    surfaces.install(app)
    for router in ROUTERS:
        app.include_router(router)
    ops.install(app)
    console.install(app)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
