"""Idempotency keys: the answer to a write, kept for a day under the key it was sent with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("idem_key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "idem_key", name="pk_idempotency_key"),
    )
    op.create_index("ix_idempotency_key_org_id_expires_at", "idempotency_key", ["org_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_org_id_expires_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
