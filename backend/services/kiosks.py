"""The fleet's kiosks: SQL for reading them (ingest keeps them current)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Kiosk, KioskPlacement
from backend.services.regions import region_filter


def list_kiosks(
    session: Session,
    *,
    online: bool | None = None,
    limit: int = 100,
    offset: int = 0,
    regions: Sequence[str] | None = None,
) -> tuple[Sequence[Kiosk], int]:
    """Kiosks in id order; ``regions``: only those placed under these code prefixes."""
    query = select(Kiosk)
    if regions is not None:
        query = query.join(KioskPlacement, KioskPlacement.kiosk_id == Kiosk.id).where(
            region_filter(regions)
        )
    if online is not None:
        query = query.where(Kiosk.online.is_(online))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Kiosk.id).limit(limit).offset(offset)).all()
    return rows, total


def get_kiosk(session: Session, kiosk_id: str) -> Kiosk | None:
    return session.get(Kiosk, kiosk_id)


def counts(session: Session) -> dict[str, int]:
    total = session.scalar(select(func.count()).select_from(Kiosk)) or 0
    online = (
        session.scalar(select(func.count()).select_from(Kiosk).where(Kiosk.online.is_(True))) or 0
    )
    return {"total": total, "online": online, "offline": total - online}
