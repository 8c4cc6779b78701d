"""Change requests: identifier change requests and retro requests.

Every identifier change (changeIdentifier) and every merge is a `change_request` row, PENDING
until decided when the org asks for approval; a retro request (`retro_request`) attaches a
past purchase to a customer. A purchase may now be recorded without a customer
(`loyalty_bill.customer_id` NULL) until a retro request attaches it.

Revision ID: change_requests
Revises: referrals
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "change_requests"
down_revision = "referrals"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCES = ("change_request", "retro_request")
_PENDING = "status = 'PENDING'"


def upgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "change_request",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("change_type", sa.String(30), nullable=False),
        sa.Column("types", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(100), nullable=False),
        sa.Column("changes", _JSON, nullable=False),
        sa.Column("command", _JSON, nullable=True),
        sa.Column("merged_customer_id", _ID, nullable=True),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("one_step", sa.Boolean(), nullable=False),
        sa.Column("api_request_id", sa.String(100), nullable=False),
        sa.Column("added_by_till_id", _ID, nullable=False),
        sa.Column("updated_by_till_id", _ID, nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "request_id", name="pk_change_request"),
    )
    op.create_index(
        "ix_change_request_org_id_customer_id_request_id",
        "change_request",
        ["org_id", "customer_id", "request_id"],
    )
    op.create_table(
        "retro_request",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("bill_id", _ID, nullable=False),
        sa.Column("bill_number", sa.String(100), nullable=False),
        sa.Column("from_customer_id", _ID, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("points", _ID, nullable=True),
        sa.Column("one_step", sa.Boolean(), nullable=False),
        sa.Column("api_request_id", sa.String(100), nullable=False),
        sa.Column("added_by_till_id", _ID, nullable=False),
        sa.Column("updated_by_till_id", _ID, nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "request_id", name="pk_retro_request"),
    )
    op.create_index(
        "ix_retro_request_org_id_customer_id_request_id",
        "retro_request",
        ["org_id", "customer_id", "request_id"],
    )
    # One PENDING request per bill: two tills asking at once cannot both wait.
    op.create_index(
        "ix_retro_request_org_id_bill_id",
        "retro_request",
        ["org_id", "bill_id"],
        unique=True,
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )
    with op.batch_alter_table("loyalty_bill") as batch:
        batch.alter_column("customer_id", existing_type=_ID, nullable=True)
    op.create_index("ix_loyalty_bill_org_id_bill_number", "loyalty_bill", ["org_id", "bill_number"])
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
    op.drop_index("ix_loyalty_bill_org_id_bill_number", table_name="loyalty_bill")
    # Bills nobody claimed have no customer to go back to.
    op.execute("DELETE FROM loyalty_bill WHERE customer_id IS NULL")
    with op.batch_alter_table("loyalty_bill") as batch:
        batch.alter_column("customer_id", existing_type=_ID, nullable=False)
    op.drop_table("retro_request")
    op.drop_table("change_request")
    if on_postgresql:
        for name in SEQUENCES:
            op.execute(f"DROP SEQUENCE {name}_id_seq")
    else:
        op.execute("DELETE FROM id_sequence WHERE name IN ('change_request', 'retro_request')")
