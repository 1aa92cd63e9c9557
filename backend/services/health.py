"""Health history: SQL for reading a kiosk's snapshots and pruning old ones.

Snapshots arrive every 30 s from every kiosk (about 2,900 a day each), so
the history is kept for ``FLEET_HEALTH_RETENTION_DAYS`` only; the latest
snapshot also lives on the kiosk row, and events are never pruned here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.models import HealthSnapshot


def history(
    session: Session, kiosk_id: str, *, since: datetime | None = None, limit: int = 100
) -> Sequence[HealthSnapshot]:
    query = select(HealthSnapshot).where(HealthSnapshot.kiosk_id == kiosk_id)
    if since is not None:
        query = query.where(HealthSnapshot.ts >= since)
    return session.scalars(query.order_by(HealthSnapshot.ts.desc()).limit(limit)).all()


def prune(session: Session, *, before: datetime) -> int:
    """Delete snapshots taken before ``before``; returns how many."""
    result = session.execute(delete(HealthSnapshot).where(HealthSnapshot.ts < before))
    return max(result.rowcount, 0)
