"""Every query of idempotency keys: one row per (org, key), written with the write it guards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Table, Tx

KEY = Table(
    "idempotency_key",
    (
        ("org_id", "bigint"),
        ("idem_key", "text"),
        ("fingerprint", "text"),
        ("status_code", "integer"),
        ("response", "jsonb"),
        ("created_at", "timestamptz"),
        ("expires_at", "timestamptz"),
    ),
)
_GET = Q(
    "SELECT fingerprint, status_code, response, expires_at FROM idempotency_key"
    " WHERE org_id = :org_id AND idem_key = :key"
)
_FORGET = Q("DELETE FROM idempotency_key WHERE org_id = :org_id AND idem_key = :key")
# The one read across orgs: which orgs hold expired keys (a small scan by expiry, like a job queue).
_EXPIRED_ORGS = Q(
    "SELECT DISTINCT org_id FROM idempotency_key WHERE expires_at <= :now ORDER BY org_id LIMIT :limit"
)
_PRUNE = Q("DELETE FROM idempotency_key WHERE org_id = :org_id AND expires_at <= :now")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: Any
    expires_at: datetime


class IdempotencyRepository:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get(self, org_id: int, key: str) -> StoredResponse | None:
        row = await self.tx.one(_GET, org_id=org_id, key=key)
        if row is None:
            return None
        return StoredResponse(str(row[0]), int(row[1]), row[2], row[3])

    async def forget(self, org_id: int, key: str) -> None:
        await self.tx.run(_FORGET, org_id=org_id, key=key)

    async def save(
        self,
        org_id: int,
        key: str,
        fingerprint: str,
        status: int,
        body: Any,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        """Held back on PostgreSQL and sent with the write's own statements; the primary key
        refuses a second row for the key, so of two concurrent requests only one commits."""
        await self.tx.insert(
            KEY,
            [
                {
                    "org_id": org_id,
                    "idem_key": key,
                    "fingerprint": fingerprint,
                    "status_code": status,
                    "response": body,
                    "created_at": now,
                    "expires_at": expires_at,
                }
            ],
        )

    async def orgs_with_expired(self, now: datetime, limit: int) -> list[int]:
        return [int(r[0]) for r in await self.tx.all(_EXPIRED_ORGS, now=now, limit=limit)]

    async def prune(self, org_id: int, now: datetime) -> int:
        return await self.tx.run(_PRUNE, org_id=org_id, now=now)
