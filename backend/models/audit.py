"""The append-only, keyed, hash-chained audit log (留痕审计).

Each entry's ``hash`` is an HMAC-SHA256 (key ``key_id``, held outside the
database, backend/gov/keys.py) over its own content and the previous entry's
``hash``, so a changed entry breaks its own MAC and a removed one breaks the
chain, and nobody without the key can re-chain after a change. ``tags`` holds
one short MAC per field, so verification can name the field that changed.
Entries from before the key (``key_id`` NULL) are the legacy, unkeyed SHA-256
chain. ``AuditHead`` (one row) holds the last sequence number, MAC and the
head's own MAC; appending takes its row lock first, which serialises writers
on SQLite and PostgreSQL alike. Removing the newest entries and rolling the
head back is caught by the signed checkpoints kept outside the database
(backend/services/audit_checkpoints.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))  # NULL: legacy, unkeyed
    tags: Mapped[str | None] = mapped_column(String(128))


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    mac: Mapped[str | None] = mapped_column(String(64))
