"""The state of a customer's PII erasure request, as the operator console shows it: filed
(the customer moved to the pending-deletion label), with its reason and when the erasure pass
takes it (customers/erasure.py). No row: no erasure is waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patron.context import RequestContext
from patron.db.sql import Q
from patron.db.tx import Tx
from patron.db.uow import UnitOfWork

_REQUEST = Q(
    "SELECT reason, requested_at, due_at FROM erasure_request"
    " WHERE org_id = :org_id AND customer_id = :customer_id"
)


@dataclass(frozen=True, slots=True)
class ErasureState:
    reason: str
    requested_at: datetime
    due_at: datetime


class ErasureStateRepository:
    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def of(self, org_id: int, customer_id: int) -> ErasureState | None:
        row = await self.tx.one(_REQUEST, org_id=org_id, customer_id=customer_id)
        if row is None:
            return None
        return ErasureState(str(row[0]), row[1], row[2])


async def erasure_state(uow: UnitOfWork, ctx: RequestContext, customer_id: int) -> ErasureState | None:
    """The customer's waiting erasure request, if any."""
    return await ErasureStateRepository(uow.tx).of(ctx.org_id, customer_id)
