"""One HTTP attempt: sign the payload (Standard Webhooks) and POST it; classify the answer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import httptools
import orjson
from standardwebhooks.webhooks import Webhook

from patron.webhooks.client import DeliveryClient
from patron.webhooks.urls import UnsafeAddress

USER_AGENT = "Patron-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Signed:
    body: bytes
    headers: dict[str, str]


def sign(message_id: str, payload: object, secrets: list[str], now: datetime) -> Signed:
    """Body and headers of a delivery; one `v1,` signature per active secret."""
    body = orjson.dumps(payload)
    text = body.decode()
    signatures = " ".join(Webhook(s).sign(message_id, now, text) for s in secrets)
    return Signed(
        body,
        {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures,
        },
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None
    retry_after: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(client: DeliveryClient, url: str, signed: Signed, *, timeout_seconds: float) -> Outcome:
    """One attempt; every failure becomes an Outcome (the schedule decides what follows)."""
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        async with asyncio.timeout(timeout_seconds):
            answer = await client.post(url, signed.body, signed.headers)
    except UnsafeAddress as exc:
        return Outcome(None, elapsed(), None, f"refused: {exc}", None)
    except TimeoutError:
        return Outcome(None, elapsed(), None, f"timed out after {timeout_seconds:g} s", None)
    except (OSError, asyncio.IncompleteReadError, httptools.HttpParserError) as exc:
        return Outcome(None, elapsed(), None, f"{type(exc).__name__}: {exc}"[:500], None)
    excerpt = answer.excerpt.decode("utf-8", "replace") if answer.excerpt else None
    return Outcome(answer.status, elapsed(), excerpt, None, answer.retry_after)
