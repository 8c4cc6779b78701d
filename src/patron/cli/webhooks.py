"""`patron webhooks ...`, `patron worker` and `patron events tail`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
import uvloop

from patron import metrics
from patron.cli.database import run_with_database
from patron.config import Settings
from patron.db.engine import Database, create_database
from patron.db.migrate import upgrade
from patron.db.uow import UnitOfWork
from patron.webhooks import service
from patron.webhooks.secrets import load_box
from patron.webhooks.views import DeadLetter, EndpointView
from patron.webhooks.worker import DeliveryWorker

app = typer.Typer(help="Manage webhook endpoints, dead letters and replays.", no_args_is_help=True)
events_app = typer.Typer(help="Watch the event stream.", no_args_is_help=True)
T = TypeVar("T")
Org = Annotated[int, typer.Option("--org", help="Org id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _with_db(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Run `work` against a started, migrated database; a domain error ends the command
    with status 1 (cli/database.py)."""
    settings = Settings()
    return run_with_database(settings, lambda db: work(db, settings))


def _emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, default=str) if as_json else text)


@app.command("add")
def add(
    org: Org,
    url: Annotated[str, typer.Option("--url", help="Where to POST events (https://...).")],
    events: Annotated[str | None, typer.Option(help="Comma-separated event types (default: all).")] = None,
    description: Annotated[str, typer.Option(help="A note for people.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add an endpoint; prints its signing secret once."""
    types = [e for e in events.split(",")] if events else None

    async def work(db: Database, settings: Settings) -> tuple[EndpointView, str]:
        checked = await service.checked_url(url, allow_private=settings.webhook_allow_private)
        return await db.write(
            service.add_endpoint,
            load_box(settings),
            org,
            url=checked,
            event_types=types,
            description=description,
        )

    view, secret = _with_db(work)
    _emit(
        {"id": view.endpoint_id, "secret": secret},
        as_json,
        f"endpoint {view.endpoint_id} -> {view.url}\nsecret: {secret} (shown once)",
    )


@app.command("list")
def list_(org: Org, as_json: JsonFlag = False) -> None:
    """List an org's endpoints (never their secrets)."""

    async def work(db: Database, _: Settings) -> list[EndpointView]:
        return await db.read(service.list_endpoints, org)

    views = _with_db(work)
    rows: list[dict[str, Any]] = [
        {
            "id": v.endpoint_id,
            "url": v.url,
            "events": v.event_types,
            "enabled": v.enabled,
            "disabledReason": v.disabled_reason,
            "description": v.description,
        }
        for v in views
    ]
    text = (
        "\n".join(
            f"{r['id']}\t{'on ' if r['enabled'] else 'off'}\t{r['url']}\t{','.join(r['events'] or ['*'])}"
            + (f"\t({r['disabledReason']})" if r["disabledReason"] else "")
            for r in rows
        )
        or "no endpoints"
    )
    _emit(rows, as_json, text)


@app.command("rotate-secret")
def rotate(
    org: Org,
    endpoint: Annotated[int, typer.Option("--endpoint", help="Endpoint id.")],
    grace: Annotated[float | None, typer.Option(help="Seconds the old secret keeps signing.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a new signing secret; the old one signs beside it for the grace period."""

    async def work(db: Database, settings: Settings) -> str:
        seconds = settings.webhook_secret_grace_seconds if grace is None else grace
        return await db.write(service.rotate_secret, load_box(settings), org, endpoint, grace_seconds=seconds)

    secret = _with_db(work)
    _emit({"id": endpoint, "secret": secret}, as_json, f"secret: {secret} (shown once)")


@app.command("enable")
def enable(org: Org, endpoint: Annotated[int, typer.Option("--endpoint")], off: bool = False) -> None:
    """Enable an endpoint again (or disable it with --off)."""

    async def work(db: Database, _: Settings) -> EndpointView:
        return await db.write(service.update_endpoint, org, endpoint, enabled=not off)

    view = _with_db(work)
    typer.echo(f"endpoint {view.endpoint_id} {'enabled' if view.enabled else 'disabled'}")


@app.command("dead-letters")
def dead_letters(
    org: Org, endpoint: Annotated[int, typer.Option("--endpoint")], as_json: JsonFlag = False
) -> None:
    """List events that exhausted their retries."""

    async def work(db: Database, _: Settings) -> list[DeadLetter]:
        return await db.read(service.dead_letters, org, endpoint, limit=1000)

    rows = [
        {
            "eventId": d.event_uuid,
            "eventName": d.event_name,
            "attempts": d.attempts,
            "lastStatusCode": d.last_status_code,
            "lastError": d.last_error,
        }
        for d in _with_db(work)
    ]
    text = "\n".join(
        f"{r['eventId']}\t{r['eventName']}\t{r['attempts']}\t{r['lastStatusCode']}" for r in rows
    )
    _emit(rows, as_json, text or "no dead letters")


@app.command("redeliver")
def redeliver(
    org: Org,
    endpoint: Annotated[int, typer.Option("--endpoint")],
    event: Annotated[
        list[str] | None, typer.Option("--event", help="An eventId (repeat; default all).")
    ] = None,
) -> None:
    """Queue dead letters again."""

    async def work(db: Database, _: Settings) -> int:
        return await db.write(service.redeliver, org, endpoint, event_uuids=event or None)

    typer.echo(f"requeued {_with_db(work)} deliveries")


@app.command("replay")
def replay(
    org: Org,
    endpoint: Annotated[int, typer.Option("--endpoint")],
    start: Annotated[datetime, typer.Option("--from", help="ISO start (inclusive, UTC if no offset).")],
    end: Annotated[datetime, typer.Option("--to", help="ISO end (exclusive).")],
) -> None:
    """Send an org's events of a time range to an endpoint again."""
    from datetime import UTC

    start_at = start if start.tzinfo else start.replace(tzinfo=UTC)
    end_at = end if end.tzinfo else end.replace(tzinfo=UTC)

    async def work(db: Database, _: Settings) -> int:
        return await db.write(service.replay, org, endpoint, start=start_at, end=end_at)

    typer.echo(f"queued {_with_db(work)} events")


def run_worker() -> None:
    """Deliver webhooks until SIGTERM or SIGINT (several on PostgreSQL share the work)."""
    settings = Settings()
    upgrade(settings.database_url)

    async def main() -> None:
        db = create_database(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await db.start()
            sampler = asyncio.create_task(metrics.sample_forever(db, stop))  # /metrics of `patron run`
            await DeliveryWorker(db, settings, load_box(settings)).run(stop)
            await sampler
        finally:
            await db.dispose()

    uvloop.run(main())


@events_app.command("tail")
def tail(
    org: Org,
    since: Annotated[int, typer.Option(help="Also print this many recent events first.")] = 0,
    poll: Annotated[float, typer.Option(help="Seconds between looks.")] = 0.5,
) -> None:
    """Follow an org's new events live, one JSON line each (Ctrl-C to stop)."""

    async def follow(db: Database) -> None:
        last = await _start_after(db, org, since)
        while True:
            rows = await db.read(_events_after, org, last, 500)
            for event_id, payload in rows:
                typer.echo(json.dumps(payload, separators=(",", ":")))
                last = event_id
            if not rows:
                await asyncio.sleep(poll)

    with contextlib.suppress(KeyboardInterrupt):
        run_with_database(Settings(), follow)


async def _events_after(
    uow: UnitOfWork, org: int, after: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    return await uow.webhooks.events_after(org, after, limit)


async def _latest_event_ids(uow: UnitOfWork, org: int, limit: int) -> list[int]:
    return await uow.webhooks.latest_event_ids(org, limit)


async def _start_after(db: Database, org: int, since: int) -> int:
    """The event id to follow from: before the `since` newest events, or after the newest."""
    ids = await db.read(_latest_event_ids, org, max(since, 1))
    if not ids:
        return 0
    return ids[-1] - 1 if since > 0 else ids[0]
