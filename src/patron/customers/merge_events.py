"""customersMergeReverted (ours, docs/merges.md): a merge was undone.

Raised once per undo (POST /v2/customers/merge/{mergeId}/undo), beside the customerUpdated
of both customers (or, for a registration merge, customerUpdated on the survivor and
customerAdded on the customer split off). The envelope is the enriched one of every event
(events/payloads.py), refId `{orgId}_{survivorId}`; `data` names the merge and both
customers with their identifiers as they are after the undo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from patron.context import Actor
from patron.customers.views import CustomerView
from patron.events.payloads import customer_identifiers, entered_by, epoch_ms, wrap


@dataclass(frozen=True, slots=True)
class CustomersMergeReverted:
    name: ClassVar[str] = "customersMergeReverted"
    customer: CustomerView  # the survivor, as the undo left it
    restored: CustomerView  # the victim given back, or the customer split off
    merge_id: int
    kind: str
    split: bool  # a registration merge: `restored` is a new customer
    actor: Actor
    occurred_at: datetime
    request_id: str


def reverted_data(event: CustomersMergeReverted) -> dict[str, Any]:
    survivor, restored = event.customer, event.restored
    return {
        "mergeId": event.merge_id,
        "mergeKind": event.kind,
        "survivorId": survivor.customer_id,
        "victimId": None if event.split else restored.customer_id,
        "splitCustomerId": restored.customer_id if event.split else None,
        "enteredAt": epoch_ms(event.occurred_at),
        "enteredBy": entered_by(event.actor, survivor.org_id),
        "triggeringActivity": {"name": "MERGE_UNDO", "requestId": event.request_id},
        "survivorIdentifiers": customer_identifiers(survivor),
        "restoredIdentifiers": customer_identifiers(restored),
    }


def reverted_envelope(
    event: CustomersMergeReverted, *, event_uuid: str, created_at: datetime
) -> dict[str, Any]:
    """An undone merge, ready to sign and send."""
    view = event.customer
    return wrap(
        name=event.name,
        org_id=view.org_id,
        ref_id=f"{view.org_id}_{view.customer_id}",
        request_id=event.request_id,
        data=reverted_data(event),
        event_uuid=event_uuid,
        created_at=created_at,
    )
