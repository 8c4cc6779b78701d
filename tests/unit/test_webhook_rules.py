"""Webhook rules without a network: URL checks, the retry schedule, Retry-After, signing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from patron.errors import InvalidInput
from patron.webhooks.delivery import sign
from patron.webhooks.schedule import next_delay, retry_after_seconds
from patron.webhooks.secrets import SecretBox, new_signing_secret
from patron.webhooks.service import checked_url
from patron.webhooks.urls import UnsafeAddress, ensure_public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://10.1.2.3/",
        "http://192.168.0.7/",
        "http://[::1]/",
        "http://169.254.169.254/latest",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://app.localhost/",
        "http://100.100.100.200/latest/meta-data",  # carrier-grade NAT (a cloud's metadata)
        "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo around 10.0.0.1
    ],
)
async def test_private_and_loopback_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UnsafeAddress):
        await ensure_public(url, allow_private=False)
    await ensure_public(url, allow_private=True)
    with pytest.raises(InvalidInput, match="PATRON_WEBHOOK_ALLOW_PRIVATE"):
        await checked_url(url, allow_private=False)


async def test_public_literals_pass_and_unresolvable_names_may_be_added() -> None:
    await ensure_public("https://93.184.215.14/hook", allow_private=False)
    assert await checked_url("https://hooks.patron-no-such-host.invalid/x", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a\x00b",
        "http://exa\x00mple.com/",
        "http://example.com/\r\nX-Injected: yes",
        "http://example.com/a b",
        "http://example.com/\tx",
        "http://bücher.example/",
        "http://example.com/\u202eevil",
    ],
    ids=["nul-path", "nul-host", "crlf", "space", "tab", "unicode-host", "bidi"],
)
async def test_urls_with_controls_spaces_or_non_ascii_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="visible ASCII"):
        await checked_url(url, allow_private=True)


def test_the_schedule_backs_off_with_jitter_and_ends() -> None:
    schedule = [5.0, 30.0, 120.0]
    rng = random.Random(7)
    delays = [next_delay(schedule, n, rng) for n in (1, 2, 3)]
    assert all(d is not None for d in delays)
    assert 4.0 <= delays[0] <= 6.0 and 24.0 <= delays[1] <= 36.0 and 96.0 <= delays[2] <= 144.0  # type: ignore[operator]
    assert next_delay(schedule, 4, rng) is None


def test_the_default_schedule_spans_about_three_days() -> None:
    from patron.config import Settings

    total = sum(Settings(database_url="sqlite+aiosqlite://").webhook_retry_schedule)
    assert 2.5 * 86400 < total < 3.5 * 86400


def test_retry_after_takes_seconds_or_a_date_and_is_capped() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Mon, 23 Nov 2026 12:01:00 GMT", now) == 60
    assert retry_after_seconds("999999999", now) == 86400
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_signatures_verify_for_every_active_secret() -> None:
    old, new = new_signing_secret(), new_signing_secret()
    now = datetime.now(UTC)
    signed = sign("evt-1", {"a": 1}, [new, old], now)
    for secret in (old, new):
        assert Webhook(secret).verify(signed.body, signed.headers) == {"a": 1}
    assert signed.headers["webhook-id"] == "evt-1"


def test_sealed_secrets_open_only_with_their_key_and_endpoint() -> None:
    box = SecretBox(bytes(32))
    token = box.seal("whsec_abc", "webhook-endpoint:1:2")
    assert "whsec_abc" not in token
    assert box.open(token, "webhook-endpoint:1:2") == "whsec_abc"
    with pytest.raises(Exception):  # noqa: B017  (cryptography's InvalidTag)
        box.open(token, "webhook-endpoint:1:3")
    with pytest.raises(Exception):  # noqa: B017
        SecretBox(bytes([1]) * 32).open(token, "webhook-endpoint:1:2")


async def test_the_delivery_client_refuses_to_connect_where_the_check_refuses() -> None:
    from patron.webhooks.client import DeliveryClient

    client = DeliveryClient(allow_private=False)
    for url in ("http://127.0.0.1:9/x", "http://100.64.0.1/", "http://[2002:a00:1::]/", "http://localhost/"):
        with pytest.raises(UnsafeAddress):
            await client.post(url, b"{}", {})
