"""Enroll User In 2FA and Activate User 2FA (seed 004, users/two_factor.py)."""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routing import LeanRoute

router = APIRouter(tags=["users"], route_class=LeanRoute)
