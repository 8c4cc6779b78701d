"""The message outbox: a message owed to a user is written in the transaction of the change
that owes it, and sent by the worker after commit. A request that fails sends nothing; a
process that dies after commit loses nothing (the row waits for the next pass).

At rest a message is sealed (AES-256-GCM, bound to its org and id): the code or link and the
address are not readable from the table. A row is deleted once its message is handed over
(so no code outlives its sending), retried with a growing delay when the sender fails, and
dropped with a log line once its code has expired (sending it later would help nobody).

Delivery is at least once: a worker that dies between handing a message over and deleting
its row sends it again after the claim's lease (60 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from patron.db.base import utcnow
from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.messages.sender import Message, Sender, SendError
from patron.webhooks.secrets import SecretBox

if TYPE_CHECKING:
    from patron.db.engine import Database

log = logging.getLogger("patron.messages")
LEASE = timedelta(seconds=60)
BATCH = 50

_INSERT = Q(
    "INSERT INTO message_outbox (org_id, message_id, customer_id, channel, purpose, sealed, attempts,"
    " next_attempt_at, expires_at, last_error, created_at) VALUES (:org_id, :message_id, :customer_id,"
    " :channel, :purpose, :sealed, 0, :now, :expires_at, NULL, :now)"
)
_DUE = Q(
    "SELECT org_id, message_id, customer_id, channel, purpose, sealed, attempts, expires_at, created_at"
    " FROM message_outbox WHERE next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :n"
)
_CLAIM = Q(
    "UPDATE message_outbox SET attempts = attempts + 1, next_attempt_at = :lease"
    " WHERE org_id = :org_id AND message_id = :message_id AND attempts = :attempts"
)
_DONE = Q("DELETE FROM message_outbox WHERE org_id = :org_id AND message_id = :message_id")
_RETRY = Q(
    "UPDATE message_outbox SET next_attempt_at = :at, last_error = :error"
    " WHERE org_id = :org_id AND message_id = :message_id"
)


def _context(org_id: int, message_id: int) -> str:
    return f"message:{org_id}:{message_id}"


async def enqueue(
    uow: UnitOfWork,
    box: SecretBox,
    *,
    org_id: int,
    customer_id: int,
    channel: str,
    to: str,
    purpose: str,
    code: str | None,
    link: str | None,
    expires_at: datetime,
) -> int:
    """Owe one message, in the caller's transaction; its id."""
    (message_id,) = await uow.tx.ids("user_record", 1)
    sealed = box.seal(json.dumps({"to": to, "code": code, "link": link}), _context(org_id, message_id))
    await uow.tx.later(
        _INSERT,
        org_id=org_id,
        message_id=message_id,
        customer_id=customer_id,
        channel=channel,
        purpose=purpose,
        sealed=sealed,
        now=utcnow(),
        expires_at=expires_at,
    )
    uow.wrote_events = True  # wakes the worker after commit, as an event does
    return message_id


@dataclass(frozen=True, slots=True)
class _Due:
    org_id: int
    message_id: int
    customer_id: int
    channel: str
    purpose: str
    sealed: str
    attempts: int
    expires_at: datetime
    created_at: datetime


async def _claim(uow: UnitOfWork, now: datetime, n: int) -> tuple[list[_Due], list[_Due]]:
    """The due messages this worker now holds (leased), and the expired ones (deleted)."""
    rows = [_Due(*r) for r in await uow.tx.all(_DUE, now=now, n=n)]
    held, expired = [], []
    for d in rows:
        if d.expires_at <= now:
            await uow.tx.run(_DONE, org_id=d.org_id, message_id=d.message_id)
            expired.append(d)
        elif await uow.tx.run(
            _CLAIM, org_id=d.org_id, message_id=d.message_id, attempts=d.attempts, lease=now + LEASE
        ):
            held.append(d)
    return held, expired


async def _settle(uow: UnitOfWork, sent: list[_Due], failed: list[tuple[_Due, str]], now: datetime) -> None:
    for d in sent:
        await uow.tx.run(_DONE, org_id=d.org_id, message_id=d.message_id)
    for d, error in failed:
        delay = timedelta(seconds=min(60, 2 ** min(d.attempts + 1, 6)))
        await uow.tx.run(_RETRY, org_id=d.org_id, message_id=d.message_id, at=now + delay, error=error)


async def send_due(db: Database, box: SecretBox, sender: Sender, now: datetime | None = None) -> int:
    """Send the messages that are due (one batch); how many were handed over."""
    at = now or utcnow()
    held, expired = await db.write(_claim, at, BATCH)
    for d in expired:
        log.warning(
            "message %s (%s) to user %s of org %s expired unsent",
            d.message_id,
            d.purpose,
            d.customer_id,
            d.org_id,
        )
    if not held:
        return 0

    async def one(d: _Due) -> str | None:
        try:
            body = json.loads(box.open(d.sealed, _context(d.org_id, d.message_id)))
            await sender.send(
                Message(
                    message_id=d.message_id,
                    org_id=d.org_id,
                    user_id=d.customer_id,
                    channel=d.channel,
                    to=body["to"],
                    purpose=d.purpose,
                    code=body.get("code"),
                    link=body.get("link"),
                    created_at=d.created_at.isoformat(),
                )
            )
        except SendError as exc:
            return str(exc)
        except Exception as exc:  # a message that cannot be opened or sent: keep the worker going
            log.exception("message %s of org %s not sent", d.message_id, d.org_id)
            return type(exc).__name__
        return None

    results = await asyncio.gather(*(one(d) for d in held))
    sent = [d for d, error in zip(held, results, strict=True) if error is None]
    failed = [(d, error) for d, error in zip(held, results, strict=True) if error is not None]
    for d, error in failed:
        log.warning("message %s (%s) of org %s not sent: %s", d.message_id, d.purpose, d.org_id, error)
    await db.write(_settle, sent, failed, utcnow())
    return len(sent)
