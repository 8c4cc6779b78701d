"""The delivery workers' heartbeats (issue 14): `/ready` reports a worker alive while one
of these rows is fresh.

One row per running worker process, keyed by the worker's id (host:pid:random). The table
has no org_id: a heartbeat belongs to the installation, not to an org. On Citus it is a
reference table (docs/operations.md); its rows are few (the workers that ran in the last
hour) and written every few seconds.

Revision ID: worker_heartbeat
Revises: console_reads
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "worker_heartbeat"
down_revision = "console_reads"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("beat_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name="pk_worker_heartbeat"),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeat")
