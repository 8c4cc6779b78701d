"""(Being written: see the loyalty issue.)"""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routing import LeanRoute

router = APIRouter(prefix="/v2", tags=["loyalty"], route_class=LeanRoute)
