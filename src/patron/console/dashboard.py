"""The dashboard: the org's last 30 days drawn as charts."""

from __future__ import annotations

from fastapi import APIRouter

from patron.console.web import ROOT

router = APIRouter(prefix=ROOT, include_in_schema=False)
