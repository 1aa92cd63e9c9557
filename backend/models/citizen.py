"""Citizens (the population registry), mini-app accounts, citizen tokens, one-time codes.

Identity and phone numbers are stored AES-GCM-encrypted, beside an HMAC of
the value for look-ups and the masked form for display; the clear value is
never stored (keys: backend/gov/keys.py). Tokens, like API tokens, are
stored as SHA-256 hashes only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number_enc: Mapped[str] = mapped_column(String(200))
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    phone_enc: Mapped[str | None] = mapped_column(String(200))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(11))
    gender: Mapped[str] = mapped_column(String(1))
    region_code: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CitizenAccount(Base):
    """A mini-app account, known by its phone number; bound to a citizen through a PhoneBinding.

    ``citizen_id`` mirrors the account's live binding (set when bound, cleared when the
    binding is revoked); the binding row is what tokens are checked against.
    """

    __tablename__ = "citizen_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str] = mapped_column(String(200))
    phone_masked: Mapped[str] = mapped_column(String(11))
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bind_failures: Mapped[int] = mapped_column(Integer, default=0)
    bind_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CitizenToken(Base):
    """A short-lived bearer token; ``kiosk_id`` set means it works only with that kiosk's signature."""

    __tablename__ = "citizen_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # kiosk | app
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("citizen_accounts.id"))
    kiosk_id: Mapped[str | None] = mapped_column(String(64))
    # A public reference to a kiosk session (never a credential): events that act for the
    # citizen name it, and ingest checks it was issued to the sending kiosk at that time.
    ref: Mapped[str | None] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a mini-app token reaches the citizen only while this binding is live
    binding_id: Mapped[str | None] = mapped_column(ForeignKey("phone_bindings.id"), index=True)


LIVE = text("revoked_at IS NULL")


class PhoneBinding(Base):
    """One phone (a mini-app account) bound to one citizen, with the proof of control that bound it.

    ``proof``: ``login_phone`` (the account's own number is the registered one; its log-in
    code proved it), ``sms`` (a code sent to the registered number), ``face`` (the face-check
    provider). At most one live binding per account; a citizen's live bindings take distinct
    ``slot`` numbers 1..limit, so two phones binding at once cannot both take the last place
    (the partial unique index refuses the second, on SQLite and PostgreSQL alike).
    """

    __tablename__ = "phone_bindings"
    __table_args__ = (
        Index(
            "uq_phone_bindings_live_account",
            "account_id",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "uq_phone_bindings_live_slot",
            "citizen_id",
            "slot",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("citizen_accounts.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    proof: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(120))


class BindingChallenge(Base):
    """A pending proof for binding ``account_id`` to ``citizen_id``: an SMS code or a face check.

    ``secret_hash`` is an HMAC (the data keys' look-up key) of the code or of the face
    provider's session token, never the clear value. ``attempts`` is raised by one
    conditional UPDATE per try (``attempts < max_attempts``), so parallel guesses cannot
    exceed the limit; ``used_at`` is set by another, so a proof binds once.
    """

    __tablename__ = "binding_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("citizen_accounts.id"), index=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    method: Mapped[str] = mapped_column(String(8))  # sms | face
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsCode(Base):
    __tablename__ = "sms_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CitizenAccessLog(Base):
    """Who read which citizen's data, when (until the shared hash-chained audit log exists)."""

    __tablename__ = "citizen_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    citizen_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(500))
