"""What callers ask of the customer record. Both API surfaces build these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class IdentifierInput:
    type: str
    value: Any
    series_id: int | None = None
    series_code: str | None = None
    status_label: str | None = None
    card_external_id: str | None = None
    extended_fields: dict[str, Any] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommChannelInput:
    type: str
    value: Any
    primary: bool = False
    verified: bool = False
    subscribed: bool | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProfileInput:
    source: str | None
    account_id: str | None
    first_name: str | None = None
    last_name: str | None = None
    identifiers: tuple[IdentifierInput, ...] = ()
    comm_channels: tuple[CommChannelInput, ...] | None = None
    fields: dict[str, Any] | None = None


# The integer columns an enrollment is stored in (loyalty_enrollment: program_id BIGINT,
# tier_number and loyalty_points INTEGER). The wire models declare these bounds; the
# service checks them again for every other adapter (customers/enrollments.py).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class EnrollmentInput:
    program_id: int
    tier_number: int | None = None
    loyalty_points: int = 0
    tier_expiry_date: datetime | None = None
    points_expiry_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class RegisterCustomer:
    loyalty_type: str
    profiles: tuple[ProfileInput, ...]
    extended_fields: dict[str, Any] = field(default_factory=dict)
    associated_with: str | None = None
    create_date: datetime | None = None
    enrollments: tuple[EnrollmentInput, ...] = ()
    # The referrer's referral code (engagement/referrals.py); empty or None: none.
    referral_code: str | None = None


@dataclass(frozen=True, slots=True)
class SourceAccount:
    """Where a request acts: a source and, for multi-account sources, an account."""

    source: str
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class IdentifierRef:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """A customer addressed by id, or by an identifier in a source account."""

    customer_id: int | None = None
    identifier: IdentifierRef | None = None


@dataclass(frozen=True, slots=True)
class UpdateCustomer:
    ref: CustomerRef
    where: SourceAccount
    profile: ProfileInput | None = None
    loyalty_type: str | None = None
    extended_fields: dict[str, Any] | None = None
    enrollments: tuple[EnrollmentInput, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeIdentifiers:
    customer_id: int
    where: SourceAccount
    add: tuple[IdentifierInput, ...] = ()
    remove: tuple[IdentifierInput, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateStatus:
    ref: CustomerRef
    where: SourceAccount
    label: str
    reason: str
    created_on: datetime | None = None


@dataclass(frozen=True, slots=True)
class SearchCustomers:
    q: str
    limit: int = 10
    offset: int = 0
