"""Loyalty program enrollments stated at registration or update (the engine comes later)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert

from patron.codes import message
from patron.customers.commands import EnrollmentInput
from patron.customers.repository import CustomerRepository
from patron.db.models import LoyaltyEnrollment
from patron.db.uow import UnitOfWork
from patron.errors import InvalidInput


def check_enrollments(enrollments: Sequence[EnrollmentInput]) -> None:
    seen: set[int] = set()
    for e in enrollments:
        if e.program_id in seen:
            raise InvalidInput(400, message(400, detail=f"Program {e.program_id} is enrolled twice."))
        seen.add(e.program_id)
        if e.loyalty_points < 0 or (e.tier_number is not None and e.tier_number < 1):
            raise InvalidInput(400, message(400, detail="loyaltyPoints must be >= 0 and tierNumber >= 1."))


async def enroll(
    uow: UnitOfWork,
    org_id: int,
    customer_id: int,
    enrollments: Sequence[EnrollmentInput],
    now: datetime,
    *,
    new_customer: bool = False,
) -> list[int]:
    """Enroll in the programs the customer is not in yet; an existing enrollment keeps its
    values (003:L445). Returns the program ids enrolled."""
    if not enrollments:
        return []
    held: set[int] = set()
    if not new_customer:
        held = {
            e.program_id for e in await CustomerRepository(uow.session).enrollments_of(org_id, customer_id)
        }
    fresh = [e for e in enrollments if e.program_id not in held]
    rows = [
        {
            "org_id": org_id,
            "customer_id": customer_id,
            "program_id": e.program_id,
            "tier_number": e.tier_number,
            "loyalty_points": e.loyalty_points,
            "tier_expires_at": e.tier_expiry_date,
            "points_expire_at": e.points_expiry_date,
            "enrolled_at": now,
        }
        for e in fresh
    ]
    if rows:
        await uow.session.execute(insert(LoyaltyEnrollment), rows)
    return [e.program_id for e in fresh]
