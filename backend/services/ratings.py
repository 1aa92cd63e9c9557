"""好差评: ratings from both channels, rectification of bad ones, statistics.

One rating per transaction: an application can be rated once (unique key),
and a kiosk's rating event is stored once (its event id). A rating of 2 or 1
opens a rectification task for the department, due a configurable number of
working days later (``FLEET_RECTIFICATION_WORKING_DAYS``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from backend.gov import workflow
from backend.gov.providers import NotificationProvider
from backend.models import Application, Rating, RectificationTask, ServiceItem
from backend.models.base import utcnow
from backend.services import notifications

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD = 2


class RatingRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def rate(
    session: Session,
    *,
    level: int,
    channel: str,
    rectification_days: int,
    citizen_id: str | None = None,
    application: Application | None = None,
    item_code: str | None = None,
    kiosk_id: str | None = None,
    reasons: list[str] | None = None,
    comment: str | None = None,
    event_id: str | None = None,
    at: datetime | None = None,
    proof: dict[str, Any] | None = None,
    rectify: bool = True,
) -> Rating:
    """One rating; a bad one (1 or 2) opens a rectification task unless ``rectify`` is off
    (a rating no citizen is proven to have given)."""
    if level not in LEVELS:
        raise RatingRefused(422, "评价等级应为 1 到 5")
    if application is not None:
        if session.scalar(select(Rating.id).where(Rating.application_id == application.id)):
            raise RatingRefused(409, f"办件 {application.receipt_no} 已评价过")
        item_code = application.item_code
        kiosk_id = kiosk_id or application.kiosk_id
    item = session.get(ServiceItem, item_code) if item_code else None
    rating = Rating(
        application_id=application.id if application else None,
        event_id=event_id,
        citizen_id=citizen_id,
        item_code=item_code,
        department_code=item.department_code if item else None,
        kiosk_id=kiosk_id,
        channel=channel,
        level=level,
        reasons=reasons or [],
        comment=comment,
        created_at=at or utcnow(),
        proof=proof,
    )
    session.add(rating)
    session.flush()
    if level <= BAD and rectify:
        now = utcnow()
        session.add(
            RectificationTask(
                rating_id=rating.id,
                department_code=rating.department_code,
                state="open",
                due_at=workflow.add_working_days(now, rectification_days),
                created_at=now,
            )
        )
        session.flush()
    return rating


def ingest_kiosk_rating(
    session: Session,
    *,
    event_id: str,
    kiosk_id: str,
    ts: datetime,
    body: dict[str, Any],
    rectification_days: int,
) -> Rating | None:
    """A ``rating.submitted`` event as a rating, once; tied to its application when known.

    A kiosk rates for its own visits only: a rating names an application only if it
    comes from the kiosk visit that made it, or from a session the backend issued to
    this kiosk for the application's citizen. A rating of another kiosk's or
    citizen's application is refused (a dead letter, see gov_events), never linked.

    A rating that no citizen is proven to have given (no application of the visit, no
    backend session: an offline kiosk's, or a kiosk inventing 差评) is kept and counted,
    with ``proof`` saying so, but opens no rectification task: a department's work is
    not created on a kiosk's word alone.
    """
    from backend.services import proofs

    if session.scalar(select(Rating.id).where(Rating.event_id == event_id)):
        return None
    application = None
    proof: dict[str, Any] = {"kind": "unproven", "kiosk_id": kiosk_id}
    citizen_id = None
    if body.get("receipt_no"):
        application = session.scalar(
            select(Application).where(Application.receipt_no == body["receipt_no"])
        )
        if application is not None:
            proof = _check_own_visit(session, application, kiosk_id=kiosk_id, ts=ts, body=body)
            citizen_id = application.citizen_id
        if application is not None and session.scalar(
            select(Rating.id).where(Rating.application_id == application.id)
        ):
            # already rated elsewhere: keep this one, unlinked, not lost, and no second task
            application, citizen_id = None, None
            proof = {"kind": "unproven", "kiosk_id": kiosk_id, "note": "办件已评价"}
    if application is None and proof["kind"] == "unproven" and body.get("citizen_session"):
        checked = proofs.kiosk_session(
            session,
            kiosk_id=kiosk_id,
            citizen_id=None,
            session_ref=body.get("citizen_session"),
            at=ts,
        )
        if checked.holds and checked.proof is not None:
            proof, citizen_id = checked.proof, checked.proof["citizen_id"]
    return rate(
        session,
        level=int(body["level"]),
        channel="kiosk",
        rectification_days=rectification_days,
        citizen_id=citizen_id,
        application=application,
        item_code=body.get("item_code"),
        kiosk_id=kiosk_id,
        reasons=list(body.get("reasons", [])),
        comment=body.get("comment"),
        event_id=event_id,
        at=ts,
        proof=proof,
        rectify=proof["kind"] != "unproven",
    )


def _check_own_visit(
    session: Session, application: Application, *, kiosk_id: str, ts: datetime, body: dict[str, Any]
) -> dict[str, Any]:
    """What proves the rater made ``application`` (EventRefused when nothing does)."""
    from backend.services import proofs
    from backend.services.applications import EventRefused

    same_visit = (
        application.kiosk_id == kiosk_id
        and application.kiosk_session_id is not None
        and application.kiosk_session_id == str(body.get("session_id"))
    )
    if same_visit:
        return {"kind": "same_visit", "kiosk_id": kiosk_id, "receipt_no": application.receipt_no}
    checked = proofs.kiosk_session(
        session,
        kiosk_id=kiosk_id,
        citizen_id=application.citizen_id,
        session_ref=body.get("citizen_session"),
        at=ts,
    )
    if application.citizen_id is None or not checked.holds or checked.proof is None:
        raise EventRefused(
            "foreign_reference",
            f"评价引用的办件 {application.receipt_no} 不是在本终端本次会话中办理的，"
            f"也没有该申请人在本终端的会话（{checked.reason or '办件尚无核实的申请人'}），评价未关联",
        )
    return checked.proof


def rectifications(
    session: Session, *, department: str | None = None, state: str | None = None, limit: int = 100
) -> list[tuple[RectificationTask, Rating]]:
    query = select(RectificationTask, Rating).join(Rating, Rating.id == RectificationTask.rating_id)
    if department:
        query = query.where(RectificationTask.department_code == department)
    if state:
        query = query.where(RectificationTask.state == state)
    return list(session.execute(query.order_by(RectificationTask.due_at).limit(limit)).all())


def resolve(
    session: Session,
    provider: NotificationProvider | None,
    task_id: int,
    *,
    resolution: str,
    actor: str,
) -> RectificationTask:
    task = session.get(RectificationTask, task_id)
    if task is None:
        raise RatingRefused(404, f"没有编号为 {task_id} 的整改任务")
    if task.state != "open":
        raise RatingRefused(409, "该整改任务已办结")
    now = utcnow()
    task.state, task.resolution, task.resolved_by, task.resolved_at = (
        "resolved",
        resolution,
        actor,
        now,
    )
    rating = session.get(Rating, task.rating_id)
    if rating is not None and rating.citizen_id:
        notifications.notify(
            session,
            provider,
            citizen_id=rating.citizen_id,
            kind="rectification",
            title="您的差评已整改反馈",
            body=resolution,
            reference=str(task.id),
        )
    return task


STAT_KEYS = {
    "item": Rating.item_code,
    "department": Rating.department_code,
    "kiosk": Rating.kiosk_id,
}


def statistics(session: Session, by: str) -> list[dict[str, Any]]:
    """Count, average and the share satisfied (4-5) and bad (1-2), grouped by item/department/kiosk."""
    key = STAT_KEYS[by]
    rows = session.execute(
        select(
            key,
            func.count(),
            func.avg(Rating.level),
            func.sum(case((Rating.level >= 4, 1), else_=0)),
            func.sum(case((Rating.level <= BAD, 1), else_=0)),
        )
        .where(key.is_not(None))
        .group_by(key)
        .order_by(key)
    ).all()
    return [
        {
            "key": k,
            "count": n,
            "average": round(float(avg), 2),
            "satisfied_ratio": round(int(good) / n, 4),
            "bad": int(bad),
        }
        for k, n, avg, good, bad in rows
    ]


def overdue_rectifications(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RectificationTask)
            .where(or_(RectificationTask.state == "open"), RectificationTask.due_at < utcnow())
        )
        or 0
    )
