"""A kiosk as the fleet knows it: its latest status and health, kept current by ingest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class Kiosk(Base):
    __tablename__ = "kiosks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # connected_at of the status message applied last: a late last will of an
    # earlier connection must not mark a reconnected kiosk offline
    status_connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    app_version: Mapped[str | None] = mapped_column(String(64))
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    health_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbox_depth: Mapped[int | None] = mapped_column(Integer)
    outbox_oldest_age_s: Mapped[float | None] = mapped_column(Float)
    # The kiosk's clock minus the backend's, from its latest health or status (seconds);
    # beyond FLEET_MAX_CLOCK_SKEW_S the kiosk's timestamps are replaced by the backend's.
    clock_skew_s: Mapped[float | None] = mapped_column(Float)
