"""private data at rest: encrypted dead-letter payloads and application form fields

``dead_letters.payload`` keeps only a masked copy from now on; the original
goes AES-GCM-encrypted into ``payload_enc`` (``payload_protection`` says
which: ``encrypted``, or ``masked_only`` when ingest had no keys; NULL is a
row from before this revision, still in clear). ``applications.form_private``
holds the form's personal fields (phone numbers) encrypted, the form itself
their masked display. Rows already stored are converted by
``fleet-backend privacy rewrap`` (it needs the keys, which a migration does
not have).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("payload_protection", sa.String(length=16), nullable=True))
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_private", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("form_private")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_column("payload_protection")
        batch_op.drop_column("payload_enc")
