"""/api/v1/ops/kiosks: the fleet and each kiosk's latest state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from backend.api.deps import SessionDep
from backend.api.ops_deps import AnyOps, kiosk_in_scope
from backend.api.params import UtcTime
from backend.api.schemas import HealthSnapshotPublic, KioskDetail, KioskPage, KioskPublic
from backend.services import events as events_service
from backend.services import health as health_service
from backend.services import kiosks as kiosks_service

router = APIRouter(prefix="/api/v1/ops/kiosks", tags=["ops"])

KioskId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$", description="kiosk id")]


@router.get("", response_model=KioskPage)
def list_kiosks(
    session: SessionDep,
    principal: AnyOps,
    online: Annotated[
        bool | None, Query(description="only online (true) or offline (false)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> KioskPage:
    rows, total = kiosks_service.list_kiosks(
        session, online=online, limit=limit, offset=offset, regions=principal.regions
    )
    return KioskPage(
        items=[KioskPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{kiosk_id}", response_model=KioskDetail)
def get_kiosk(session: SessionDep, principal: AnyOps, kiosk_id: KioskId) -> KioskDetail:
    kiosk_in_scope(session, principal, kiosk_id)
    kiosk = kiosks_service.get_kiosk(session, kiosk_id)
    if kiosk is None:
        raise HTTPException(404, detail=f"no kiosk {kiosk_id!r} has reported to this fleet")
    return KioskDetail(
        **KioskPublic.model_validate(kiosk).model_dump(),
        health=kiosk.health,
        event_count=events_service.count_events(session, kiosk=kiosk_id),
    )


@router.get("/{kiosk_id}/health", response_model=list[HealthSnapshotPublic])
def get_health_history(
    session: SessionDep,
    principal: AnyOps,
    kiosk_id: KioskId,
    since: Annotated[UtcTime | None, Query(description="RFC 3339; without an offset, UTC")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 100,
) -> list[HealthSnapshotPublic]:
    kiosk_in_scope(session, principal, kiosk_id)
    if kiosks_service.get_kiosk(session, kiosk_id) is None:
        raise HTTPException(404, detail=f"no kiosk {kiosk_id!r} has reported to this fleet")
    rows = health_service.history(session, kiosk_id, since=since, limit=limit)
    return [HealthSnapshotPublic.model_validate(r) for r in rows]
