"""Patron's own webhook routes: endpoints, secrets, test sends, the delivery log, dead
letters, redelivery and replay. Authenticated like the v2 API, inside the till's org."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import AwareDatetime, ConfigDict, Field

from patron.api.deps import AppSettings, Box, Ctx, Db
from patron.api.http import JSONResponse, parse_int
from patron.api.routing import LeanRoute
from patron.api.v2.schemas import BODY, Out, errors
from patron.api.wire import CamelModel
from patron.api.writes import Write
from patron.webhooks import service
from patron.webhooks.probe import send_test_event
from patron.webhooks.views import AttemptView, DeadLetter, EndpointView

router = APIRouter(prefix="/v2/webhooks", tags=["webhooks"], route_class=LeanRoute)
Limit = Annotated[str | None, Query(description="How many rows to return, newest first.")]


class _Body(CamelModel):
    """Patron's own webhook API: camelCase, and an unknown key is an error."""

    model_config = ConfigDict(extra="forbid")


class EndpointBody(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://203.0.113.10/patron-hooks", "events": ["customerAdded"]}]
        },
    )

    url: str = Field(max_length=2000)
    events: list[str] | None = Field(default=None, max_length=20)
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class EndpointPatch(_Body):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=20)
    all_events: bool = False
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class RotateBody(_Body):
    grace_seconds: float | None = None


class RedeliverBody(_Body):
    event_ids: list[str] | None = Field(default=None, max_length=10_000)


class ReplayBody(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}]},
    )
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")


class Endpoint(Out):
    id: int
    url: str
    description: str
    events: list[str] | None = Field(description="The event types sent; null for all.")
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(Endpoint):
    secret: str = Field(description="The signing secret, shown this once.")


class EndpointList(Out):
    data: list[Endpoint]


class EndpointDeleted(Out):
    deleted: Literal[True]


class SecretRotated(Out):
    secret: str
    previous_secret_valid_seconds: float


class TestSent(Out):
    event_id: str
    ok: bool
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class Attempt(Out):
    id: int
    event_id: str
    event_name: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
    outcome: str


class AttemptList(Out):
    data: list[Attempt]


class DeadLetterItem(Out):
    event_id: str
    event_name: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    failed_at: datetime


class DeadLetterList(Out):
    data: list[DeadLetterItem]


class Requeued(Out):
    requeued: int


class Queued(Out):
    queued: int


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


def _created(created: tuple[EndpointView, str]) -> dict[str, Any]:
    view, secret = created
    return {**endpoint_json(view), "secret": secret}


def _deleted(_: object) -> dict[str, Any]:
    return {"deleted": True}


def _requeued(count: int) -> dict[str, Any]:
    return {"requeued": count}


def _queued(count: int) -> dict[str, Any]:
    return {"queued": count}


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


@router.post(
    "",
    summary="Add a webhook endpoint",
    status_code=201,
    response_model=EndpointCreated,
    responses=errors(*BODY),
)
async def add_endpoint(
    body: Annotated[EndpointBody, Body()], write: Write, db: Db, ctx: Ctx, settings: AppSettings, box: Box
) -> JSONResponse:
    url = await service.checked_url(body.url, allow_private=settings.webhook_allow_private)
    response = await write(
        ctx,
        service.add_endpoint,
        box,
        ctx.org_id,
        url=url,
        event_types=body.events,
        description=body.description,
        enabled=body.enabled,
        render=_created,
        status=201,
        sealed=True,  # the answer holds the signing secret
    )
    db.endpoints_changed.set()
    return response


@router.get("", summary="List webhook endpoints", response_model=EndpointList, responses=errors())
async def list_endpoints(db: Db, ctx: Ctx) -> JSONResponse:
    views = await db.read(service.list_endpoints, ctx.org_id)
    return JSONResponse({"data": [endpoint_json(v) for v in views]})


@router.get(
    "/{endpointId}", summary="Read a webhook endpoint", response_model=Endpoint, responses=errors(400, 404)
)
async def get_endpoint(endpointId: str, db: Db, ctx: Ctx) -> JSONResponse:
    view = await db.read(service.get_endpoint, ctx.org_id, parse_int(endpointId, "endpointId"))
    return JSONResponse(endpoint_json(view))


@router.patch(
    "/{endpointId}",
    summary="Change a webhook endpoint",
    response_model=Endpoint,
    responses=errors(*BODY, 404),
)
async def update_endpoint(
    endpointId: str,
    body: Annotated[EndpointPatch, Body()],
    write: Write,
    db: Db,
    ctx: Ctx,
    settings: AppSettings,
) -> JSONResponse:
    endpoint_id = parse_int(endpointId, "endpointId")
    url = None
    if body.url is not None:
        url = await service.checked_url(body.url, allow_private=settings.webhook_allow_private)
    response = await write(
        ctx,
        service.update_endpoint,
        ctx.org_id,
        endpoint_id,
        url=url,
        event_types=body.events,
        all_events=body.all_events,
        description=body.description,
        enabled=body.enabled,
        render=endpoint_json,
    )
    db.endpoints_changed.set()
    return response


