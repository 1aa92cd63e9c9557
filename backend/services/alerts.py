"""Alerts: evaluation of the rules against the fleet, acknowledgement, history.

``evaluate`` is idempotent and may run in several processes at once: the
partial unique index (one unresolved alert per kiosk and rule) turns a racing
second insert into a no-op, each in its own savepoint. An alert resolves
itself when its condition clears; an acknowledged alert stays acknowledged
(with who and when) until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.alerts.rules import RULE_TITLES, RULES, Condition, KioskFacts
from backend.core.config import Settings
from backend.models import Alert, Event, HealthSnapshot, Kiosk, KioskPlacement
from backend.services import regions as regions_service

STATE_NAMES = {"open": "未处理", "acknowledged": "已确认", "resolved": "已恢复"}
SEVERITY_NAMES = {"critical": "严重", "warning": "警告"}


@dataclass
class AlertChange:
    change: str  # opened, escalated, resolved, acknowledged
    alert_id: int
    kiosk_id: str
    rule: str
    severity: str
    detail: str
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "alert_id": self.alert_id,
            "kiosk_id": self.kiosk_id,
            "rule": self.rule,
            "title": RULE_TITLES.get(self.rule, self.rule),
            "severity": self.severity,
            "detail": self.detail,
            "at": self.at.isoformat(),
        }


@dataclass
class Evaluation:
    kiosks: int = 0
    changes: list[AlertChange] = field(default_factory=list)


def _facts(session: Session, settings: Settings, now: datetime) -> list[KioskFacts]:
    since = now - timedelta(seconds=settings.alert_face_window_s)
    failed = case((Event.body["decision"].as_string() != "match", 1), else_=0)
    face = dict(
        (kiosk, (int(n), int(bad or 0)))
        for kiosk, n, bad in session.execute(
            select(Event.kiosk_id, func.count(), func.sum(failed))
            .where(Event.kind == "face.verified", Event.ts >= since)
            .group_by(Event.kiosk_id)
        )
    )
    kiosks = session.execute(select(Kiosk.id, Kiosk.online, Kiosk.last_seen_at, Kiosk.health)).all()
    growing = [
        k
        for k, _, _, h in kiosks
        if ((h or {}).get("outbox_depth") or 0) >= settings.alert_backlog_growth
    ]
    before = _depth_before(
        session, growing, now - timedelta(seconds=settings.alert_backlog_window_s)
    )
    return [
        KioskFacts(kid, bool(online), seen, health, *face.get(kid, (0, 0)), before.get(kid))
        for kid, online, seen, health in kiosks
    ]


def _depth_before(session: Session, kiosk_ids: list[str], at: datetime) -> dict[str, int]:
    """Each kiosk's outbox depth in its last snapshot at or before ``at`` (within a window)."""
    if not kiosk_ids:
        return {}
    rows = session.execute(
        select(HealthSnapshot.kiosk_id, HealthSnapshot.body)
        .where(
            HealthSnapshot.kiosk_id.in_(kiosk_ids[:1000]),
            HealthSnapshot.ts <= at,
            HealthSnapshot.ts > at - timedelta(hours=1),
        )
        .order_by(HealthSnapshot.ts)
    )
    return {kid: int(body.get("outbox_depth") or 0) for kid, body in rows}  # the newest wins


def conditions(
    facts: Sequence[KioskFacts], settings: Settings, now: datetime
) -> dict[tuple[str, str], Condition]:
    found = {}
    for k in facts:
        for rule in RULES:
            cond = rule.check(k, settings, now)
            if cond is not None:
                found[(k.id, rule.name)] = cond
    return found


def evaluate(session: Session, settings: Settings, *, now: datetime) -> Evaluation:
    """Open, update and resolve alerts to match the fleet now; the caller commits."""
    facts = _facts(session, settings, now)
    wanted = conditions(facts, settings, now)
    result = Evaluation(kiosks=len(facts))
    open_rows = {
        (a.kiosk_id, a.rule): a
        for a in session.scalars(select(Alert).where(Alert.resolved_at.is_(None)))
    }
    for key, alert in open_rows.items():
        cond = wanted.get(key)
        if cond is None:
            alert.state, alert.resolved_at, alert.updated_at = "resolved", now, now
            result.changes.append(_change("resolved", alert, now))
        elif (cond.severity, cond.detail) != (alert.severity, alert.detail):
            escalated = cond.severity == "critical" and alert.severity != "critical"
            alert.severity, alert.detail, alert.value, alert.updated_at = (
                cond.severity,
                cond.detail,
                cond.value,
                now,
            )
            if escalated:
                result.changes.append(_change("escalated", alert, now))
    for (kiosk_id, rule), cond in wanted.items():
        if (kiosk_id, rule) in open_rows:
            continue
        alert = Alert(
            kiosk_id=kiosk_id,
            rule=rule,
            severity=cond.severity,
            state="open",
            detail=cond.detail,
            value=cond.value,
            opened_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(alert)
        except IntegrityError:  # another process opened it first: one alert, not two
            continue
        result.changes.append(_change("opened", alert, now))
    session.flush()
    return result


def _change(kind: str, alert: Alert, now: datetime) -> AlertChange:
    return AlertChange(
        kind, alert.id, alert.kiosk_id, alert.rule, alert.severity, alert.detail, now
    )


def acknowledge(session: Session, alert_id: int, *, by: str, now: datetime) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LookupError(f"no alert {alert_id}")
    if alert.state == "open":
        alert.state, alert.acknowledged_at, alert.acknowledged_by, alert.updated_at = (
            "acknowledged",
            now,
            by,
            now,
        )
    return alert


def get(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def list_alerts(
    session: Session,
    *,
    regions: Sequence[str] | None = None,
    kiosk_id: str | None = None,
    region: str | None = None,
    active: bool | None = True,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[tuple[Alert, str | None]], int]:
    """Alerts newest first, with each kiosk's region code; ``active``: unresolved only."""
    query = select(Alert, KioskPlacement.region_code).outerjoin(
        KioskPlacement, KioskPlacement.kiosk_id == Alert.kiosk_id
    )
    scope = regions_service.region_filter(regions)
    if scope is not None:
        query = query.where(scope)
    if kiosk_id:
        query = query.where(Alert.kiosk_id == kiosk_id)
    if region == "none":
        query = query.where(KioskPlacement.region_code.is_(None))
    elif region:
        query = query.where(KioskPlacement.region_code.like(f"{region}%"))
    if active is True:
        query = query.where(Alert.resolved_at.is_(None))
    elif active is False:
        query = query.where(Alert.resolved_at.is_not(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
    ).all()
    return [(a, r) for a, r in rows], total


def open_count(session: Session, regions: Sequence[str] | None = None) -> dict[str, int]:
    query = (
        select(Alert.severity, func.count())
        .outerjoin(KioskPlacement, KioskPlacement.kiosk_id == Alert.kiosk_id)
        .where(Alert.resolved_at.is_(None))
        .group_by(Alert.severity)
    )
    scope = regions_service.region_filter(regions)
    if scope is not None:
        query = query.where(scope)
    counts = dict(session.execute(query).all())
    return {"critical": counts.get("critical", 0), "warning": counts.get("warning", 0)}
