"""The statements of identifier change requests (engagement/change_requests.py): the rows
changeIdentifier and registration merges write, a decision's conditional UPDATE, and the
customer's list with the tills that added and decided each request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx
from patron.loyalty.goodwill_repository import TillInfo

CHANGE_REQUEST = Table(
    "change_request",
    (
        ("org_id", "bigint"),
        ("request_id", "bigint"),
        ("customer_id", "bigint"),
        ("change_type", "text"),
        ("types", "text"),
        ("status", "text"),
        ("source", "text"),
        ("account_id", "text"),
        ("changes", "jsonb"),
        ("command", "jsonb"),
        ("merged_customer_id", "bigint"),
        ("merge_id", "bigint"),
        ("comments", "text"),
        ("one_step", "boolean"),
        ("api_request_id", "text"),
        ("added_by_till_id", "bigint"),
        ("updated_by_till_id", "bigint"),
        ("added_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ),
)
# The customer and, when it is this customer's, the request (one statement for both).
_REQUEST = Q(
    "SELECT c.merged_into_id, r.status, r.command FROM customer c"
    " LEFT JOIN change_request r ON r.org_id = c.org_id AND r.customer_id = c.customer_id"
    " AND r.request_id = :request_id"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_DECIDE = Q(
    "UPDATE change_request SET status = :status, comments = :comments,"
    " updated_by_till_id = :till_id, updated_at = :now"
    " WHERE org_id = :org_id AND request_id = :request_id AND customer_id = :customer_id"
    " AND status = 'PENDING'"
)
# An approved change that merged the customer into another: the request follows the record.
_MERGED = Q(
    "UPDATE change_request SET customer_id = :survivor_id, change_type = 'MERGE',"
    " merged_customer_id = :customer_id, merge_id = :merge_id"
    " WHERE org_id = :org_id AND request_id = :request_id"
)
# Every filter applies; an absent one is given its widest value by the service (dates and
# ids) or is NULL (texts). changeType matches the request's type or any type it touched.
_FILTERS = (
    " AND (CAST(:change_type AS TEXT) IS NULL OR r.change_type = CAST(:change_type AS TEXT)"
    " OR r.types LIKE CAST(:types_like AS TEXT))"
    " AND (CAST(:source AS TEXT) IS NULL OR r.source = CAST(:source AS TEXT))"
    " AND r.added_at >= :start_at AND r.added_at < :end_at"
    " AND r.request_id >= :start_id AND r.request_id <= :end_id"
)
_COUNT = Q(
    "SELECT c.merged_into_id, (SELECT COUNT(*) FROM change_request r"
    " WHERE r.org_id = c.org_id AND r.customer_id = c.customer_id" + _FILTERS + ")"
    " FROM customer c WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_SELECT = (
    "SELECT r.request_id, r.customer_id, r.change_type, r.status, r.source, r.account_id, r.changes,"
    " r.merged_customer_id, r.comments, r.one_step, r.added_at, r.updated_at,"
    " a.till_id, a.code, a.name, a.is_active, u.till_id, u.code, u.name, u.is_active, r.merge_id"
    " FROM change_request r"
    " JOIN till a ON a.org_id = r.org_id AND a.till_id = r.added_by_till_id"
    " JOIN till u ON u.org_id = r.org_id AND u.till_id = r.updated_by_till_id"
    " WHERE r.org_id = :org_id AND r.customer_id = :customer_id" + _FILTERS
)
SORTS = {
    (column, order): Q(
        f"{_SELECT} ORDER BY r.{column} {order}, r.request_id {order} LIMIT :limit OFFSET :offset"
    )
    for column in ("added_at", "updated_at")
    for order in ("ASC", "DESC")
}


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    change_type: str | None
    source: str | None
    start_at: datetime
    end_at: datetime
    start_id: int
    end_id: int
    sort_column: str = "added_at"
    sort_order: str = "DESC"
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ChangeView:
    request_id: int
    customer_id: int
    change_type: str
    status: str
    source: str
    account_id: str
    changes: dict[str, Any]
    merged_customer_id: int | None
    comments: str
    one_step: bool
    added_at: datetime
    updated_at: datetime
    added_by: TillInfo
    updated_by: TillInfo
    merge_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A request as a decision reads it (status None: the customer has no such request)."""

    merged_into_id: int | None
    status: str | None
    command: dict[str, Any] | None


class ChangeRequestRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, rows: list[dict[str, Any]]) -> None:
        await self.tx.insert(CHANGE_REQUEST, rows)

    async def stored(self, org_id: int, customer_id: int, request_id: int) -> StoredChange | None:
        """None when there is no such customer."""
        r = await self.tx.one(_REQUEST, org_id=org_id, customer_id=customer_id, request_id=request_id)
        if r is None:
            return None
        return StoredChange(r[0], r[1], r[2])

    async def decide(self, org_id: int, customer_id: int, request_id: int, **values: Any) -> bool:
        """Move a PENDING request to its decision; whether it was still PENDING."""
        changed = await self.tx.run(
            _DECIDE, org_id=org_id, customer_id=customer_id, request_id=request_id, **values
        )
        return changed == 1

    async def merged(
        self, org_id: int, request_id: int, customer_id: int, survivor_id: int, merge_id: int | None
    ) -> None:
        await self.tx.later(
            _MERGED,
            org_id=org_id,
            request_id=request_id,
            customer_id=customer_id,
            survivor_id=survivor_id,
            merge_id=merge_id,
        )

    async def count(self, org_id: int, customer_id: int, f: ChangeFilter) -> tuple[bool, int | None, int]:
        """(whether the customer exists, the customer it was merged into, matching requests)."""
        r = await self.tx.one(_COUNT, org_id=org_id, customer_id=customer_id, **_filter_params(f))
        if r is None:
            return False, None, 0
        return True, r[0], int(r[1])

    async def page(self, org_id: int, customer_id: int, f: ChangeFilter) -> list[ChangeView]:
        rows = await self.tx.all(
            SORTS[(f.sort_column, f.sort_order)],
            org_id=org_id,
            customer_id=customer_id,
            limit=f.limit,
            offset=f.offset,
            **_filter_params(f),
        )
        return [_view(r) for r in rows]


def _filter_params(f: ChangeFilter) -> dict[str, Any]:
    return {
        "change_type": f.change_type,
        "types_like": None if f.change_type is None else f"%,{f.change_type},%",
        "source": f.source,
        "start_at": f.start_at,
        "end_at": f.end_at,
        "start_id": f.start_id,
        "end_id": f.end_id,
    }


def _view(r: Row) -> ChangeView:
    return ChangeView(
        request_id=int(r[0]),
        customer_id=int(r[1]),
        change_type=r[2],
        status=r[3],
        source=r[4],
        account_id=r[5],
        changes=r[6],
        merged_customer_id=None if r[7] is None else int(r[7]),
        comments=r[8],
        one_step=bool(r[9]),
        added_at=r[10],
        updated_at=r[11],
        added_by=TillInfo(int(r[12]), r[13], r[14], bool(r[15])),
        updated_by=TillInfo(int(r[16]), r[17], r[18], bool(r[19])),
        merge_id=None if r[20] is None else int(r[20]),
    )
