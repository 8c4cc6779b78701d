"""Whether a console session is still live, read without touching it.

A long-lived answer (the webhooks page's live tail, a server-sent event stream) checks its
session now and then. `ConsoleSessions.resolve` counts a request as activity and writes
`last_seen_at`, so a stream left open would keep its session alive for ever; this read
asks the same questions (the session exists, has not idled past `IDLE`, its till is active
and still an operator) and writes nothing.
"""

from __future__ import annotations

from datetime import datetime

from patron.db.sql import Q
from patron.db.uow import UnitOfWork
from patron.orgs.service import OPERATOR
from patron.security.sessions import IDLE

_LIVE = Q(
    "SELECT s.last_seen_at, t.is_active, t.role FROM console_session s"
    " JOIN till t ON t.org_id = s.org_id AND t.till_id = s.till_id"
    " WHERE s.org_id = :org_id AND s.session_id = :session_id"
)


async def session_live(uow: UnitOfWork, org_id: int, session_id: str, now: datetime) -> bool:
    row = await uow.tx.one(_LIVE, org_id=org_id, session_id=session_id)
    if row is None:
        return False
    last_seen_at, is_active, role = row[0], bool(row[1]), row[2]
    return bool(last_seen_at > now - IDLE and is_active and role == OPERATOR)
