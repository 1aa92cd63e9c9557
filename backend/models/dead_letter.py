"""Messages that failed validation, kept with the reason: nothing is dropped silently.

A payload may hold a citizen's data, so it is kept masked, and encrypted in full.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime

MAX_KEPT_BYTES = 64 * 1024  # an oversized payload keeps its first 64 KiB and its true size


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    topic: Mapped[str] = mapped_column(String(512))
    reason_code: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(1000))
    # The masked copy (identity and phone numbers masked), shown in the ops centre; the
    # original is in payload_enc, AES-GCM under the citizen-data key (backend/services/dead_letters.py).
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # encrypted | masked_only (ingest had no keys: the masked copy is all there is) | NULL (legacy, clear)
    payload_protection: Mapped[str | None] = mapped_column(String(16))
    payload_size: Mapped[int] = mapped_column(Integer)
