"""The statements of retro requests (engagement/retro.py): the bills a request names, the
request rows, a decision's conditional UPDATE, the bill moving to its new customer, and the
customer's list with the tills that added and decided each request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx
from patron.loyalty.goodwill_repository import TillInfo
from patron.loyalty.repository import money

RETRO_REQUEST = Table(
    "retro_request",
    (
        ("org_id", "bigint"),
        ("request_id", "bigint"),
        ("customer_id", "bigint"),
        ("bill_id", "bigint"),
        ("bill_number", "text"),
        ("from_customer_id", "bigint"),
        ("status", "text"),
        ("reason", "text"),
        ("comments", "text"),
        ("points", "bigint"),
        ("one_step", "boolean"),
        ("api_request_id", "text"),
        ("added_by_till_id", "bigint"),
        ("updated_by_till_id", "bigint"),
        ("added_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ),
)
_BILL_COLUMNS = "bill_id, customer_id, program_id, type, bill_number, bill_amount, bill_date, points"
_BILL = Q(f"SELECT {_BILL_COLUMNS} FROM loyalty_bill WHERE org_id = :org_id AND bill_id = :bill_id")
# Purchases of one bill number (three at most: more than one is already ambiguous).
_BILLS_BY_NUMBER = Q(
    f"SELECT {_BILL_COLUMNS} FROM loyalty_bill WHERE org_id = :org_id AND bill_number = :bill_number"
    " AND type = 'REGULAR' ORDER BY bill_id LIMIT 3"
)
_HAS_RETURNS = Q(
    "SELECT 1 FROM loyalty_bill WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND bill_number = :bill_number AND type = 'RETURN' LIMIT 1"
)
_PENDING_FOR_BILL = Q(
    "SELECT request_id FROM retro_request WHERE org_id = :org_id AND bill_id = :bill_id"
    " AND status = 'PENDING'"
)
_MOVE_BILL = Q(
    "UPDATE loyalty_bill SET customer_id = :customer_id, points = :points"
    " WHERE org_id = :org_id AND bill_id = :bill_id"
)
# The customer and, when it is this customer's, the request (one statement for both).
_REQUEST = Q(
    "SELECT c.merged_into_id, r.status, r.bill_id FROM customer c"
    " LEFT JOIN retro_request r ON r.org_id = c.org_id AND r.customer_id = c.customer_id"
    " AND r.request_id = :request_id"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_DECIDE = Q(
    "UPDATE retro_request SET status = :status, comments = :comments, points = :points,"
    " updated_by_till_id = :till_id, updated_at = :now"
    " WHERE org_id = :org_id AND request_id = :request_id AND customer_id = :customer_id"
    " AND status = 'PENDING'"
)
_FILTERS = (
    " AND r.added_at >= :start_at AND r.added_at < :end_at"
    " AND r.request_id >= :start_id AND r.request_id <= :end_id"
)
_COUNT = Q(
    "SELECT c.merged_into_id, (SELECT COUNT(*) FROM retro_request r"
    " WHERE r.org_id = c.org_id AND r.customer_id = c.customer_id" + _FILTERS + ")"
    " FROM customer c WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_PAGE = Q(
    "SELECT r.request_id, r.customer_id, r.bill_id, r.bill_number, r.from_customer_id, r.status,"
    " r.reason, r.comments, r.points, r.one_step, r.added_at, r.updated_at,"
    " a.till_id, a.code, a.name, a.is_active, a.store_code, a.store_name,"
    " u.till_id, u.code, u.name, u.is_active"
    " FROM retro_request r"
    " JOIN till a ON a.org_id = r.org_id AND a.till_id = r.added_by_till_id"
    " JOIN till u ON u.org_id = r.org_id AND u.till_id = r.updated_by_till_id"
    " WHERE r.org_id = :org_id AND r.customer_id = :customer_id" + _FILTERS + ""
    " ORDER BY r.added_at DESC, r.request_id DESC LIMIT :limit OFFSET :offset"
)


@dataclass(frozen=True, slots=True)
class Bill:
    bill_id: int
    customer_id: int | None
    program_id: int
    type: str
    bill_number: str
    amount: Decimal
    bill_date: datetime
    points: int


@dataclass(frozen=True, slots=True)
class StoredRetro:
    """A request as a decision reads it (status None: the customer has no such request)."""

    merged_into_id: int | None
    status: str | None
    bill_id: int | None


@dataclass(frozen=True, slots=True)
class RetroFilter:
    start_at: datetime
    end_at: datetime
    start_id: int
    end_id: int
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True, slots=True)
class RetroView:
    request_id: int
    customer_id: int
    bill_id: int
    bill_number: str
    from_customer_id: int | None
    status: str
    reason: str
    comments: str
    points: int | None
    one_step: bool
    added_at: datetime
    updated_at: datetime
    added_by: TillInfo
    store_code: str
    store_name: str
    updated_by: TillInfo


def _bill(r: Row) -> Bill:
    return Bill(
        int(r[0]),
        None if r[1] is None else int(r[1]),
        int(r[2]),
        r[3],
        r[4],
        money(r[5]),
        r[6],
        int(r[7]),
    )


class RetroRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def bill(self, org_id: int, bill_id: int, *, lock: bool = False) -> Bill | None:
        """A bill of the org; with `lock`, held for the transaction (PostgreSQL) first."""
        if lock and not await self.tx.lock_row("loyalty_bill", org_id, "bill_id", bill_id):
            return None
        r = await self.tx.one(_BILL, org_id=org_id, bill_id=bill_id)
        return None if r is None else _bill(r)

    async def bills_numbered(self, org_id: int, bill_number: str) -> list[Bill]:
        rows = await self.tx.all(_BILLS_BY_NUMBER, org_id=org_id, bill_number=bill_number)
        return [_bill(r) for r in rows]

    async def has_returns(self, org_id: int, customer_id: int, bill_number: str) -> bool:
        found = await self.tx.val(
            _HAS_RETURNS, org_id=org_id, customer_id=customer_id, bill_number=bill_number
        )
        return found is not None

    async def pending_for(self, org_id: int, bill_id: int) -> int | None:
        found = await self.tx.val(_PENDING_FOR_BILL, org_id=org_id, bill_id=bill_id)
        return None if found is None else int(found)

    async def move_bill(self, org_id: int, bill_id: int, customer_id: int, points: int) -> None:
        await self.tx.later(
            _MOVE_BILL, org_id=org_id, bill_id=bill_id, customer_id=customer_id, points=points
        )

    async def add(self, row: dict[str, Any]) -> None:
        await self.tx.insert(RETRO_REQUEST, [row])

    async def stored(self, org_id: int, customer_id: int, request_id: int) -> StoredRetro | None:
        """None when there is no such customer."""
        r = await self.tx.one(_REQUEST, org_id=org_id, customer_id=customer_id, request_id=request_id)
        if r is None:
            return None
        return StoredRetro(r[0], r[1], None if r[2] is None else int(r[2]))

    async def decide(self, org_id: int, customer_id: int, request_id: int, **values: Any) -> bool:
        """Move a PENDING request to its decision; whether it was still PENDING."""
        changed = await self.tx.run(
            _DECIDE, org_id=org_id, customer_id=customer_id, request_id=request_id, **values
        )
        return changed == 1

    async def count(self, org_id: int, customer_id: int, f: RetroFilter) -> tuple[bool, int | None, int]:
        """(whether the customer exists, the customer it was merged into, matching requests)."""
        r = await self.tx.one(_COUNT, org_id=org_id, customer_id=customer_id, **_filter_params(f))
        if r is None:
            return False, None, 0
        return True, r[0], int(r[1])

    async def page(self, org_id: int, customer_id: int, f: RetroFilter) -> list[RetroView]:
        rows = await self.tx.all(
            _PAGE, org_id=org_id, customer_id=customer_id, limit=f.limit, offset=f.offset, **_filter_params(f)
        )
        return [_view(r) for r in rows]


def _filter_params(f: RetroFilter) -> dict[str, Any]:
    return {"start_at": f.start_at, "end_at": f.end_at, "start_id": f.start_id, "end_id": f.end_id}


def _view(r: Row) -> RetroView:
    return RetroView(
        request_id=int(r[0]),
        customer_id=int(r[1]),
        bill_id=int(r[2]),
        bill_number=r[3],
        from_customer_id=None if r[4] is None else int(r[4]),
        status=r[5],
        reason=r[6],
        comments=r[7],
        points=None if r[8] is None else int(r[8]),
        one_step=bool(r[9]),
        added_at=r[10],
        updated_at=r[11],
        added_by=TillInfo(int(r[12]), r[13], r[14], bool(r[15])),
        store_code=r[16],
        store_name=r[17],
        updated_by=TillInfo(int(r[18]), r[19], r[20], bool(r[21])),
    )
