"""Retained messages ingest has already handled, so a reconnect does not handle them again.

The broker hands every retained message on a subscribed topic to a subscriber
again each time it subscribes. Ingest keeps the digest of each retained
message it has handled (topic and payload) and skips a retained message whose
digest is known: 10,000 junk retained messages make 10,000 dead letters once,
not again on every restart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class RetainedSeen(Base):
    __tablename__ = "retained_seen"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(topic, payload)
    topic: Mapped[str] = mapped_column(String(512))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