@router.delete(
    "/{endpointId}",
    summary="Delete a webhook endpoint",
    response_model=EndpointDeleted,
    responses=errors(400, 404),
)
async def delete_endpoint(endpointId: str, write: Write, db: Db, ctx: Ctx) -> JSONResponse:
    endpoint_id = parse_int(endpointId, "endpointId")
    response = await write(ctx, service.delete_endpoint, ctx.org_id, endpoint_id, render=_deleted)
    db.endpoints_changed.set()
    return response


@router.post(
    "/{endpointId}/rotate-secret",
    summary="Rotate a webhook endpoint's signing secret",
    response_model=SecretRotated,
    responses=errors(*BODY, 404),
)
async def rotate_secret(
    endpointId: str,
    body: Annotated[RotateBody, Body()],
    write: Write,
    db: Db,
    ctx: Ctx,
    settings: AppSettings,
    box: Box,
) -> JSONResponse:
    grace = body.grace_seconds
    if grace is None:
        grace = settings.webhook_secret_grace_seconds

    def rotated(secret: str) -> dict[str, Any]:
        return {"secret": secret, "previousSecretValidSeconds": grace}

    response = await write(
        ctx,
        service.rotate_secret,
        box,
        ctx.org_id,
        parse_int(endpointId, "endpointId"),
        grace_seconds=grace,
        render=rotated,
        sealed=True,  # the answer holds the new signing secret
    )
    db.endpoints_changed.set()
    return response


@router.post(
    "/{endpointId}/test",
    summary="Send a signed test event to a webhook endpoint",
    response_model=TestSent,
    responses=errors(400, 404),
)
async def test_endpoint(endpointId: str, db: Db, ctx: Ctx, settings: AppSettings, box: Box) -> JSONResponse:
    endpoint_id = parse_int(endpointId, "endpointId")
    sent = await send_test_event(
        db,
        box,
        ctx.org_id,
        endpoint_id,
        ctx.request_id,
        allow_private=settings.webhook_allow_private,
        timeout_seconds=settings.webhook_timeout_seconds,
    )
    outcome = sent.outcome
    return JSONResponse(
        {
            "eventId": sent.message_id,
            "ok": outcome.ok,
            "statusCode": outcome.status_code,
            "latencyMs": outcome.latency_ms,
            "responseExcerpt": outcome.excerpt,
            "error": outcome.error,
        }
    )


@router.get(
    "/{endpointId}/attempts",
    summary="Read a webhook endpoint's delivery log",
    response_model=AttemptList,
    responses=errors(400, 404),
)
async def list_attempts(endpointId: str, db: Db, ctx: Ctx, limit: Limit = None) -> JSONResponse:
    count = min(max(parse_int(limit, "limit", default=50), 1), 500)
    rows = await db.read(service.attempts, ctx.org_id, parse_int(endpointId, "endpointId"), limit=count)
    return JSONResponse({"data": [_attempt_json(a) for a in rows]})


@router.get(
    "/{endpointId}/dead-letters",
    summary="List a webhook endpoint's dead letters",
    response_model=DeadLetterList,
    responses=errors(400, 404),
)
async def list_dead_letters(endpointId: str, db: Db, ctx: Ctx, limit: Limit = None) -> JSONResponse:
    count = min(max(parse_int(limit, "limit", default=100), 1), 1000)
    rows = await db.read(service.dead_letters, ctx.org_id, parse_int(endpointId, "endpointId"), limit=count)
    return JSONResponse({"data": [_dead_json(d) for d in rows]})


@router.post(
    "/{endpointId}/dead-letters/redeliver",
    summary="Redeliver a webhook endpoint's dead letters",
    response_model=Requeued,
    responses=errors(*BODY, 404),
)
async def redeliver(
    endpointId: str, body: Annotated[RedeliverBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    endpoint_id = parse_int(endpointId, "endpointId")
    return await write(
        ctx, service.redeliver, ctx.org_id, endpoint_id, event_uuids=body.event_ids, render=_requeued
    )


@router.post(
    "/{endpointId}/replay",
    summary="Replay an org's events in a time range to a webhook endpoint",
    response_model=Queued,
    responses=errors(*BODY, 404),
)
async def replay(
    endpointId: str, body: Annotated[ReplayBody, Body()], write: Write, ctx: Ctx
) -> JSONResponse:
    endpoint_id = parse_int(endpointId, "endpointId")
    return await write(
        ctx, service.replay, ctx.org_id, endpoint_id, start=body.start, end=body.end, render=_queued
    )
