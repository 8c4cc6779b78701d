"""What the v2 routes answer, as models the OpenAPI document is built from.

Routes render their answers with orjson from plain dicts (render.py); these models only
declare those shapes (`response_model`, `responses`), so FastAPI never validates an answer
on the way out. The schemathesis test (tests/api/test_openapi.py) holds the two together:
it calls every operation and checks each answer against its declared schema.

Field names are snake_case here and camelCase on the wire (aliases); `extra="forbid"`
declares that an answer carries no key the model does not name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from patron.api.wire import CamelModel


class Out(CamelModel):
    model_config = ConfigDict(extra="forbid")


class WarningItem(Out):
    status: Literal[False]
    code: int
    message: str


class ErrorItem(Out):
    status: Literal[False]
    code: int
    message: str


class ErrorEnvelope(Out):
    """Every failure of the v2 surface: the seed's warning item shape, one per error."""

    warnings: list[WarningItem]
    errors: list[ErrorItem] = Field(min_length=1)


_ERRORS: dict[int, str] = {
    400: "Invalid input: the message names each problem.",
    401: "Missing or wrong credentials (HTTP Basic of an active till).",
    404: "Not found in the caller's org.",
    408: "The request body did not arrive in time.",
    409: "The write would break a uniqueness rule.",
    413: "The request body is larger than the server accepts (PATRON_MAX_BODY_BYTES).",
    422: "A business rule refuses the change.",
    429: (
        "Too many failed logins for this username, or (code 2120) the org's hourly rate limit"
        " for the operation is reached; Retry-After says when to retry."
    ),
    500: "Internal error; the request changed nothing.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": 'Basic realm="patron"', "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}},
}
# Statuses a route with a body can answer before its own code runs.
BODY = (400, 408, 413)


