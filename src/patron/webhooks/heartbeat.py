"""Delivery workers' heartbeats: each worker records that it is alive, `/ready` reads it.

A running worker upserts its row of `worker_heartbeat` (keyed by its id, host:pid:random)
every `INTERVAL_SECONDS`; a worker that stops cleanly deletes its row, and rows not renewed
for an hour (workers that died) are deleted by the beats of the others. A heartbeat is
fresh while it is younger than `FRESH_SECONDS`, three intervals: one late or failed beat
(a slow commit, a database hiccup) does not make the installation unready, three do.

The table has no org_id: it is the installation's, not an org's (a Citus reference table).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from datetime import datetime, timedelta

import asyncpg

from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.sql import Q
from patron.db.uow import UnitOfWork

log = logging.getLogger("patron.webhooks")

INTERVAL_SECONDS = 5.0
FRESH_SECONDS = 3 * INTERVAL_SECONDS
FORGET_AFTER = timedelta(hours=1)

_BEAT = Q(
    "INSERT INTO worker_heartbeat (worker_id, started_at, beat_at) VALUES (:worker, :started, :now)"
    " ON CONFLICT (worker_id) DO UPDATE SET beat_at = excluded.beat_at"
)
_FORGET_DEAD = Q("DELETE FROM worker_heartbeat WHERE beat_at < :before")
_FORGET_ONE = Q("DELETE FROM worker_heartbeat WHERE worker_id = :worker")
# No index: the table holds the workers of the last hour, a handful of rows.
_LATEST = Q("SELECT beat_at FROM worker_heartbeat ORDER BY beat_at DESC LIMIT 1")


async def _beat(uow: UnitOfWork, worker: str, started: datetime, now: datetime) -> None:
    await uow.tx.run(_BEAT, worker=worker, started=started, now=now)
    await uow.tx.run(_FORGET_DEAD, before=now - FORGET_AFTER)


async def _forget(uow: UnitOfWork, worker: str) -> None:
    await uow.tx.run(_FORGET_ONE, worker=worker)


async def latest_beat(uow: UnitOfWork) -> datetime | None:
    """When a worker last beat, or None: no worker has, or the table is not there yet (a
    database whose migrations are behind)."""
    try:
        return await uow.tx.val(_LATEST)  # type: ignore[no-any-return]
    except (sqlite3.OperationalError, asyncpg.UndefinedTableError):
        return None


async def run(db: Database, worker: str, stop: asyncio.Event) -> None:
    """Beat every INTERVAL_SECONDS until `stop` is set, then delete this worker's row."""
    started = utcnow()
    while not stop.is_set():
        try:
            await db.write(_beat, worker, started, utcnow())
        except Exception:  # a missed beat is retried at the next interval
            log.exception("worker heartbeat failed; it beats again in %g s", INTERVAL_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_SECONDS)
    try:
        await db.write(_forget, worker)
    except Exception:  # the row then ages out
        log.exception("could not remove the heartbeat of worker %s", worker)
