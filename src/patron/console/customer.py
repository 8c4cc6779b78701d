"""The customer's page: everything one customer's record holds, and the forms that change it."""

from __future__ import annotations

from fastapi import APIRouter

from patron.console.web import ROOT

router = APIRouter(prefix=ROOT, include_in_schema=False)
