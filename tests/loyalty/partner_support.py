"""Partner program test helpers: the three calls, the reminder job, and expiry dates far
enough apart that no two tests' reminder windows meet (the job walks every org of the
session's database)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from patron.loyalty.partners import send_membership_reminders
from tests.conftest import Harness, OrgClient

SUPPLEMENTARY = 45  # "Drivers": SUPPLEMENTARY, no tiers, expiryReminderDays 7 (tests/loyalty/support.py)
EXTERNAL = 25  # "Airline": EXTERNAL, tier-based, tiers 1 (Blue) and 2 (Gold)
PARTNER_EVENTS = (
    "partnerProgramLinked",
    "partnerProgramUpdated",
    "partnerProgramDelinked",
    "supplementaryMembershipExpiryReminder",
)

# Each call a month of its own, from a random year (a reused PostgreSQL server keeps earlier
# sessions' memberships): the real clock and the other tests' dates stay outside its window.
_months = itertools.count(random.Random().randrange(2200 * 12, 8000 * 12, 1000))


def far_date() -> date:
    """A fresh expiry date no other test's reminder window reaches."""
    n = next(_months)
    return date(n // 12, n % 12 + 1, 15)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def days_before(day: date, days: int) -> datetime:
    """Noon UTC `days` days before `day`: when a job run sees the expiry that far away."""
    return noon(day - timedelta(days=days))


def partner_path(customer_id: int, partner_program_id: int | None = None) -> str:
    base = f"/v2/customers/{customer_id}/partnerPrograms"
    return base if partner_program_id is None else f"{base}/{partner_program_id}"


async def link(client: OrgClient, customer_id: int, partner_program_id: int, **fields: Any) -> httpx.Response:
    body = {"partnerProgramId": partner_program_id, **fields}
    return await client.post(partner_path(customer_id), json=body)


async def change(
    client: OrgClient, customer_id: int, partner_program_id: int, **fields: Any
) -> httpx.Response:
    return await client.put(partner_path(customer_id, partner_program_id), json=fields)


async def delink(client: OrgClient, customer_id: int, partner_program_id: int, **kw: Any) -> httpx.Response:
    return await client.request("DELETE", partner_path(customer_id, partner_program_id), **kw)


async def run_reminders(harness: Harness, now: datetime) -> int:
    return await send_membership_reminders(harness.app.state.db, now)
