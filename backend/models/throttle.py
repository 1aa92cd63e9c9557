"""Attempt counters that hold under concurrency (backend/services/throttle.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime


class AttemptCounter(Base):
    """One limited thing: a user name's wrong passwords, a number's codes, a source's tries."""

    __tablename__ = "attempt_counters"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # "ops-login:alice", ...
    count: Mapped[int] = mapped_column(Integer, default=0)
    resets_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # then count is 0 again
