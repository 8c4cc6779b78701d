"""Add/Update/Get/Delete Security Access (seed 004, users/access_rules.py). Included before users.py's
router, so /user/security/rule is not taken by /user/security/{user_id}.
"""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routing import LeanRoute

router = APIRouter(tags=["users"], route_class=LeanRoute)
