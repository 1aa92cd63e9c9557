"""/api/v1/ops/alerts: open alerts and history; acknowledging one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from backend.api.deps import SessionDep
from backend.api.ops_deps import AnyOps, kiosk_in_scope
from backend.api.schemas_ops import AlertPage, AlertPublic
from backend.models.base import utcnow
from backend.services import alerts as alerts_service
from backend.services import audit

router = APIRouter(prefix="/api/v1/ops/alerts", tags=["ops"])


@router.get("", response_model=AlertPage)
def list_alerts(
    session: SessionDep,
    principal: AnyOps,
    active: Annotated[
        bool | None, Query(description="true: unresolved; false: resolved; unset: all")
    ] = True,
    kiosk: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertPage:
    rows, total = alerts_service.list_alerts(
        session,
        regions=principal.regions,
        kiosk_id=kiosk,
        active=active,
        limit=limit,
        offset=offset,
    )
    return AlertPage(
        items=[AlertPublic.model_validate(a) for a, _ in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge(
    session: SessionDep, principal: AnyOps, alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> AlertPublic:
    alert = alerts_service.get(session, alert_id)
    if alert is None:
        raise HTTPException(404, detail=f"no alert {alert_id}")
    kiosk_in_scope(session, principal, alert.kiosk_id)
    if alert.state == "resolved":
        raise HTTPException(409, detail="this alert is already resolved")
    alerts_service.acknowledge(session, alert_id, by=principal.actor, now=utcnow())
    audit.record(
        session,
        actor=principal.actor,
        action="alert.acknowledge",
        target=alert.kiosk_id,
        detail={"alert_id": alert_id, "rule": alert.rule},
    )
    session.commit()
    return AlertPublic.model_validate(alert)
