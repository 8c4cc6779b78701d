"""Helpers for tests: fresh identifiers, request bodies, and reads of the outbox and history."""

from __future__ import annotations

import itertools
import random
from typing import Any

from sqlalchemy import select

from patron.db.models import CustomerChange, OutboxEvent
from patron.db.uow import unit_of_work

_rng = random.Random()
_counter = itertools.count(_rng.randrange(10_000_000, 80_000_000))


def mobile() -> str:
    """A fresh, valid Indian mobile number in the seed's form (country code, no '+')."""
    return f"9198{next(_counter):08d}"


def token(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def email() -> str:
    return f"{token('user')}@example.com"


def register_body(
    mobile_number: str | None = None,
    *,
    source: str = "INSTORE",
    account_id: str | None = None,
    loyalty: str = "loyalty",
    first: str = "Tom",
    last: str = "Sawyer",
    extra: list[dict[str, Any]] | None = None,
    **top: Any,
) -> dict[str, Any]:
    identifiers = [{"type": "mobile", "value": mobile_number or mobile()}] + (extra or [])
    profile: dict[str, Any] = {
        "firstName": first,
        "lastName": last,
        "identifiers": identifiers,
        "source": source,
    }
    if account_id is not None:
        profile["accountId"] = account_id
    return {"loyaltyInfo": {"loyaltyType": loyalty}, "profiles": [profile], **top}


async def outbox(harness: Any, org_id: int) -> list[dict[str, Any]]:
    async with unit_of_work(harness.app.state.db, write=False) as uow:
        rows = await uow.session.execute(
            select(OutboxEvent.payload).where(OutboxEvent.org_id == org_id).order_by(OutboxEvent.event_id)
        )
        return [r[0] for r in rows]


async def history(harness: Any, org_id: int, customer_id: int) -> list[CustomerChange]:
    async with unit_of_work(harness.app.state.db, write=False) as uow:
        rows = await uow.session.execute(
            select(CustomerChange)
            .where(CustomerChange.org_id == org_id, CustomerChange.customer_id == customer_id)
            .order_by(CustomerChange.change_id)
        )
        return list(rows.scalars())


def codes(body: dict[str, Any], key: str = "errors") -> list[int]:
    return [item["code"] for item in body.get(key, [])]


async def add_till(harness: Any, org_id: int, code: str) -> None:
    """Give an org another till (as `patron till create` does)."""
    from patron.orgs.service import create_till

    async with unit_of_work(harness.app.state.db, write=True) as uow:
        await create_till(uow, org_id=org_id, code=code)
