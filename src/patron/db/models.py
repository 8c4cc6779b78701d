"""The tables. Every one starts with org_id, and org_id leads every key and index, so the
schema distributes by org on Citus unchanged (tests/integration/test_schema.py proves it).

Tables are storage, not API schemas: the services map them to domain values and the
adapters map those to the wire.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.db.base import Base, Id, Json, SearchText, UtcDateTime


class Org(Base):
    """A brand running Patron: the tenant every other row belongs to."""

    __tablename__ = "org"
    __table_args__ = (PrimaryKeyConstraint("org_id"),)

    org_id: Mapped[int] = mapped_column(Id)
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Till(Base):
    """An API user of an org (a store till): authenticates requests and attributes changes."""

    __tablename__ = "till"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "till_id"),
        UniqueConstraint("org_id", "code"),
        ForeignKeyConstraint(["org_id"], ["org.org_id"]),
    )

    org_id: Mapped[int] = mapped_column(Id)
    till_id: Mapped[int] = mapped_column(Id)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    store_code: Mapped[str] = mapped_column(String(100))
    store_name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # `till` (the API only) or `operator` (the API and the console): orgs/service.py ROLES.
    role: Mapped[str] = mapped_column(String(20), server_default="till")


class ConsoleSession(Base):
    """A signed-in console operator (security/sessions.py): the keyed digest of the cookie's
    token, never the token; it ends at sign-out or after 30 idle minutes."""

    __tablename__ = "console_session"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "session_id"),
        UniqueConstraint("org_id", "token_hash"),
        ForeignKeyConstraint(["org_id", "till_id"], ["till.org_id", "till.till_id"]),
        Index(None, "org_id", "till_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    session_id: Mapped[str] = mapped_column(String(32))
    till_id: Mapped[int] = mapped_column(Id)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Customer(Base):
    """One person of one org, whatever channels they reach the brand through."""

    __tablename__ = "customer"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id"),
        ForeignKeyConstraint(["org_id"], ["org.org_id"]),
        # Inquiry User(s) by creation date (users/lookups.py).
        Index(None, "org_id", "created_at"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    loyalty_type: Mapped[str] = mapped_column(String(20))
    status_label: Mapped[str] = mapped_column(String(100))
    # Set when this record was merged into another (it is then a merge victim).
    merged_into_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    extended_fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    associated_with: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_from_source: Mapped[str] = mapped_column(String(20))
    fraud_status: Mapped[str] = mapped_column(String(20), default="NOT_FRAUD")
    lifetime_purchases: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    # The registration date the client stated (createDate), else the time it was stored.
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by_till_id: Mapped[int] = mapped_column(Id)
    updated_by_till_id: Mapped[int] = mapped_column(Id)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CustomerProfile(Base):
    """What one source account knows of a customer: names and communication channels."""

    __tablename__ = "customer_profile"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id", "source", "account_id"),
        ForeignKeyConstraint(["org_id", "customer_id"], ["customer.org_id", "customer.customer_id"]),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    comm_channels: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by_till_id: Mapped[int] = mapped_column(Id)
    updated_by_till_id: Mapped[int] = mapped_column(Id)


class CustomerIdentifier(Base):
    """An identifier held in one source account: unique there, by its primary key."""

    __tablename__ = "customer_identifier"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "source", "account_id", "id_type", "value"),
        ForeignKeyConstraint(["org_id", "customer_id"], ["customer.org_id", "customer.customer_id"]),
        Index(None, "org_id", "id_type", "value"),
        Index(None, "org_id", "customer_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Card(Base):
    """A loyalty card of a configured series, issued to a customer or waiting in stock."""

    __tablename__ = "card"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "card_number"),
        UniqueConstraint("org_id", "card_id"),
        UniqueConstraint("org_id", "card_external_id"),
        Index(None, "org_id", "customer_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    card_number: Mapped[str] = mapped_column(String(100))
    card_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    series_id: Mapped[int] = mapped_column(Integer)
    series_code: Mapped[str] = mapped_column(String(100))
    status_label: Mapped[str] = mapped_column(String(100))
    card_external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    extended_fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by_till_id: Mapped[int] = mapped_column(Id)


class LoyaltyEnrollment(Base):
    """A customer's membership of one loyalty program and its summary: the balances the
    points ledger adds up to, kept in the same transaction as every ledger entry so reads
    never sum the ledger (`patron loyalty rebuild` recomputes them from it)."""

    __tablename__ = "loyalty_enrollment"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id", "program_id"),
        ForeignKeyConstraint(["org_id", "customer_id"], ["customer.org_id", "customer.customer_id"]),
        Index(None, "org_id", "tier_expires_at"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    program_id: Mapped[int] = mapped_column(Id)
    tier_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The points the customer can spend now.
    loyalty_points: Mapped[int] = mapped_column(Id, default=0)
    tier_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    points_expire_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Every point ever credited, less what returns took back.
    lifetime_points: Mapped[int] = mapped_column(Id, default=0)
    redeemed: Mapped[int] = mapped_column(Id, default=0)
    expired: Mapped[int] = mapped_column(Id, default=0)
    returned: Mapped[int] = mapped_column(Id, default=0)
    # Goodwill points and points moved by transfers and group contributions (net).
    adjusted: Mapped[int] = mapped_column(Id, default=0)
    cumulative_purchases: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    # Lifetime points not counted towards the tier (set when a lapsed tier drops).
    tier_base: Mapped[int] = mapped_column(Id, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PointsLedger(Base):
    """One change of a customer's (or a group pool's) points in one program. Append-only:
    entries are written, never changed or deleted; the summaries are their sums."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "entry_id"),
        Index(None, "org_id", "customer_id", "program_id", "entry_id"),
        Index(None, "org_id", "expires_at"),
        # Only a group pool's entries carry a group: a partial index, so the customers'
        # entries (nearly all) neither grow it nor tempt a planner to scan it for them.
        Index(
            None,
            "org_id",
            "group_id",
            sqlite_where=text("group_id IS NOT NULL"),
            postgresql_where=text("group_id IS NOT NULL"),
        ),
        # Credits written already due (a stated expiry in the past): the expiry job finds
        # them by when they were written (loyalty/expiry.py). Holds only those rows.
        Index(
            None,
            "org_id",
            "created_at",
            sqlite_where=text("expires_at <= created_at"),
            postgresql_where=text("expires_at <= created_at"),
        ),
        # The console's dashboard sums a time window's entries by kind (reports/dashboard.py).
        Index(None, "org_id", "created_at", "kind"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    entry_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    program_id: Mapped[int] = mapped_column(Id)
    # Set on the entries of a group's pool (customer_id is then the member who caused it).
    group_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    # enrollment, registration, earn, return, redeem, expire, transfer_out, transfer_in,
    # goodwill, group_contribution, group_pool_in, reversal
    kind: Mapped[str] = mapped_column(String(30))
    # Signed: credits are positive, debits negative.
    points: Mapped[int] = mapped_column(Id)
    # When a credit's points expire (credits only).
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)
    bill_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # What caused it: bill, transfer, goodwill, group, scheduler ... and its id.
    ref_kind: Mapped[str | None] = mapped_column(String(30), nullable=True)
    ref_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    till_id: Mapped[int] = mapped_column(Id)
    request_id: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LoyaltyBill(Base):
    """A purchase (REGULAR) or a return (RETURN) recorded through POST /v2/transactions."""

    __tablename__ = "loyalty_bill"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "bill_id"),
        Index(None, "org_id", "customer_id", "bill_number"),
        # Retro requests find a bill by its number (engagement/retro.py).
        Index(None, "org_id", "bill_number"),
        # The console's dashboard counts a time window's purchases (reports/dashboard.py).
        Index(None, "org_id", "created_at"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    bill_id: Mapped[int] = mapped_column(Id)
    # NULL: a purchase recorded without a customer, until a retro request attaches it.
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    program_id: Mapped[int] = mapped_column(Id)
    type: Mapped[str] = mapped_column(String(20))
    bill_number: Mapped[str] = mapped_column(String(100))
    bill_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    bill_date: Mapped[datetime] = mapped_column(UtcDateTime)
    # Earned by a purchase (positive) or taken back by a return (negative).
    points: Mapped[int] = mapped_column(Id)
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    till_id: Mapped[int] = mapped_column(Id)
    request_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PointsTransfer(Base):
    """Points moved from one customer to another (both ledger entries carry its id)."""

    __tablename__ = "points_transfer"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "transfer_id"),
        Index(None, "org_id", "from_customer_id"),
        Index(None, "org_id", "to_customer_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    transfer_id: Mapped[int] = mapped_column(Id)
    from_customer_id: Mapped[int] = mapped_column(Id)
    to_customer_id: Mapped[int] = mapped_column(Id)
    program_id: Mapped[int] = mapped_column(Id)
    points: Mapped[int] = mapped_column(Id)
    notes: Mapped[str] = mapped_column(Text, default="")
    till_id: Mapped[int] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GoodwillRequest(Base):
    """A request to credit goodwill points: PENDING until approved or rejected."""

    __tablename__ = "goodwill_request"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "request_id"),
        Index(None, "org_id", "customer_id", "request_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    request_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    program_id: Mapped[int] = mapped_column(Id)
    goodwill_type: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    comments: Mapped[str] = mapped_column(Text, default="")
    approved_value: Mapped[int | None] = mapped_column(Id, nullable=True)
    updated_comments: Mapped[str] = mapped_column(Text, default="")
    one_step: Mapped[bool] = mapped_column(Boolean, default=False)
    api_request_id: Mapped[str] = mapped_column(String(100))
    added_by_till_id: Mapped[int] = mapped_column(Id)
    updated_by_till_id: Mapped[int] = mapped_column(Id)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CustomerGroup(Base):
    """A group (hierarchy) of customers around a primary member, with its points pool."""

    __tablename__ = "customer_group"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "group_id"),
        UniqueConstraint("org_id", "primary_customer_id", "hierarchy_code"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    group_id: Mapped[int] = mapped_column(Id)
    name: Mapped[str] = mapped_column(String(200))
    hierarchy_code: Mapped[str] = mapped_column(String(100))
    group_program_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    primary_customer_id: Mapped[int] = mapped_column(Id)
    primary_role: Mapped[str] = mapped_column(String(100), default="")
    # The pool's summary, as the ledger's group entries add up.
    loyalty_points: Mapped[int] = mapped_column(Id, default=0)
    lifetime_points: Mapped[int] = mapped_column(Id, default=0)
    promised_points: Mapped[int] = mapped_column(Id, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GroupMember(Base):
    """A (non-primary) member of a group and its role there."""

    __tablename__ = "group_member"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "group_id", "customer_id"),
        Index(None, "org_id", "customer_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    group_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    role_code: Mapped[str] = mapped_column(String(100), default="")
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PartnerMembership(Base):
    """A customer's link to a partner program, with its membership and tier dates."""

    __tablename__ = "partner_membership"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id", "partner_program_id"),
        Index(None, "org_id", "membership_expiry_date"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    partner_program_id: Mapped[int] = mapped_column(Id)
    membership_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Calendar dates as YYYY-MM-DD (the events carry them so).
    membership_expiry_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    partner_tier_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    partner_tier_expiry_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PartnerReminder(Base):
    """A membership expiry reminder that was sent: its key makes it once per customer,
    partner program and expiry date, whatever the number of workers."""

    __tablename__ = "partner_reminder"
    __table_args__ = (PrimaryKeyConstraint("org_id", "customer_id", "partner_program_id", "expiry_date"),)

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    partner_program_id: Mapped[int] = mapped_column(Id)
    expiry_date: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SchedulerMark(Base):
    """How far a scheduled job has processed an org (points expiry: up to `done_until`)."""

    __tablename__ = "scheduler_mark"
    __table_args__ = (PrimaryKeyConstraint("org_id", "job"),)

    org_id: Mapped[int] = mapped_column(Id)
    job: Mapped[str] = mapped_column(String(50))
    done_until: Mapped[datetime] = mapped_column(UtcDateTime)


class CustomerChange(Base):
    """One changed field of a customer: who, when, through which source, before and after."""

    __tablename__ = "customer_change"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "change_id"),
        Index(None, "org_id", "customer_id", "change_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    change_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    # CREATE, PROFILE, IDENTIFIER, CARD, STATUS, LOYALTY, MERGE
    kind: Mapped[str] = mapped_column(String(20))
    field_name: Mapped[str] = mapped_column(String(100))
    # StandardField, ExtendedField, CustomField, Identifier
    field_type: Mapped[str] = mapped_column(String(20))
    previous_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    current_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(100))
    till_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    request_id: Mapped[str] = mapped_column(String(64))
    # v2, user, console or system (context.py); null on rows written before it was kept.
    surface: Mapped[str | None] = mapped_column(String(10), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxEvent(Base):
    """A domain event written in the transaction of its change, delivered after commit."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "event_id"),
        UniqueConstraint("org_id", "event_uuid"),
        Index(None, "org_id", "customer_id", "event_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    event_id: Mapped[int] = mapped_column(Id)
    event_uuid: Mapped[str] = mapped_column(String(36))
    event_name: Mapped[str] = mapped_column(String(60))
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    request_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SearchTerm(Base):
    """A searchable name or identifier of a customer, case-folded, read by prefix range."""

    __tablename__ = "search_term"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "term", "customer_id", "id_type", "source", "account_id"),
        Index(None, "org_id", "customer_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    term: Mapped[str] = mapped_column(SearchText)
    customer_id: Mapped[int] = mapped_column(Id)
    id_type: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(100))
    display_value: Mapped[str] = mapped_column(String(255))


class WebhookEndpoint(Base):
    """Where an org wants its events: a URL, an event filter, and signing secrets (encrypted)."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "endpoint_id"),
        ForeignKeyConstraint(["org_id"], ["org.org_id"]),
    )

    org_id: Mapped[int] = mapped_column(Id)
    endpoint_id: Mapped[int] = mapped_column(Id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    # None: every event; else the event names this endpoint receives.
    event_types: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    secret_encrypted: Mapped[str] = mapped_column(String(500))
    previous_secret_encrypted: Mapped[str | None] = mapped_column(String(500), nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    max_in_flight: Mapped[int] = mapped_column(Integer, default=32)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One event owed to one endpoint: pending until a 2xx, dead when the schedule runs out.

    `order_key` names what the event is about (a customer); an endpoint receives the events
    of one order key in event order, so a failing customer holds back only its own events.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "endpoint_id", "event_id"),
        Index(None, "org_id", "status", "next_attempt_at"),
        Index(None, "org_id", "endpoint_id", "order_key", "event_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    endpoint_id: Mapped[int] = mapped_column(Id)
    event_id: Mapped[int] = mapped_column(Id)
    order_key: Mapped[str] = mapped_column(String(40))
    # pending, delivered, dead
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookAttempt(Base):
    """The delivery log: one row per HTTP attempt, with a capped excerpt of the answer."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "attempt_id"),
        Index(None, "org_id", "endpoint_id", "attempt_id"),
        # The dashboard's and the webhooks page's figures over a time window.
        Index(None, "org_id", "attempted_at"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    attempt_id: Mapped[int] = mapped_column(Id)
    endpoint_id: Mapped[int] = mapped_column(Id)
    event_id: Mapped[int] = mapped_column(Id)
    attempt_number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    outcome: Mapped[str] = mapped_column(String(12))  # delivered, retry, dead, disabled


class ErasureRequest(Base):
    """A customer waiting for the erasure of their personal data (status Pending Deletion)."""

    __tablename__ = "erasure_request"
    __table_args__ = (PrimaryKeyConstraint("org_id", "customer_id"),)

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    reason: Mapped[str] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IdempotencyKey(Base):
    """The answer to a write sent with an `Idempotency-Key`, kept for a day (idempotency/)."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "idem_key"),
        Index(None, "org_id", "expires_at"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    idem_key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LoginFailure(Base):
    """Failed logins of one till from one client address in the current window
    (security/throttle.py): one row per (org, till code, address), written only on failure."""

    __tablename__ = "login_failure"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "till_code", "client"),
        Index(None, "org_id", "till_code", "window_start"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    till_code: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)


class CustomerSubscription(Base):
    """A customer's subscription status on one channel and priority in one source account;
    a row exists once it was set (the default of a customer without one is in
    docs/decisions.md, "Subscriptions")."""

    __tablename__ = "customer_subscription"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id", "source", "account_id", "channel", "priority"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by_till_id: Mapped[int] = mapped_column(Id)


class RateLimitWindow(Base):
    """Requests of one operation counted per org and fixed window, shared by every serving
    process (security/ratelimit.py)."""

    __tablename__ = "rate_limit_window"
    __table_args__ = (PrimaryKeyConstraint("org_id", "operation", "window_start"),)

    org_id: Mapped[int] = mapped_column(Id)
    operation: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer)


# Coupons (engagement/coupons.py) -------------------------------------------------------------


class Coupon(Base):
    """A coupon of a series issued to one customer: the series' terms as they were at issue,
    its code (unique in the org) and how often it was redeemed."""

    __tablename__ = "coupon"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "coupon_id"),
        UniqueConstraint("org_id", "code"),
        Index(None, "org_id", "customer_id", "issued_at"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    coupon_id: Mapped[int] = mapped_column(Id)
    code: Mapped[str] = mapped_column(String(20))
    series_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    description: Mapped[str] = mapped_column(String(500))
    discount_type: Mapped[str] = mapped_column(String(4))
    discount_value: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    discount_upto: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    # -1: unlimited.
    max_redemptions: Mapped[int] = mapped_column(Integer)
    redemption_count: Mapped[int] = mapped_column(Integer)
    valid_till: Mapped[datetime] = mapped_column(UtcDateTime)
    # API (POST /v2/coupons/issue), REGISTRATION or REFERRAL.
    issued_for: Mapped[str] = mapped_column(String(20))
    transaction_number: Mapped[str] = mapped_column(String(100))
    issued_by_till_id: Mapped[int] = mapped_column(Id)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CouponRedemption(Base):
    """One redemption of a coupon: when, at which till, against which bill."""

    __tablename__ = "coupon_redemption"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "redemption_id"),
        Index(None, "org_id", "coupon_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    redemption_id: Mapped[int] = mapped_column(Id)
    coupon_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    bill_number: Mapped[str] = mapped_column(String(100))
    till_id: Mapped[int] = mapped_column(Id)
    request_id: Mapped[str] = mapped_column(String(100))
    redeemed_at: Mapped[datetime] = mapped_column(UtcDateTime)


# Customer images (engagement/images.py) ------------------------------------------------------


class CustomerImage(Base):
    """One version of a customer's profile image: its bytes live in the image store under
    `storage_key`; `file_handle` (random, unguessable) names it in the API."""

    __tablename__ = "customer_image"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id", "version"),
        UniqueConstraint("org_id", "file_handle"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    version: Mapped[int] = mapped_column(Integer)
    file_handle: Mapped[str] = mapped_column(String(36))
    storage_key: Mapped[str] = mapped_column(String(200))
    # image/jpeg, image/png or image/webp: sniffed from the bytes, never the client's word.
    content_type: Mapped[str] = mapped_column(String(20))
    byte_size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by_till_id: Mapped[int] = mapped_column(Id)


# Change and retro requests (engagement/change_requests.py, engagement/retro.py) -------------


class ChangeRequest(Base):
    """An identifier change (changeIdentifier) or a merge of a customer: APPROVED when it
    applied at once, PENDING until decided when the org asks for approval (`command` then
    holds what to apply), REJECTED when refused."""

    __tablename__ = "change_request"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "request_id"),
        Index(None, "org_id", "customer_id", "request_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    request_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    # EMAIL, MOBILE, EXTERNAL_ID, CARDNUMBER, ... or MERGE; MULTIPLE for several types.
    change_type: Mapped[str] = mapped_column(String(30))
    # Every identifier type the change touched, comma-separated and comma-wrapped.
    types: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(100))
    # {"add": [{"type", "value"}], "remove": [...]} as the list shows it.
    changes: Mapped[dict[str, Any]] = mapped_column(Json)
    command: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    # The customer folded into this one, for a merge of two customers.
    merged_customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    # The merge (customer_merge) of a MERGE entry.
    merge_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    comments: Mapped[str] = mapped_column(Text)
    one_step: Mapped[bool] = mapped_column(Boolean)
    api_request_id: Mapped[str] = mapped_column(String(100))
    added_by_till_id: Mapped[int] = mapped_column(Id)
    updated_by_till_id: Mapped[int] = mapped_column(Id)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CustomerMerge(Base):
    """One merge of customers (customers/merges.py): registration (8050, no second
    customer), changeIdentifier (8051) or explicit (POST /v2/customers/merge), with its
    change set: what moved where and what both customers looked like before."""

    __tablename__ = "customer_merge"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "merge_id"),
        Index(None, "org_id", "survivor_id"),
        Index(None, "org_id", "victim_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    merge_id: Mapped[int] = mapped_column(Id)
    # registration, changeIdentifier or explicit.
    kind: Mapped[str] = mapped_column(String(20))
    survivor_id: Mapped[int] = mapped_column(Id)
    # NULL for a registration merge: no second customer existed.
    victim_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    till_id: Mapped[int] = mapped_column(Id)
    request_id: Mapped[str] = mapped_column(String(100))
    change_set: Mapped[dict[str, Any]] = mapped_column(Json)
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    undo_till_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    undo_request_id: Mapped[str | None] = mapped_column(String(100), nullable=True)


class RetroRequest(Base):
    """A request to attach a past purchase (a bill recorded without a customer, or for
    another one) to a customer: PENDING until decided, or APPROVED at once."""

    __tablename__ = "retro_request"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "request_id"),
        Index(None, "org_id", "customer_id", "request_id"),
        Index(
            None,
            "org_id",
            "bill_id",
            unique=True,
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    org_id: Mapped[int] = mapped_column(Id)
    request_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    bill_id: Mapped[int] = mapped_column(Id)
    bill_number: Mapped[str] = mapped_column(String(100))
    # Whom the bill belonged to when the request was made (NULL: nobody).
    from_customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    comments: Mapped[str] = mapped_column(Text)
    # What the approval earned the customer.
    points: Mapped[int | None] = mapped_column(Id, nullable=True)
    one_step: Mapped[bool] = mapped_column(Boolean)
    api_request_id: Mapped[str] = mapped_column(String(100))
    added_by_till_id: Mapped[int] = mapped_column(Id)
    updated_by_till_id: Mapped[int] = mapped_column(Id)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# Referrals (engagement/referrals.py) ---------------------------------------------------------


class ReferralCode(Base):
    """A customer's referral code: made once, on first need, and the same on every read."""

    __tablename__ = "referral_code"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id"),
        UniqueConstraint("org_id", "code"),
        ForeignKeyConstraint(["org_id", "customer_id"], ["customer.org_id", "customer.customer_id"]),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    code: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReferralInvitation(Base):
    """A person a customer invited (Add Customer Referrals), by mobile or email: one row per
    referrer and identifier (the first invitation stands)."""

    __tablename__ = "referral_invitation"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "referrer_id", "id_type", "identifier"),
        ForeignKeyConstraint(["org_id", "referrer_id"], ["customer.org_id", "customer.customer_id"]),
        Index(None, "org_id", "id_type", "identifier"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    referrer_id: Mapped[int] = mapped_column(Id)
    # MOBILE or EMAIL; the identifier normalised as the customer identifiers are.
    id_type: Mapped[str] = mapped_column(String(10))
    identifier: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    campaign_token: Mapped[str] = mapped_column(String(50))
    invited_on: Mapped[datetime] = mapped_column(UtcDateTime)
    till_id: Mapped[int] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Referral(Base):
    """A referee: a customer whose registration a referrer brought (eventType REGISTRATION);
    a customer is referred once."""

    __tablename__ = "referral"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "referee_id"),
        ForeignKeyConstraint(["org_id", "referee_id"], ["customer.org_id", "customer.customer_id"]),
        ForeignKeyConstraint(["org_id", "referrer_id"], ["customer.org_id", "customer.customer_id"]),
        Index(None, "org_id", "referrer_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    referee_id: Mapped[int] = mapped_column(Id)
    referrer_id: Mapped[int] = mapped_column(Id)
    campaign_token: Mapped[str] = mapped_column(String(50))
    event_type: Mapped[str] = mapped_column(String(20))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
    till_id: Mapped[int] = mapped_column(Id)


class ReferralIncentive(Base):
    """What a referral granted one customer (the referee or the referrer): points through the
    ledger, or a coupon."""

    __tablename__ = "referral_incentive"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "referee_id", "beneficiary_id", "kind"),
        ForeignKeyConstraint(["org_id", "beneficiary_id"], ["customer.org_id", "customer.customer_id"]),
        Index(None, "org_id", "beneficiary_id"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    referee_id: Mapped[int] = mapped_column(Id)
    beneficiary_id: Mapped[int] = mapped_column(Id)
    # POINTS or COUPON; role REFEREE or REFERRER.
    kind: Mapped[str] = mapped_column(String(10))
    role: Mapped[str] = mapped_column(String(10))
    referrer_id: Mapped[int] = mapped_column(Id)
    campaign_token: Mapped[str] = mapped_column(String(50))
    points: Mapped[int | None] = mapped_column(Id, nullable=True)
    program_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    coupon_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    coupon_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    series_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- The user namespace (seed 004, docs/users.md) ---


class UserRecord(Base):
    """A record only the user namespace keeps of a customer: one row per email or phone
    attribute set, address, personal info, preferences, currency, ... (`kind`), its plain
    fields in `data`, its sensitive values sealed."""

    __tablename__ = "user_record"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "record_id"),
        ForeignKeyConstraint(["org_id", "customer_id"], ["customer.org_id", "customer.customer_id"]),
        Index(None, "org_id", "customer_id", "kind"),
    )

    org_id: Mapped[int] = mapped_column(Id)
    record_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[int] = mapped_column(Integer)
    verification_status: Mapped[int] = mapped_column(Integer)
    is_primary: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    till_id: Mapped[int] = mapped_column(Id)


# --- The user namespace's security flows (issue 12) ---


class UserChallenge(Base):
    """A user's pending one-time code or link for one purpose (users/challenges.py): its
    keyed hash, tries, expiry and the resend count of the current window."""

    __tablename__ = "user_challenge"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id", "purpose"),
        ForeignKeyConstraint(["org_id", "customer_id"], ["customer.org_id", "customer.customer_id"]),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    purpose: Mapped[str] = mapped_column(String(30))
    challenge_id: Mapped[int] = mapped_column(Id)
    record_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    channel: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    issued: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MessageOutbox(Base):
    """A message owed to a user, sealed, sent by the worker after commit (messages/outbox.py)."""

    __tablename__ = "message_outbox"
    __table_args__ = (PrimaryKeyConstraint("org_id", "message_id"),)

    org_id: Mapped[int] = mapped_column(Id)
    message_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(30))
    sealed: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CredentialFailure(Base):
    """Failed credential checks of one subject (an account or a client address), shared by
    every serving process (security/attempts.py)."""

    __tablename__ = "credential_failure"
    __table_args__ = (PrimaryKeyConstraint("org_id", "subject"),)

    org_id: Mapped[int] = mapped_column(Id)
    subject: Mapped[str] = mapped_column(String(80))
    consecutive: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AccessRule(Base):
    """A security access rule of seed 004, for the org or one user (users/access_rules.py)."""

    __tablename__ = "access_rule"
    __table_args__ = (PrimaryKeyConstraint("org_id", "rule_id"), Index(None, "org_id", "customer_id"))

    org_id: Mapped[int] = mapped_column(Id)
    rule_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    till_id: Mapped[int] = mapped_column(Id)


class AccessRuleUse(Base):
    """Uses of an action counted against an access rule's frequency limit: one row per rule,
    user (0 for an org-wide count) and period (users/access_rules.py)."""

    __tablename__ = "access_rule_use"
    __table_args__ = (PrimaryKeyConstraint("org_id", "rule_id", "customer_id", "period_end"),)

    org_id: Mapped[int] = mapped_column(Id)
    rule_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer)


class WorkerHeartbeat(Base):
    """A running delivery worker, seen alive at `beat_at` (webhooks/heartbeat.py; `/ready`).

    The one table without org_id: a heartbeat belongs to the installation, not to an org.
    On Citus it is a reference table (docs/operations.md), marked so in its `info`."""

    __tablename__ = "worker_heartbeat"
    __table_args__ = (PrimaryKeyConstraint("worker_id"), {"info": {"citus": "reference"}})

    worker_id: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime)
