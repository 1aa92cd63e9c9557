"""keyed audit log: a MAC key id and per-field tags on each entry, a MAC on the head

Entries written before this revision keep ``key_id`` NULL: they are the
legacy, unkeyed SHA-256 chain, still verified as such up to the first keyed
entry (backend/services/audit.py).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("key_id", sa.String(length=32), nullable=True))
    op.add_column("audit_log", sa.Column("tags", sa.String(length=128), nullable=True))
    op.add_column("audit_head", sa.Column("key_id", sa.String(length=32), nullable=True))
    op.add_column("audit_head", sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("mac")
        batch.drop_column("key_id")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("tags")
        batch.drop_column("key_id")
