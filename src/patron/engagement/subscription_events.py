"""customerSubscription (000:L850-1033): a customer's subscription status changed on one
channel and priority of one source account.

One event per changed entry (a request that changes three statuses raises three events,
one that changes none raises none); `data.subscriptions` holds that one entry with the
sample's keys (seed-003-rules.md 4.5): sourceAccountId, previousStatus, currentStatus,
channel, sourceName, priority, ouId and ouCode. The org unit is the request's `orgUnitId`
when it gives one, else the calling till's id; ouCode is the calling till's code. Like the
other events the envelope is the enriched one (events/payloads.py); refId is
`{orgId}_{customerId}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from patron.context import Actor
from patron.customers.views import CustomerView
from patron.events.payloads import customer_identifiers, wrap


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    source: str
    account_id: str
    channel: str
    priority: str
    previous_status: str
    current_status: str
    org_unit_id: int


@dataclass(frozen=True, slots=True)
class CustomerSubscriptionChanged:
    name: ClassVar[str] = "customerSubscription"
    customer: CustomerView
    actor: Actor
    occurred_at: datetime
    request_id: str
    change: SubscriptionChange


def subscription_data(event: CustomerSubscriptionChanged) -> dict[str, Any]:
    c = event.change
    return {
        "customerIdentifiers": customer_identifiers(event.customer),
        "subscriptions": [
            {
                "sourceAccountId": c.account_id,
                "previousStatus": c.previous_status,
                "currentStatus": c.current_status,
                "channel": c.channel,
                "sourceName": c.source,
                "priority": c.priority,
                "ouId": c.org_unit_id,
                "ouCode": event.actor.code,
            }
        ],
    }


def subscription_envelope(
    event: CustomerSubscriptionChanged, *, event_uuid: str, created_at: datetime
) -> dict[str, Any]:
    """A subscription change, ready to sign and send."""
    view = event.customer
    return wrap(
        name=event.name,
        org_id=view.org_id,
        ref_id=f"{view.org_id}_{view.customer_id}",
        request_id=event.request_id,
        data=subscription_data(event),
        event_uuid=event_uuid,
        created_at=created_at,
    )
