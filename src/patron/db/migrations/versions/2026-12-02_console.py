"""The operator console (issue 13): a role per till, and console sessions.

`till.role` is `till` (the API only) or `operator` (the API and the console). Existing tills
become `till`, except each org's first till (the one `patron org create` made), which
becomes `operator`, as `org create` makes it from now on.

Revision ID: console
Revises: user_security
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "console"
down_revision = "user_security"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("till", sa.Column("role", sa.String(20), nullable=False, server_default="till"))
    # Till ids are unique across orgs, so the lowest id of each org is that org's first till.
    op.execute(
        "UPDATE till SET role = 'operator'"
        " WHERE till_id IN (SELECT MIN(t.till_id) FROM till t GROUP BY t.org_id)"
    )
    # A signed-in operator: the cookie carries the org id and a random token; only the
    # token's keyed digest is stored (security/sessions.py).
    op.create_table(
        "console_session",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_seen_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "session_id", name="pk_console_session"),
        sa.UniqueConstraint("org_id", "token_hash", name="uq_console_session_org_id_token_hash"),
        sa.ForeignKeyConstraint(
            ["org_id", "till_id"],
            ["till.org_id", "till.till_id"],
            name="fk_console_session_org_id_till_id_till",
        ),
    )
    op.create_index("ix_console_session_org_id_till_id", "console_session", ["org_id", "till_id"])


def downgrade() -> None:
    op.drop_index("ix_console_session_org_id_till_id", table_name="console_session")
    op.drop_table("console_session")
    with op.batch_alter_table("till") as batch:
        batch.drop_column("role")
