"""Loyalty program enrollments stated at registration or update (the engine comes later)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from patron.customers.commands import EnrollmentInput
from patron.customers.views import EnrollmentView
from patron.errors import InvalidInput


def check_enrollments(enrollments: Sequence[EnrollmentInput]) -> None:
    seen: set[int] = set()
    for e in enrollments:
        if e.program_id in seen:
            raise InvalidInput(400, detail=f"Program {e.program_id} is enrolled twice.")
        seen.add(e.program_id)
        if e.loyalty_points < 0 or (e.tier_number is not None and e.tier_number < 1):
            raise InvalidInput(400, detail="loyaltyPoints must be >= 0 and tierNumber >= 1.")


def new_enrollments(
    enrollments: Sequence[EnrollmentInput], held: set[int], now: datetime
) -> list[EnrollmentView]:
    """Enrollments in the programs the customer is not in yet; an existing enrollment keeps
    its values (003:L445)."""
    return [
        EnrollmentView(
            e.program_id, e.tier_number, e.loyalty_points, e.tier_expiry_date, e.points_expiry_date, now
        )
        for e in enrollments
        if e.program_id not in held
    ]
