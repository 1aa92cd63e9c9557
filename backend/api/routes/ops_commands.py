"""/api/v1/ops/kiosks/{id}/commands: send a remote command, follow its state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from backend.api.deps import SessionDep
from backend.api.ops_deps import AnyOps, kiosk_in_scope
from backend.api.schemas_ops import CommandPublic, CommandRequest
from backend.models.base import utcnow
from backend.services import commands as commands_service
from backend.services import kiosks as kiosks_service
from backend.services.publisher import CommandPublisher

router = APIRouter(prefix="/api/v1/ops", tags=["ops"])

KioskId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$", description="kiosk id")]


def publisher(request: Request) -> CommandPublisher:
    """The app's one publisher, made on first use (tests and pages share it)."""
    state = request.app.state
    if getattr(state, "publisher", None) is None:
        state.publisher = CommandPublisher(state.settings)
    return state.publisher


@router.post("/kiosks/{kiosk_id}/commands", response_model=CommandPublic, status_code=201)
def send_command(
    request: Request,
    session: SessionDep,
    principal: AnyOps,
    kiosk_id: KioskId,
    body: CommandRequest,
) -> CommandPublic:
    kiosk_in_scope(session, principal, kiosk_id)
    if kiosks_service.get_kiosk(session, kiosk_id) is None:
        raise HTTPException(404, detail=f"no kiosk {kiosk_id!r} has reported to this fleet")
    try:
        view = commands_service.send(
            session,
            publisher(request),
            request.app.state.settings,
            kiosk_id=kiosk_id,
            name=body.name,
            args=body.args,
            actor=principal.actor,
            now=utcnow(),
            ttl_s=body.ttl_s,
        )
    except commands_service.CommandRefused as err:
        raise HTTPException(422, detail=str(err)) from err
    return CommandPublic.model_validate(view)


@router.get("/kiosks/{kiosk_id}/commands", response_model=list[CommandPublic])
def list_commands(session: SessionDep, principal: AnyOps, kiosk_id: KioskId) -> list[CommandPublic]:
    kiosk_in_scope(session, principal, kiosk_id)
    return [
        CommandPublic.model_validate(v)
        for v in commands_service.list_for_kiosk(session, kiosk_id, now=utcnow())
    ]


@router.get("/commands/{command_id}", response_model=CommandPublic)
def get_command(session: SessionDep, principal: AnyOps, command_id: str) -> CommandPublic:
    view = commands_service.get(session, command_id, now=utcnow())
    if view is None:
        raise HTTPException(404, detail=f"no command {command_id!r}")
    kiosk_in_scope(session, principal, view.kiosk_id)
    return CommandPublic.model_validate(view)
