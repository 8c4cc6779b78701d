"""Configuration: the org configuration as a form-backed JSON editor, programs and tiers as tables."""

from __future__ import annotations

from fastapi import APIRouter

from patron.console.web import ROOT

router = APIRouter(prefix=ROOT, include_in_schema=False)
