"""Engagement: customer subscriptions per channel and priority, and the request counts of
the rate limits.

Revision ID: engagement
Revises: loyalty
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "engagement"
down_revision = "loyalty"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_subscription",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("updated_by_till_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id",
            "customer_id",
            "source",
            "account_id",
            "channel",
            "priority",
            name="pk_customer_subscription",
        ),
    )
    op.create_table(
        "rate_limit_window",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("operation", sa.String(100), nullable=False),
        sa.Column("window_start", _TIME, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "operation", "window_start", name="pk_rate_limit_window"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_window")
    op.drop_table("customer_subscription")
