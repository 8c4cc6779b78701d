"""Loyalty program enrollments stated at registration or update (the engine comes later)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from patron.customers.commands import INT32_MAX, INT64_MAX, EnrollmentInput
from patron.customers.views import EnrollmentView
from patron.errors import InvalidInput


def check_enrollments(enrollments: Sequence[EnrollmentInput]) -> None:
    seen: set[int] = set()
    for e in enrollments:
        if e.program_id in seen:
            raise InvalidInput(400, detail=f"Program {e.program_id} is enrolled twice.")
        seen.add(e.program_id)
        if not 1 <= e.program_id <= INT64_MAX:
            raise InvalidInput(400, detail=f"programId must be between 1 and {INT64_MAX}.")
        if not 0 <= e.loyalty_points <= INT32_MAX or (
            e.tier_number is not None and not 1 <= e.tier_number <= INT32_MAX
        ):
            raise InvalidInput(
                400, detail=f"loyaltyPoints must be 0 to {INT32_MAX} and tierNumber 1 to {INT32_MAX}."
            )


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
