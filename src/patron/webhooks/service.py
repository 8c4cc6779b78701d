"""Use cases of webhook endpoints: manage them, rotate secrets, redeliver and replay.

A URL reaches these use cases already checked (`checked_url`): the check resolves the
host, and a write use case must not wait on the network (db/engine.py), so adapters
call it before `db.write`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NewType

from patron.db.base import utcnow
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput, NotFound
from patron.events.payloads import wrap
from patron.events.registry import EVENT_NAMES, unknown_names
from patron.webhooks.repository import DEAD, DELIVERED, EndpointRow
from patron.webhooks.secrets import SecretBox, new_signing_secret
from patron.webhooks.urls import Unresolvable, UnsafeAddress, check_url, ensure_public
from patron.webhooks.views import AttemptView, DeadLetter, EndpointView

MAX_ENDPOINTS = 50
MAX_IN_FLIGHT = 32

# A URL that passed `checked_url`; only such a URL is stored.
CheckedUrl = NewType("CheckedUrl", str)


def secret_context(org_id: int, endpoint_id: int) -> str:
    """Bind a sealed secret to its endpoint, so a ciphertext moved to another row fails."""
    return f"webhook-endpoint:{org_id}:{endpoint_id}"


def check_event_types(event_types: Sequence[str] | None) -> list[str] | None:
    """An endpoint's event filter: None (every event) or registered event names only
    (events/registry.py); a name no event has is refused, so a typo cannot silently
    subscribe to nothing."""
    if event_types is None:
        return None
    names = list(dict.fromkeys(e.strip() for e in event_types if e.strip()))
    unknown = unknown_names(names)
    if unknown:
        raise InvalidInput(
            400, f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENT_NAMES)}."
        )
    if not names:
        raise InvalidInput(400, "events must name at least one event type (omit it for all).")
    return names


def _check_description(description: str) -> None:
    if len(description) > 500:
        raise InvalidInput(400, "description is longer than 500 characters.")


async def checked_url(url: str, *, allow_private: bool) -> CheckedUrl:
    """A well-formed URL whose host is public (unless the operator allows private ones).

    It resolves the host: call it before `db.write`, never inside a write use case.
    """
    url = check_url(url)
    try:
        await ensure_public(url, allow_private=allow_private)
    except Unresolvable:
        pass  # its DNS may come later; every delivery checks the address again
    except UnsafeAddress as exc:
        raise InvalidInput(
            400,
            f"url is refused: {exc}. Set PATRON_WEBHOOK_ALLOW_PRIVATE=true to deliver inside your network.",
        ) from exc
    return CheckedUrl(url)


async def _endpoint(uow: UnitOfWork, org_id: int, endpoint_id: int, *, lock: bool = False) -> EndpointRow:
    row = await uow.webhooks.endpoint(org_id, endpoint_id, lock=lock)
    if row is None:
        raise NotFound(404, f"Webhook endpoint {endpoint_id} does not exist.")
    return row


async def add_endpoint(
    uow: UnitOfWork,
    box: SecretBox,
    org_id: int,
    *,
    url: CheckedUrl,
    event_types: Sequence[str] | None = None,
    description: str = "",
    enabled: bool = True,
) -> tuple[EndpointView, str]:
    """Add an endpoint; returns it with its signing secret, which is shown this once."""
    _check_description(description)
    repo = uow.webhooks
    if await repo.endpoint_count(org_id) >= MAX_ENDPOINTS:
        raise InvalidInput(400, f"An org has at most {MAX_ENDPOINTS} webhook endpoints.")
    types = check_event_types(event_types)
    endpoint_id = await uow.tx.id("endpoint")
    secret = new_signing_secret()
    now = utcnow()
    row = EndpointRow(
        org_id=org_id,
        endpoint_id=endpoint_id,
        url=url,
        description=description,
        event_types=types,
        enabled=enabled,
        disabled_reason=None,
        secret_encrypted=box.seal(secret, secret_context(org_id, endpoint_id)),
        previous_secret_encrypted=None,
        previous_secret_expires_at=None,
        max_in_flight=MAX_IN_FLIGHT,
        failing_since=None,
        last_success_at=None,
        created_at=now,
        updated_at=now,
    )
    await repo.insert_endpoint(row)
    return EndpointView.of(row), secret


async def list_endpoints(uow: UnitOfWork, org_id: int) -> list[EndpointView]:
    return [EndpointView.of(r) for r in await uow.webhooks.endpoints(org_id)]


async def get_endpoint(uow: UnitOfWork, org_id: int, endpoint_id: int) -> EndpointView:
    return EndpointView.of(await _endpoint(uow, org_id, endpoint_id))


async def update_endpoint(
    uow: UnitOfWork,
    org_id: int,
    endpoint_id: int,
    *,
    url: CheckedUrl | None = None,
    event_types: Sequence[str] | None = None,
    all_events: bool = False,
    description: str | None = None,
    enabled: bool | None = None,
) -> EndpointView:
    row = await _endpoint(uow, org_id, endpoint_id, lock=True)
    if url is not None:
        row = replace(row, url=url)
    if all_events:
        row = replace(row, event_types=None)
    elif event_types is not None:
        row = replace(row, event_types=check_event_types(event_types))
    if description is not None:
        _check_description(description)
        row = replace(row, description=description)
    if enabled is not None:
        if enabled:
            row = replace(row, enabled=True, disabled_reason=None, failing_since=None)
        else:
            row = replace(row, enabled=False, disabled_reason="Disabled by the org.")
    row = replace(row, updated_at=utcnow())
    await uow.webhooks.update_settings(row)
    return EndpointView.of(row)


async def delete_endpoint(uow: UnitOfWork, org_id: int, endpoint_id: int) -> None:
    await _endpoint(uow, org_id, endpoint_id)
    await uow.webhooks.delete_endpoint(org_id, endpoint_id)


async def rotate_secret(
    uow: UnitOfWork, box: SecretBox, org_id: int, endpoint_id: int, *, grace_seconds: float
) -> str:
    """Make a new secret; the old one keeps signing beside it for `grace_seconds`."""
    if grace_seconds < 0 or grace_seconds > 7 * 86400:
        raise InvalidInput(400, "graceSeconds must be between 0 and 604800.")
    row = await _endpoint(uow, org_id, endpoint_id, lock=True)
    secret = new_signing_secret()
    now = utcnow()
    keep = grace_seconds > 0
    await uow.webhooks.set_secrets(
        org_id,
        endpoint_id,
        box.seal(secret, secret_context(org_id, endpoint_id)),
        row.secret_encrypted if keep else None,
        now + timedelta(seconds=grace_seconds) if keep else None,
        now,
    )
    return secret


async def dead_letters(
    uow: UnitOfWork, org_id: int, endpoint_id: int, *, limit: int = 100
) -> list[DeadLetter]:
    await _endpoint(uow, org_id, endpoint_id)
    return await uow.webhooks.dead_letters(org_id, endpoint_id, limit)


async def redeliver(
    uow: UnitOfWork, org_id: int, endpoint_id: int, *, event_uuids: Sequence[str] | None = None
) -> int:
    """Put dead-lettered deliveries back in the queue (all of them, or the events named)."""
    await _endpoint(uow, org_id, endpoint_id)
    repo = uow.webhooks
    event_ids: list[int] | None = None
    if event_uuids is not None:
        event_ids = await repo.event_ids(org_id, event_uuids)
    return await repo.requeue(org_id, endpoint_id, utcnow(), event_ids=event_ids, status=DEAD)


async def replay(uow: UnitOfWork, org_id: int, endpoint_id: int, *, start: datetime, end: datetime) -> int:
    """Owe the endpoint again every event of the org stored in [start, end)."""
    if end <= start:
        raise InvalidInput(400, "to must be after from.")
    if end - start > timedelta(days=31):
        raise InvalidInput(400, "Replay at most 31 days at a time.")
    row = await _endpoint(uow, org_id, endpoint_id)
    repo = uow.webhooks
    events = [
        e
        for e in await repo.events_between(org_id, start, end)
        if row.event_types is None or e[1] in row.event_types
    ]
    if not events:
        return 0
    now = utcnow()
    existing = await repo.existing_deliveries(org_id, endpoint_id, [e[0] for e in events])
    await repo.enqueue(org_id, endpoint_id, [(e[0], f"c{e[2]}") for e in events if e[0] not in existing], now)
    for status in (DELIVERED, DEAD):
        await repo.requeue(org_id, endpoint_id, now, event_ids=sorted(existing), status=status)
    return len(events)


async def attempts(uow: UnitOfWork, org_id: int, endpoint_id: int, *, limit: int = 50) -> list[AttemptView]:
    await _endpoint(uow, org_id, endpoint_id)
    return await uow.webhooks.attempts(org_id, endpoint_id, limit)


@dataclass(frozen=True, slots=True)
class SigningTarget:
    url: str
    secrets: list[str]


async def signing_target(uow: UnitOfWork, box: SecretBox, org_id: int, endpoint_id: int) -> SigningTarget:
    """The URL and active secrets of an endpoint, for a test send."""
    row = await _endpoint(uow, org_id, endpoint_id)
    context = secret_context(org_id, endpoint_id)
    secrets = [box.open(row.secret_encrypted, context)]
    now = utcnow()
    if (
        row.previous_secret_encrypted
        and row.previous_secret_expires_at
        and row.previous_secret_expires_at > now
    ):
        secrets.append(box.open(row.previous_secret_encrypted, context))
    return SigningTarget(row.url, secrets)


def test_message_id() -> str:
    return str(uuid.uuid4())


def test_payload(org_id: int, message_id: str, now: datetime, request_id: str) -> dict[str, Any]:
    """A signed test event: the real envelope, eventType `webhookTest`, no customer data."""
    return wrap(
        name="webhookTest",
        org_id=org_id,
        ref_id=f"{org_id}_test",
        request_id=request_id,
        data={"message": "A test event from Patron; the signature verifies with this endpoint's secret."},
        event_uuid=message_id,
        created_at=now,
    )
