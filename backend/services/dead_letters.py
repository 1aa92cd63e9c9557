"""Dead letters: SQL for keeping and reading them (newest first)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import DeadLetter
from backend.models.base import utcnow
from backend.models.dead_letter import MAX_KEPT_BYTES
from backend.services.pagination import BadCursor, decode_cursor, encode_cursor


def record(session: Session, *, topic: str, code: str, reason: str, payload: bytes) -> None:
    """Keep one refused message (or a refused side effect of a stored event) with its reason."""
    session.add(
        DeadLetter(
            received_at=utcnow(),
            topic=topic[:512],
            reason_code=code[:32],
            reason=reason[:1000],
            payload=payload[:MAX_KEPT_BYTES],
            payload_size=len(payload),
        )
    )
    session.flush()


def list_dead_letters(
    session: Session, *, reason_code: str | None = None, limit: int = 100, cursor: str | None = None
) -> tuple[Sequence[DeadLetter], str | None]:
    query = select(DeadLetter)
    if reason_code:
        query = query.where(DeadLetter.reason_code == reason_code)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not isinstance(last_id, int):
            raise BadCursor("cursor is not one this API gave out")
        query = query.where(DeadLetter.id < last_id)
    rows = session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].id)
    return rows, next_cursor


def count_dead_letters(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DeadLetter)) or 0
