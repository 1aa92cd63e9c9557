"""Nonces of kiosks' signed requests, kept while a replay could still pass the clock check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class KioskRequestNonce(Base):
    """One row per signed request: a second request with the same nonce is a replay."""

    __tablename__ = "kiosk_request_nonces"
    __table_args__ = (Index("ix_kiosk_request_nonces_seen_at", "seen_at"),)

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
