"""Patron's own webhook routes: endpoints, secrets, test sends, the delivery log, dead
letters, redelivery and replay. Authenticated like the v2 API, inside the till's org."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from patron.api.http import JSONResponse, authenticated, parse_body, parse_int, read_json
from patron.api.routing import LeanRoute
from patron.context import RequestContext
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.webhooks import service
from patron.webhooks.client import DeliveryClient
from patron.webhooks.delivery import post, sign
from patron.webhooks.views import AttemptView, DeadLetter, EndpointView

router = APIRouter(prefix="/v2/webhooks", tags=["webhooks"], route_class=LeanRoute)
Auth = Depends(authenticated)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointBody(_Body):
    url: str = Field(max_length=2000)
    events: list[str] | None = Field(default=None, max_length=20)
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class EndpointPatch(_Body):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=20)
    allEvents: bool = False
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class RotateBody(_Body):
    graceSeconds: float | None = None


class RedeliverBody(_Body):
    eventIds: list[str] | None = Field(default=None, max_length=10_000)


class ReplayBody(_Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def endpoint_json(e: EndpointView) -> dict[str, Any]:
    return {
        "id": e.endpoint_id,
        "url": e.url,
        "description": e.description,
        "events": e.event_types,
        "enabled": e.enabled,
        "disabledReason": e.disabled_reason,
        "failingSince": _stamp(e.failing_since),
        "lastSuccessAt": _stamp(e.last_success_at),
        "createdAt": _stamp(e.created_at),
        "updatedAt": _stamp(e.updated_at),
    }


def _dead_json(d: DeadLetter) -> dict[str, Any]:
    return {
        "eventId": d.event_uuid,
        "eventName": d.event_name,
        "attempts": d.attempts,
        "lastStatusCode": d.last_status_code,
        "lastError": d.last_error,
        "failedAt": _stamp(d.failed_at),
    }


def _attempt_json(a: AttemptView) -> dict[str, Any]:
    return {
        "id": a.attempt_id,
        "eventId": a.event_uuid,
        "eventName": a.event_name,
        "attempt": a.attempt_number,
        "attemptedAt": _stamp(a.attempted_at),
        "statusCode": a.status_code,
        "latencyMs": a.latency_ms,
        "responseExcerpt": a.response_excerpt,
        "error": a.error,
        "outcome": a.outcome,
    }


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _body(request: Request, model: type[Any]) -> Any:
    return parse_body(model, await read_json(request, request.app.state.settings.max_body_bytes))


@router.post("", summary="Add a webhook endpoint", status_code=201)
async def add_endpoint(request: Request, ctx: RequestContext = Auth) -> JSONResponse:
    body: EndpointBody = await _body(request, EndpointBody)
    db = _db(request)
    url = await service.checked_url(body.url, allow_private=request.app.state.settings.webhook_allow_private)
    view, secret = await db.write(
        service.add_endpoint,
        request.app.state.box,
        ctx.org_id,
        url=url,
        event_types=body.events,
        description=body.description,
        enabled=body.enabled,
    )
    db.endpoints_changed.set()
    return JSONResponse({**endpoint_json(view), "secret": secret}, status_code=201)


@router.get("", summary="List webhook endpoints")
async def list_endpoints(request: Request, ctx: RequestContext = Auth) -> JSONResponse:
    views = await _db(request).read(service.list_endpoints, ctx.org_id)
    return JSONResponse({"data": [endpoint_json(v) for v in views]})


@router.get("/{endpointId}", summary="Read a webhook endpoint")
async def get_endpoint(request: Request, endpointId: str, ctx: RequestContext = Auth) -> JSONResponse:
    view = await _db(request).read(service.get_endpoint, ctx.org_id, parse_int(endpointId, "endpointId"))
    return JSONResponse(endpoint_json(view))


@router.patch("/{endpointId}", summary="Change a webhook endpoint")
async def update_endpoint(request: Request, endpointId: str, ctx: RequestContext = Auth) -> JSONResponse:
    body: EndpointPatch = await _body(request, EndpointPatch)
    endpoint_id = parse_int(endpointId, "endpointId")
    db = _db(request)
    url = None
    if body.url is not None:
        url = await service.checked_url(
            body.url, allow_private=request.app.state.settings.webhook_allow_private
        )
    view = await db.write(
        service.update_endpoint,
        ctx.org_id,
        endpoint_id,
        url=url,
        event_types=body.events,
        all_events=body.allEvents,
        description=body.description,
        enabled=body.enabled,
    )
    db.endpoints_changed.set()
    return JSONResponse(endpoint_json(view))


@router.delete("/{endpointId}", summary="Delete a webhook endpoint")
async def delete_endpoint(request: Request, endpointId: str, ctx: RequestContext = Auth) -> JSONResponse:
    db = _db(request)
    await db.write(service.delete_endpoint, ctx.org_id, parse_int(endpointId, "endpointId"))
    db.endpoints_changed.set()
    return JSONResponse({"deleted": True})


@router.post("/{endpointId}/rotate-secret", summary="Rotate a webhook endpoint's signing secret")
async def rotate_secret(request: Request, endpointId: str, ctx: RequestContext = Auth) -> JSONResponse:
    body: RotateBody = await _body(request, RotateBody)
    grace = body.graceSeconds
    if grace is None:
        grace = request.app.state.settings.webhook_secret_grace_seconds
    db = _db(request)
    secret = await db.write(
        service.rotate_secret,
        request.app.state.box,
        ctx.org_id,
        parse_int(endpointId, "endpointId"),
        grace_seconds=grace,
    )
    db.endpoints_changed.set()
    return JSONResponse({"secret": secret, "previousSecretValidSeconds": grace})


@router.post("/{endpointId}/test", summary="Send a signed test event to a webhook endpoint")
async def test_endpoint(request: Request, endpointId: str, ctx: RequestContext = Auth) -> JSONResponse:
    settings = request.app.state.settings
    endpoint_id = parse_int(endpointId, "endpointId")
    target = await _db(request).read(service.signing_target, request.app.state.box, ctx.org_id, endpoint_id)
    now = utcnow()
    message_id = service.test_message_id()
    payload = service.test_payload(ctx.org_id, message_id, now, ctx.request_id)
    client = DeliveryClient(allow_private=settings.webhook_allow_private)
    try:
        outcome = await post(
            client,
            target.url,
            sign(message_id, payload, target.secrets, now),
            timeout_seconds=settings.webhook_timeout_seconds,
        )
    finally:
        client.close()
    return JSONResponse(
        {
            "eventId": message_id,
            "ok": outcome.ok,
            "statusCode": outcome.status_code,
            "latencyMs": outcome.latency_ms,
            "responseExcerpt": outcome.excerpt,
            "error": outcome.error,
        }
    )


@router.get("/{endpointId}/attempts", summary="Read a webhook endpoint's delivery log")
async def list_attempts(
    request: Request, endpointId: str, limit: str | None = Query(None), ctx: RequestContext = Auth
) -> JSONResponse:
    count = min(max(parse_int(limit, "limit", default=50), 1), 500)
    rows = await _db(request).read(
        service.attempts, ctx.org_id, parse_int(endpointId, "endpointId"), limit=count
    )
    return JSONResponse({"data": [_attempt_json(a) for a in rows]})


@router.get("/{endpointId}/dead-letters", summary="List a webhook endpoint's dead letters")
async def list_dead_letters(
    request: Request, endpointId: str, limit: str | None = Query(None), ctx: RequestContext = Auth
) -> JSONResponse:
    count = min(max(parse_int(limit, "limit", default=100), 1), 1000)
    rows = await _db(request).read(
        service.dead_letters, ctx.org_id, parse_int(endpointId, "endpointId"), limit=count
    )
    return JSONResponse({"data": [_dead_json(d) for d in rows]})


@router.post("/{endpointId}/dead-letters/redeliver", summary="Redeliver a webhook endpoint's dead letters")
async def redeliver(request: Request, endpointId: str, ctx: RequestContext = Auth) -> JSONResponse:
    body: RedeliverBody = await _body(request, RedeliverBody)
    count = await _db(request).write(
        service.redeliver, ctx.org_id, parse_int(endpointId, "endpointId"), event_uuids=body.eventIds
    )
    return JSONResponse({"requeued": count})


@router.post("/{endpointId}/replay", summary="Replay an org's events in a time range to a webhook endpoint")
async def replay(request: Request, endpointId: str, ctx: RequestContext = Auth) -> JSONResponse:
    body: ReplayBody = await _body(request, ReplayBody)
    count = await _db(request).write(
        service.replay, ctx.org_id, parse_int(endpointId, "endpointId"), start=body.start, end=body.end
    )
    return JSONResponse({"queued": count})
