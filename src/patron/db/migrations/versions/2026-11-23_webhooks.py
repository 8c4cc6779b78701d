"""Webhooks: endpoints, deliveries owed per endpoint and event, and the attempt log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEQUENCES = ("endpoint", "attempt")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("org_id", _id(), nullable=False),
        sa.Column("endpoint_id", _id(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("event_types", _json(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("secret_encrypted", sa.String(500), nullable=False),
        sa.Column("previous_secret_encrypted", sa.String(500), nullable=True),
        _ts("previous_secret_expires_at", nullable=True),
        sa.Column("max_in_flight", sa.Integer(), nullable=False),
        _ts("failing_since", nullable=True),
        _ts("last_success_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("org_id", "endpoint_id", name="pk_webhook_endpoint"),
        sa.ForeignKeyConstraint(["org_id"], ["org.org_id"], name="fk_webhook_endpoint_org_id_org"),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("org_id", _id(), nullable=False),
        sa.Column("endpoint_id", _id(), nullable=False),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("order_key", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        _ts("lease_until", nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("org_id", "endpoint_id", "event_id", name="pk_webhook_delivery"),
    )
    op.create_index(
        "ix_webhook_delivery_org_id_status_next_attempt_at",
        "webhook_delivery",
        ["org_id", "status", "next_attempt_at"],
    )
    op.create_index(
        "ix_webhook_delivery_org_id_endpoint_id_order_key_event_id",
        "webhook_delivery",
        ["org_id", "endpoint_id", "order_key", "event_id"],
    )
    op.create_table(
        "webhook_attempt",
        sa.Column("org_id", _id(), nullable=False),
        sa.Column("attempt_id", _id(), nullable=False),
        sa.Column("endpoint_id", _id(), nullable=False),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        _ts("attempted_at"),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("response_excerpt", sa.String(1024), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "attempt_id", name="pk_webhook_attempt"),
    )
    op.create_index(
        "ix_webhook_attempt_org_id_endpoint_id_attempt_id",
        "webhook_attempt",
        ["org_id", "endpoint_id", "attempt_id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        for name in SEQUENCES:
            op.execute(f"CREATE SEQUENCE {name}_id_seq AS bigint START WITH 1000")
    else:
        op.bulk_insert(
            sa.table("id_sequence", sa.column("name", sa.String()), sa.column("value", sa.Integer())),
            [{"name": name, "value": 999} for name in SEQUENCES],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in SEQUENCES:
            op.execute(f"DROP SEQUENCE {name}_id_seq")
    else:
        op.execute("DELETE FROM id_sequence WHERE name IN ('endpoint', 'attempt')")
    for table in ("webhook_attempt", "webhook_delivery", "webhook_endpoint"):
        op.drop_table(table)
