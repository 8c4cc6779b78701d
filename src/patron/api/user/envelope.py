"""The user namespace's envelope and configuration headers (docs/users.md, "The surface").

Every answer opens with `result{code, message, friendly_message}`, then the operation
family's keys in the seed's order (`null` for keys the operation does not touch), then the
trailer `function_code`, `time_zone`, `time_zone_name`, `response_time`. Failures use the
same envelope with a code of users/codes.py.
"""

from __future__ import annotations

import re
import time
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import Request

from patron.api.http import JSONResponse
from patron.context import RequestContext
from patron.users import codes

# The user-shaped answer (004:L2969-3439): 38 keys in this order.
USER_KEYS: tuple[str, ...] = (
    "result",
    "info",
    "personal_info",
    "address",
    "addresses",
    "email",
    "phone",
    "security",
    "preferences",
    "identification",
    "bank_account",
    "credit_card",
    "notification",
    "documents",
    "currency",
    "account",
    "group",
    "terms_conditions",
    "device_info",
    "commerce",
    "external_auth",
    "validation_data",
    "relationship",
    "geo_coordinates",
    "custom_field",
    "history",
    "access_rule",
    "ticket",
    "general_requirements",
    "organization",
    "notes",
    "last_activity",
    "authentication",
    "validate",
    "function_code",
    "time_zone",
    "time_zone_name",
    "response_time",
)
# Delete User (004:L29813-29911) drops these four.
DELETE_KEYS: tuple[str, ...] = tuple(
    k for k in USER_KEYS if k not in ("general_requirements", "organization", "time_zone", "time_zone_name")
)
TRAILER = ("function_code", "time_zone", "time_zone_name", "response_time")
DATE_TIME = "%Y-%m-%dT%H:%M:%S"

_OFFSET = re.compile(r"^UTC\s*(?:([+-])\s*([0-9]{1,2})(?::?([0-9]{2}))?)?$", re.IGNORECASE)
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")
_SOURCE_ID = re.compile(r"^[\x21-\x7e]{1,100}$")


@dataclass(frozen=True, slots=True)
class ClientZone:
    """The response's time zone: a fixed offset, and the IANA name when one is known."""

    offset: timedelta
    name: str | None

    @property
    def label(self) -> str:
        return offset_label(self.offset)


@dataclass(frozen=True, slots=True)
class UserHeaders:
    """The five configuration headers of seed 004 (every section, e.g. 004:L2772-2777)."""

    lang: str | None
    source_id: str | None
    zone: ClientZone
    org_zone: zoneinfo.ZoneInfo
    show_sensitive_data: bool
    show_custom_field: bool
    started: float

    def server_date(self, at: datetime) -> str:
        """The server's clock: the org's time zone (docs/users.md)."""
        return at.astimezone(self.org_zone).strftime(DATE_TIME)

    def client_date(self, at: datetime) -> str:
        return at.astimezone(timezone(self.zone.offset)).strftime(DATE_TIME)

    def stamps(self, at: datetime) -> dict[str, str]:
        """server_date, date_utc and client_date of one moment."""
        return {
            "server_date": self.server_date(at),
            "date_utc": at.astimezone(UTC).strftime(DATE_TIME),
            "client_date": self.client_date(at),
        }


def offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"UTC {sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _flag(raw: str | None, name: str, default: bool) -> bool:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise codes.invalid(f"{name} must be 0 or 1.")


