"""Webhooks: endpoints, their delivery log and dead letters, replay, secret rotation, test
sends, and the live tail of the org's events.

Every change goes through the use cases the webhook API calls (webhooks/service.py): the
URL checked by `service.checked_url` before the write, the secret of a new endpoint or of a
rotation shown once on the answer page (never in a URL, never again), and the worker told
that endpoints changed (`db.endpoints_changed`), as the API tells it. The numbers of the
endpoints' table come from the read model webhooks/stats.py (the last 24 hours of the
delivery log), the live tail from events/tail.py.

The live tail is a server-sent event stream (`/console/webhooks/tail/stream`): it polls the
org's outbox about once a second from a cursor, sends one `outbox` event per new event
(its id, type, time and customer id, never the payload), a comment every 15 seconds, and
ends when the browser goes away or the session is over (checked without counting as
activity: security/session_check.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from patron.api.deps import AppSettings, Box, Db
from patron.config import Settings
from patron.console.pages import PAGE_HEADERS, Pages, redirect
from patron.console.web import (
    ROOT,
    MaybeOperator,
    PagesDep,
    context,
    not_found,
    page,
    path_id,
    posted,
    sign_in_first,
)
from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound, PatronError
from patron.events import tail as tails
from patron.events.registry import EVENT_NAMES
from patron.security.session_check import session_live
from patron.security.sessions import Operator
from patron.webhooks import service, stats
from patron.webhooks.probe import send_test_event
from patron.webhooks.views import AttemptView, DeadLetter, EndpointView

router = APIRouter(prefix=ROOT, include_in_schema=False)

LOG_PAGE = 25  # delivery log rows per page
DEAD_LIMIT = 100  # dead letters listed (the API's default)
POLL_SECONDS = 1.0  # the live tail looks at the outbox this often
HEARTBEAT_SECONDS = 15.0  # and sends a comment (and checks the session) this often
_LOCAL_MINUTE = "%Y-%m-%dT%H:%M"

# Confirmations after a change, chosen here (the query only names one, with a count).
DONE = {
    "requeued": "{n} dead letter(s) put back in the queue; the worker sends them again now.",
    "replayed": "{n} event(s) of that range queued for this endpoint.",
    "enabled": "The endpoint is enabled: events are sent to it again.",
    "disabled": "The endpoint is disabled: nothing is sent to it until it is enabled.",
}


# Helpers for templates ----------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "–"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def ms(value: int | None) -> str:
    return "–" if value is None else f"{value} ms"


HELPERS = {"when": when, "percent": percent, "ms": ms, "event_names": EVENT_NAMES}


def _count(raw: str | None) -> int:
    return int(raw) if raw and re.fullmatch(r"[0-9]{1,9}", raw) else 0


def _field_of(message: str) -> str:
    """The form field a refusal of the add form concerns (the service words them so)."""
    if message.startswith("url"):
        return "url"
    if message.startswith("description"):
        return "description"
    if message.startswith(("Unknown event types", "events")):
        return "events"
    return "form"


# The endpoints' table ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    endpoints: list[EndpointView]
    stats: stats.OrgWebhookStats


async def _listing(uow: UnitOfWork, org_id: int) -> Listing:
    return Listing(await service.list_endpoints(uow, org_id), await stats.endpoint_stats(uow, org_id))


async def _list_page(
    pages: Pages,
    db: Database,
    operator: Operator,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    listing = await db.read(_listing, operator.org_id)
    form = {"url": "", "description": "", "events": [], "enabled": True, **(values or {})}
    return pages.render(
        "webhooks.html",
        status,
        listing=listing,
        errors=errors or {},
        form=form,
        **HELPERS,
        **page(operator, "webhooks"),
    )


@router.get("/webhooks")
async def webhooks(request: Request, pages: PagesDep, db: Db, operator: MaybeOperator) -> Response:
    """The org's endpoints with their last 24 hours, and the form to add one."""
    if operator is None:
        return sign_in_first(request)
    return await _list_page(pages, db, operator)


