"""The fleet's online count, sampled by the alert worker: the "online rate over time" chart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class FleetSample(Base):
    __tablename__ = "fleet_samples"

    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    online: Mapped[int] = mapped_column(Integer)
    open_alerts: Mapped[int] = mapped_column(Integer)
