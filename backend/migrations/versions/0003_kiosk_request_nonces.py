"""kiosk request nonces (signed HTTPS calls from kiosks)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosk_request_nonces",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("seen_at", backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "nonce", name=op.f("pk_kiosk_request_nonces")),
    )
    op.create_index(
        "ix_kiosk_request_nonces_seen_at", "kiosk_request_nonces", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_kiosk_request_nonces_seen_at", table_name="kiosk_request_nonces")
    op.drop_table("kiosk_request_nonces")
