"""The five group events (000:L1039-2264) and their payloads in the enriched envelope.

Which call raises which (docs/loyalty.md, "Groups"): Associate Customer with
Customer/Hierarchy creates a group (groupCreated, once) and adds members (groupMemberAdded,
one per member); Update Association Details changes the group's own data or a member's
role (groupUpdated) or moves a member to another parent (groupMemberRemoved from the old
group, groupMemberAdded to the new one); a contribution to the pool raises
pointsContributionToGroup.

Each event is about one customer, the one the outbox orders its deliveries by: the primary
for groupCreated and groupUpdated, the member added, removed or contributing for the others.
The payload rules of the customer events hold (events/payloads.py: bare eventType, epoch ms,
full customerIdentifiers); for groups:

- refId is `{orgId}_{groupId}`: the group is what they are about;
- a member is `{firstName, lastName, role, customerIdentifiers}`, the names those of its
  customerIdentifiers, the role its role code in the group;
- data carries `enteredAt` and `enteredBy` (the till, its store and its login) except
  pointsContributionToGroup, whose actor is `triggeringActivity.enteredBy` (000:L2203-2235,
  without `user`, as its sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from patron.context import Actor
from patron.customers.views import CustomerView
from patron.events.payloads import customer_identifiers, entered_by, epoch_ms, wrap
from patron.orgs.config import LoyaltyProgram

CONTRIBUTION_ACTIVITY = "GROUP_CONTRIBUTION"
ENTITY_USER = "USER"


@dataclass(frozen=True, slots=True)
class Member:
    customer: CustomerView
    role: str


@dataclass(frozen=True, slots=True)
class GroupRef:
    """What every group event says of its group."""

    group_id: int
    name: str
    primary: Member


@dataclass(frozen=True, slots=True)
class GroupCreated:
    name: ClassVar[str] = "groupCreated"
    group: GroupRef
    actor: Actor
    occurred_at: datetime
    request_id: str

    @property
    def customer(self) -> CustomerView:
        return self.group.primary.customer


@dataclass(frozen=True, slots=True)
class GroupUpdated:
    name: ClassVar[str] = "groupUpdated"
    group: GroupRef
    actor: Actor
    occurred_at: datetime
    request_id: str

    @property
    def customer(self) -> CustomerView:
        return self.group.primary.customer


@dataclass(frozen=True, slots=True)
class GroupMemberAdded:
    name: ClassVar[str] = "groupMemberAdded"
    group: GroupRef
    member: Member
    actor: Actor
    occurred_at: datetime
    request_id: str

    @property
    def customer(self) -> CustomerView:
        return self.member.customer


@dataclass(frozen=True, slots=True)
class GroupMemberRemoved:
    name: ClassVar[str] = "groupMemberRemoved"
    group: GroupRef
    member: Member
    actor: Actor
    occurred_at: datetime
    request_id: str

    @property
    def customer(self) -> CustomerView:
        return self.member.customer


@dataclass(frozen=True, slots=True)
class PointsContributedToGroup:
    name: ClassVar[str] = "pointsContributionToGroup"
    group: GroupRef
    contributor: Member
    program: LoyaltyProgram
    program_is_default: bool  # the org's default program (marked, else the first listed)
    points: int
    group_program_id: int
    entry_id: int  # the contributor's ledger entry
    actor: Actor
    occurred_at: datetime
    request_id: str

    @property
    def customer(self) -> CustomerView:
        return self.contributor.customer


GroupEvent = GroupCreated | GroupUpdated | GroupMemberAdded | GroupMemberRemoved | PointsContributedToGroup


def member_json(member: Member) -> dict[str, Any]:
    ids = customer_identifiers(member.customer)
    return {
        "firstName": ids["firstName"],
        "lastName": ids["lastName"],
        "role": member.role,
        "customerIdentifiers": ids,
    }


def _key_values(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs]


def event_data(event: GroupEvent) -> dict[str, Any]:
    group = event.group
    data: dict[str, Any] = {
        "groupId": group.group_id,
        "groupName": group.name,
        "primaryMember": member_json(group.primary),
    }
    if isinstance(event, PointsContributedToGroup):
        program = event.program
        data["contributingMember"] = member_json(event.contributor)
        data["triggeringActivity"] = {
            "name": CONTRIBUTION_ACTIVITY,
            "identifiers": _key_values(
                [("groupId", str(group.group_id)), ("ledgerEntryId", str(event.entry_id))]
            ),
            "enteredBy": entered_by(event.actor),
            "entityInformation": {
                "entityType": ENTITY_USER,
                "entityId": event.contributor.customer.customer_id,
            },
            "additionalAttributes": _key_values([("groupProgramId", str(event.group_program_id))]),
        }
        data["loyaltyProgramDetails"] = {
            "id": program.program_id,
            "name": program.name,
            "isDefault": event.program_is_default,
            "pointsToCurrencyRatio": float(program.points_to_currency_ratio),
            "tiers": [{"tierNumber": t.number, "tierName": t.name} for t in program.tiers],
        }
        data["loyaltyProgramId"] = program.program_id
        data["pointsContributedToGroup"] = event.points
        return data
    if isinstance(event, GroupMemberAdded):
        data["memberAdded"] = member_json(event.member)
    elif isinstance(event, GroupMemberRemoved):
        data["memberRemoved"] = member_json(event.member)
    data["enteredAt"] = epoch_ms(event.occurred_at)
    data["enteredBy"] = entered_by(event.actor, event.customer.org_id)
    return data


def group_envelope(event: GroupEvent, *, event_uuid: str, created_at: datetime) -> dict[str, Any]:
    """A group event, ready to sign and send."""
    org_id = event.customer.org_id
    return wrap(
        name=event.name,
        org_id=org_id,
        ref_id=f"{org_id}_{event.group.group_id}",
        request_id=event.request_id,
        data=event_data(event),
        event_uuid=event_uuid,
        created_at=created_at,
    )