def errors(*statuses: int, authenticated: bool = True) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route, each in the envelope: the given statuses, 500, and the
    failed-login answers (401, 429) of an authenticated route."""
    every = set(statuses) | {500} | ({401, 429} if authenticated else set())
    declared: dict[int | str, dict[str, Any]] = {}
    for status in sorted(every):
        answer: dict[str, Any] = {"model": ErrorEnvelope, "description": _ERRORS[status]}
        if status in _HEADERS:
            answer["headers"] = _HEADERS[status]
        declared[status] = answer
    return declared


class Written(Out):
    """Register Customer and both Update Customer Details."""

    created_id: int
    merge_id: int | None = Field(
        default=None, description="Ours: present when a registration merged (8050); GET .../merges."
    )
    warnings: list[WarningItem]
    side_effects: list[dict[str, Any]]


class PendingChange(Out):
    """A change waiting for approval (identifierChangeApproval; ours)."""

    id: int
    status: Literal["PENDING"]


class IdentifiersChanged(Out):
    created_id: int
    merge_id: int | None = Field(
        default=None, description="Ours: present when the change merged the customer (8051); GET .../merges."
    )
    warnings: list[WarningItem]
    change_request: PendingChange | None = None


class CustomerIdFound(Out):
    entity: int
    warnings: list[WarningItem]


class StatusChanged(Out):
    warnings: list[WarningItem]
    error: list[ErrorItem]


class ProfileTill(Out):
    id: int
    code: str
    description: str
    name: str
    type: Literal["TILL"]


class Till(Out):
    id: int
    code: str
    name: str
    type: Literal["TILL"]


class ProfileAttribution(Out):
    create_date: datetime
    created_by: ProfileTill
    modified_by: ProfileTill
    modified_date: datetime


class IdentifierItem(Out):
    type: str
    value: str
    # Cards only (absent on other identifiers): their series and status.
    series_id: int | None = None
    series_code: str | None = None
    status_label: str | None = None
    card_external_id: str | None = None


class IdentifierPair(Out):
    type: str
    value: str


class Profile(Out):
    first_name: str
    last_name: str
    attribution: ProfileAttribution
    fields: dict[str, Any]
    identifiers: list[IdentifierItem]
    comm_channels: list[dict[str, Any]]
    source: str
    user_id: int
    account_id: str
    conflicting_profile_list: list[dict[str, Any]]
    auto_update_time: datetime
    identifiers_all: list[IdentifierPair]


class Attribution(Out):
    create_date: datetime
    created_by: Till
    modified_by: Till
    modified_date: datetime
    created_from_source: str


class LoyaltyInfo(Out):
    loyalty_type: str
    attribution_v2: Attribution
    lifetime_purchases: float


class CustomerStatus(Out):
    label: str


class FraudDetails(Out):
    marked_by: dict[str, Any]
    modified_on: datetime
    status: str


class LinkedPartnerProgram(Out):
    """A partner program the customer is linked to (003:L2764-2783); the tier keys only
    for a tier-based program (LOY-2)."""

    partner_program_id: int
    partner_program_name: str
    partner_program_description: str
    partner_tier_number: int | None = None
    partner_tier_name: str | None = None
    partner_tier_expiry_date: datetime | None = None
    partner_membership_id: str | None
    partner_membership_expiry_date: datetime | None
    partner_program_type: Literal["SUPPLEMENTARY", "EXTERNAL"]
    tier_based: bool


class ProgramEntry(Out):
    """One program-wise loyalty entry (003:L2742-2789), from the customer's summary in it.
    At the top tier nextSlab is "" and nextSlabSerialNumber -1; slabExpiryDate is null for
    a tier that never lapses."""

    redeemed: int
    expired: int
    returned: int
    adjusted: int
    lifetime_points: int
    loyalty_points: int
    cumulative_purchases: float
    loyalty_id: int
    current_slab: str
    next_slab: str
    next_slab_serial_number: int
    next_slab_description: str
    slab_s_no: int | None
    slab_expiry_date: datetime | None
    program_id: int
    delayed_points: int
    delayed_returned_points: int
    total_available_points: int
    total_returned_points: int
    linked_partner_programs: list[LinkedPartnerProgram]


class LoyaltyDetails(Out):
    """Fetch Customer Loyalty Details and Get Customer Loyalty Details."""

    data: list[ProgramEntry]
    warnings: list[WarningItem]
    errors: list[ErrorItem]


class ProgramDetails(ProgramEntry):
    """embed=mlp: a program entry with the points expiry stated at enrollment."""

    points_expiry_date: datetime | None


class ProgramDetailsByIdentifier(ProgramDetails):
    """embed=mlp by identifier: also the program's title, description and ratio (003:L5153-5155)."""

    program_title: str
    program_description: str
    program_points_to_currency_ratio: float


class PointsSummary(Out):
    """embed=points (003:L2500-2515): the default program's figures."""

    adjusted: int
    cumulative_purchases: float
    current_slab: str
    expired: int
    lifetime_points: int
    loyalty_id: int
    loyalty_points: int
    next_slab: str
    next_slab_description: str
    next_slab_serial_number: int
    redeemed: int
    returned: int
    slab_expiry_date: datetime | None
    slab_s_no: int | None
    program_id: int | None


class IssuedAt(Out):
    code: str
    name: str


class PromotionSource(Out):
    promotion_source_id: int
    promotion_source_type: Literal["GOODWILL"]


class CustomerPromotion(Out):
    """A goodwill credit as a promotion (003:L2619-2633); the source id is the goodwill request's."""

    points: int
    issued_at: IssuedAt
    issued_on: datetime
    expiry_date: datetime | None
    promotion_source: PromotionSource
    program_id: int
    promotion_name: str


class PromotionalPoints(Out):
    """embed=promotionalPoints (003:L2617-2667)."""

    customer_promotion_type: list[CustomerPromotion]
    transaction_promotion_type: list[dict[str, Any]]
    lineitem_promotion_type: list[dict[str, Any]]


class ExpiryItem(Out):
    expiry_date: datetime
    points: int


class ProgramExpiries(Out):
    """embed=expirySchedules (what will expire, FIFO) and embed=expiredPoints (what expired):
    per program, the total and each moment with its points, oldest first."""

    program_id: int
    total_points: int
    expiries: list[ExpiryItem]


