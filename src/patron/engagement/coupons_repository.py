"""The coupon statements: one `coupon` row per coupon issued (the series' terms copied onto
it, so a later change of the configuration never changes a coupon a customer holds) and one
`coupon_redemption` row per redemption.

Issuing takes no lock: the insert claims its code through the unique key (org_id, code)
with ON CONFLICT DO NOTHING, so a collision returns no row (and the caller draws again)
instead of aborting a PostgreSQL transaction. Redeeming is one conditional UPDATE that
counts the redemption only while the coupon is the customer's, unexpired and not used up:
two redemptions of a single-use coupon at once serialise on the row, and the second finds
the condition false.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from patron.db.sql import Q
from patron.db.tx import Row, Table, Tx

_COLUMNS = (
    "coupon_id, code, series_id, customer_id, description, discount_type, discount_value,"
    " discount_upto, max_redemptions, redemption_count, valid_till, issued_for, transaction_number,"
    " issued_by_till_id, issued_at"
)
_INSERT = Q(
    "INSERT INTO coupon (org_id, coupon_id, code, series_id, customer_id, description, discount_type,"
    " discount_value, discount_upto, max_redemptions, redemption_count, valid_till, issued_for,"
    " transaction_number, issued_by_till_id, issued_at) VALUES (:org_id, :coupon_id, :code, :series_id,"
    " :customer_id, :description, :discount_type, :discount_value, :discount_upto, :max_redemptions, 0,"
    " :valid_till, :issued_for, :transaction_number, :issued_by_till_id, :issued_at)"
    " ON CONFLICT (org_id, code) DO NOTHING RETURNING coupon_id"
)
_REDEEM = Q(
    f"UPDATE coupon SET redemption_count = redemption_count + 1"
    f" WHERE org_id = :org_id AND code = :code AND customer_id = :customer_id AND valid_till >= :now"
    f" AND (max_redemptions < 0 OR redemption_count < max_redemptions) RETURNING {_COLUMNS}"
)
_BY_CODE = Q(f"SELECT {_COLUMNS} FROM coupon WHERE org_id = :org_id AND code = :code")
_REDEMPTIONS = Q(
    "SELECT coupon_id, redemption_id, bill_number, till_id, redeemed_at FROM coupon_redemption"
    " WHERE org_id = :org_id AND coupon_id IN (:ids*) ORDER BY redemption_id"
)
REDEMPTION = Table(
    "coupon_redemption",
    (
        ("org_id", "bigint"),
        ("redemption_id", "bigint"),
        ("coupon_id", "bigint"),
        ("customer_id", "bigint"),
        ("bill_number", "text"),
        ("till_id", "bigint"),
        ("request_id", "text"),
        ("redeemed_at", "timestamptz"),
    ),
)

# The status filters of Get Customer Coupons (Basic) (003:L3719): Active and Unexpired mean
# valid till now or later, Redeemed means redeemed at least once.
_ACTIVE = "valid_till >= :now"
_EXPIRED = "valid_till < :now"
_REDEEMED = "redemption_count > 0"
_UNREDEEMED = "redemption_count = 0"
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "Active": (_ACTIVE,),
    "Redeemed": (_REDEEMED,),
    "Unexpired": (_ACTIVE,),
    "Unredeemed": (_UNREDEEMED,),
    "Active_Redeemed": (_ACTIVE, _REDEEMED),
    "Active_Unredeemed": (_ACTIVE, _UNREDEEMED),
    "Expired_Redeemed": (_EXPIRED, _REDEEMED),
    "Expired_Unredeemed": (_EXPIRED, _UNREDEEMED),
}


def _where(status: str | None) -> str:
    parts = ("org_id = :org_id", "customer_id = :customer_id", *STATUS_FILTERS.get(status or "", ()))
    return " AND ".join(parts)


_PAGE: dict[str | None, Q] = {
    s: Q(
        f"SELECT {_COLUMNS} FROM coupon WHERE {_where(s)}"
        " ORDER BY issued_at DESC, coupon_id DESC LIMIT :limit OFFSET :offset"
    )
    for s in (None, *STATUS_FILTERS)
}
_COUNT: dict[str | None, Q] = {
    s: Q(f"SELECT COUNT(*) FROM coupon WHERE {_where(s)}") for s in (None, *STATUS_FILTERS)
}


@dataclass(frozen=True, slots=True)
class CouponRow:
    coupon_id: int
    code: str
    series_id: int
    customer_id: int
    description: str
    discount_type: str
    discount_value: Decimal
    discount_upto: Decimal
    max_redemptions: int
    redemption_count: int
    valid_till: datetime
    issued_for: str
    transaction_number: str
    issued_by_till_id: int
    issued_at: datetime

    @classmethod
    def of(cls, r: Row) -> CouponRow:
        return cls(
            int(r[0]),
            r[1],
            int(r[2]),
            int(r[3]),
            r[4],
            r[5],
            Decimal(r[6]),
            Decimal(r[7]),
            int(r[8]),
            int(r[9]),
            r[10],
            r[11],
            r[12],
            int(r[13]),
            r[14],
        )


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    coupon_id: int
    redemption_id: int
    bill_number: str
    till_id: int
    redeemed_at: datetime


class CouponRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def claim(self, org_id: int, coupon: dict[str, Any]) -> bool:
        """Insert a coupon unless its code is taken in the org; whether it was inserted."""
        return await self.tx.val(_INSERT, org_id=org_id, **coupon) is not None

    async def redeem(self, org_id: int, code: str, customer_id: int, now: datetime) -> CouponRow | None:
        """Count one redemption of the customer's coupon if it is unexpired and not used up;
        the coupon as it is now, or None (nothing changed)."""
        row = await self.tx.one(_REDEEM, org_id=org_id, code=code, customer_id=customer_id, now=now)
        return None if row is None else CouponRow.of(row)

    async def by_code(self, org_id: int, code: str) -> CouponRow | None:
        row = await self.tx.one(_BY_CODE, org_id=org_id, code=code)
        return None if row is None else CouponRow.of(row)

    async def add_redemption(self, org_id: int, redemption: dict[str, Any]) -> None:
        await self.tx.insert(REDEMPTION, [{"org_id": org_id, **redemption}])

    async def page(
        self, org_id: int, customer_id: int, status: str | None, now: datetime, limit: int, offset: int
    ) -> tuple[list[CouponRow], int]:
        """One page of the customer's coupons, newest first, and how many match in all."""
        params: dict[str, Any] = {"org_id": org_id, "customer_id": customer_id}
        if status is not None:
            params["now"] = now
        rows = await self.tx.all(_PAGE[status], limit=limit, offset=offset, **params)
        coupons = [CouponRow.of(r) for r in rows]
        if offset == 0 and len(coupons) < limit:
            return coupons, len(coupons)
        total = int(await self.tx.val(_COUNT[status], **params) or 0)
        return coupons, total

    async def redemptions(self, org_id: int, coupon_ids: list[int]) -> dict[int, list[RedemptionRow]]:
        """The redemptions of the coupons that have any, oldest first."""
        out: dict[int, list[RedemptionRow]] = {}
        if not coupon_ids:
            return out
        for r in await self.tx.all(_REDEMPTIONS, org_id=org_id, ids=coupon_ids):
            out.setdefault(int(r[0]), []).append(RedemptionRow(int(r[0]), int(r[1]), r[2], int(r[3]), r[4]))
        return out
