"""The user namespace's security flows (issue 12): one-time codes, the message outbox,
credential-failure throttling, security access rules and their frequency counts.

Revision ID: user_security
Revises: users
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "user_security"
down_revision = "users"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # The pending one-time code (or link token) of a user for one purpose: its keyed hash,
    # never the code; a new request replaces it (users/challenges.py).
    op.create_table(
        "user_challenge",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("purpose", sa.String(30), nullable=False),
        sa.Column("challenge_id", _ID, nullable=False),
        sa.Column("record_id", _ID, nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("window_start", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "customer_id", "purpose", name="pk_user_challenge"),
        sa.ForeignKeyConstraint(
            ["org_id", "customer_id"],
            ["customer.org_id", "customer.customer_id"],
            name="fk_user_challenge_org_id_customer_id_customer",
        ),
    )
    # Messages owed to a user (codes, links), written with the change that owes them and
    # sent by the worker after commit; the row goes once sent (messages/outbox.py).
    op.create_table(
        "message_outbox",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("purpose", sa.String(30), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "message_id", name="pk_message_outbox"),
    )
    # Failed credential checks per subject (an account or a client address), shared by
    # every serving process (security/attempts.py).
    op.create_table(
        "credential_failure",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("window_start", _TIME, nullable=False),
        sa.Column("window_failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", _TIME, nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "subject", name="pk_credential_failure"),
    )
    # Security access rules of seed 004 (Add/Update/Get/Delete Security Access).
    op.create_table(
        "access_rule",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("rule_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("till_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "rule_id", name="pk_access_rule"),
    )
    op.create_index("ix_access_rule_org_id_customer_id", "access_rule", ["org_id", "customer_id"])
    # Uses of an action counted against a rule's frequency limit, one row per rule, user (0:
    # the org) and period; pruned once the period has ended.
    op.create_table(
        "access_rule_use",
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("rule_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("period_end", _TIME, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "rule_id", "customer_id", "period_end", name="pk_access_rule_use"),
    )


def downgrade() -> None:
    op.drop_table("access_rule_use")
    op.drop_index("ix_access_rule_org_id_customer_id", table_name="access_rule")
    op.drop_table("access_rule")
    op.drop_table("credential_failure")
    op.drop_table("message_outbox")
    op.drop_table("user_challenge")
