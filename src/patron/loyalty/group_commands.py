"""What callers ask of groups (hierarchies): associate, update associations, list a
parent's children, contribute points to a pool. The v2 adapters build these."""

from __future__ import annotations

from dataclasses import dataclass

from patron.customers.commands import ProfileInput, RegisterCustomer, SourceAccount


@dataclass(frozen=True, slots=True)
class Association:
    """`associationDetails` of an item of Associate Customer with Customer/Hierarchy: the
    item heads a group with `children`, or joins the group of `parent`."""

    hierarchy_code: str
    role_code: str | None = None
    child_role_code: str | None = None
    children: tuple[RegisterCustomer, ...] = ()
    parent: RegisterCustomer | None = None
    fleet_company_id: str | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class BulkCustomer:
    """One item of the array: a customer to register (or reuse), maybe associated."""

    customer: RegisterCustomer
    referral_code: str = ""
    association: Association | None = None


@dataclass(frozen=True, slots=True)
class AssociateCustomers:
    items: tuple[BulkCustomer, ...]


@dataclass(frozen=True, slots=True)
class AssociationChange:
    """One item of Update Association Details: the customer (named by the identifiers of its
    profiles), its hierarchy, and its new role or parent."""

    profiles: tuple[ProfileInput, ...]
    hierarchy_code: str
    role_code: str | None = None
    parent: tuple[ProfileInput, ...] | None = None
    group_name: str | None = None
    fleet_company_id: str | None = None
    referral_code: str = ""


@dataclass(frozen=True, slots=True)
class UpdateAssociations:
    where: SourceAccount
    items: tuple[AssociationChange, ...]


@dataclass(frozen=True, slots=True)
class ListChildren:
    """Get Customers (Group Loyalty): the members of the groups a parent heads."""

    where: SourceAccount
    entity_type: str
    identifier_name: str
    identifier_value: str
    hierarchy_code: str | None = None
    limit: int = 10
    offset: int = 0
    sort_by: str = "createdon"
    sort_order: str = "DESC"


@dataclass(frozen=True, slots=True)
class ContributePoints:
    group_id: int
    customer_id: int
    points: int
    program_id: int | None = None
