"""Loyalty test helpers: the issue's loyalty configuration on top of the common one, an
org that uses it, and short calls for the loyalty operations."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.conftest import CONFIG, Harness, OrgClient, make_org
from tests.support import mobile, register_body

# The configuration of the loyalty issue (docs/loyalty.md shows the same).
LOYALTY: dict[str, Any] = {
    "loyaltyPrograms": [
        {
            "programId": 1016,
            "name": "Club",
            "description": "Main program",
            "default": True,
            "pointsToCurrencyRatio": 0.1,
            "earnRate": 0.1,
            "pointsExpiryDays": 365,
            "registrationPoints": 100,
            "tiers": [
                {"number": 1, "name": "Silver", "threshold": 0},
                {"number": 2, "name": "Gold", "threshold": 1000, "validityDays": 365},
            ],
        },
        {
            "programId": 2020,
            "name": "Second",
            "earnRate": 1,
            "tiers": [{"number": 1, "name": "Basic"}],
        },
    ],
    "groupPrograms": [
        {
            "groupProgramId": 7,
            "title": "Family pool",
            "description": "Points pooled by a family",
            "programIds": [1016],
            "pointsToCurrencyRatio": 0.1,
            "hierarchyCodes": ["FAMILY"],
        }
    ],
    "partnerPrograms": [
        {
            "partnerProgramId": 45,
            "name": "Drivers",
            "type": "SUPPLEMENTARY",
            "tierBased": False,
            "loyaltyProgramId": 1016,
            "expiryReminderDays": 7,
        },
        {
            "partnerProgramId": 25,
            "name": "Airline",
            "type": "EXTERNAL",
            "tierBased": True,
            "loyaltyProgramId": 1016,
            "tiers": [{"number": 1, "name": "Blue"}, {"number": 2, "name": "Gold"}],
        },
    ],
    "couponOnRegistration": None,
}


def loyalty_config(**overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(CONFIG), **copy.deepcopy(LOYALTY), **overrides}


async def loyalty_org(harness: Harness, **overrides: Any) -> OrgClient:
    return await make_org(harness, loyalty_config(**overrides))


async def new_member(client: OrgClient, **top: Any) -> tuple[int, str]:
    """Register a loyalty customer; (id, mobile)."""
    number = mobile()
    r = await client.post("/v2/customers", json=register_body(number, **top))
    assert r.status_code == 200, r.text
    return r.json()["createdId"], number


async def purchase(
    client: OrgClient, customer_id: int, amount: float, bill: str, **extra: Any
) -> httpx.Response:
    body = {"type": "REGULAR", "billNumber": bill, "billAmount": amount, "customer": {"id": customer_id}}
    return await client.post("/v2/transactions", json={**body, **extra})


async def summary(client: OrgClient, customer_id: int, program_id: int = 1016) -> dict[str, Any]:
    """The customer's summary in a program, as embed=mlp shows it."""
    r = await client.get(f"/v2/customers/{customer_id}", params={"source": "ALL", "embed": "mlp"})
    assert r.status_code == 200, r.text
    return next(p for p in r.json()["loyaltyProgramDetails"] if p["programId"] == program_id)
