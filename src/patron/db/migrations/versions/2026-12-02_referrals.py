"""Referrals: referral codes, invitations, referees and incentives.

Revision ID: referrals
Revises: coupons
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "referrals"
down_revision = "coupons"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def _customer_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id", column],
        ["customer.org_id", "customer.customer_id"],
        name=f"fk_{table}_org_id_{column}_customer",
    )


def upgrade() -> None:
    op.create_table(
        "referral_code",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "customer_id", name="pk_referral_code"),
        sa.UniqueConstraint("org_id", "code", name="uq_referral_code_org_id_code"),
        _customer_fk("referral_code", "customer_id"),
    )
    op.create_table(
        "referral_invitation",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("referrer_id", _ID, nullable=False),
        sa.Column("id_type", sa.String(10), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("campaign_token", sa.String(50), nullable=False),
        sa.Column("invited_on", _TIME, nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "referrer_id", "id_type", "identifier", name="pk_referral_invitation"
        ),
        _customer_fk("referral_invitation", "referrer_id"),
    )
    op.create_index(
        "ix_referral_invitation_org_id_id_type_identifier",
        "referral_invitation",
        ["org_id", "id_type", "identifier"],
    )
    op.create_table(
        "referral",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("referee_id", _ID, nullable=False),
        sa.Column("referrer_id", _ID, nullable=False),
        sa.Column("campaign_token", sa.String(50), nullable=False),
        sa.Column("event_type", sa.String(20), nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "referee_id", name="pk_referral"),
        _customer_fk("referral", "referee_id"),
        _customer_fk("referral", "referrer_id"),
    )
    op.create_index("ix_referral_org_id_referrer_id", "referral", ["org_id", "referrer_id"])
    op.create_table(
        "referral_incentive",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("referee_id", _ID, nullable=False),
        sa.Column("beneficiary_id", _ID, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("referrer_id", _ID, nullable=False),
        sa.Column("campaign_token", sa.String(50), nullable=False),
        sa.Column("points", _ID, nullable=True),
        sa.Column("program_id", _ID, nullable=True),
        sa.Column("coupon_id", _ID, nullable=True),
        sa.Column("coupon_code", sa.String(40), nullable=True),
        sa.Column("series_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "referee_id", "beneficiary_id", "kind", name="pk_referral_incentive"
        ),
        _customer_fk("referral_incentive", "beneficiary_id"),
    )
    op.create_index(
        "ix_referral_incentive_org_id_beneficiary_id", "referral_incentive", ["org_id", "beneficiary_id"]
    )


def downgrade() -> None:
    op.drop_table("referral_incentive")
    op.drop_table("referral")
    op.drop_table("referral_invitation")
    op.drop_table("referral_code")
