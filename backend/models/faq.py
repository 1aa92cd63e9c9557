"""我要问: the FAQ knowledge base and the questions it could not answer (tickets)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class Faq(Base):
    __tablename__ = "faqs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department_code: Mapped[str | None] = mapped_column(String(32))
    item_code: Mapped[str | None] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    text: Mapped[str] = mapped_column(String(1000))
    item_code: Mapped[str | None] = mapped_column(String(64))
    department_code: Mapped[str | None] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16))  # open | answered
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    faq_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def answered_by_faq(self) -> bool:
        """Answered at once from the knowledge base, not by a department."""
        return self.faq_id is not None


class QuestionHistory(Base):
    __tablename__ = "question_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # routed | transferred | answered
    department_code: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
