"""What callers ask of the loyalty engine. The v2 adapters build these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from patron.customers.commands import CustomerRef, SourceAccount

REGULAR = "REGULAR"
RETURN = "RETURN"


@dataclass(frozen=True, slots=True)
class CustomerAddress:
    """A customer named in a request body: by id, or by an identifier in a source."""

    ref: CustomerRef
    where: SourceAccount = field(default_factory=lambda: SourceAccount("ALL"))


@dataclass(frozen=True, slots=True)
class RecordTransaction:
    type: str
    bill_number: str
    bill_amount: Decimal
    # None: a purchase recorded without a customer (REGULAR only; engagement/retro.py).
    customer: CustomerAddress | None
    bill_date: datetime | None = None
    program_id: int | None = None
    line_items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RedeemPoints:
    customer: CustomerAddress
    points: int
    program_id: int | None = None
    bill_number: str | None = None
    reason: str | None = None