def parse_zone(raw: str | None, org_zone: zoneinfo.ZoneInfo, now: datetime) -> ClientZone:
    """`time_zone`: "UTC ±hh:mm" read leniently ("UTC+2", "utc -0530", "UTC"), or an IANA
    name; absent, the org's zone. Offsets run from UTC -12:00 to UTC +14:00."""
    if raw is None or raw.strip() == "":
        offset = now.astimezone(org_zone).utcoffset() or timedelta(0)
        return ClientZone(offset, org_zone.key)
    text = raw.strip()
    match = _OFFSET.match(text)
    if match is None:
        if "/" in text and len(text) <= 64:
            try:
                named = zoneinfo.ZoneInfo(text)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                named = None
            if named is not None:
                return ClientZone(now.astimezone(named).utcoffset() or timedelta(0), named.key)
        raise codes.invalid(
            f"time_zone '{text[:40]}' is not 'UTC ±hh:mm' (e.g. 'UTC +02:00') or an IANA zone."
        )
    sign, hours, minutes = match.groups()
    if sign is None:
        return ClientZone(timedelta(0), "UTC")
    h, m = int(hours), int(minutes or 0)
    if m > 59:
        raise codes.invalid(f"time_zone '{text}': minutes must be 00 to 59.")
    offset = timedelta(hours=h, minutes=m) * (-1 if sign == "-" else 1)
    if not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        raise codes.invalid(f"time_zone '{text}' is outside UTC -12:00 to UTC +14:00.")
    return ClientZone(offset, _zone_name(offset, org_zone, now))


def _zone_name(offset: timedelta, org_zone: zoneinfo.ZoneInfo, now: datetime) -> str | None:
    """The org's zone when it has this offset now; a whole-hour offset's Etc/GMT zone; else
    none (an offset names no single place)."""
    if now.astimezone(org_zone).utcoffset() == offset:
        return org_zone.key
    if offset == timedelta(0):
        return "UTC"
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    if rest == 0 and -12 <= hours <= 12:
        return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"  # POSIX signs are inverted
    return None


def _parse(headers: Any, org_zone_name: str, started: float) -> UserHeaders:
    lang = headers.get("lang")
    if lang is not None:
        lang = lang.strip() or None
        if lang is not None and not _LANG.match(lang):
            raise codes.invalid("lang must be a language code such as 'en' or 'en-ca'.")
    source_id = headers.get("source_id")
    if source_id is not None:
        source_id = source_id.strip() or None
        if source_id is not None and not _SOURCE_ID.match(source_id):
            raise codes.invalid("source_id must be 1 to 100 visible ASCII characters.")
    org_zone = zoneinfo.ZoneInfo(org_zone_name)
    zone = parse_zone(headers.get("time_zone"), org_zone, datetime.now(UTC))
    return UserHeaders(
        lang,
        source_id,
        zone,
        org_zone,
        _flag(headers.get("show_sensitive_data"), "show_sensitive_data", False),
        _flag(headers.get("show_custom_field"), "show_custom_field", True),
        started,
    )


def headers_for(request: Request, ctx: RequestContext) -> UserHeaders:
    """The configuration headers read against the caller's org (its time zone)."""
    return _parse(request.headers, ctx.config.timezone, time.perf_counter())


SUCCESS_RESULT = {
    "code": codes.SUCCESS.code,
    "message": codes.SUCCESS.message,
    "friendly_message": codes.SUCCESS.message,
}


def envelope(h: UserHeaders, parts: dict[str, Any], keys: tuple[str, ...] = USER_KEYS) -> dict[str, Any]:
    """The answer: the family's keys in order, `parts` filled in, the trailer last."""
    body: dict[str, Any] = dict.fromkeys(keys)
    body["result"] = dict(SUCCESS_RESULT)
    body.update(parts)
    body["function_code"] = 0
    if "time_zone" in body:
        body["time_zone"] = h.zone.label
        body["time_zone_name"] = h.zone.name
    body["response_time"] = max(0, round((time.perf_counter() - h.started) * 1000))
    return body


def respond(h: UserHeaders, parts: dict[str, Any], keys: tuple[str, ...] = USER_KEYS) -> JSONResponse:
    return JSONResponse(envelope(h, parts, keys))


def error_envelope(status: int, code: int, message: str) -> dict[str, Any]:
    """A failure in the user envelope: every key of a user answer null, the result our
    code's, the trailer in UTC (the headers may be what failed)."""
    entry = codes.entry(status, code)
    body: dict[str, Any] = dict.fromkeys(USER_KEYS)
    body["result"] = {"code": entry.code, "message": message, "friendly_message": entry.message}
    body["function_code"] = 0
    body["time_zone"] = "UTC +00:00"
    body["time_zone_name"] = "UTC"
    body["response_time"] = 0
    return body
