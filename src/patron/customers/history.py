"""The customer's change log: who changed what, when, where, before and after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from patron.context import RequestContext
from patron.customers.domain import FieldChange
from patron.db.uow import UnitOfWork


async def record_changes(
    uow: UnitOfWork,
    ctx: RequestContext,
    customer_id: int,
    kind: str,
    changes: Sequence[FieldChange],
    now: datetime,
) -> None:
    """Write the history rows of one change (who, when, where, before and after)."""
    if not changes:
        return
    await uow.customers.insert_changes(
        [
            {
                "org_id": ctx.org_id,
                "customer_id": customer_id,
                "kind": kind,
                "field_name": c.field_name,
                "field_type": c.field_type,
                "previous_value": c.previous_value,
                "current_value": c.current_value,
                "source": c.source,
                "account_id": c.account_id,
                "till_id": ctx.actor.till_id,
                "request_id": ctx.request_id,
                "surface": ctx.surface,
                "changed_at": now,
            }
            for c in changes
        ]
    )
