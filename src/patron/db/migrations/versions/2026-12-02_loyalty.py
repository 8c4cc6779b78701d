"""Loyalty: the enrollment becomes the program summary, and the points ledger, bills,
transfers, goodwill requests, groups, partner memberships and scheduler marks arrive.

Points already stated on enrollments become `enrollment` entries of the ledger, so every
summary is the sum of its ledger from the start.

Revision ID: loyalty
Revises: login_throttle
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "loyalty"
down_revision = "login_throttle"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCES = ("ledger", "bill", "transfer", "goodwill", "grp")
_SUMMARY = ("lifetime_points", "redeemed", "expired", "returned", "adjusted", "tier_base")


def upgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    if on_postgresql:
        op.alter_column("loyalty_enrollment", "loyalty_points", type_=sa.BigInteger())
    for name in _SUMMARY:
        op.add_column("loyalty_enrollment", sa.Column(name, _ID, nullable=False, server_default="0"))
    op.add_column(
        "loyalty_enrollment",
        sa.Column("cumulative_purchases", sa.Numeric(18, 2), nullable=False, server_default="0"),
    )
    op.add_column("loyalty_enrollment", sa.Column("updated_at", _TIME, nullable=True))
    op.create_index(
        "ix_loyalty_enrollment_org_id_tier_expires_at", "loyalty_enrollment", ["org_id", "tier_expires_at"]
    )
    op.execute("UPDATE loyalty_enrollment SET lifetime_points = loyalty_points")

    op.create_table(
        "points_ledger",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("group_id", _ID, nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("points", _ID, nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("bill_number", sa.String(100), nullable=True),
        sa.Column("ref_kind", sa.String(30), nullable=True),
        sa.Column("ref_id", _ID, nullable=True),
        sa.Column("till_id", _ID, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "entry_id", name="pk_points_ledger"),
    )
    op.create_index(
        "ix_points_ledger_org_id_customer_id_program_id_entry_id",
        "points_ledger",
        ["org_id", "customer_id", "program_id", "entry_id"],
    )
    op.create_index("ix_points_ledger_org_id_expires_at", "points_ledger", ["org_id", "expires_at"])
    op.create_index(
        "ix_points_ledger_org_id_group_id",
        "points_ledger",
        ["org_id", "group_id"],
        sqlite_where=sa.text("group_id IS NOT NULL"),
        postgresql_where=sa.text("group_id IS NOT NULL"),
    )
    op.create_index(
        "ix_points_ledger_org_id_created_at",
        "points_ledger",
        ["org_id", "created_at"],
        sqlite_where=sa.text("expires_at <= created_at"),
        postgresql_where=sa.text("expires_at <= created_at"),
    )

    op.create_table(
        "loyalty_bill",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("bill_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("bill_number", sa.String(100), nullable=False),
        sa.Column("bill_amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("bill_date", _TIME, nullable=False),
        sa.Column("points", _ID, nullable=False),
        sa.Column("line_items", _JSON, nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "bill_id", name="pk_loyalty_bill"),
    )
    op.create_index(
        "ix_loyalty_bill_org_id_customer_id_bill_number",
        "loyalty_bill",
        ["org_id", "customer_id", "bill_number"],
    )

    op.create_table(
        "points_transfer",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("transfer_id", _ID, nullable=False),
        sa.Column("from_customer_id", _ID, nullable=False),
        sa.Column("to_customer_id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("points", _ID, nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "transfer_id", name="pk_points_transfer"),
    )
    op.create_index(
        "ix_points_transfer_org_id_from_customer_id", "points_transfer", ["org_id", "from_customer_id"]
    )
    op.create_index(
        "ix_points_transfer_org_id_to_customer_id", "points_transfer", ["org_id", "to_customer_id"]
    )

    op.create_table(
        "goodwill_request",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("program_id", _ID, nullable=False),
        sa.Column("goodwill_type", sa.String(20), nullable=False),
        sa.Column("points", _ID, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("approved_value", _ID, nullable=True),
        sa.Column("updated_comments", sa.Text(), nullable=False),
        sa.Column("one_step", sa.Boolean(), nullable=False),
        sa.Column("api_request_id", sa.String(100), nullable=False),
        sa.Column("added_by_till_id", _ID, nullable=False),
        sa.Column("updated_by_till_id", _ID, nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "request_id", name="pk_goodwill_request"),
    )
    op.create_index(
        "ix_goodwill_request_org_id_customer_id_request_id",
        "goodwill_request",
        ["org_id", "customer_id", "request_id"],
    )

    op.create_table(
        "customer_group",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("hierarchy_code", sa.String(100), nullable=False),
        sa.Column("group_program_id", _ID, nullable=True),
        sa.Column("primary_customer_id", _ID, nullable=False),
        sa.Column("primary_role", sa.String(100), nullable=False),
        sa.Column("loyalty_points", _ID, nullable=False),
        sa.Column("lifetime_points", _ID, nullable=False),
        sa.Column("promised_points", _ID, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "group_id", name="pk_customer_group"),
        sa.UniqueConstraint(
            "org_id",
            "primary_customer_id",
            "hierarchy_code",
            name="uq_customer_group_org_id_primary_customer_id_hierarchy_code",
        ),
    )
    op.create_table(
        "group_member",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("role_code", sa.String(100), nullable=False),
        sa.Column("joined_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "group_id", "customer_id", name="pk_group_member"),
    )
    op.create_index("ix_group_member_org_id_customer_id", "group_member", ["org_id", "customer_id"])

    op.create_table(
        "partner_membership",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("partner_program_id", _ID, nullable=False),
        sa.Column("membership_number", sa.String(100), nullable=True),
        sa.Column("membership_expiry_date", sa.String(10), nullable=True),
        sa.Column("partner_tier_number", sa.Integer(), nullable=True),
        sa.Column("partner_tier_expiry_date", sa.String(10), nullable=True),
        sa.Column("linked_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "customer_id", "partner_program_id", name="pk_partner_membership"),
    )
    op.create_index(
        "ix_partner_membership_org_id_membership_expiry_date",
        "partner_membership",
        ["org_id", "membership_expiry_date"],
    )
    op.create_table(
        "partner_reminder",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("partner_program_id", _ID, nullable=False),
        sa.Column("expiry_date", sa.String(10), nullable=False),
        sa.Column("sent_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "customer_id", "partner_program_id", "expiry_date", name="pk_partner_reminder"
        ),
    )
    op.create_table(
        "scheduler_mark",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("job", sa.String(50), nullable=False),
        sa.Column("done_until", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "job", name="pk_scheduler_mark"),
    )

    if on_postgresql:
        for name in SEQUENCES:
            op.execute(f"CREATE SEQUENCE {name}_id_seq AS bigint START WITH 1000")
        op.execute(
            "INSERT INTO points_ledger (org_id, entry_id, customer_id, program_id, kind, points, expires_at,"
            " till_id, request_id, created_at) SELECT org_id, nextval('ledger_id_seq'), customer_id,"
            " program_id, 'enrollment', loyalty_points, points_expire_at, 0, '', enrolled_at"
            " FROM loyalty_enrollment WHERE loyalty_points > 0"
        )
    else:
        op.bulk_insert(
            sa.table("id_sequence", sa.column("name", sa.String()), sa.column("value", sa.Integer())),
            [{"name": name, "value": 999} for name in SEQUENCES],
        )
        op.execute(
            "INSERT INTO points_ledger (org_id, entry_id, customer_id, program_id, kind, points, expires_at,"
            " till_id, request_id, created_at) SELECT org_id, 999 + ROW_NUMBER() OVER (ORDER BY org_id,"
            " customer_id, program_id), customer_id, program_id, 'enrollment', loyalty_points,"
            " points_expire_at, 0, '', enrolled_at FROM loyalty_enrollment WHERE loyalty_points > 0"
        )
        op.execute(
            "UPDATE id_sequence SET value ="
            " (SELECT MAX(999, COALESCE(MAX(entry_id), 999)) FROM points_ledger) WHERE name = 'ledger'"
        )


def downgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    for table in (
        "scheduler_mark",
        "partner_reminder",
        "partner_membership",
        "group_member",
        "customer_group",
        "goodwill_request",
        "points_transfer",
        "loyalty_bill",
        "points_ledger",
    ):
        op.drop_table(table)
    op.drop_index("ix_loyalty_enrollment_org_id_tier_expires_at", table_name="loyalty_enrollment")
    with op.batch_alter_table("loyalty_enrollment") as batch:
        for name in (*_SUMMARY, "cumulative_purchases", "updated_at"):
            batch.drop_column(name)
    if on_postgresql:
        for name in SEQUENCES:
            op.execute(f"DROP SEQUENCE {name}_id_seq")
        op.alter_column("loyalty_enrollment", "loyalty_points", type_=sa.Integer())
    else:
        op.execute("DELETE FROM id_sequence WHERE name IN ('ledger', 'bill', 'transfer', 'goodwill', 'grp')")
