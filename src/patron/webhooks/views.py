"""Read models of webhook endpoints, deliveries and attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patron.webhooks.repository import EndpointRow


@dataclass(frozen=True, slots=True)
class EndpointView:
    endpoint_id: int
    url: str
    description: str
    event_types: list[str] | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: EndpointRow) -> EndpointView:
        return cls(
            row.endpoint_id,
            row.url,
            row.description,
            row.event_types,
            row.enabled,
            row.disabled_reason,
            row.failing_since,
            row.last_success_at,
            row.created_at,
            row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    event_id: int
    event_uuid: str
    event_name: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt_id: int
    event_uuid: str
    event_name: str
    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
    outcome: str
