"""Every event Patron raises, by name: the one list the outbox and the webhook filters read.

An event exists when it is registered here with its builder, the function that turns the
domain event into the envelope a webhook receives, and the trigger that raises it. The
outbox builds every payload through this registry, so recording an event that is not
registered fails (a programming error, `UnregisteredEvent`), and a webhook endpoint may
subscribe only to registered names (webhooks/service.py refuses any other with a 400).

Every event the seeds name is registered here; a new one is registered by the change that
wires its trigger, with its seed samples as contract fixtures in tests/fixtures/events/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from patron.customers.merge_events import CustomersMergeReverted, reverted_envelope
from patron.engagement.subscription_events import CustomerSubscriptionChanged, subscription_envelope
from patron.events.domain import CustomerAdded, CustomerUpdated, DomainEvent
from patron.events.payloads import envelope
from patron.loyalty.group_events import (
    GroupCreated,
    GroupMemberAdded,
    GroupMemberRemoved,
    GroupUpdated,
    PointsContributedToGroup,
    group_envelope,
)
from patron.loyalty.partner_events import (
    PartnerProgramDelinked,
    PartnerProgramLinked,
    PartnerProgramUpdated,
    SupplementaryMembershipExpiryReminder,
    partner_envelope,
    reminder_envelope,
)


class Builder(Protocol):
    def __call__(self, event: Any, /, *, event_uuid: str, created_at: datetime) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    event_class: type[Any]
    build: Builder
    trigger: str


class UnregisteredEvent(LookupError):
    """An event was recorded under a name the registry does not know: a bug, not an input."""


def _registry(*specs: EventSpec) -> Mapping[str, EventSpec]:
    by_name: dict[str, EventSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise ValueError(f"event {spec.name} is registered twice")
        if spec.event_class.name != spec.name:
            raise ValueError(f"{spec.event_class.__name__} is named {spec.event_class.name}, not {spec.name}")
        by_name[spec.name] = spec
    return MappingProxyType(by_name)


REGISTRY: Mapping[str, EventSpec] = _registry(
    EventSpec(
        "customerAdded",
        CustomerAdded,
        envelope,
        "a customer is registered, through any API surface",
    ),
    EventSpec(
        "customerUpdated",
        CustomerUpdated,
        envelope,
        "a customer's details, identifiers, cards or status change (merges and the PII erasure too)",
    ),
    EventSpec(
        "groupCreated",
        GroupCreated,
        group_envelope,
        "POST /v2/customers/bulk (Associate Customer with Customer/Hierarchy) or PUT /v2/customers/bulk"
        " names a parent that heads no group of the hierarchy yet",
    ),
    EventSpec(
        "groupUpdated",
        GroupUpdated,
        group_envelope,
        "PUT /v2/customers/bulk (Update Association Details) changes a group's name or a role in it",
    ),
    EventSpec(
        "groupMemberAdded",
        GroupMemberAdded,
        group_envelope,
        "POST /v2/customers/bulk adds a child to a group; PUT /v2/customers/bulk moves one into it",
    ),
    EventSpec(
        "groupMemberRemoved",
        GroupMemberRemoved,
        group_envelope,
        "PUT /v2/customers/bulk moves a member out of its group to another parent",
    ),
    EventSpec(
        "pointsContributionToGroup",
        PointsContributedToGroup,
        group_envelope,
        "POST /v2/groups/{groupId}/contributions moves a member's points into the group's pool",
    ),
    EventSpec(
        "partnerProgramLinked",
        PartnerProgramLinked,
        partner_envelope,
        "POST /v2/customers/{customerId}/partnerPrograms links a customer to a partner program",
    ),
    EventSpec(
        "partnerProgramUpdated",
        PartnerProgramUpdated,
        partner_envelope,
        "PUT /v2/customers/{customerId}/partnerPrograms/{partnerProgramId} changes a link's tier or dates",
    ),
    EventSpec(
        "partnerProgramDelinked",
        PartnerProgramDelinked,
        partner_envelope,
        "DELETE /v2/customers/{customerId}/partnerPrograms/{partnerProgramId} removes a link",
    ),
    EventSpec(
        "supplementaryMembershipExpiryReminder",
        SupplementaryMembershipExpiryReminder,
        reminder_envelope,
        "the scheduler: a SUPPLEMENTARY membership expires within its program's expiryReminderDays",
    ),
    EventSpec(
        "customerSubscription",
        CustomerSubscriptionChanged,
        subscription_envelope,
        "POST /v2/customers/{customerId}/subscriptions (Update Subscription Details) changes a status;"
        " one event per changed channel, priority and source account",
    ),
    EventSpec(
        "customersMergeReverted",
        CustomersMergeReverted,
        reverted_envelope,
        "POST /v2/customers/merge/{mergeId}/undo (ours) undoes a merge: both customers' ids, the"
        " merge's id (beside customerUpdated on both, or customerAdded for a registration merge's split)",
    ),
)
EVENT_NAMES: tuple[str, ...] = tuple(REGISTRY)


def spec_of(event: DomainEvent) -> EventSpec:
    """The registered spec of a recorded event; an unknown name or a class that is not the
    one registered under its name raises `UnregisteredEvent`."""
    spec = REGISTRY.get(event.name)
    if spec is None or type(event) is not spec.event_class:
        raise UnregisteredEvent(
            f"event {event.name!r} ({type(event).__name__}) is not registered in patron.events.registry"
        )
    return spec


def unknown_names(names: list[str]) -> list[str]:
    """The names among `names` that no registered event has."""
    return [n for n in names if n not in REGISTRY]
