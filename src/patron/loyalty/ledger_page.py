"""A customer's points ledger in one program, a page at a time, newest first (the operator
console's points history).

The entries are the customer's own (`group_id IS NULL`; a group pool's entries belong to the
pool), read through the index (org_id, customer_id, program_id, entry_id). Newest first is
the order they were written, reversed: by `created_at`, then `entry_id` (ids come in blocks,
so they alone do not follow time across processes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.context import RequestContext
from patron.customers.commands import INT64_MAX
from patron.customers.views import TillRef
from patron.db.sql import Q
from patron.db.tx import Row, Tx
from patron.db.uow import UnitOfWork
from patron.errors import NotFound

MAX_PAGE_SIZE = 100

_ENTRIES = Q(
    "SELECT entry_id, kind, points, expires_at, created_at, till_id, bill_number, ref_kind, notes"
    " FROM points_ledger WHERE org_id = :org_id AND customer_id = :customer_id"
    " AND program_id = :program_id AND group_id IS NULL"
    " ORDER BY created_at DESC, entry_id DESC LIMIT :limit OFFSET :offset"
)
_CUSTOMER = Q("SELECT merged_into_id FROM customer WHERE org_id = :org_id AND customer_id = :customer_id")


@dataclass(frozen=True, slots=True)
class LedgerItem:
    entry_id: int
    kind: str
    points: int  # signed: credits positive, debits negative
    expires_at: datetime | None
    created_at: datetime
    till: TillRef | None  # None for the system (expiry job, erasure pass)
    bill_number: str | None
    ref_kind: str | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class LedgerPage:
    program_id: int
    items: list[LedgerItem]
    page: int
    size: int
    more: bool


class LedgerPageRepository:
    """The statements of the paged ledger; every one names the org."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def known(self, org_id: int, customer_id: int) -> tuple[bool, int | None]:
        """Whether the customer exists in the org, and the customer it was merged into."""
        row = await self.tx.one(_CUSTOMER, org_id=org_id, customer_id=customer_id)
        if row is None:
            return False, None
        return True, None if row[0] is None else int(row[0])

    async def entries(
        self, org_id: int, customer_id: int, program_id: int, limit: int, offset: int
    ) -> list[Row]:
        return await self.tx.all(
            _ENTRIES,
            org_id=org_id,
            customer_id=customer_id,
            program_id=program_id,
            limit=limit,
            offset=offset,
        )


async def ledger_page(
    uow: UnitOfWork, ctx: RequestContext, customer_id: int, program_id: int, page: int = 1, size: int = 20
) -> LedgerPage:
    """One page of the customer's entries in a program, newest first; 8015 unknown customer,
    8069 merged into another."""
    if not 1 <= customer_id <= INT64_MAX or not 1 <= program_id <= INT64_MAX:
        raise NotFound(8015)
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise NotFound(8015)
    repo = LedgerPageRepository(uow.tx)
    exists, merged_into = await repo.known(ctx.org_id, customer_id)
    if not exists:
        raise NotFound(8015)
    if merged_into is not None:
        raise NotFound(8069, detail=f"Use customer id {merged_into}.")
    rows = await repo.entries(ctx.org_id, customer_id, program_id, size + 1, (page - 1) * size)
    more = len(rows) > size
    rows = rows[:size]
    till_ids = {int(r[5]) for r in rows if r[5]}
    tills = await uow.customers.tills(ctx.org_id, till_ids) if till_ids else {}
    items = [
        LedgerItem(
            entry_id=int(r[0]),
            kind=r[1],
            points=int(r[2]),
            expires_at=r[3],
            created_at=r[4],
            till=tills.get(int(r[5])) if r[5] else None,
            bill_number=r[6],
            ref_kind=r[7],
            notes=r[8],
        )
        for r in rows
    ]
    return LedgerPage(program_id, items, page, size, more)
