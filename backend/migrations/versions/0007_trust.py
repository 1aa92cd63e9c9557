"""trust: proof of who acted for a citizen, kiosk clock skew, retained messages handled

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = backend.models.base.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("citizen_tokens") as batch:
        batch.add_column(sa.Column("ref", sa.String(length=36), nullable=True))
        batch.create_unique_constraint(op.f("uq_citizen_tokens_ref"), ["ref"])
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("proof", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("kiosk_session_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("kiosks") as batch:
        batch.add_column(sa.Column("clock_skew_s", sa.Float(), nullable=True))
    with op.batch_alter_table("enrolments") as batch:
        batch.add_column(sa.Column("certificate_pem", sa.Text(), nullable=True))
    op.create_table(
        "retained_seen",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=512), nullable=False),
        sa.Column("seen_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_retained_seen")),
    )
    op.create_index(op.f("ix_retained_seen_seen_at"), "retained_seen", ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_retained_seen_seen_at"), table_name="retained_seen")
    op.drop_table("retained_seen")
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("certificate_pem")
    with op.batch_alter_table("kiosks") as batch:
        batch.drop_column("clock_skew_s")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("kiosk_session_id")
        batch.drop_column("proof")
    with op.batch_alter_table("citizen_tokens") as batch:
        batch.drop_constraint(op.f("uq_citizen_tokens_ref"), type_="unique")
        batch.drop_column("ref")
