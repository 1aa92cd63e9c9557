"""merge the government-services (0004) and ops-centre (0005) branches

They were built side by side from 0003 and touch separate tables; this
revision joins them so that the history has one head again.

Revision ID: 0006
Revises: 0004, 0005
Create Date: 2026-11-23 14:30:00
"""

from __future__ import annotations

revision = "0006"
down_revision = ("0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
