"""Webhooks: endpoints, their delivery log and dead letters, replay, secret rotation, test
sends, and the live tail of the org's events."""

from __future__ import annotations

from fastapi import APIRouter

from patron.console.web import ROOT

router = APIRouter(prefix=ROOT, include_in_schema=False)
