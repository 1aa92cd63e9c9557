"""Where each kiosk stands (a GB/T 2260 region code and a site), and technicians' token scopes.

Placements come from enrolment, from the region in an enrolled kiosk's id
(``k110102-0001``), or from ops; one narrow table keeps the fleet page's
region tree a single GROUP BY even with 10,000 kiosks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class KioskPlacement(Base):
    __tablename__ = "kiosk_placements"
    __table_args__ = (Index("ix_kiosk_placements_region_code", "region_code"),)

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12))
    site: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # enrolment, kiosk_id, ops
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TokenRegion(Base):
    """The regions a technician's bearer token may act on (tokens of other roles have none)."""

    __tablename__ = "api_token_regions"

    token_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
