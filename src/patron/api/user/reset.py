"""The five User Security Reset operations (seed 004) and the forget-password completion route of ours
(users/resets.py).
"""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routing import LeanRoute

router = APIRouter(tags=["users"], route_class=LeanRoute)
