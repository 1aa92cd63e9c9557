"""/api/v1/ops/events: stored events, filtered by kiosk, kind and time, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from backend.api.deps import SessionDep
from backend.api.ops_deps import AnyOps, kiosk_in_scope
from backend.api.params import UtcTime
from backend.api.schemas import EventPage, EventPublic
from backend.services import events as events_service
from mqtt.contract.messages import KINDS
from mqtt.contract.topics import Channel

router = APIRouter(prefix="/api/v1/ops/events", tags=["ops"])

EVENT_KINDS = sorted(k for k, spec in KINDS.items() if spec.channel is Channel.EVENTS)


@router.get("", response_model=EventPage)
def list_events(
    session: SessionDep,
    principal: AnyOps,
    kiosk: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")] = None,
    kind: Annotated[str | None, Query(description=f"one of {', '.join(EVENT_KINDS)}")] = None,
    since: Annotated[UtcTime | None, Query(description="RFC 3339; inclusive")] = None,
    until: Annotated[UtcTime | None, Query(description="RFC 3339; exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> EventPage:
    if principal.scoped:
        if kiosk is None:
            raise HTTPException(403, detail="technicians list the events of one kiosk (kiosk=...)")
        kiosk_in_scope(session, principal, kiosk)
    if kind is not None and kind not in EVENT_KINDS:
        raise HTTPException(
            422, detail=f"unknown kind {kind!r}; known kinds: {', '.join(EVENT_KINDS)}"
        )
    if since and until and since >= until:
        raise HTTPException(422, detail="since must be before until")
    rows, next_cursor = events_service.list_events(
        session, kiosk=kiosk, kind=kind, since=since, until=until, limit=limit, cursor=cursor
    )
    return EventPage(items=[EventPublic.model_validate(r) for r in rows], next_cursor=next_cursor)
