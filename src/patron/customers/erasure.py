"""Erasure of a customer's personal data (PII deletion).

Moving a customer to the org's "Pending Deletion" label files an erasure request; when it
falls due, the worker erases: identifiers, names, communication channels, custom and
extended fields, search terms, the values in the change history, and the customer's data
inside earlier events (stored and not yet delivered) and in the delivery log. The record
stays under its id (its cards are retired), with its loyalty enrollments and the "Deleted" label, and a
customerUpdated event says so (currentLabel "Deleted", no previousLabel, empty
updatedFields, as 000:L747-848 shows), carrying no erased value.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from patron.context import Actor, RequestContext
from patron.customers.common import load_view, record_changes
from patron.customers.domain import FieldChange
from patron.customers.repository import CustomerRepository
from patron.db.engine import Database
from patron.db.models import (
    Card,
    CustomerChange,
    CustomerIdentifier,
    CustomerProfile,
    ErasureRequest,
    Org,
    OutboxEvent,
    SearchTerm,
    WebhookAttempt,
)
from patron.db.uow import UnitOfWork, unit_of_work
from patron.events.domain import CustomerUpdated, StatusChange
from patron.orgs.config import OrgConfig

SYSTEM = Actor(till_id=0, code="system", name="Patron", store_code="system", store_name="Patron")
# History fields whose values are not personal: kept for the loyalty ledger and audits.
KEPT_FIELDS = ("status", "loyaltyType", "loyaltyProgramEnrollment", "mergedInto", "mergedCustomerId")


async def request_erasure(
    uow: UnitOfWork, org_id: int, customer_id: int, reason: str, now: datetime, grace_seconds: int
) -> None:
    await cancel_erasure(uow, org_id, customer_id)
    uow.session.add(
        ErasureRequest(
            org_id=org_id,
            customer_id=customer_id,
            reason=reason,
            requested_at=now,
            due_at=now + timedelta(seconds=grace_seconds),
        )
    )
    await uow.session.flush()


async def cancel_erasure(uow: UnitOfWork, org_id: int, customer_id: int) -> None:
    await uow.session.execute(
        delete(ErasureRequest).where(
            ErasureRequest.org_id == org_id, ErasureRequest.customer_id == customer_id
        )
    )


async def erase_due(db: Database, now: datetime, *, limit: int = 100) -> int:
    """Erase every customer whose request is due; returns how many were erased.

    The due requests are read across orgs: a small queue table with no index but its key,
    scanned once per pass (like a job queue), so the pass costs one query however many
    orgs there are.
    """
    async with unit_of_work(db, write=False) as uow:
        due = list(
            await uow.session.execute(
                select(ErasureRequest.org_id, ErasureRequest.customer_id, ErasureRequest.reason)
                .where(ErasureRequest.due_at <= now)
                .order_by(ErasureRequest.due_at)
                .limit(limit)
            )
        )
    erased = 0
    for org_id, customer_id, reason in due:
        async with unit_of_work(db, write=True) as uow:
            erased += await erase(uow, int(org_id), int(customer_id), str(reason), now)
    return erased


async def erase(uow: UnitOfWork, org_id: int, customer_id: int, reason: str, now: datetime) -> int:
    """Erase one customer's personal data now; 0 if the request no longer applies."""
    session = uow.session
    org = (await session.execute(select(Org).where(Org.org_id == org_id))).scalar_one_or_none()
    repo = CustomerRepository(session)
    customer = await repo.get(org_id, customer_id, for_update=True)
    await cancel_erasure(uow, org_id, customer_id)
    if org is None or customer is None:
        return 0
    config = OrgConfig.model_validate(org.config)
    if customer.status_label != config.pending_deletion_label:
        return 0
    # The customer's cards retire with their data: a card number is an identifier too.
    for model in (Card, CustomerIdentifier, SearchTerm):
        await session.execute(delete(model).where(model.org_id == org_id, model.customer_id == customer_id))
    await session.execute(
        update(CustomerProfile)
        .where(CustomerProfile.org_id == org_id, CustomerProfile.customer_id == customer_id)
        .values(first_name="", last_name="", comm_channels=[], updated_at=now)
    )
    await session.execute(
        update(CustomerChange)
        .where(
            CustomerChange.org_id == org_id,
            CustomerChange.customer_id == customer_id,
            CustomerChange.field_name.not_in(KEPT_FIELDS),
        )
        .values(previous_value=None, current_value=None)
    )
    await _redact_events(uow, org_id, customer_id)
    previous = customer.status_label
    customer.custom_fields = {}
    customer.extended_fields = {}
    customer.associated_with = None
    customer.status_label = config.deleted_label
    customer.updated_at = now
    customer.version += 1
    await session.flush()

    ctx = RequestContext(org_id, SYSTEM, "", config)
    profiles = await repo.profiles_of(org_id, customer_id)
    first = min(profiles, key=lambda p: p.created_at) if profiles else None
    source, account = (first.source, first.account_id) if first else (customer.created_from_source, "")
    change = FieldChange("status", "StandardField", previous, config.deleted_label, source, account)
    await record_changes(uow, ctx, customer_id, "STATUS", [change], now)
    view = await load_view(uow, ctx, customer_id)
    uow.record(
        CustomerUpdated(
            view, SYSTEM, source, account, now, "", (), StatusChange(None, config.deleted_label, reason)
        )
    )
    return 1


async def _redact_events(uow: UnitOfWork, org_id: int, customer_id: int) -> None:
    """Replace the data of the customer's stored events with what survives erasure."""
    session = uow.session
    rows = list(
        await session.execute(
            select(OutboxEvent.event_id, OutboxEvent.payload).where(
                OutboxEvent.org_id == org_id, OutboxEvent.customer_id == customer_id
            )
        )
    )
    for event_id, payload in rows:
        redacted = dict(payload)
        attributes = dict(redacted.get("attributes", {}))
        attributes["data"] = {"customerIdentifiers": {"customerId": customer_id}, "erased": True}
        redacted["attributes"] = attributes
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.org_id == org_id, OutboxEvent.event_id == event_id)
            .values(payload=redacted)
        )
    if rows:
        await session.execute(
            update(WebhookAttempt)
            .where(WebhookAttempt.org_id == org_id, WebhookAttempt.event_id.in_([r[0] for r in rows]))
            .values(response_excerpt=None)
        )
