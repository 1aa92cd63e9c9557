"""Enrolment: one-time codes that turn a box into a fleet member, and who was enrolled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class EnrolmentCode(Base):
    """A one-time, expiring code bound to a site and region; stored as a hash only."""

    __tablename__ = "enrolment_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kiosk_id: Mapped[str | None] = mapped_column(String(64))


class Enrolment(Base):
    """A kiosk's place in the fleet: where it stands and the certificate it holds."""

    __tablename__ = "enrolments"
    __table_args__ = (Index("ix_enrolments_region_code", "region_code"),)

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12))
    certificate_serial: Mapped[str] = mapped_column(String(64))
    # The certificate itself (public): an offline kiosk's signed proof is checked against it.
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
