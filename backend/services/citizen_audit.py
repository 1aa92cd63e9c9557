"""Every read of a citizen's data, recorded: the one function all such reads call.

Each read goes to the shared, hash-chained audit log (backend/services/audit.py,
``fleet-backend audit verify`` checks it) as ``citizen.<action>`` with the
citizen as target, in the caller's transaction. It is also indexed by citizen
in ``citizen_access_log``, so a citizen can be shown who read their data
(``GET /api/v1/citizen/access-log``) without scanning the whole chain.
Details never hold a clear identity number (masked here).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.privacy import mask_identity_numbers_in
from backend.models import CitizenAccessLog
from backend.models.base import utcnow
from backend.services import audit


def record(
    session: Session, *, actor: str, citizen_id: str | None, action: str, detail: str = ""
) -> None:
    """Log one access in ``session``; it commits (or not) with the caller's transaction."""
    detail = mask_identity_numbers_in(detail)[:500]
    audit.record(
        session,
        actor=actor[:120],
        action=f"citizen.{action}"[:64],
        target=f"citizen:{citizen_id}" if citizen_id else "citizen:unknown",
        detail={"detail": detail} if detail else None,
    )
    session.add(
        CitizenAccessLog(
            at=utcnow(), actor=actor[:120], citizen_id=citizen_id, action=action[:64], detail=detail
        )
    )


def entries(session: Session, citizen_id: str, limit: int = 100) -> list[CitizenAccessLog]:
    return list(
        session.scalars(
            select(CitizenAccessLog)
            .where(CitizenAccessLog.citizen_id == citizen_id)
            .order_by(CitizenAccessLog.id.desc())
            .limit(limit)
        )
    )
