"""/api/v1/ops/fleet: the overview (counts, region tree), the charts' data, placements; audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request

from backend.api.deps import SessionDep
from backend.api.ops_deps import Admin, AnyOps, Operator
from backend.api.schemas_ops import (
    AuditCheckpointPublic,
    AuditEntryPublic,
    AuditFindingPublic,
    AuditVerdictPublic,
    FleetOverview,
    PlacementRequest,
    RegionCount,
)
from backend.models.base import utcnow
from backend.services import alerts as alerts_service
from backend.services import audit, fleet_stats
from backend.services import fleet as fleet_service
from backend.services import kiosks as kiosks_service
from backend.services import regions as regions_service

router = APIRouter(prefix="/api/v1/ops", tags=["ops"])


def _node(node: regions_service.RegionNode, depth: int) -> RegionCount:
    return RegionCount(
        code=node.code,
        name=node.name,
        level=node.level,
        total=node.total,
        online=node.online,
        children=[_node(c, depth - 1) for c in node.sorted_children()] if depth > 0 else [],
    )


@router.get("/fleet", response_model=FleetOverview)
def overview(
    request: Request,
    session: SessionDep,
    principal: AnyOps,
    depth: Annotated[int, Query(ge=0, le=5)] = 3,
) -> FleetOverview:
    settings = request.app.state.settings
    rows = regions_service.placement_counts(
        session,
        fleet_service.online_expr(utcnow(), settings.alert_offline_after_s),
        principal.regions,
    )
    root = regions_service.tree(rows)
    return FleetOverview(
        total=root.total,
        online=root.online,
        offline=root.offline,
        open_alerts=alerts_service.open_count(session, principal.regions),
        regions=_node(root, depth),
    )


@router.get("/fleet/charts")
def charts(session: SessionDep, principal: AnyOps) -> dict[str, Any]:
    """The dashboard's series: online rate (24 h), transactions per hour (24 h), faults and satisfaction (7 days)."""
    return fleet_stats.charts(session, now=utcnow(), regions=principal.regions)


@router.put("/kiosks/{kiosk_id}/placement", status_code=204)
def place(
    session: SessionDep,
    principal: Operator,
    kiosk_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")],
    body: PlacementRequest,
) -> None:
    if kiosks_service.get_kiosk(session, kiosk_id) is None:
        raise HTTPException(404, detail=f"no kiosk {kiosk_id!r} has reported to this fleet")
    try:
        regions_service.place(session, kiosk_id, body.region_code, body.site)
    except ValueError as err:
        raise HTTPException(422, detail=str(err)) from err
    audit.record(
        session,
        actor=principal.actor,
        action="kiosk.place",
        target=kiosk_id,
        detail=body.model_dump(),
    )
    session.commit()


@router.get("/audit", response_model=list[AuditEntryPublic])
def audit_log(
    session: SessionDep,
    principal: Admin,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryPublic]:
    return [
        AuditEntryPublic.model_validate(e)
        for e in audit.recent(session, limit=limit, before=before)
    ]


@router.get("/audit/verify", response_model=AuditVerdictPublic)
def audit_verify(session: SessionDep, principal: Admin, request: Request) -> AuditVerdictPublic:
    """The same verdict as `fleet-backend audit verify` with the configured checkpoint file."""
    settings = request.app.state.settings
    verdict = audit.verify(session, checkpoint_file=settings.audit_checkpoint_file)
    return AuditVerdictPublic(
        ok=verdict.ok,
        entries=verdict.entries,
        first_bad_seq=verdict.first_bad_seq,
        reason=verdict.findings[0].text_zh if verdict.findings else None,
        legacy=verdict.legacy,
        keyed=verdict.keyed,
        findings=[
            AuditFindingPublic(
                kind=f.kind,
                seq=f.seq,
                end=f.end,
                fields=list(f.fields),
                message=f.text_zh,
                message_en=f.text,
            )
            for f in verdict.findings
        ],
        checkpoints=verdict.checkpoints,
        checkpoint=AuditCheckpointPublic.model_validate(verdict.checkpoint)
        if verdict.checkpoint
        else None,
    )