class ProgramRef(Out):
    id: int
    name: str
    description: str


class GroupProgramDetails(Out):
    """A group pool the customer shares (003:L5266-5338)."""

    group_id: int
    group_program_id: int
    title: str
    description: str
    programs_list: list[ProgramRef]
    lifetime_points: int
    loyalty_points: int
    promised_points: int
    points_to_currency_ratio: float


class CardStatusInfo(Out):
    reason: str
    created_by: int
    actions: list[dict[str, Any]]
    auto_update_time: datetime
    created_on: datetime
    entity_id: int
    id: int
    is_active: bool
    label_id: int
    label: str
    status: str


class Card(Out):
    card_id: int
    issued_date: datetime | None
    created_date: date
    expiry_days: int
    series_name: str | None
    customer_id: int
    max_active_cards: int
    card_external_id: str | None
    extended_fields: dict[str, Any]
    custom_fields: dict[str, Any]
    type: str
    card_number: str
    series_id: int
    series_code: str
    org_id: int
    entity_id: int
    status_info: CardStatusInfo
    id: int
    transaction_not_allowed: bool


class SubscriptionItem(Out):
    """One channel and priority: OPTIN (subscribed) or OPTOUT (003:L2523-2565)."""

    channel: str
    priority: str
    type: str


class SubscriptionInfo(Out):
    """embed=subscriptions (003:L2518-2567): the statuses of the request's source account."""

    subscriptions: list[SubscriptionItem]


class ImageFile(Out):
    """One version of a customer's image (003:L3786-3795); `s3Token` is its storage key."""

    acl: Literal["PRIVATE"]
    file_handle: str
    last_modified: str
    latest_version: int
    name: str
    namespace: Literal["customerImage"]
    s3_token: str
    version: int


class CustomerImageItem(Out):
    """embed=CUSTOMERIMAGE (003:L3955-3973): `filePath` and `secureFilePath` both name the
    authenticated route serving the bytes."""

    code: Literal[200]
    file: ImageFile
    file_path: str
    secure_file_path: str
    message: str
    status: Literal["true"]


class CustomerDetails(Out):
    """Fetch Customer Details (by User ID); `loyaltyProgramDetails` with `embed=mlp`."""

    id: int
    profiles: list[Profile]
    loyalty_info: LoyaltyInfo
    status: CustomerStatus
    segments: dict[str, Any]
    extended_fields: dict[str, Any]
    # The embed blocks, each present only when its embed value is asked for.
    points_summary: PointsSummary | None = None
    subscription_info: SubscriptionInfo | None = None
    customer_image: list[CustomerImageItem] | None = None
    loyalty_program_details: Sequence[ProgramDetails] = Field(default_factory=list)
    promotional_points: PromotionalPoints | None = None
    expiry_schedules: list[ProgramExpiries] = Field(default_factory=list)
    expired_points: list[ProgramExpiries] = Field(default_factory=list)
    card_details: list[Card]
    warnings: list[WarningItem]


class CustomerDetailsByIdentifier(CustomerDetails):
    """Fetch Customer Details (by Identifier): the same, with fraud details and association;
    with `embed=mlp` the programs' titles and the group pools."""

    fraud_details: FraudDetails
    associated_with: str
    loyalty_program_details: Sequence[ProgramDetailsByIdentifier] = Field(default_factory=list)
    group_loyalty_program_details: list[GroupProgramDetails] = Field(default_factory=list)


class Pagination(Out):
    limit: int
    offset: int
    total: int
    # Present (false) when `total` is a lower bound: the prefix matches more than a search reads.
    total_is_exact: bool = True


class MatchedIdentifier(Out):
    id_type: str
    id_value: str
    source: str
    account_id: str


class SearchProfile(Out):
    source: str
    account_id: str
    first_name: str
    last_name: str


class SearchHit(Out):
    user_id: int
    matched_identifiers: list[MatchedIdentifier]
    profiles: list[SearchProfile]


class SearchPage(Out):
    pagination: Pagination
    data: list[SearchHit]
    warnings: list[WarningItem]
    errors: list[ErrorItem]
