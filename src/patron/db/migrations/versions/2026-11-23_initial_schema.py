"""Initial schema: orgs, tills, the customer record, its history, the outbox, search terms.

Every table leads with org_id in its primary key and indexes (the Citus distribution
column). Ids come from PostgreSQL sequences, or on SQLite from the `id_sequence` counter
table, which only the embedded engine has.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQUENCES = ("org", "till", "customer", "card", "change", "event")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _org_id() -> sa.Column[int]:
    return sa.Column("org_id", _id(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "org",
        _org_id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("config", _json(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("org_id", name="pk_org"),
    )
    op.create_table(
        "till",
        _org_id(),
        sa.Column("till_id", _id(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("store_code", sa.String(100), nullable=False),
        sa.Column("store_name", sa.String(200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("org_id", "till_id", name="pk_till"),
        sa.UniqueConstraint("org_id", "code", name="uq_till_org_id_code"),
        sa.ForeignKeyConstraint(["org_id"], ["org.org_id"], name="fk_till_org_id_org"),
    )
    op.create_table(
        "customer",
        _org_id(),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("loyalty_type", sa.String(20), nullable=False),
        sa.Column("status_label", sa.String(100), nullable=False),
        sa.Column("merged_into_id", _id(), nullable=True),
        sa.Column("extended_fields", _json(), nullable=False),
        sa.Column("custom_fields", _json(), nullable=False),
        sa.Column("associated_with", sa.String(100), nullable=True),
        sa.Column("created_from_source", sa.String(20), nullable=False),
        sa.Column("fraud_status", sa.String(20), nullable=False),
        sa.Column("lifetime_purchases", sa.Numeric(18, 2), nullable=False),
        _ts("registered_at"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("created_by_till_id", _id(), nullable=False),
        sa.Column("updated_by_till_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "customer_id", name="pk_customer"),
        sa.ForeignKeyConstraint(["org_id"], ["org.org_id"], name="fk_customer_org_id_org"),
    )
    op.create_table(
        "customer_profile",
        _org_id(),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("last_name", sa.String(200), nullable=False),
        sa.Column("comm_channels", _json(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("created_by_till_id", _id(), nullable=False),
        sa.Column("updated_by_till_id", _id(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "customer_id", "source", "account_id", name="pk_customer_profile"),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customer.org_id", "customer.customer_id"],
            name="fk_customer_profile_org_id_customer_id_customer",
        ),
    )
    op.create_table(
        "customer_identifier",
        _org_id(),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("id_type", sa.String(40), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint(
            "org_id", "source", "account_id", "id_type", "value", name="pk_customer_identifier"
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customer.org_id", "customer.customer_id"],
            name="fk_customer_identifier_org_id_customer_id_customer",
        ),
    )
    op.create_index(
        "ix_customer_identifier_org_id_id_type_value", "customer_identifier", ["org_id", "id_type", "value"]
    )
    op.create_index(
        "ix_customer_identifier_org_id_customer_id", "customer_identifier", ["org_id", "customer_id"]
    )
    op.create_table(
        "card",
        _org_id(),
        sa.Column("card_number", sa.String(100), nullable=False),
        sa.Column("card_id", _id(), nullable=False),
        sa.Column("customer_id", _id(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("series_code", sa.String(100), nullable=False),
        sa.Column("status_label", sa.String(100), nullable=False),
        sa.Column("card_external_id", sa.String(100), nullable=True),
        sa.Column("extended_fields", _json(), nullable=False),
        sa.Column("custom_fields", _json(), nullable=False),
        _ts("issued_at", nullable=True),
        _ts("status_changed_at"),
        _ts("created_at"),
        sa.Column("created_by_till_id", _id(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "card_number", name="pk_card"),
        sa.UniqueConstraint("org_id", "card_id", name="uq_card_org_id_card_id"),
        sa.UniqueConstraint("org_id", "card_external_id", name="uq_card_org_id_card_external_id"),
    )
    op.create_index("ix_card_org_id_customer_id", "card", ["org_id", "customer_id"])
    op.create_table(
        "loyalty_enrollment",
        _org_id(),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("program_id", _id(), nullable=False),
        sa.Column("tier_number", sa.Integer(), nullable=True),
        sa.Column("loyalty_points", sa.Integer(), nullable=False),
        _ts("tier_expires_at", nullable=True),
        _ts("points_expire_at", nullable=True),
        _ts("enrolled_at"),
        sa.PrimaryKeyConstraint("org_id", "customer_id", "program_id", name="pk_loyalty_enrollment"),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customer.org_id", "customer.customer_id"],
            name="fk_loyalty_enrollment_org_id_customer_id_customer",
        ),
    )
    op.create_table(
        "customer_change",
        _org_id(),
        sa.Column("change_id", _id(), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("field_name", sa.String(100), nullable=False),
        sa.Column("field_type", sa.String(20), nullable=False),
        sa.Column("previous_value", sa.Text(), nullable=True),
        sa.Column("current_value", sa.Text(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("till_id", _id(), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        _ts("changed_at"),
        sa.PrimaryKeyConstraint("org_id", "change_id", name="pk_customer_change"),
    )
    op.create_index(
        "ix_customer_change_org_id_customer_id_change_id",
        "customer_change",
        ["org_id", "customer_id", "change_id"],
    )
    op.create_table(
        "outbox_event",
        _org_id(),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("event_uuid", sa.String(36), nullable=False),
        sa.Column("event_name", sa.String(60), nullable=False),
        sa.Column("customer_id", _id(), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("org_id", "event_id", name="pk_outbox_event"),
        sa.UniqueConstraint("org_id", "event_uuid", name="uq_outbox_event_org_id_event_uuid"),
    )
    op.create_index(
        "ix_outbox_event_org_id_customer_id_event_id", "outbox_event", ["org_id", "customer_id", "event_id"]
    )
    op.create_table(
        "search_term",
        _org_id(),
        sa.Column(
            "term", sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("id_type", sa.String(40), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("display_value", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "term", "customer_id", "id_type", "source", "account_id", name="pk_search_term"
        ),
    )
    op.create_index("ix_search_term_org_id_customer_id", "search_term", ["org_id", "customer_id"])

    if op.get_bind().dialect.name == "postgresql":
        for name in SEQUENCES:
            op.execute(f"CREATE SEQUENCE {name}_id_seq AS bigint START WITH 1000")
    else:
        op.create_table(
            "id_sequence",
            sa.Column("name", sa.String(40), primary_key=True),
            sa.Column("value", sa.Integer(), nullable=False),
        )
        op.bulk_insert(
            sa.table("id_sequence", sa.column("name", sa.String()), sa.column("value", sa.Integer())),
            [{"name": name, "value": 999} for name in SEQUENCES],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in SEQUENCES:
            op.execute(f"DROP SEQUENCE {name}_id_seq")
    else:
        op.drop_table("id_sequence")
    for table in (
        "search_term",
        "outbox_event",
        "customer_change",
        "loyalty_enrollment",
        "card",
        "customer_identifier",
        "customer_profile",
        "customer",
        "till",
        "org",
    ):
        op.drop_table(table)
