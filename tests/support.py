"""Helpers for tests: fresh identifiers, request bodies, and reads of the outbox and history."""

from __future__ import annotations

import itertools
import random
from types import SimpleNamespace
from typing import Any

from patron.db.sql import Q
from patron.db.uow import UnitOfWork

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


async def rows(db: Any, sql: str, **params: Any) -> list[SimpleNamespace]:
    """Run one ad-hoc query (tests only) and return its rows with attribute access."""

    async def read(uow: UnitOfWork) -> list[SimpleNamespace]:
        found = await uow.tx.all(Q(sql), **params)
        return [SimpleNamespace(**dict(zip(r.keys(), r, strict=True))) for r in found]

    return await db.read(read)


async def execute(db: Any, sql: str, **params: Any) -> int:
    """Run one ad-hoc write (tests only) in a transaction of its own."""

    async def write(uow: UnitOfWork) -> int:
        return await uow.tx.run(Q(sql), **params)

    return int(await db.write(write))


async def outbox(harness: Any, org_id: int) -> list[dict[str, Any]]:
    found = await rows(
        harness.app.state.db,
        "SELECT payload FROM outbox_event WHERE org_id = :org_id ORDER BY event_id",
        org_id=org_id,
    )
    return [r.payload for r in found]


async def history(harness: Any, org_id: int, customer_id: int) -> list[SimpleNamespace]:
    return await rows(
        harness.app.state.db,
        "SELECT * FROM customer_change WHERE org_id = :org_id AND customer_id = :customer_id"
        " ORDER BY change_id",
        org_id=org_id,
        customer_id=customer_id,
    )


def codes(body: dict[str, Any], key: str = "errors") -> list[int]:
    return [item["code"] for item in body.get(key, [])]


async def add_till(harness: Any, org_id: int, code: str) -> None:
    """Give an org another till (as `patron till create` does)."""
    from patron.orgs.service import create_till

    await harness.app.state.db.write(
        create_till, harness.app.state.authenticator.keys, org_id=org_id, code=code
    )


def hash_password(password: str) -> str:
    """An Argon2id hash, as till keys were stored before API-key digests (tests make such
    tills; Patron itself only verifies these hashes, patron.security.passwords)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def is_multi_account(config: Any, source: str) -> bool:
    """Whether an org configuration lists accounts for a source (multi-account sources)."""
    return bool(config.sources.get(source))
