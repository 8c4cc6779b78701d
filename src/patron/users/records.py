"""The `user_record` statements: what only the user namespace keeps of a customer, one row
per record (docs/users.md). Every statement names the org and the customer, served by the
index (org_id, customer_id, kind)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Table, Tx

USER_RECORD = Table(
    "user_record",
    (
        ("org_id", "bigint"),
        ("record_id", "bigint"),
        ("customer_id", "bigint"),
        ("kind", "text"),
        ("status", "integer"),
        ("verification_status", "integer"),
        ("is_primary", "boolean"),
        ("data", "jsonb"),
        ("sealed", "text"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
        ("till_id", "bigint"),
    ),
)
_COLUMNS = "record_id, kind, status, verification_status, is_primary, data, sealed, created_at, updated_at"
# One customer's records: the index (org_id, customer_id, kind). SQLite's planner would walk
# the primary key (org_id, record_id) to skip the sort, reading the org's every record, so
# it is told the index.
INDEXED = " INDEXED BY ix_user_record_org_id_customer_id_kind"
_OF_CUSTOMER_SQL = (
    f"SELECT {_COLUMNS} FROM user_record{{indexed}} WHERE org_id = :org_id AND customer_id = :customer_id"
    " ORDER BY record_id"
)
_OF_CUSTOMER = Q(
    sqlite=_OF_CUSTOMER_SQL.format(indexed=INDEXED), postgresql=_OF_CUSTOMER_SQL.format(indexed="")
)


@dataclass(frozen=True, slots=True)
class UserRecord:
    record_id: int
    kind: str
    status: int
    verification_status: int
    is_primary: bool
    data: dict[str, Any]
    sealed: str | None
    created_at: datetime
    updated_at: datetime


class UserRecords:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def of_customer(self, org_id: int, customer_id: int) -> list[UserRecord]:
        rows = await self.tx.all(_OF_CUSTOMER, org_id=org_id, customer_id=customer_id)
        return [
            UserRecord(r[0], r[1], r[2], r[3], bool(r[4]), dict(r[5] or {}), r[6], r[7], r[8]) for r in rows
        ]

    async def new_ids(self, n: int) -> list[int]:
        return list(await self.tx.ids("user_record", n)) if n else []

    async def insert(self, org_id: int, customer_id: int, records: list[UserRecord], till_id: int) -> None:
        await self.tx.insert(
            USER_RECORD,
            [
                {
                    "org_id": org_id,
                    "record_id": r.record_id,
                    "customer_id": customer_id,
                    "kind": r.kind,
                    "status": r.status,
                    "verification_status": r.verification_status,
                    "is_primary": r.is_primary,
                    "data": r.data,
                    "sealed": r.sealed,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                    "till_id": till_id,
                }
                for r in records
            ],
        )
