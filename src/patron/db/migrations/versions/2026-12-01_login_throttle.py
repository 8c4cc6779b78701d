"""Login throttle: failed logins counted per (org, till code, client address), shared by
every API process.

Revision ID: login_throttle
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "login_throttle"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("till_code", sa.String(100), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "till_code", "client", name="pk_login_failure"),
    )
    op.create_index(
        "ix_login_failure_org_id_till_code_window_start",
        "login_failure",
        ["org_id", "till_code", "window_start"],
    )


def downgrade() -> None:
    op.drop_index("ix_login_failure_org_id_till_code_window_start", table_name="login_failure")
    op.drop_table("login_failure")
