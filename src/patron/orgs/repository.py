"""Every query of orgs and tills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.db.sql import SQLITE, Q
from patron.db.tx import Row, Tx


@dataclass(frozen=True, slots=True)
class OrgRow:
    org_id: int
    name: str
    config: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TillRow:
    org_id: int
    till_id: int
    code: str
    name: str
    key_digest: str
    store_code: str
    store_name: str
    is_active: bool
    role: str = "till"


@dataclass(frozen=True, slots=True)
class Login:
    """What one request's authentication needs, read in one statement: the till, its org's
    configuration stamp, and the failed logins of this till from this client address in
    the current window (0 and None when there are none: security/throttle.py)."""

    till: TillRow
    org_updated_at: datetime
    failures: int = 0
    window_start: datetime | None = None


_ORG = Q("SELECT org_id, name, config, updated_at FROM org WHERE org_id = :org_id")
_INSERT_ORG = Q(
    "INSERT INTO org (org_id, name, config, created_at, updated_at)"
    " VALUES (:org_id, :name, :config, :now, :now)"
)
_SET_CONFIG = Q("UPDATE org SET config = :config, updated_at = :now WHERE org_id = :org_id")
_TILL_COLUMNS = (
    "t.org_id, t.till_id, t.code, t.name, t.password_hash, t.store_code, t.store_name, t.is_active, t.role"
)
# The throttle row rides along (a primary-key probe), so a login is still one statement.
_LOGIN = Q(
    f"SELECT {_TILL_COLUMNS}, o.updated_at, f.failures, f.window_start"
    " FROM till t JOIN org o ON o.org_id = t.org_id"
    " LEFT JOIN login_failure f"
    " ON f.org_id = t.org_id AND f.till_code = t.code AND f.client = :client"
    " WHERE t.org_id = :org_id AND t.code = :code"
)
# One more failure of (till, client): a row opens a window with a count of 1; a row whose
# window has closed (window_start <= :since) opens a new one; otherwise the count grows.
_FAILURE_UPSERT = (
    "INSERT INTO login_failure (org_id, till_code, client, failures, window_start)"
    " VALUES (:org_id, :code, :client, 1, :now)"
    " ON CONFLICT (org_id, till_code, client) DO UPDATE SET"
    " failures = CASE WHEN login_failure.window_start <= :since THEN 1"
    " ELSE login_failure.failures + 1 END,"
    " window_start = CASE WHEN login_failure.window_start <= :since THEN :now"
    " ELSE login_failure.window_start END"
)
# The same till's rows from other addresses whose windows have closed go with it (the
# index on (org_id, till_code, window_start) makes that a range of what is removed), so
# the table holds about one row per (till, address) that failed within a window.
_PRUNE_FAILURES = (
    "DELETE FROM login_failure WHERE org_id = :org_id AND till_code = :code"
    " AND window_start <= :since AND client <> :client"
)
_RECORD_FAILURE = Q(
    sqlite=_FAILURE_UPSERT,
    # One round trip: the prune as a data-modifying CTE (it never touches the upserted row).
    postgresql=f"WITH pruned AS ({_PRUNE_FAILURES}) {_FAILURE_UPSERT}",
)
_PRUNE_FAILURES_Q = Q(_PRUNE_FAILURES)
_FORGET_FAILURES = Q(
    "DELETE FROM login_failure WHERE org_id = :org_id AND till_code = :code AND client = :client"
)
_TILL = Q(f"SELECT {_TILL_COLUMNS} FROM till t WHERE t.org_id = :org_id AND t.code = :code")
_TILLS = Q(f"SELECT {_TILL_COLUMNS} FROM till t WHERE t.org_id = :org_id ORDER BY t.till_id")
_TILL_COUNT = Q("SELECT COUNT(*) FROM till WHERE org_id = :org_id")
_INSERT_TILL = Q(
    "INSERT INTO till (org_id, till_id, code, name, password_hash, store_code, store_name, is_active,"
    " role, created_at)"
    " VALUES (:org_id, :till_id, :code, :name, :digest, :store_code, :store_name, :active, :role, :now)"
)
_PING = Q("SELECT 1")
_SET_DIGEST = Q("UPDATE till SET password_hash = :digest WHERE org_id = :org_id AND till_id = :till_id")
_SET_ACTIVE = Q("UPDATE till SET is_active = :active WHERE org_id = :org_id AND till_id = :till_id")
_SET_ROLE = Q("UPDATE till SET role = :role WHERE org_id = :org_id AND till_id = :till_id")


def _till(r: Row) -> TillRow:
    return TillRow(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8])


class OrgRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def ping(self) -> None:
        """One round trip that touches no table: the database answers."""
        await self.tx.val(_PING)

    async def get(self, org_id: int) -> OrgRow | None:
        r = await self.tx.one(_ORG, org_id=org_id)
        return None if r is None else OrgRow(int(r[0]), r[1], r[2], r[3])

    async def insert(self, org_id: int, name: str, config: dict[str, Any], now: datetime) -> None:
        await self.tx.run(_INSERT_ORG, org_id=org_id, name=name, config=config, now=now)

    async def set_config(self, org_id: int, config: dict[str, Any], now: datetime) -> int:
        return await self.tx.run(_SET_CONFIG, org_id=org_id, config=config, now=now)

    async def login(self, org_id: int, code: str, client: str = "") -> Login | None:
        r = await self.tx.one(_LOGIN, org_id=org_id, code=code, client=client)
        if r is None:
            return None
        return Login(_till(r), r[9], 0 if r[10] is None else int(r[10]), r[11])

    async def record_login_failure(
        self, org_id: int, code: str, client: str, now: datetime, since: datetime
    ) -> None:
        """Count one failed login of a till from a client address (see `_FAILURE_UPSERT`),
        and drop that till's rows whose windows closed before `since`."""
        params = {"org_id": org_id, "code": code, "client": client, "now": now, "since": since}
        if self.tx.dialect == SQLITE:
            await self.tx.run(_PRUNE_FAILURES_Q, **params)
        await self.tx.run(_RECORD_FAILURE, **params)

    async def forget_login_failures(self, org_id: int, code: str, client: str) -> None:
        await self.tx.run(_FORGET_FAILURES, org_id=org_id, code=code, client=client)

    async def till_by_code(self, org_id: int, code: str) -> TillRow | None:
        r = await self.tx.one(_TILL, org_id=org_id, code=code)
        return None if r is None else _till(r)

    async def tills(self, org_id: int) -> list[TillRow]:
        return [_till(r) for r in await self.tx.all(_TILLS, org_id=org_id)]

    async def till_count(self, org_id: int) -> int:
        return int(await self.tx.val(_TILL_COUNT, org_id=org_id))

    async def insert_till(self, till: TillRow, now: datetime) -> None:
        await self.tx.run(
            _INSERT_TILL,
            org_id=till.org_id,
            till_id=till.till_id,
            code=till.code,
            name=till.name,
            digest=till.key_digest,
            store_code=till.store_code,
            store_name=till.store_name,
            active=till.is_active,
            role=till.role,
            now=now,
        )

    async def set_key_digest(self, org_id: int, till_id: int, digest: str) -> None:
        await self.tx.run(_SET_DIGEST, org_id=org_id, till_id=till_id, digest=digest)

    async def set_till_active(self, org_id: int, till_id: int, active: bool) -> None:
        await self.tx.run(_SET_ACTIVE, org_id=org_id, till_id=till_id, active=active)

    async def set_till_role(self, org_id: int, till_id: int, role: str) -> None:
        await self.tx.run(_SET_ROLE, org_id=org_id, till_id=till_id, role=role)
