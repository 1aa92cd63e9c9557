"""Remote commands as the ops centre sent them; their results come back as ``command_results``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class RemoteCommand(Base):
    __tablename__ = "commands"
    __table_args__ = (Index("ix_commands_kiosk_created", "kiosk_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the envelope id
    kiosk_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timeout_at: Mapped[datetime] = mapped_column(UTCDateTime)
    publish_error: Mapped[str | None] = mapped_column(String(500))
