"""Dead letters: SQL for reading them, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import DeadLetter
from backend.services.pagination import decode_cursor, encode_cursor


def list_dead_letters(
    session: Session, *, reason_code: str | None = None, limit: int = 100, cursor: str | None = None
) -> tuple[Sequence[DeadLetter], str | None]:
    query = select(DeadLetter)
    if reason_code:
        query = query.where(DeadLetter.reason_code == reason_code)
    if cursor:
        (last_id,) = decode_cursor(cursor, int)
        query = query.where(DeadLetter.id < last_id)
    rows = session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].id)
    return rows, next_cursor


def count_dead_letters(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DeadLetter)) or 0
