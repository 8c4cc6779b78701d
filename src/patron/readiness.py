"""Readiness: can this process serve, with the database it names? (`GET /ready`)

Three checks, from one read of two one-row statements (cheap enough to poll every second):

- database: it answers within `TIMEOUT_SECONDS`;
- migrations: its Alembic revision is this Patron's head (the head is read from the
  migration scripts once per process, the database's revision on every call);
- worker: a delivery worker's heartbeat is fresh (webhooks/heartbeat.py: beats every 5 s,
  fresh within 15 s).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime

from alembic.script import ScriptDirectory

from patron.db.base import utcnow
from patron.db.engine import Database
from patron.db.migrate import MIGRATIONS, schema_revision
from patron.db.uow import UnitOfWork
from patron.webhooks import heartbeat

TIMEOUT_SECONDS = 2.0
CHECKS = ("database", "migrations", "worker")


@functools.cache
def code_head() -> str:
    """The head revision of the migrations this Patron ships."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True, slots=True)
class Readiness:
    """Each check's failure, by name; a ready process has none."""

    failures: dict[str, str]

    @property
    def ready(self) -> bool:
        return not self.failures


async def _observe(uow: UnitOfWork) -> tuple[str | None, datetime | None]:
    return await schema_revision(uow), await heartbeat.latest_beat(uow)


async def check(db: Database) -> Readiness:
    try:
        revision, beat = await asyncio.wait_for(db.read(_observe), TIMEOUT_SECONDS)
    except TimeoutError:
        return _database_down(f"no answer within {TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # whatever the driver raises: the database cannot be read
        return _database_down(f"cannot be read ({type(exc).__name__})")
    failures: dict[str, str] = {}
    head = code_head()
    if revision is None:
        failures["migrations"] = f"the database has no Patron schema; this Patron needs {head}"
    elif revision != head:
        failures["migrations"] = f"the database is at revision {revision}, this Patron needs {head}"
    if beat is None:
        failures["worker"] = "no delivery worker has a heartbeat"
    else:
        age = (utcnow() - beat).total_seconds()
        if age > heartbeat.FRESH_SECONDS:
            failures["worker"] = (
                f"the last delivery worker heartbeat is {age:.0f} s old"
                f" (fresh within {heartbeat.FRESH_SECONDS:g} s)"
            )
    return Readiness(failures)


def _database_down(reason: str) -> Readiness:
    return Readiness(
        {
            "database": reason,
            "migrations": "not checked: the database cannot be read",
            "worker": "not checked: the database cannot be read",
        }
    )
