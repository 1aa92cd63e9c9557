"""The fleet as the ops centre sees it: kiosks with placement, effective state and open alerts.

"Online" here is the kiosk's retained status AND a message within the offline
window: a kiosk whose connection died silently (no last will yet) is shown
offline as soon as it has been quiet for ``FLEET_ALERT_OFFLINE_AFTER_S``.
Every query takes the caller's region prefixes (technicians) and filters in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backend.models import Alert, Kiosk, KioskPlacement
from backend.services import regions as regions_service


def online_expr(now: datetime, offline_after_s: float) -> Any:
    return and_(
        Kiosk.online.is_(True), Kiosk.last_seen_at > now - timedelta(seconds=offline_after_s)
    )


@dataclass(frozen=True)
class FleetRow:
    id: str
    online: bool
    last_seen_at: datetime
    app_version: str | None
    outbox_depth: int | None
    health: dict[str, Any] | None
    region_code: str | None
    site: str | None
    open_alerts: int


def _scoped(query: Any, regions: Sequence[str] | None, region: str | None) -> Any:
    scope = regions_service.region_filter(regions)
    if scope is not None:
        query = query.where(scope)
    if region == "none":
        query = query.where(KioskPlacement.region_code.is_(None))
    elif region:
        query = query.where(KioskPlacement.region_code.like(f"{region}%"))
    return query


def list_fleet(
    session: Session,
    *,
    now: datetime,
    offline_after_s: float,
    regions: Sequence[str] | None = None,
    region: str | None = None,
    state: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[FleetRow], int]:
    """One page of kiosks (id order) and how many match; ``state``: online, offline, alert."""
    online = online_expr(now, offline_after_s)
    open_alerts = (
        select(Alert.kiosk_id, func.count().label("n"))
        .where(Alert.resolved_at.is_(None))
        .group_by(Alert.kiosk_id)
        .subquery()
    )
    base = (
        select(Kiosk.id)
        .outerjoin(KioskPlacement, KioskPlacement.kiosk_id == Kiosk.id)
        .outerjoin(open_alerts, open_alerts.c.kiosk_id == Kiosk.id)
    )
    base = _scoped(base, regions, region)
    if state == "online":
        base = base.where(online)
    elif state == "offline":
        base = base.where(~online)
    elif state == "alert":
        base = base.where(open_alerts.c.n > 0)
    if q:
        pattern = f"%{q.strip().lower()}%"
        base = base.where(or_(Kiosk.id.like(pattern), KioskPlacement.site.like(f"%{q.strip()}%")))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = (
        base.with_only_columns(
            Kiosk.id,
            online.label("is_online"),
            Kiosk.last_seen_at,
            Kiosk.app_version,
            Kiosk.outbox_depth,
            Kiosk.health,
            KioskPlacement.region_code,
            KioskPlacement.site,
            func.coalesce(open_alerts.c.n, 0),
        )
        .order_by(Kiosk.id)
        .limit(limit)
        .offset(offset)
    )
    rows = [FleetRow(*(r[:1]), bool(r[1]), *r[2:]) for r in session.execute(page)]
    return rows, total


def counts(
    session: Session, *, now: datetime, offline_after_s: float, regions: Sequence[str] | None
) -> dict[str, int]:
    rows = regions_service.placement_counts(session, online_expr(now, offline_after_s), regions)
    total = sum(r[1] for r in rows)
    online = sum(r[2] for r in rows)
    return {"total": total, "online": online, "offline": total - online}


def kiosk_row(session: Session, kiosk_id: str) -> tuple[Kiosk, KioskPlacement | None] | None:
    row = session.execute(
        select(Kiosk, KioskPlacement)
        .outerjoin(KioskPlacement, KioskPlacement.kiosk_id == Kiosk.id)
        .where(Kiosk.id == kiosk_id)
    ).one_or_none()
    return (row[0], row[1]) if row else None


def region_of(session: Session, kiosk_id: str) -> str | None:
    return session.scalar(
        select(KioskPlacement.region_code).where(KioskPlacement.kiosk_id == kiosk_id)
    )
