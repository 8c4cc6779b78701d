"""The user namespace (seed 004): the records only it holds, beside the customer.

Revision ID: users
Revises: images
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "users"
down_revision = "images"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    # One row per record the user namespace keeps of a customer (docs/users.md): its kind
    # (email, phone, address, personal_info, preferences, currency, terms, custom_field,
    # geo_coordinates, notation, ...), the plain fields in `data`, the sensitive ones in
    # `sealed` (AES-256-GCM, users/sensitive.py).
    op.create_table(
        "user_record",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("record_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("verification_status", sa.Integer(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "record_id", name="pk_user_record"),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customer.org_id", "customer.customer_id"],
            name="fk_user_record_org_id_customer_id_customer",
        ),
    )
    op.create_index(
        "ix_user_record_org_id_customer_id_kind", "user_record", ["org_id", "customer_id", "kind"]
    )
    # Inquiry User(s) by creation date alone: a range of this index, never a scan of the org.
    op.create_index("ix_customer_org_id_created_at", "customer", ["org_id", "created_at"])
    if on_postgresql:
        op.execute("CREATE SEQUENCE user_record_id_seq AS bigint START WITH 1000")
    else:
        op.bulk_insert(
            sa.table("id_sequence", sa.column("name", sa.String()), sa.column("value", sa.Integer())),
            [{"name": "user_record", "value": 999}],
        )


def downgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_table("user_record")
    op.drop_index("ix_customer_org_id_created_at", table_name="customer")
    if on_postgresql:
        op.execute("DROP SEQUENCE user_record_id_seq")
    else:
        op.execute("DELETE FROM id_sequence WHERE name = 'user_record'")
