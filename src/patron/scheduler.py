"""Scheduled jobs: work that falls due with time rather than with a request (points that
expire, tiers that lapse, membership expiry reminders).

The delivery worker runs every job once per `PATRON_SCHEDULER_INTERVAL_SECONDS` (default
60). A job is a function `job(db, now) -> items processed` that finds what is due at `now`
in every org and processes each item in a transaction of its own. Several workers may run
the same job at the same time (several `patron worker` processes on PostgreSQL): each job
makes every item exactly once by construction, holding the item's row while it decides
and writing its effect and its mark together (a later run, or a concurrent one, then finds
nothing left to do). A job that fails is logged and runs again at the next interval.

Jobs register themselves here, in `JOBS`, by name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from patron.db.engine import Database
from patron.db.sql import Q
from patron.db.uow import UnitOfWork

log = logging.getLogger("patron.scheduler")

Job = Callable[[Database, datetime], Awaitable[int]]

# The one list of orgs a job walks (a cross-org read by design: tests/orgscope.py).
_ORGS = Q("SELECT org_id FROM org ORDER BY org_id")


async def org_ids(db: Database) -> list[int]:
    async def read(uow: UnitOfWork) -> list[int]:
        return [int(r[0]) for r in await uow.tx.all(_ORGS)]

    return await db.read(read)


def jobs() -> tuple[tuple[str, Job], ...]:
    """Every scheduled job, in the order a pass runs them (imported here, not at module
    load, so the jobs' modules may import the worker's)."""
    from patron.loyalty.expiry import expire_due_points, lapse_due_tiers
    from patron.loyalty.partners import send_membership_reminders

    return (
        ("points_expiry", expire_due_points),
        ("tier_lapses", lapse_due_tiers),
        ("partner_membership_reminders", send_membership_reminders),
    )


async def run_due(db: Database, now: datetime) -> dict[str, int]:
    """One pass of every job; items processed per job (a failed job counts -1)."""
    done: dict[str, int] = {}
    for name, job in jobs():
        try:
            done[name] = await job(db, now)
        except Exception:
            log.exception("scheduled job %s failed; it runs again at the next interval", name)
            done[name] = -1
    return done
