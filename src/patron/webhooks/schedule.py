"""When to try again: an exponential schedule with jitter, and Retry-After honoured."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER = 86400.0
# The jitter's own generator: the process-wide `random` state belongs to whoever else uses it
# (a library, a test's property generator), and a worker drawing from it would disturb them.
_JITTER = random.Random()


def next_delay(
    schedule: Sequence[float], failed_attempts: int, rng: random.Random | None = None
) -> float | None:
    """Seconds before the next attempt after `failed_attempts` failures; None: give up.

    Each delay is jittered by up to ±20% so a burst of failures does not retry in lockstep.
    """
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    base = schedule[failed_attempts - 1]
    return base * (0.8 + 0.4 * (rng or _JITTER).random())


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date), capped at one day."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), MAX_RETRY_AFTER))


def after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
