"""Verify User Email Link/Code, Verify User Phone Code, Confirm User Email/SMS Code (seed 004) and the
email link's redemption route of ours (users/verification.py).
"""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routing import LeanRoute

router = APIRouter(tags=["users"], route_class=LeanRoute)
