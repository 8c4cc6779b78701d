"""One HTTP attempt: sign the payload (Standard Webhooks) and POST it; classify the answer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from patron.webhooks.urls import UnsafeAddress, ensure_public

EXCERPT = 1024
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


async def post(
    client: httpx.AsyncClient, url: str, signed: Signed, *, allow_private: bool, timeout_seconds: float
) -> Outcome:
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        await ensure_public(url, allow_private=allow_private)
    except UnsafeAddress as exc:
        return Outcome(None, elapsed(), None, f"refused: {exc}", None)
    try:
        async with client.stream(
            "POST", url, content=signed.body, headers=signed.headers, timeout=timeout_seconds
        ) as response:
            head = b""
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= EXCERPT:
                    break  # the rest of a long answer is not read
            status, retry_after = response.status_code, response.headers.get("retry-after")
    except httpx.TimeoutException:
        return Outcome(None, elapsed(), None, f"timed out after {timeout_seconds:g} s", None)
    except httpx.HTTPError as exc:
        return Outcome(None, elapsed(), None, f"{type(exc).__name__}: {exc}"[:500], None)
    excerpt = head[:EXCERPT].decode("utf-8", "replace") if head else None
    return Outcome(status, elapsed(), excerpt, None, retry_after)
