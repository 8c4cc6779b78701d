"""The six Validate operations of seed 004 (users/validation.py)."""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routing import LeanRoute

router = APIRouter(tags=["users"], route_class=LeanRoute)
