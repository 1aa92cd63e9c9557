"""Telling a citizen: the in-app inbox row (both channels read it) plus the provider's push."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.gov.providers import NotificationProvider
from backend.models import Notification
from backend.models.base import utcnow


def notify(
    session: Session,
    provider: NotificationProvider | None,
    *,
    citizen_id: str,
    kind: str,
    title: str,
    body: str,
    reference: str | None = None,
) -> Notification:
    row = Notification(
        citizen_id=citizen_id,
        kind=kind,
        title=title[:200],
        body=body[:1000],
        reference=reference,
        created_at=utcnow(),
    )
    session.add(row)
    if provider is not None:
        provider.notify(citizen_id, title, body, reference)
    return row


def list_for(session: Session, citizen_id: str, limit: int = 50) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.citizen_id == citizen_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
