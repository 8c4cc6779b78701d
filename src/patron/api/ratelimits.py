"""Rate limits at the HTTP edge: a thin adapter over security/ratelimit.py.

A route whose every call is limited names the limit in its signature, in place of `Ctx`:

    ctx: Annotated[RequestContext, Depends(rate_limited("Get Customer Referrals"))]

The dependency authenticates (it takes `Ctx`), counts the request against the org's limit
for that operation and hands the context on; past the limit the route never runs and the
answer is a 429 with `Retry-After` in the surface's envelope. A route limited only for some
calls (changeIdentifier counts only the calls that issue a card) calls `count_request`
itself once it knows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from patron.api.deps import Ctx, Db
from patron.context import RequestContext
from patron.db.engine import Database
from patron.security import ratelimit


async def count_request(db: Database, ctx: RequestContext, operation: str) -> None:
    """Count one request of the caller's org for `operation`; `Throttled` past the limit."""
    await ratelimit.take(db, ctx.org_id, operation, ctx.config.rate_limits_per_hour)


def rate_limited(operation: str) -> Callable[[Db, Ctx], Awaitable[RequestContext]]:
    """A dependency giving the request's context once the request fits the limit."""
    ratelimit.limit_of(operation, {})  # a name that is not limited fails at import

    async def limited(db: Db, ctx: Ctx) -> RequestContext:
        await count_request(db, ctx, operation)
        return ctx

    limited.__name__ = f"rate_limited({operation!r})"
    return limited
