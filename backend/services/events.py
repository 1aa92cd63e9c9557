"""Events as stored by ingest: SQL for reading them, newest first, by keyset."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backend.models import Event
from backend.services.pagination import decode_cursor, encode_cursor


def list_events(
    session: Session,
    *,
    kiosk: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[Sequence[Event], str | None]:
    query = select(Event)
    if kiosk:
        query = query.where(Event.kiosk_id == kiosk)
    if kind:
        query = query.where(Event.kind == kind)
    if since:
        query = query.where(Event.ts >= since)
    if until:
        query = query.where(Event.ts < until)
    if cursor:
        last_ts, last_id = decode_cursor(cursor, datetime, str)
        query = query.where(or_(Event.ts < last_ts, and_(Event.ts == last_ts, Event.id < last_id)))
    rows = session.scalars(query.order_by(Event.ts.desc(), Event.id.desc()).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].ts.isoformat(), rows[-1].id)
    return rows, next_cursor


def count_events(session: Session, *, kiosk: str | None = None) -> int:
    query = select(func.count()).select_from(Event)
    if kiosk:
        query = query.where(Event.kiosk_id == kiosk)
    return session.scalar(query) or 0
