"""The ten events whose triggers arrive in later work, built now in the enriched envelope.

Each dataclass says what happened in domain terms; `later_envelope()` renders it through
`payloads.wrap()` with the data keys of the seeds' samples (000:L850-2265, 002), the union of
each event's enriched or flat sample and its raw sample's `data`. The rules of
docs/decisions.md "Events" hold here too (bare eventType, epoch ms, full customerIdentifiers,
`toabao`). Choices made for these events:

- refId: `{orgId}_{customerId}` for customer-scoped events (customerSubscription, the three
  partner events, the reminder), as customer events do; the partner samples' random suffix
  (`151197_C3zPfmvsZL `, 002:L34) is not followed.
- refId: `{orgId}_{groupId}` for the five group events, pointsContributionToGroup included:
  the group is what they are about, and a group event has no one customer.
- apiRequestId: the request id of the call that caused the event; the scheduled reminder
  carries the id of the scheduler run that found it (a UUID, as in 002:L643).
- customerSubscription: one event per subscription call, one `subscriptions` item per changed
  (channel, priority); an event with no change is refused. No data-level enteredAt/enteredBy
  (the sample has none).
- Group data enteredBy: the sample's `user{username}` is added; the username is the till's
  login, `<till code>@<org id>` (see "Security"). triggeringActivity.enteredBy in
  pointsContributionToGroup has no `user`, as in its sample.
- Group member firstName/lastName: the customer's names as in its customerIdentifiers.
- pointsContributionToGroup: `loyaltyProgramId` is the id of `loyaltyProgramDetails` (the
  program whose points moved); points and pointsToCurrencyRatio are always JSON floats.
- Partner events: dates are "YYYY-MM-DD"; `entityInformation` is `{entityType: "USER",
  entityId: customerId}` (002:L21-24) on linked/updated/delinked; `customerPartnerProgramDetails`
  (linked, updated) always carries its four keys, null when unknown (the enriched sample
  omits unknown ones; the raw one lists all four); delinked carries no details and the
  reminder neither details, partnerProgramType nor entityInformation, as their samples.
- Raw-only keys (eventLogId, loyaltyEventId, traceAttributes) are not sent: the enriched
  envelope has no place for them (D-12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from patron.context import Actor
from patron.customers.views import CustomerView
from patron.events.payloads import customer_identifiers, entered_by, epoch_ms, wrap

ENTITY_USER = "USER"


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    channel: str
    priority: str
    previous_status: str
    current_status: str
    source_name: str
    source_account_id: str
    ou_id: int
    ou_code: str


@dataclass(frozen=True, slots=True)
class CustomerSubscriptionChanged:
    name: ClassVar[str] = "customerSubscription"
    customer: CustomerView
    changes: tuple[SubscriptionChange, ...]
    occurred_at: datetime
    request_id: str

    def __post_init__(self) -> None:
        if not self.changes:
            raise ValueError("customerSubscription needs at least one changed subscription")


@dataclass(frozen=True, slots=True)
class GroupMember:
    customer: CustomerView
    role: str


@dataclass(frozen=True, slots=True)
class GroupCreated:
    name: ClassVar[str] = "groupCreated"
    org_id: int
    group_id: int
    group_name: str
    primary: GroupMember
    actor: Actor
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class GroupUpdated:
    name: ClassVar[str] = "groupUpdated"
    org_id: int
    group_id: int
    group_name: str
    primary: GroupMember
    actor: Actor
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class GroupMemberAdded:
    name: ClassVar[str] = "groupMemberAdded"
    org_id: int
    group_id: int
    group_name: str
    primary: GroupMember
    member: GroupMember
    actor: Actor
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class GroupMemberRemoved:
    name: ClassVar[str] = "groupMemberRemoved"
    org_id: int
    group_id: int
    group_name: str
    primary: GroupMember
    member: GroupMember
    actor: Actor
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class TriggeringActivity:
    """What moved the points (a transaction, a manual adjustment…), by whom."""

    activity: str
    actor: Actor
    entity_type: str
    entity_id: int
    identifiers: tuple[tuple[str, str], ...] = ()
    additional_attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Tier:
    number: int
    tier_name: str


@dataclass(frozen=True, slots=True)
class LoyaltyProgram:
    program_id: int
    program_name: str
    is_default: bool
    points_to_currency_ratio: float
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True, slots=True)
class PointsContributedToGroup:
    name: ClassVar[str] = "pointsContributionToGroup"
    org_id: int
    group_id: int
    group_name: str
    primary: GroupMember
    contributor: GroupMember
    activity: TriggeringActivity
    program: LoyaltyProgram
    points: float
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class PartnerProgramLinked:
    name: ClassVar[str] = "partnerProgramLinked"
    customer: CustomerView
    loyalty_program_id: int
    partner_program_id: int
    partner_program_name: str
    partner_program_type: str
    membership_number: str | None
    membership_expiry_date: date | None
    tier_number: int | None
    tier_expiry_date: date | None
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class PartnerProgramUpdated:
    name: ClassVar[str] = "partnerProgramUpdated"
    customer: CustomerView
    loyalty_program_id: int
    partner_program_id: int
    partner_program_name: str
    partner_program_type: str
    update_type: str
    membership_number: str | None
    membership_expiry_date: date | None
    tier_number: int | None
    tier_expiry_date: date | None
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class PartnerProgramDelinked:
    name: ClassVar[str] = "partnerProgramDelinked"
    customer: CustomerView
    loyalty_program_id: int
    partner_program_id: int
    partner_program_name: str
    partner_program_type: str
    occurred_at: datetime
    request_id: str


@dataclass(frozen=True, slots=True)
class SupplementaryMembershipExpiryReminder:
    name: ClassVar[str] = "supplementaryMembershipExpiryReminder"
    customer: CustomerView
    loyalty_program_id: int
    partner_program_id: int
    partner_program_name: str
    scheduled_expiry_date: date
    occurred_at: datetime
    request_id: str  # the scheduler run's id: no API request causes a reminder


GroupEvent = GroupCreated | GroupUpdated | GroupMemberAdded | GroupMemberRemoved | PointsContributedToGroup
PartnerEvent = PartnerProgramLinked | PartnerProgramUpdated | PartnerProgramDelinked
CustomerScopedEvent = CustomerSubscriptionChanged | PartnerEvent | SupplementaryMembershipExpiryReminder
LaterEvent = GroupEvent | CustomerScopedEvent
GROUP_EVENTS = (GroupCreated, GroupUpdated, GroupMemberAdded, GroupMemberRemoved, PointsContributedToGroup)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _key_values(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs]


def _member(member: GroupMember) -> dict[str, Any]:
    ids = customer_identifiers(member.customer)
    return {
        "firstName": ids["firstName"],
        "lastName": ids["lastName"],
        "role": member.role,
        "customerIdentifiers": ids,
    }


def _group_entered_by(actor: Actor, org_id: int) -> dict[str, Any]:
    return entered_by(actor, org_id)


def _group_data(event: GroupEvent) -> dict[str, Any]:
    data: dict[str, Any] = {
        "groupId": event.group_id,
        "groupName": event.group_name,
        "primaryMember": _member(event.primary),
    }
    if isinstance(event, PointsContributedToGroup):
        activity, program = event.activity, event.program
        data["contributingMember"] = _member(event.contributor)
        data["triggeringActivity"] = {
            "name": activity.activity,
            "identifiers": _key_values(activity.identifiers),
            "enteredBy": entered_by(activity.actor),
            "entityInformation": {"entityType": activity.entity_type, "entityId": activity.entity_id},
            "additionalAttributes": _key_values(activity.additional_attributes),
        }
        data["loyaltyProgramDetails"] = {
            "id": program.program_id,
            "name": program.program_name,
            "isDefault": program.is_default,
            "pointsToCurrencyRatio": float(program.points_to_currency_ratio),
            "tiers": [{"tierNumber": t.number, "tierName": t.tier_name} for t in program.tiers],
        }
        data["loyaltyProgramId"] = program.program_id
        data["pointsContributedToGroup"] = float(event.points)
        return data
    if isinstance(event, GroupMemberAdded):
        data["memberAdded"] = _member(event.member)
    elif isinstance(event, GroupMemberRemoved):
        data["memberRemoved"] = _member(event.member)
    data["enteredAt"] = epoch_ms(event.occurred_at)
    data["enteredBy"] = _group_entered_by(event.actor, event.org_id)
    return data


def _customer_data(event: CustomerScopedEvent) -> dict[str, Any]:
    view = event.customer
    data: dict[str, Any] = {"customerIdentifiers": customer_identifiers(view)}
    if isinstance(event, CustomerSubscriptionChanged):
        data["subscriptions"] = [
            {
                "sourceAccountId": c.source_account_id,
                "previousStatus": c.previous_status,
                "currentStatus": c.current_status,
                "channel": c.channel,
                "sourceName": c.source_name,
                "priority": c.priority,
                "ouId": c.ou_id,
                "ouCode": c.ou_code,
            }
            for c in event.changes
        ]
        return data
    if not isinstance(event, SupplementaryMembershipExpiryReminder):
        data["entityInformation"] = {"entityType": ENTITY_USER, "entityId": view.customer_id}
    data["loyaltyProgramId"] = event.loyalty_program_id
    data["partnerProgramId"] = event.partner_program_id
    data["partnerProgramName"] = event.partner_program_name
    if isinstance(event, SupplementaryMembershipExpiryReminder):
        data["scheduledExpiryDate"] = event.scheduled_expiry_date.isoformat()
        return data
    data["partnerProgramType"] = event.partner_program_type
    if isinstance(event, PartnerProgramUpdated):
        data["updateType"] = event.update_type
    if isinstance(event, PartnerProgramLinked | PartnerProgramUpdated):
        data["customerPartnerProgramDetails"] = {
            "partnerTierExpiryDate": _day(event.tier_expiry_date),
            "partnerTierNumber": event.tier_number,
            "membershipNumber": event.membership_number,
            "membershipExpiryDate": _day(event.membership_expiry_date),
        }
    return data


def scope(event: LaterEvent) -> tuple[int, str]:
    """The event's org and refId (see the module docstring for the refId rules)."""
    if isinstance(event, GROUP_EVENTS):
        return event.org_id, f"{event.org_id}_{event.group_id}"
    org_id = event.customer.org_id
    return org_id, f"{org_id}_{event.customer.customer_id}"


def event_data(event: LaterEvent) -> dict[str, Any]:
    if isinstance(event, GROUP_EVENTS):
        return _group_data(event)
    return _customer_data(event)


def later_envelope(event: LaterEvent, *, event_uuid: str, created_at: datetime) -> dict[str, Any]:
    """One of the ten later events in the enriched envelope, ready to sign and send."""
    org_id, ref_id = scope(event)
    return wrap(
        name=event.name,
        org_id=org_id,
        ref_id=ref_id,
        request_id=event.request_id,
        data=event_data(event),
        event_uuid=event_uuid,
        created_at=created_at,
    )
