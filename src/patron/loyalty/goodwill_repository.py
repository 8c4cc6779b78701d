"""The statements of goodwill requests (loyalty/goodwill.py): the request rows, a decision's
conditional UPDATE, and the customer's list with the tills that added and decided them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx

GOODWILL = Table(
    "goodwill_request",
    (
        ("org_id", "bigint"),
        ("request_id", "bigint"),
        ("customer_id", "bigint"),
        ("program_id", "bigint"),
        ("goodwill_type", "text"),
        ("points", "bigint"),
        ("status", "text"),
        ("reason", "text"),
        ("comments", "text"),
        ("approved_value", "bigint"),
        ("updated_comments", "text"),
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
    "SELECT c.merged_into_id, g.status, g.points, g.program_id FROM customer c"
    " LEFT JOIN goodwill_request g ON g.org_id = c.org_id AND g.customer_id = c.customer_id"
    " AND g.request_id = :request_id"
    " WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_DECIDE = Q(
    "UPDATE goodwill_request SET status = :status, approved_value = :approved_value,"
    " updated_comments = :updated_comments, updated_by_till_id = :till_id, updated_at = :now"
    " WHERE org_id = :org_id AND request_id = :request_id AND customer_id = :customer_id"
    " AND status = 'PENDING'"
)
# The seed's filters; each applies when its parameter is not null (autoApprove and
# is_one_step_change both read `one_step`: a request approved at creation).
_FILTERS = (
    " AND (CAST(:request_id AS BIGINT) IS NULL OR g.request_id = CAST(:request_id AS BIGINT))"
    " AND (CAST(:program_id AS BIGINT) IS NULL OR g.program_id = CAST(:program_id AS BIGINT))"
    " AND (CAST(:one_step AS BOOLEAN) IS NULL OR g.one_step = CAST(:one_step AS BOOLEAN))"
)
_COUNT = Q(
    "SELECT c.merged_into_id, (SELECT COUNT(*) FROM goodwill_request g"
    " WHERE g.org_id = c.org_id AND g.customer_id = c.customer_id" + _FILTERS + ")"
    " FROM customer c WHERE c.org_id = :org_id AND c.customer_id = :customer_id"
)
_PAGE = Q(
    "SELECT g.request_id, g.program_id, g.goodwill_type, g.points, g.status, g.reason, g.comments,"
    " g.approved_value, g.updated_comments, g.one_step, g.added_at, g.updated_at,"
    " a.till_id, a.code, a.name, a.is_active, u.till_id, u.code, u.name, u.is_active"
    " FROM goodwill_request g"
    " JOIN till a ON a.org_id = g.org_id AND a.till_id = g.added_by_till_id"
    " JOIN till u ON u.org_id = g.org_id AND u.till_id = g.updated_by_till_id"
    " WHERE g.org_id = :org_id AND g.customer_id = :customer_id" + _FILTERS + ""
    " ORDER BY g.request_id DESC LIMIT :limit OFFSET :offset"
)


@dataclass(frozen=True, slots=True)
class GoodwillFilter:
    request_id: int | None = None
    program_id: int | None = None
    one_step: bool | None = None
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TillInfo:
    till_id: int
    code: str
    name: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class GoodwillView:
    request_id: int
    customer_id: int
    program_id: int
    goodwill_type: str
    points: int
    status: str
    reason: str
    comments: str
    approved_value: int | None
    updated_comments: str
    one_step: bool
    added_at: datetime
    updated_at: datetime
    added_by: TillInfo
    updated_by: TillInfo


@dataclass(frozen=True, slots=True)
class Stored:
    """A request as a decision reads it (status None: the customer has no such request)."""

    merged_into_id: int | None
    status: str | None
    points: int
    program_id: int


class GoodwillRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, row: dict[str, Any]) -> None:
        await self.tx.insert(GOODWILL, [row])

    async def stored(self, org_id: int, customer_id: int, request_id: int) -> Stored | None:
        """None when there is no such customer."""
        r = await self.tx.one(_REQUEST, org_id=org_id, customer_id=customer_id, request_id=request_id)
        if r is None:
            return None
        return Stored(r[0], r[1], int(r[2] or 0), int(r[3] or 0))

    async def decide(self, org_id: int, customer_id: int, request_id: int, **values: Any) -> bool:
        """Move a PENDING request to its decision; whether it was still PENDING."""
        changed = await self.tx.run(
            _DECIDE, org_id=org_id, customer_id=customer_id, request_id=request_id, **values
        )
        return changed == 1

    async def count(self, org_id: int, customer_id: int, f: GoodwillFilter) -> tuple[bool, int | None, int]:
        """(whether the customer exists, the customer it was merged into, matching requests)."""
        r = await self.tx.one(_COUNT, org_id=org_id, customer_id=customer_id, **_filter_params(f))
        if r is None:
            return False, None, 0
        return True, r[0], int(r[1])

    async def page(self, org_id: int, customer_id: int, f: GoodwillFilter) -> list[GoodwillView]:
        rows = await self.tx.all(
            _PAGE,
            org_id=org_id,
            customer_id=customer_id,
            limit=f.limit,
            offset=f.offset,
            **_filter_params(f),
        )
        return [_view(customer_id, r) for r in rows]


def _filter_params(f: GoodwillFilter) -> dict[str, Any]:
    return {"request_id": f.request_id, "program_id": f.program_id, "one_step": f.one_step}


def _view(customer_id: int, r: Row) -> GoodwillView:
    return GoodwillView(
        request_id=int(r[0]),
        customer_id=customer_id,
        program_id=int(r[1]),
        goodwill_type=r[2],
        points=int(r[3]),
        status=r[4],
        reason=r[5],
        comments=r[6],
        approved_value=None if r[7] is None else int(r[7]),
        updated_comments=r[8],
        one_step=bool(r[9]),
        added_at=r[10],
        updated_at=r[11],
        added_by=TillInfo(int(r[12]), r[13], r[14], bool(r[15])),
        updated_by=TillInfo(int(r[16]), r[17], r[18], bool(r[19])),
    )
