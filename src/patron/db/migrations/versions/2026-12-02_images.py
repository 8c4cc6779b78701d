"""Customer images: the versions of each customer's image.

Revision ID: images
Revises: change_requests
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "images"
down_revision = "change_requests"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_image",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("file_handle", sa.String(36), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(20), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by_till_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "customer_id", "version", name="pk_customer_image"),
        sa.UniqueConstraint("org_id", "file_handle", name="uq_customer_image_org_id_file_handle"),
    )


def downgrade() -> None:
    op.drop_table("customer_image")