@router.post("/webhooks")
async def add_endpoint(
    request: Request,
    pages: PagesDep,
    db: Db,
    settings: AppSettings,
    box: Box,
    operator: MaybeOperator,
) -> Response:
    """Add an endpoint (the API's add_endpoint); its secret is shown on this answer only."""
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    url = form.get("url", "")
    description = form.get("description", "")
    events = [name for name in EVENT_NAMES if form.get(f"event.{name}")]
    enabled = bool(form.get("enabled"))
    values = {"url": url, "description": description, "events": events, "enabled": enabled}
    try:
        checked = await service.checked_url(url, allow_private=settings.webhook_allow_private)
        view, secret = await db.write(
            service.add_endpoint,
            box,
            operator.org_id,
            url=checked,
            event_types=events or None,  # none ticked: every event, as the API's omitted list
            description=description,
            enabled=enabled,
        )
    except InvalidInput as exc:
        return await _list_page(
            pages,
            db,
            operator,
            status=exc.status,
            errors={_field_of(exc.message): exc.message},
            values=values,
        )
    db.endpoints_changed.set()
    return await _endpoint_page(
        settings, pages, db, operator, view.endpoint_id, status=201, secret=secret, secret_kind="added"
    )


# One endpoint ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointData:
    endpoint: EndpointView
    stats: stats.EndpointStats
    dead: list[DeadLetter]
    log: list[AttemptView]
    older: int | None  # the `before` of the next page of the log, if there is one


async def _endpoint_data(uow: UnitOfWork, org_id: int, endpoint_id: int, before: int | None) -> EndpointData:
    endpoint = await service.get_endpoint(uow, org_id, endpoint_id)
    numbers = (await stats.endpoint_stats(uow, org_id)).of(endpoint_id)
    dead = await service.dead_letters(uow, org_id, endpoint_id, limit=DEAD_LIMIT)
    log = await stats.attempts_page(uow, org_id, endpoint_id, before=before, limit=LOG_PAGE + 1)
    older = log[LOG_PAGE - 1].attempt_id if len(log) > LOG_PAGE else None
    return EndpointData(endpoint, numbers, dead, log[:LOG_PAGE], older)


def _replay_defaults() -> dict[str, str]:
    now = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
    return {"from": (now - timedelta(days=1)).strftime(_LOCAL_MINUTE), "to": now.strftime(_LOCAL_MINUTE)}


