"""A test send: the signed `webhookTest` event posted to one endpoint at once, outside the
queue, so an integrator (through the API) or an operator (in the console) sees whether the
receiver answers and checks signatures. Nothing is written: the answer is the outcome."""

from __future__ import annotations

from dataclasses import dataclass

from patron.db.base import utcnow
from patron.db.engine import Database
from patron.webhooks import service
from patron.webhooks.client import DeliveryClient
from patron.webhooks.delivery import Outcome, post, sign
from patron.webhooks.secrets import SecretBox


@dataclass(frozen=True, slots=True)
class TestSent:
    message_id: str
    outcome: Outcome


async def send_test_event(
    db: Database,
    box: SecretBox,
    org_id: int,
    endpoint_id: int,
    request_id: str,
    *,
    allow_private: bool,
    timeout_seconds: float,
) -> TestSent:
    """Sign and post the test event with the endpoint's current secrets (NotFound for an
    endpoint of no org's or another org's)."""
    target = await db.read(service.signing_target, box, org_id, endpoint_id)
    now = utcnow()
    message_id = service.test_message_id()
    payload = service.test_payload(org_id, message_id, now, request_id)
    client = DeliveryClient(allow_private=allow_private)
    try:
        outcome = await post(
            client,
            target.url,
            sign(message_id, payload, target.secrets, now),
            timeout_seconds=timeout_seconds,
        )
    finally:
        client.close()
    return TestSent(message_id, outcome)
