"""What the group routes answer, as models the OpenAPI document is built from (see
api/v2/schemas.py): the bulk arrays of seed 003 (003:L839-1491, L1678-1873, L1959-2108)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, RootModel

from patron.api.v2.schemas import ErrorItem, Out, Profile, WarningItem


class BulkLoyaltyInfo(Out):
    loyalty_type: str


class FleetCompany(Out):
    external_id: str | None


class AssociatedCustomer(Out):
    """A parent or child named inside associationDetails."""

    id: int
    profiles: list[Profile]
    extended_fields: dict[str, Any]


class AssociationDetails(Out):
    hierarchy_code: str
    # The hierarchy's configuration: its group program's id (Patron has no other
    # hierarchy entity).
    hierarchy_id: int | None
    group_id: int
    role_code: str
    child_customers: list[AssociatedCustomer] = Field(default_factory=list)
    parent_customer: AssociatedCustomer | None = None
    fleet_company: FleetCompany | None = None
    child_role_code: str | None = None
    parent_role_code: str | None = None
    skip_level_allowed: bool
    # The customer was registered by this request (not found already registered).
    new: bool
    child_customer: bool


class BulkEntity(Out):
    """A customer the request registered or found (`id` null and `errors` set when its item
    failed)."""

    id: int | None
    profiles: list[Profile] = Field(default_factory=list)
    loyalty_info: BulkLoyaltyInfo | None = None
    segments: dict[str, Any] = Field(default_factory=dict)
    referral_code: str | None = None
    association_details: AssociationDetails | None = None
    extended_fields: dict[str, Any] = Field(default_factory=dict)
    side_effects: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[WarningItem]
    errors: list[ErrorItem]


class BulkItem(Out):
    entity: BulkEntity
    child_entities: list[BulkEntity]
    child_count: int
    child_failure_count: int
    child_success_count: int


class BulkAnswer(RootModel[list[BulkItem]]):
    """Associate Customer with Customer/Hierarchy: one answer per item, in order."""


class ChangedCustomer(Out):
    id: int | None
    profiles: list[Profile] = Field(default_factory=list)
    loyalty_info: BulkLoyaltyInfo | None = None
    segments: dict[str, Any] = Field(default_factory=dict)
    referral_code: str | None = None
    association_details: AssociationDetails | None = None
    extended_fields: dict[str, Any] = Field(default_factory=dict)
    warnings: list[WarningItem]
    errors: list[ErrorItem]


class ChangesAnswer(RootModel[list[ChangedCustomer]]):
    """Update Association Details: one answer per item, in order."""


class ChildCustomer(Out):
    id: int
    profiles: list[Profile]
    loyalty_info: BulkLoyaltyInfo
    association_details: AssociationDetails
    extended_fields: dict[str, Any]


class ChildrenEntity(Out):
    customers: list[ChildCustomer]
    count: int
    errors: list[ErrorItem]
    warnings: list[WarningItem]


class ChildrenAnswer(Out):
    """Get Customers (Group Loyalty)."""

    entity: ChildrenEntity
    warnings: list[WarningItem]
    errors: list[ErrorItem]
    success: bool
