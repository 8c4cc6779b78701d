"""Carrying out a write once per idempotency key.

A client that did not hear the answer to a write (a time-out, a dropped connection) sends it
again with the same `Idempotency-Key`. The key, a fingerprint of the request and the answer
are stored in the same transaction as the write itself, so either both are stored or
neither is: the repeat finds the answer and gets it back without writing anything, however
the first one ended. Keys are kept for `TTL` and belong to an org.

- same key, same request, within the TTL: the first answer, and nothing written;
- same key, another request (method, path, query or body differ): 409, nothing written;
- two requests with one key at the same time: one writes; the other finds the key when it
  commits (the primary key refuses a second row), its own work is rolled back, and it gets
  the first answer. On SQLite writes are serial, so the second finds the key at once.

Only successful answers are stored: a refused write (4xx) wrote nothing, and sending it
again runs it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from patron.db.uow import UnitOfWork
from patron.errors import Conflict

TTL = timedelta(hours=24)
REUSED = (
    "Idempotency-Key was already used for a different request (method, path, query or body) in"
    " the last 24 hours; use a new key for a new request."
)


@dataclass(frozen=True, slots=True)
class Claim:
    """The key a request carries and the fingerprint of the request it was sent with."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any
    replayed: bool


async def answer_once(
    uow: UnitOfWork,
    org_id: int,
    claim: Claim,
    now: datetime,
    work: Callable[[UnitOfWork], Awaitable[Any]],
    status: int = 200,
) -> Answer:
    """Inside one write: the stored answer for this key, or `work`'s answer stored with it."""
    earlier = await stored_answer(uow, org_id, claim, now)
    if earlier is not None:
        return earlier
    body = await work(uow)
    await uow.idempotency.save(org_id, claim.key, claim.fingerprint, status, body, now, now + TTL)
    return Answer(status, body, replayed=False)


async def stored_answer(uow: UnitOfWork, org_id: int, claim: Claim, now: datetime) -> Answer | None:
    stored = await uow.idempotency.get(org_id, claim.key)
    if stored is None:
        return None
    if stored.expires_at <= now:
        if uow.writable:
            await uow.idempotency.forget(org_id, claim.key)
        return None
    if stored.fingerprint != claim.fingerprint:
        raise Conflict(409, REUSED)
    return Answer(stored.status, stored.body, replayed=True)


async def prune_expired(uow: UnitOfWork, now: datetime, orgs: int = 100) -> int:
    """Delete expired keys, a batch of orgs at a time (the delivery worker calls this)."""
    removed = 0
    for org_id in await uow.idempotency.orgs_with_expired(now, orgs):
        removed += await uow.idempotency.prune(org_id, now)
    return removed