async def _endpoint_page(
    settings: Settings,
    pages: Pages,
    db: Database,
    operator: Operator,
    endpoint_id: int,
    *,
    status: int = 200,
    before: int | None = None,
    secret: str | None = None,
    secret_kind: str = "",
    test: dict[str, Any] | None = None,
    action_error: str = "",
    replay_errors: dict[str, str] | None = None,
    replay_values: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    try:
        data = await db.read(_endpoint_data, operator.org_id, endpoint_id, before)
    except NotFound as exc:
        return not_found(pages, operator, exc.message)
    return pages.render(
        "webhook.html",
        status,
        data=data,
        e=data.endpoint,
        before=before,
        secret=secret,
        secret_kind=secret_kind,
        grace_hours=f"{settings.webhook_secret_grace_seconds / 3600:g}",
        test=test,
        replay_errors=replay_errors or {},
        replay=replay_values or _replay_defaults(),
        done=done,
        action_error=action_error,
        canonical=f"{ROOT}/webhooks/{endpoint_id}",
        **HELPERS,
        **page(operator, "webhooks"),
    )


@router.get("/webhooks/tail")
async def tail_page(request: Request, pages: PagesDep, operator: MaybeOperator) -> Response:
    """The live tail of the org's events (webhooks.js opens the stream)."""
    if operator is None:
        return sign_in_first(request)
    return pages.render("webhook_tail.html", **page(operator, "webhooks"))


@router.get("/webhooks/tail/stream")
async def tail_stream(request: Request, db: Db, operator: MaybeOperator) -> Response:
    """Server-sent events: one `outbox` event per new event of the org."""
    if operator is None:
        # Not a redirect: EventSource would follow it to an HTML page. A 401 ends it.
        return Response("Sign in to the console first.", status_code=401, headers=PAGE_HEADERS)
    latest = await db.read(tails.latest_event_id, operator.org_id)
    start = latest
    resume = request.headers.get("last-event-id", "")
    if re.fullmatch(r"[0-9]{1,18}", resume):
        start = min(int(resume), latest)  # a reconnecting browser picks up where it was
    tail = tails.Tail(operator.org_id, start)
    return StreamingResponse(
        _events(request, db, operator, tail),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: tails.TailEvent) -> str:
    data = {
        "eventId": event.event_uuid,
        "type": event.event_name,
        "at": when(event.created_at),
        "customerId": event.customer_id,
    }
    return f"event: outbox\nid: {event.event_id}\ndata: {json.dumps(data)}\n\n"


class _Streams:
    """How many live tails this process serves now (each holds a poll loop)."""

    open = 0


async def _events(request: Request, db: Database, operator: Operator, tail: tails.Tail) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    _Streams.open += 1
    try:
        yield "retry: 3000\n: the tail of the org's events\n\n"
        beat = loop.time()
        while not await request.is_disconnected():
            if loop.time() - beat >= HEARTBEAT_SECONDS:
                if not await db.read(session_live, operator.org_id, operator.session_id, utcnow()):
                    yield "event: end\ndata: The console session is over; sign in again.\n\n"
                    return
                beat = loop.time()
                yield ": heartbeat\n\n"
            for event in await db.read(tails.poll, tail):
                yield _sse(event)
            await asyncio.sleep(POLL_SECONDS)
    finally:
        _Streams.open -= 1


def open_streams() -> int:
    return _Streams.open


@router.get("/webhooks/{endpoint_id}")
async def endpoint(
    endpoint_id: str,
    request: Request,
    pages: PagesDep,
    db: Db,
    settings: AppSettings,
    operator: MaybeOperator,
) -> Response:
    """An endpoint: its numbers, dead letters, delivery log (paged), and its actions."""
    if operator is None:
        return sign_in_first(request)
    found = path_id(endpoint_id)
    if found is None:
        return not_found(pages, operator)
    q = request.query_params
    before = path_id(q.get("before", ""))
    key = q.get("done", "")
    done = DONE[key].format(n=_count(q.get("n"))) if key in DONE else ""
    return await _endpoint_page(settings, pages, db, operator, found, before=before, done=done)


async def _posted_endpoint(
    endpoint_id: str, request: Request, pages: Pages, operator: Operator | None
) -> tuple[int, dict[str, str], Operator] | Response:
    form = await posted(request, pages, operator)
    if isinstance(form, Response):
        return form
    assert operator is not None
    found = path_id(endpoint_id)
    if found is None:
        return not_found(pages, operator)
    return found, form, operator


def _done(endpoint_id: int, key: str, n: int | None = None) -> Response:
    suffix = f"&n={n}" if n is not None else ""
    return redirect(f"{ROOT}/webhooks/{endpoint_id}?done={key}{suffix}")


@router.post("/webhooks/{endpoint_id}/redeliver")
async def redeliver(
    endpoint_id: str,
    request: Request,
    pages: PagesDep,
    db: Db,
    settings: AppSettings,
    operator: MaybeOperator,
) -> Response:
    """Put the endpoint's dead letters back in the queue: all, or the one event named."""
    got = await _posted_endpoint(endpoint_id, request, pages, operator)
    if isinstance(got, Response):
        return got
    found, form, op = got
    event = form.get("event_id", "").strip()
    try:
        count = await db.write(
            service.redeliver, op.org_id, found, event_uuids=[event[:36]] if event else None
        )
    except PatronError as exc:
        return await _action_refused(settings, pages, db, op, found, exc)
    return _done(found, "requeued", count)


@router.post("/webhooks/{endpoint_id}/replay")
async def replay(
    endpoint_id: str,
    request: Request,
    pages: PagesDep,
    db: Db,
    settings: AppSettings,
    operator: MaybeOperator,
) -> Response:
    """Owe the endpoint again the org's events of a range (UTC, `from` inclusive)."""
    got = await _posted_endpoint(endpoint_id, request, pages, operator)
    if isinstance(got, Response):
        return got
    found, form, op = got
    values = {"from": form.get("from", "").strip()[:40], "to": form.get("to", "").strip()[:40]}
    errors: dict[str, str] = {}
    moments: dict[str, datetime] = {}
    for name, label in (("from", "the start (From)"), ("to", "the end (To)")):
        if not values[name]:
            errors[name] = f"Give {label} of the range."
            continue
        try:
            moments[name] = datetime.fromisoformat(values[name]).replace(tzinfo=UTC)
        except ValueError:
            errors[name] = f"{label[0].upper()}{label[1:]} is not a date and time (YYYY-MM-DDTHH:MM)."
    if not errors:
        try:
            count = await db.write(service.replay, op.org_id, found, start=moments["from"], end=moments["to"])
        except InvalidInput as exc:
            errors["to"] = exc.message  # "to must be after from.", "Replay at most 31 days ..."
        except NotFound as exc:
            return not_found(pages, op, exc.message)
        else:
            return _done(found, "replayed", count)
    return await _endpoint_page(
        settings, pages, db, op, found, status=400, replay_errors=errors, replay_values=values
    )


@router.post("/webhooks/{endpoint_id}/rotate")
async def rotate(
    endpoint_id: str,
    request: Request,
    pages: PagesDep,
    db: Db,
    settings: AppSettings,
    box: Box,
    operator: MaybeOperator,
) -> Response:
    """A new signing secret (the old one signs beside it for the API's default grace),
    shown on this answer only."""
    got = await _posted_endpoint(endpoint_id, request, pages, operator)
    if isinstance(got, Response):
        return got
    found, _, op = got
    try:
        secret = await db.write(
            service.rotate_secret,
            box,
            op.org_id,
            found,
            grace_seconds=settings.webhook_secret_grace_seconds,
        )
    except PatronError as exc:
        return await _action_refused(settings, pages, db, op, found, exc)
    db.endpoints_changed.set()
    return await _endpoint_page(settings, pages, db, op, found, secret=secret, secret_kind="rotated")


@router.post("/webhooks/{endpoint_id}/test")
async def test_send(
    endpoint_id: str,
    request: Request,
    pages: PagesDep,
    db: Db,
    settings: AppSettings,
    box: Box,
    operator: MaybeOperator,
) -> Response:
    """The API's signed test event, sent now; the answer shows what the receiver said."""
    got = await _posted_endpoint(endpoint_id, request, pages, operator)
    if isinstance(got, Response):
        return got
    found, _, op = got
    ctx = context(request, op)
    try:
        sent = await send_test_event(
            db,
            box,
            op.org_id,
            found,
            ctx.request_id,
            allow_private=settings.webhook_allow_private,
            timeout_seconds=settings.webhook_timeout_seconds,
        )
    except PatronError as exc:
        return await _action_refused(settings, pages, db, op, found, exc)
    outcome = sent.outcome
    test = {
        "event_id": sent.message_id,
        "ok": outcome.ok,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "excerpt": outcome.excerpt,
        "error": outcome.error,
    }
    return await _endpoint_page(settings, pages, db, op, found, test=test)


@router.post("/webhooks/{endpoint_id}/enabled")
async def set_enabled(
    endpoint_id: str,
    request: Request,
    pages: PagesDep,
    db: Db,
    settings: AppSettings,
    operator: MaybeOperator,
) -> Response:
    """Enable or disable the endpoint (the API's update_endpoint with `enabled`)."""
    got = await _posted_endpoint(endpoint_id, request, pages, operator)
    if isinstance(got, Response):
        return got
    found, form, op = got
    enabled = form.get("enabled") == "yes"
    try:
        await db.write(service.update_endpoint, op.org_id, found, enabled=enabled)
    except PatronError as exc:
        return await _action_refused(settings, pages, db, op, found, exc)
    db.endpoints_changed.set()
    return _done(found, "enabled" if enabled else "disabled")


async def _action_refused(
    settings: Settings, pages: Pages, db: Database, operator: Operator, endpoint_id: int, exc: PatronError
) -> Response:
    if isinstance(exc, NotFound):
        return not_found(pages, operator, exc.message)
    return await _endpoint_page(
        settings, pages, db, operator, endpoint_id, status=exc.status, action_error=exc.message
    )
