"""attempt counters: atomic log-in, SMS-code and per-source limits (replaces phone_login_states)

Revision ID: 0009
Revises: 0011
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = backend.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "attempt_counters",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("resets_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attempt_counters")),
    )
    with op.batch_alter_table("attempt_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempt_counters_resets_at"), ["resets_at"], unique=False
        )
    # Wrong SMS codes are counted in attempt_counters now ("sms-login:<phone hash>"); the
    # old per-number rows only held short lockouts, nothing to carry over.
    op.drop_table("phone_login_states")


def downgrade() -> None:
    op.create_table(
        "phone_login_states",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_phone_login_states")),
    )
    with op.batch_alter_table("attempt_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_counters_resets_at"))
    op.drop_table("attempt_counters")
