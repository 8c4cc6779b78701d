"""Merges recorded as change sets (issue 15): one `customer_merge` row per merge
(registration 8050, changeIdentifier 8051, or an explicit POST /v2/customers/merge) holding
what moved where and what both customers looked like before; `change_request.merge_id`
names the merge of a MERGE entry. The undo columns stay NULL until a merge is undone.

Revision ID: customer_merges
Revises: worker_heartbeat
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "customer_merges"
down_revision = "worker_heartbeat"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "customer_merge",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("merge_id", _ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("survivor_id", _ID, nullable=False),
        sa.Column("victim_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("change_set", _JSON, nullable=False),
        sa.Column("undone_at", _TIME, nullable=True),
        sa.Column("undo_till_id", _ID, nullable=True),
        sa.Column("undo_request_id", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "merge_id", name="pk_customer_merge"),
    )
    op.create_index("ix_customer_merge_org_id_survivor_id", "customer_merge", ["org_id", "survivor_id"])
    op.create_index("ix_customer_merge_org_id_victim_id", "customer_merge", ["org_id", "victim_id"])
    with op.batch_alter_table("change_request") as batch:
        batch.add_column(sa.Column("merge_id", _ID, nullable=True))
    if on_postgresql:
        op.execute("CREATE SEQUENCE merge_id_seq AS bigint START WITH 1000")
    else:
        op.bulk_insert(
            sa.table("id_sequence", sa.column("name", sa.String()), sa.column("value", sa.Integer())),
            [{"name": "merge", "value": 999}],
        )


def downgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("change_request") as batch:
        batch.drop_column("merge_id")
    op.drop_table("customer_merge")
    if on_postgresql:
        op.execute("DROP SEQUENCE merge_id_seq")
    else:
        op.execute("DELETE FROM id_sequence WHERE name = 'merge'")
