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


class Customer(Base):
    """One person of one org, whatever channels they reach the brand through."""

    __tablename__ = "customer"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id"),
        ForeignKeyConstraint(["org_id"], ["org.org_id"]),
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
    """A customer's enrollment in one loyalty program, as stated at registration or update."""

    __tablename__ = "loyalty_enrollment"
    __table_args__ = (
        PrimaryKeyConstraint("org_id", "customer_id", "program_id"),
        ForeignKeyConstraint(["org_id", "customer_id"], ["customer.org_id", "customer.customer_id"]),
    )

    org_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    program_id: Mapped[int] = mapped_column(Id)
    tier_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    loyalty_points: Mapped[int] = mapped_column(Integer, default=0)
    tier_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    points_expire_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)


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
