"""Request bodies of the group operations (v2 style, camelCase): the bulk arrays of seed 003
(003:L610-831, L1577-1672) and Patron's own contribution body."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, RootModel

from patron.api.v2.wire import ProfileBody, RegisterBody, _Wire
from patron.customers.commands import INT64_MAX, SourceAccount
from patron.loyalty import group_commands as c

# The wire bounds the array sizes at the batch limit's order; the limit itself (1060) counts
# every customer of a request, items and their children together (loyalty/groups.py).
_MAX_ITEMS = 1000

_EXAMPLE_PROFILE: dict[str, Any] = {
    "firstName": "Tom",
    "lastName": "Sawyer",
    "source": "INSTORE",
    "identifiers": [{"type": "mobile", "value": "919845012345"}],
}


class FleetCompanyBody(_Wire):
    external_id: str | None = Field(default=None, max_length=100)


class AssociatedCustomerBody(RegisterBody):
    """A parentCustomer or one of childCustomers: a registration body whose loyaltyInfo,
    when absent, is the item's."""


class AssociationBody(_Wire):
    hierarchy_code: str = Field(min_length=1, max_length=100)
    role_code: str | None = Field(default=None, max_length=100)
    child_customers: list[AssociatedCustomerBody] = Field(default_factory=list, max_length=_MAX_ITEMS)
    parent_customer: AssociatedCustomerBody | None = None
    fleet_company: FleetCompanyBody | None = None
    child_role_code: str | None = Field(default=None, max_length=100)
    # Patron's own: the group's name when the association creates it.
    group_name: str | None = Field(default=None, max_length=200)

    def command(self) -> c.Association:
        return c.Association(
            hierarchy_code=self.hierarchy_code,
            role_code=self.role_code,
            child_role_code=self.child_role_code,
            children=tuple(child.command() for child in self.child_customers),
            parent=self.parent_customer.command() if self.parent_customer else None,
            fleet_company_id=self.fleet_company.external_id if self.fleet_company else None,
            group_name=self.group_name,
        )


class BulkCustomerBody(RegisterBody):
    referral_code: str | None = Field(default=None, max_length=100)
    association_details: AssociationBody | None = None

    def bulk_command(self) -> c.BulkCustomer:
        return c.BulkCustomer(
            customer=self.command(),
            referral_code=self.referral_code or "",
            association=self.association_details.command() if self.association_details else None,
        )


class BulkBody(RootModel[list[BulkCustomerBody]]):
    """Associate Customer with Customer/Hierarchy: an array of customers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                [
                    {
                        "loyaltyInfo": {"loyaltyType": "loyalty"},
                        "profiles": [_EXAMPLE_PROFILE],
                        "associationDetails": {
                            "hierarchyCode": "FAMILY",
                            "roleCode": "FA",
                            "childRoleCode": "FC",
                            "childCustomers": [
                                {
                                    "profiles": [
                                        {
                                            **_EXAMPLE_PROFILE,
                                            "firstName": "Becky",
                                            "identifiers": [{"type": "mobile", "value": "919845012346"}],
                                        }
                                    ]
                                }
                            ],
                        },
                    }
                ]
            ]
        }
    )

    root: list[BulkCustomerBody] = Field(max_length=_MAX_ITEMS)

    def command(self) -> c.AssociateCustomers:
        return c.AssociateCustomers(tuple(item.bulk_command() for item in self.root))


class ParentBody(_Wire):
    profiles: list[ProfileBody] = Field(default_factory=list, max_length=20)
    extended_fields: dict[str, Any] = Field(default_factory=dict)


class AssociationChangeBody(_Wire):
    hierarchy_code: str = Field(min_length=1, max_length=100)
    role_code: str | None = Field(default=None, max_length=100)
    parent_customer: ParentBody | None = None
    fleet_company: FleetCompanyBody | None = None
    group_name: str | None = Field(default=None, max_length=200)


class ChangeBody(_Wire):
    profiles: list[ProfileBody] = Field(default_factory=list, max_length=20)
    referral_code: str | None = Field(default=None, max_length=100)
    association_details: AssociationChangeBody

    def command(self) -> c.AssociationChange:
        details = self.association_details
        parent = details.parent_customer
        return c.AssociationChange(
            profiles=tuple(p.command() for p in self.profiles),
            hierarchy_code=details.hierarchy_code,
            role_code=details.role_code,
            parent=tuple(p.command() for p in parent.profiles) if parent is not None else None,
            group_name=details.group_name,
            fleet_company_id=details.fleet_company.external_id if details.fleet_company else None,
            referral_code=self.referral_code or "",
        )


class ChangesBody(RootModel[list[ChangeBody]]):
    """Update Association Details: an array of customers with their new association."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                [
                    {
                        "profiles": [{**_EXAMPLE_PROFILE, "firstName": "Becky"}],
                        "associationDetails": {
                            "hierarchyCode": "FAMILY",
                            "roleCode": "FC",
                            "parentCustomer": {"profiles": [_EXAMPLE_PROFILE]},
                        },
                    }
                ]
            ]
        }
    )

    root: list[ChangeBody] = Field(max_length=_MAX_ITEMS)

    def command(self, where: SourceAccount) -> c.UpdateAssociations:
        return c.UpdateAssociations(where, tuple(item.command() for item in self.root))


class ContributionBody(_Wire):
    model_config = ConfigDict(json_schema_extra={"examples": [{"customerId": 1001, "points": 50}]})

    customer_id: int = Field(ge=1, le=INT64_MAX)
    points: int = Field(ge=1, le=INT64_MAX)
    program_id: int | None = Field(default=None, ge=1, le=INT64_MAX)

    def command(self, group_id: int) -> c.ContributePoints:
        return c.ContributePoints(group_id, self.customer_id, self.points, self.program_id)
