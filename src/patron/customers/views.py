"""Read models of a customer: what the API renders and what events report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class TillRef:
    till_id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class IdentifierView:
    type: str
    value: str
    source: str
    account_id: str


@dataclass(frozen=True, slots=True)
class ProfileView:
    source: str
    account_id: str
    first_name: str
    last_name: str
    comm_channels: list[dict[str, Any]]
    identifiers: list[IdentifierView]
    created_at: datetime
    updated_at: datetime
    created_by: TillRef
    updated_by: TillRef


@dataclass(frozen=True, slots=True)
class CardView:
    card_id: int
    card_number: str
    series_id: int
    series_code: str
    series_name: str | None
    status_label: str
    card_external_id: str | None
    extended_fields: dict[str, Any]
    custom_fields: dict[str, Any]
    issued_at: datetime | None
    created_at: datetime
    status_changed_at: datetime
    created_by_till_id: int
    customer_id: int | None


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    """A customer's membership of one loyalty program and its summary (loyalty/)."""

    program_id: int
    tier_number: int | None
    loyalty_points: int
    tier_expires_at: datetime | None
    points_expire_at: datetime | None
    enrolled_at: datetime
    lifetime_points: int = 0
    redeemed: int = 0
    expired: int = 0
    returned: int = 0
    adjusted: int = 0
    cumulative_purchases: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CustomerView:
    org_id: int
    customer_id: int
    loyalty_type: str
    status_label: str
    extended_fields: dict[str, Any]
    custom_fields: dict[str, Any]
    associated_with: str | None
    created_from_source: str
    fraud_status: str
    lifetime_purchases: Decimal
    registered_at: datetime
    created_at: datetime
    updated_at: datetime
    created_by: TillRef
    updated_by: TillRef
    profiles: list[ProfileView] = field(default_factory=list)
    cards: list[CardView] = field(default_factory=list)
    enrollments: list[EnrollmentView] = field(default_factory=list)
    # Set when this record was merged into another (it is then a merge victim).
    merged_into_id: int | None = None
    version: int = 1

    def identifiers(self) -> list[IdentifierView]:
        return [i for p in self.profiles for i in p.identifiers]

    def profile(self, source: str, account_id: str) -> ProfileView | None:
        return next((p for p in self.profiles if p.source == source and p.account_id == account_id), None)


@dataclass(frozen=True, slots=True)
class Holder:
    """A stored identifier: who holds this (type, value) in which source account."""

    source: str
    account_id: str
    id_type: str
    value: str
    customer_id: int


def sort_profiles(profiles: list[ProfileView]) -> list[ProfileView]:
    """The record's order of profiles (oldest first), the same whether read or built."""
    return sorted(profiles, key=lambda p: (p.created_at, p.source, p.account_id))


@dataclass(frozen=True, slots=True)
class SearchHit:
    customer_id: int
    matched: list[IdentifierView]
    profiles: list[tuple[str, str, str, str]]  # source, account_id, first_name, last_name


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    hits: list[SearchHit]
    # False when `total` is a lower bound: the prefix matches more than a search reads.
    exact: bool = True


@dataclass(frozen=True, slots=True)
class CustomerListing:
    """One customer as a list of customers shows them (the console's search results)."""

    customer_id: int
    names: list[str]
    mobiles: list[str]
    emails: list[str]
    sources: list[str]  # SOURCE, or SOURCE/account for a multi-account source
    status: str


@dataclass(frozen=True, slots=True)
class SearchListing:
    total: int
    rows: list[CustomerListing]
    exact: bool = True
