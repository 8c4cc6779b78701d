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

from dataclasses import replace
from datetime import datetime, timedelta

from patron.context import Actor, RequestContext
from patron.customers.cards import series_names
from patron.customers.domain import FieldChange
from patron.customers.history import record_changes
from patron.db.engine import Database
from patron.db.uow import UnitOfWork
from patron.engagement.image_store import ImageStore
from patron.events.domain import CustomerUpdated, StatusChange
from patron.orgs.config import OrgConfig

SYSTEM = Actor(till_id=0, code="system", name="Patron", store_code="system", store_name="Patron")
# History fields whose values are not personal: kept for the loyalty ledger and audits.
KEPT_FIELDS = (
    "status",
    "loyaltyType",
    "loyaltyProgramEnrollment",
    "mergedInto",
    "mergedCustomerId",
    "mergeId",
)


async def request_erasure(
    uow: UnitOfWork, org_id: int, customer_id: int, reason: str, now: datetime, grace_seconds: int
) -> None:
    await uow.erasures.request(org_id, customer_id, reason, now, now + timedelta(seconds=grace_seconds))


async def cancel_erasure(uow: UnitOfWork, org_id: int, customer_id: int) -> None:
    await uow.erasures.cancel(org_id, customer_id)


async def _due(uow: UnitOfWork, now: datetime, limit: int) -> list[tuple[int, int, str]]:
    return await uow.erasures.due(now, limit)


async def erase_due(
    db: Database, now: datetime, *, limit: int = 100, images: ImageStore | None = None
) -> int:
    """Erase every customer whose request is due; returns how many were erased.

    The due requests are read across orgs: a small queue table with no index but its key,
    scanned once per pass (like a job queue), so the pass costs one query however many
    orgs there are. The bytes of the customer's images leave the image store once the
    erasure has committed (a crash in between leaves files no row names: never served,
    and found by the sweep docs/engagement.md describes).
    """
    erased = 0
    for org_id, customer_id, reason in await db.read(_due, now, limit):
        gone: list[str] = []
        erased += await db.write(erase, org_id, customer_id, reason, now, gone)
        if images is not None:
            for key in gone:
                await images.delete(key)
    return erased


async def erase(
    uow: UnitOfWork, org_id: int, customer_id: int, reason: str, now: datetime, gone: list[str] | None = None
) -> int:
    """Erase one customer's personal data now; 0 if the request no longer applies. The
    storage keys of the customer's images are added to `gone` for the caller to delete
    from the image store after commit."""
    org = await uow.orgs.get(org_id)
    core = await uow.customers.core(org_id, customer_id, lock=True)
    await cancel_erasure(uow, org_id, customer_id)
    if org is None or core is None:
        return 0
    config = OrgConfig.model_validate(org.config)
    names = series_names(config)
    if core.status_label != config.pending_deletion_label:
        return 0
    if gone is not None:
        gone.extend(await uow.images.storage_keys(org_id, customer_id))
        # The files of the user's documents (ID scans, proofs of address) go the same way.
        from patron.users.documents import document_keys  # the user namespace builds on this

        gone.extend(await document_keys(uow, org_id, customer_id))
    # The customer's cards retire with their data: a card number is an identifier too.
    await uow.erasures.wipe(org_id, customer_id, now, list(KEPT_FIELDS))
    await _redact_events(uow, org_id, customer_id)
    previous = core.status_label
    core = replace(
        core,
        custom_fields={},
        extended_fields={},
        associated_with=None,
        status_label=config.deleted_label,
        updated_at=now,
        version=core.version + 1,
    )
    await uow.customers.update_customer(org_id, core)
    ctx = RequestContext(org_id, SYSTEM, "", config, "system")
    view = await uow.customers.view(org_id, customer_id, names)
    assert view is not None
    first = view.profiles[0] if view.profiles else None
    source, account = (first.source, first.account_id) if first else (core.created_from_source, "")
    change = FieldChange("status", "StandardField", previous, config.deleted_label, source, account)
    await record_changes(uow, ctx, customer_id, "STATUS", [change], now)
    uow.record(
        CustomerUpdated(
            view, SYSTEM, source, account, now, "", (), StatusChange(None, config.deleted_label, reason)
        )
    )
    return 1


async def _redact_events(uow: UnitOfWork, org_id: int, customer_id: int) -> None:
    """Replace the data of the customer's stored events with what survives erasure."""
    events = await uow.erasures.events_of(org_id, customer_id)
    for event_id, payload in events:
        redacted = dict(payload)
        attributes = dict(redacted.get("attributes", {}))
        attributes["data"] = {"customerIdentifiers": {"customerId": customer_id}, "erased": True}
        redacted["attributes"] = attributes
        await uow.erasures.set_payload(org_id, event_id, redacted)
    if events:
        await uow.erasures.forget_answers(org_id, [e[0] for e in events])
