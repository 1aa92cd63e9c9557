"""The ops centre's charts: online rate over time, transactions per hour, faults, satisfaction.

All figures are computed in SQL from what ingest stored (events, with JSON
bodies) and what the alert worker samples (``fleet_samples``); the hour
bucket is the only dialect-specific expression, kept in ``_hour``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, delete, func, select
from sqlalchemy.orm import Session

from backend.models import Event, FleetSample, KioskPlacement
from backend.services import regions as regions_service

RATING_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def _hour(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:00")
    return func.strftime("%Y-%m-%d %H:00", column)


def _scope(query: Any, regions: Sequence[str] | None) -> Any:
    if regions is None:
        return query
    return query.join(KioskPlacement, KioskPlacement.kiosk_id == Event.kiosk_id).where(
        regions_service.region_filter(regions)
    )


def online_rate(session: Session, *, since: datetime) -> list[dict[str, Any]]:
    """Samples of the whole fleet's online share (technicians see the fleet-wide curve too)."""
    rows = session.execute(
        select(FleetSample.ts, FleetSample.total, FleetSample.online)
        .where(FleetSample.ts >= since)
        .order_by(FleetSample.ts)
    )
    return [
        {
            "ts": ts.isoformat(),
            "online": online,
            "total": total,
            "rate": round(online / total, 4) if total else None,
        }
        for ts, total, online in rows
    ]


def transactions_per_hour(
    session: Session, *, since: datetime, regions: Sequence[str] | None
) -> list[dict[str, Any]]:
    """Citizen sessions started and applications submitted, per UTC hour."""
    hour = _hour(session, Event.ts).label("hour")
    query = (
        select(hour, Event.kind, func.count())
        .where(Event.kind.in_(("session.started", "application.submitted")), Event.ts >= since)
        .group_by(hour, Event.kind)
        .order_by(hour)
    )
    by_hour: dict[str, dict[str, Any]] = {}
    for h, kind, n in session.execute(_scope(query, regions)):
        entry = by_hour.setdefault(h, {"hour": h, "sessions": 0, "applications": 0})
        entry["sessions" if kind == "session.started" else "applications"] = n
    return list(by_hour.values())


def faults_by_type(
    session: Session, *, since: datetime, regions: Sequence[str] | None
) -> list[dict[str, Any]]:
    device = Event.body["device"].as_string().label("device")
    code = Event.body["code"].as_string().label("code")
    query = (
        select(device, code, func.count())
        .where(Event.kind == "device.fault", Event.ts >= since)
        .group_by(device, code)
        .order_by(func.count().desc())
    )
    return [
        {"device": d, "code": c, "count": n} for d, c, n in session.execute(_scope(query, regions))
    ]


def satisfaction_by_region(
    session: Session, *, since: datetime, regions: Sequence[str] | None
) -> list[dict[str, Any]]:
    """Mean 好差评 level and count per county, from rating.submitted events."""
    level = cast(Event.body["level"].as_string(), Integer)
    county = func.substr(KioskPlacement.region_code, 1, 6).label("county")
    query = (
        select(county, func.avg(level), func.count(), func.sum(case((level <= 2, 1), else_=0)))
        .select_from(Event)
        .join(KioskPlacement, KioskPlacement.kiosk_id == Event.kiosk_id)
        .where(Event.kind == "rating.submitted", Event.ts >= since)
        .group_by(county)
        .order_by(county)
    )
    scope = regions_service.region_filter(regions)
    if scope is not None:
        query = query.where(scope)
    return [
        {
            "region_code": c,
            "region": regions_service.full_name(c),
            "mean": round(float(m), 2),
            "count": n,
            "bad": int(bad or 0),
        }
        for c, m, n, bad in session.execute(query)
    ]


def satisfaction_by_item(
    session: Session, *, since: datetime, regions: Sequence[str] | None, limit: int = 15
) -> list[dict[str, Any]]:
    level = cast(Event.body["level"].as_string(), Integer)
    item = Event.body["item_code"].as_string().label("item")
    query = (
        select(item, func.avg(level), func.count())
        .where(Event.kind == "rating.submitted", Event.ts >= since)
        .group_by(item)
        .order_by(func.count().desc())
        .limit(limit)
    )
    rows = session.execute(_scope(query, regions)).all()
    names = item_names(session, [r[0] for r in rows if r[0]], since=since)
    return [
        {
            "item_code": code,
            "item": names.get(code, code or "（未关联事项）"),
            "mean": round(float(m), 2),
            "count": n,
        }
        for code, m, n in rows
    ]


def item_names(session: Session, codes: list[str], *, since: datetime) -> dict[str, str]:
    """Item names as the kiosks reported them in application.submitted events."""
    if not codes:
        return {}
    code = Event.body["item_code"].as_string()
    name = Event.body["item_name"].as_string()
    rows = session.execute(
        select(code, func.max(name))
        .where(Event.kind == "application.submitted", Event.ts >= since, code.in_(codes))
        .group_by(code)
    )
    return {c: n for c, n in rows if n}


def charts(session: Session, *, now: datetime, regions: Sequence[str] | None) -> dict[str, Any]:
    day, week = now - timedelta(hours=24), now - timedelta(days=7)
    return {
        "online_rate": online_rate(session, since=day),
        "transactions": transactions_per_hour(session, since=day, regions=regions),
        "faults": faults_by_type(session, since=week, regions=regions),
        "satisfaction_by_region": satisfaction_by_region(session, since=week, regions=regions),
        "satisfaction_by_item": satisfaction_by_item(session, since=week, regions=regions),
    }


def record_sample(
    session: Session, *, now: datetime, total: int, online: int, open_alerts: int
) -> None:
    session.add(FleetSample(ts=now, total=total, online=online, open_alerts=open_alerts))


def prune_samples(session: Session, *, before: datetime) -> int:
    """Samples are taken every few seconds: keep them as long as health history."""
    result = session.execute(delete(FleetSample).where(FleetSample.ts < before))
    return max(result.rowcount, 0)
