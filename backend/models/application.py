"""Applications (办件) from both channels, and every change of state with who, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_state_deadline", "state", "deadline_at"),
        Index("ix_applications_department_state", "department_code", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(64), unique=True)
    item_code: Mapped[str] = mapped_column(String(64))
    item_name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str | None] = mapped_column(String(32))
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    applicant_masked: Mapped[str] = mapped_column(String(18))
    channel: Mapped[str] = mapped_column(String(8))  # kiosk | app
    kiosk_id: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    bundle_no: Mapped[str | None] = mapped_column(String(32), index=True)  # 一件事一次办
    state: Mapped[str] = mapped_column(String(24))
    unmatched_reason: Mapped[str | None] = mapped_column(String(300))
    form: Mapped[dict[str, Any]] = mapped_column(JSON)  # personal numbers masked (private_text.py)
    # The form's personal fields in clear, AES-GCM-encrypted (backend/services/private_data.py).
    form_private: Mapped[str | None] = mapped_column(Text)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What proved that the applicant acted (backend/services/proofs.py): the kiosk session
    # the backend issued, the card's signed answer of an offline kiosk, the mini-app log-in
    # and bound phone, or the reviewer who matched it by hand.
    proof: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The kiosk's own session id (kiosk applications): a rating from the same visit may link.
    kiosk_session_id: Mapped[str | None] = mapped_column(String(36))


class ApplicationHistory(Base):
    __tablename__ = "application_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """What the citizen is told (each change of an application, an answer, a rectification)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(1000))
    reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
