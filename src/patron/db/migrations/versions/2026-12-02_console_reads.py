"""What the console reads (issue 13): the surface of each change, and indexes that bound the
figures of a time window by org and time.

`customer_change.surface` says where a change came in (v2, user, console, system), so a
customer's history shows it; rows written before are left null (unknown).

The dashboard counts purchases, sums points by kind and ranks delivery latencies over the
last 30 days; the webhooks page reads an endpoint's recent attempts. Without these indexes
each read walks all of an org's rows of the table.

On a large PostgreSQL database, build them beforehand with CREATE INDEX CONCURRENTLY under
the same names (this migration then finds them and skips them).

Revision ID: console_reads
Revises: console
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "console_reads"
down_revision = "console"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_points_ledger_org_id_created_at_kind", "points_ledger", ["org_id", "created_at", "kind"]),
    ("ix_loyalty_bill_org_id_created_at", "loyalty_bill", ["org_id", "created_at"]),
    ("ix_webhook_attempt_org_id_attempted_at", "webhook_attempt", ["org_id", "attempted_at"]),
)


def upgrade() -> None:
    op.add_column("customer_change", sa.Column("surface", sa.String(10), nullable=True))
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("customer_change") as batch:
        batch.drop_column("surface")
