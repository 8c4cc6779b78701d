"""Coupons: coupon series instances issued to customers, and their redemptions.

Revision ID: coupons
Revises: engagement
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "coupons"
down_revision = "engagement"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
SEQUENCES = ("coupon", "redemption")


def upgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "coupon",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("coupon_id", _ID, nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("series_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("discount_type", sa.String(4), nullable=False),
        sa.Column("discount_value", sa.Numeric(18, 4), nullable=False),
        sa.Column("discount_upto", sa.Numeric(18, 4), nullable=False),
        sa.Column("max_redemptions", sa.Integer(), nullable=False),
        sa.Column("redemption_count", sa.Integer(), nullable=False),
        sa.Column("valid_till", _TIME, nullable=False),
        sa.Column("issued_for", sa.String(20), nullable=False),
        sa.Column("transaction_number", sa.String(100), nullable=False),
        sa.Column("issued_by_till_id", _ID, nullable=False),
        sa.Column("issued_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "coupon_id", name="pk_coupon"),
        sa.UniqueConstraint("org_id", "code", name="uq_coupon_org_id_code"),
    )
    op.create_index(
        "ix_coupon_org_id_customer_id_issued_at", "coupon", ["org_id", "customer_id", "issued_at"]
    )
    op.create_table(
        "coupon_redemption",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("redemption_id", _ID, nullable=False),
        sa.Column("coupon_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("bill_number", sa.String(100), nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("redeemed_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "redemption_id", name="pk_coupon_redemption"),
    )
    op.create_index("ix_coupon_redemption_org_id_coupon_id", "coupon_redemption", ["org_id", "coupon_id"])
    if on_postgresql:
        for name in SEQUENCES:
            op.execute(f"CREATE SEQUENCE {name}_id_seq AS bigint START WITH 1000")
    else:
        op.bulk_insert(
            sa.table("id_sequence", sa.column("name", sa.String()), sa.column("value", sa.Integer())),
            [{"name": name, "value": 999} for name in SEQUENCES],
        )


def downgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_table("coupon_redemption")
    op.drop_table("coupon")
    if on_postgresql:
        for name in SEQUENCES:
            op.execute(f"DROP SEQUENCE {name}_id_seq")
    else:
        op.execute("DELETE FROM id_sequence WHERE name IN ('coupon', 'redemption')")
