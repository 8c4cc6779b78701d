"""Every query of console sessions (security/sessions.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.db.sql import Q
from patron.db.tx import Tx
from patron.orgs.repository import TillRow

_INSERT = Q(
    "INSERT INTO console_session (org_id, session_id, till_id, token_hash, created_at, last_seen_at)"
    " VALUES (:org_id, :session_id, :till_id, :token_hash, :now, :now)"
)
# One statement per console request: the session, its till as it is now (a deactivated
# till or a changed role shows at once) and the org's configuration stamp.
_FIND = Q(
    "SELECT s.session_id, s.last_seen_at, t.org_id, t.till_id, t.code, t.name, t.password_hash,"
    " t.store_code, t.store_name, t.is_active, t.role, o.updated_at"
    " FROM console_session s"
    " JOIN till t ON t.org_id = s.org_id AND t.till_id = s.till_id"
    " JOIN org o ON o.org_id = s.org_id"
    " WHERE s.org_id = :org_id AND s.token_hash = :token_hash"
)
_TOUCH = Q(
    "UPDATE console_session SET last_seen_at = :now WHERE org_id = :org_id AND session_id = :session_id"
)
_DELETE = Q("DELETE FROM console_session WHERE org_id = :org_id AND session_id = :session_id")
# A till's sessions idle past the limit go when it signs in again (through the till index),
# so the table holds about the sessions in use.
_PRUNE = Q(
    "DELETE FROM console_session WHERE org_id = :org_id AND till_id = :till_id"
    " AND last_seen_at <= :idle_since"
)


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_id: str
    last_seen_at: datetime
    till: TillRow
    org_updated_at: datetime


class SessionRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def insert(
        self, org_id: int, session_id: str, till_id: int, token_hash: str, now: datetime
    ) -> None:
        await self.tx.run(
            _INSERT, org_id=org_id, session_id=session_id, till_id=till_id, token_hash=token_hash, now=now
        )

    async def find(self, org_id: int, token_hash: str) -> SessionRow | None:
        r = await self.tx.one(_FIND, org_id=org_id, token_hash=token_hash)
        if r is None:
            return None
        till = TillRow(int(r[2]), int(r[3]), r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10])
        return SessionRow(r[0], r[1], till, r[11])

    async def touch(self, org_id: int, session_id: str, now: datetime) -> None:
        await self.tx.run(_TOUCH, org_id=org_id, session_id=session_id, now=now)

    async def delete(self, org_id: int, session_id: str) -> int:
        return await self.tx.run(_DELETE, org_id=org_id, session_id=session_id)

    async def prune(self, org_id: int, till_id: int, idle_since: datetime) -> None:
        await self.tx.run(_PRUNE, org_id=org_id, till_id=till_id, idle_since=idle_since)
