"""The partner program events (seed 002) and their payloads, in the enriched envelope.

    partnerProgramLinked                    a customer is linked to a partner program
    partnerProgramUpdated                   the link's tier or dates change (updateType)
    partnerProgramDelinked                  the link is removed
    supplementaryMembershipExpiryReminder   a SUPPLEMENTARY membership expires soon (scheduled)

`data` carries the keys of the seed's samples (seed-003-rules.md 4.8): customerIdentifiers,
entityInformation (not on the reminder), loyaltyProgramId, partnerProgramId,
partnerProgramName, partnerProgramType (not on the reminder), updateType (updated only),
customerPartnerProgramDetails (linked and updated: the membership's values that are set,
as the enriched sample 002:L5-38 shows only the expiry date of a program without tiers)
and scheduledExpiryDate (the reminder). refId is `{orgId}_{customerId}_{partnerProgramId}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from patron.context import Actor
from patron.customers.views import CustomerView
from patron.events.payloads import customer_identifiers, wrap
from patron.loyalty.partners_repository import Membership
from patron.orgs.config import PartnerProgram

UPGRADE = "UPGRADE"
DOWNGRADE = "DOWNGRADE"
RENEWAL = "RENEWAL"
UPDATE = "UPDATE"


@dataclass(frozen=True, slots=True)
class PartnerProgramLinked:
    name: ClassVar[str] = "partnerProgramLinked"
    customer: CustomerView
    actor: Actor
    occurred_at: datetime
    request_id: str
    program: PartnerProgram
    membership: Membership


@dataclass(frozen=True, slots=True)
class PartnerProgramUpdated:
    name: ClassVar[str] = "partnerProgramUpdated"
    customer: CustomerView
    actor: Actor
    occurred_at: datetime
    request_id: str
    program: PartnerProgram
    membership: Membership
    update_type: str


@dataclass(frozen=True, slots=True)
class PartnerProgramDelinked:
    name: ClassVar[str] = "partnerProgramDelinked"
    customer: CustomerView
    actor: Actor
    occurred_at: datetime
    request_id: str
    program: PartnerProgram


@dataclass(frozen=True, slots=True)
class SupplementaryMembershipExpiryReminder:
    """Raised by the scheduler (actor SYSTEM, request id "")."""

    name: ClassVar[str] = "supplementaryMembershipExpiryReminder"
    customer: CustomerView
    actor: Actor
    occurred_at: datetime
    request_id: str
    program: PartnerProgram
    expiry_date: str


PartnerEvent = PartnerProgramLinked | PartnerProgramUpdated | PartnerProgramDelinked


def partner_details(m: Membership) -> dict[str, Any]:
    """customerPartnerProgramDetails: the values the membership has (002:L211-216 order)."""
    out: dict[str, Any] = {}
    if m.partner_tier_expiry_date is not None:
        out["partnerTierExpiryDate"] = m.partner_tier_expiry_date
    if m.partner_tier_number is not None:
        out["partnerTierNumber"] = m.partner_tier_number
    if m.membership_number is not None:
        out["membershipNumber"] = m.membership_number
    if m.membership_expiry_date is not None:
        out["membershipExpiryDate"] = m.membership_expiry_date
    return out


def partner_data(event: PartnerEvent) -> dict[str, Any]:
    view, program = event.customer, event.program
    data: dict[str, Any] = {
        "customerIdentifiers": customer_identifiers(view),
        "entityInformation": {"entityType": "USER", "entityId": view.customer_id},
        "loyaltyProgramId": program.loyalty_program_id,
        "partnerProgramId": program.partner_program_id,
        "partnerProgramName": program.name,
        "partnerProgramType": program.type,
    }
    if isinstance(event, PartnerProgramUpdated):
        data["updateType"] = event.update_type
    if isinstance(event, PartnerProgramLinked | PartnerProgramUpdated):
        data["customerPartnerProgramDetails"] = partner_details(event.membership)
    return data


def reminder_data(event: SupplementaryMembershipExpiryReminder) -> dict[str, Any]:
    program = event.program
    return {
        "customerIdentifiers": customer_identifiers(event.customer),
        "loyaltyProgramId": program.loyalty_program_id,
        "partnerProgramId": program.partner_program_id,
        "partnerProgramName": program.name,
        "scheduledExpiryDate": event.expiry_date,
    }


def _ref_id(view: CustomerView, program: PartnerProgram) -> str:
    return f"{view.org_id}_{view.customer_id}_{program.partner_program_id}"


def partner_envelope(event: PartnerEvent, *, event_uuid: str, created_at: datetime) -> dict[str, Any]:
    """A link, update or delink event, ready to sign and send."""
    return wrap(
        name=event.name,
        org_id=event.customer.org_id,
        ref_id=_ref_id(event.customer, event.program),
        request_id=event.request_id,
        data=partner_data(event),
        event_uuid=event_uuid,
        created_at=created_at,
    )


def reminder_envelope(
    event: SupplementaryMembershipExpiryReminder, *, event_uuid: str, created_at: datetime
) -> dict[str, Any]:
    """A membership expiry reminder, ready to sign and send."""
    return wrap(
        name=event.name,
        org_id=event.customer.org_id,
        ref_id=_ref_id(event.customer, event.program),
        request_id=event.request_id,
        data=reminder_data(event),
        event_uuid=event_uuid,
        created_at=created_at,
    )
