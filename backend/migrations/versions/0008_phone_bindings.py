"""phone bindings: a phone binds to a citizen only with proof of control

``phone_bindings`` (one live row per account, distinct slots per citizen, both
partial unique indexes on ``revoked_at IS NULL``), ``binding_challenges`` (the
pending SMS codes and face checks, hashed) and ``citizen_tokens.binding_id``.

Existing bindings were made by name and identity number alone. Those whose
account's phone is the citizen's registered phone are kept (the account's SMS
log-in proved control of that number); every other one is undone: its account
is unbound and its live tokens revoked, and the citizen binds again with proof.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "phone_bindings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("proof", sa.String(length=16), nullable=False),
        sa.Column("created_at", backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["citizen_accounts.id"],
            name=op.f("fk_phone_bindings_account_id_citizen_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_phone_bindings_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_bindings")),
    )
    with op.batch_alter_table("phone_bindings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_phone_bindings_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_phone_bindings_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            "uq_phone_bindings_live_account",
            ["account_id"],
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        )
        batch_op.create_index(
            "uq_phone_bindings_live_slot",
            ["citizen_id", "slot"],
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        )

    op.create_table(
        "binding_challenges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backend.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", backend.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["citizen_accounts.id"],
            name=op.f("fk_binding_challenges_account_id_citizen_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_binding_challenges_citizen_id_citizens"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_challenges")),
    )
    with op.batch_alter_table("binding_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_binding_challenges_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_binding_challenges_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_binding_challenges_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("citizen_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("binding_id", sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_citizen_tokens_binding_id"), ["binding_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_citizen_tokens_binding_id_phone_bindings"),
            "phone_bindings",
            ["binding_id"],
            ["id"],
        )

    # Keep the bindings the log-in itself proved (the account's number is the registered one);
    # the binding takes the account's id, which is unique and already a UUID.
    op.execute(
        """
        INSERT INTO phone_bindings (id, citizen_id, account_id, slot, proof, created_at)
        SELECT a.id, a.citizen_id, a.id, 1, 'login_phone', COALESCE(a.bound_at, a.created_at)
        FROM citizen_accounts a JOIN citizens c ON c.id = a.citizen_id
        WHERE a.phone_hash = c.phone_hash
        """
    )
    op.execute(
        """
        UPDATE citizen_tokens SET binding_id = account_id
        WHERE account_id IS NOT NULL AND citizen_id IS NOT NULL
          AND account_id IN (SELECT account_id FROM phone_bindings)
        """
    )
    # Undo the rest: bound by name and number alone, without proof.
    op.execute(
        """
        UPDATE citizen_tokens SET revoked_at = CURRENT_TIMESTAMP
        WHERE account_id IS NOT NULL AND citizen_id IS NOT NULL
          AND binding_id IS NULL AND revoked_at IS NULL
        """
    )
    op.execute(
        """
        UPDATE citizen_accounts SET citizen_id = NULL, bound_at = NULL
        WHERE citizen_id IS NOT NULL
          AND id NOT IN (SELECT account_id FROM phone_bindings)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("citizen_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_citizen_tokens_binding_id_phone_bindings"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_citizen_tokens_binding_id"))
        batch_op.drop_column("binding_id")
    with op.batch_alter_table("binding_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_binding_challenges_created_at"))
        batch_op.drop_index(batch_op.f("ix_binding_challenges_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_binding_challenges_account_id"))
    op.drop_table("binding_challenges")
    with op.batch_alter_table("phone_bindings", schema=None) as batch_op:
        batch_op.drop_index("uq_phone_bindings_live_slot")
        batch_op.drop_index("uq_phone_bindings_live_account")
        batch_op.drop_index(batch_op.f("ix_phone_bindings_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_phone_bindings_account_id"))
    op.drop_table("phone_bindings")
