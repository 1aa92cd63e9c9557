"""/api/v1/citizen/bindings: the phones bound to the citizen (已绑定手机), and revoking one.

Any of the citizen's tokens (a kiosk session or a bound phone) lists and
revokes; revoking ends that phone's tokens at once (backend/services/bindings.py).
Phones appear masked only; both the list and every revocation are audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel

from backend.api.citizen_deps import CitizenDep, NotifierDep, SettingsDep
from backend.api.deps import SessionDep
from backend.services import bindings as bindings_service
from backend.services import citizen_audit, notifications
from backend.services.citizens import CitizenRefused

router = APIRouter(prefix="/api/v1/citizen", tags=["citizen"])

BindingId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


class BindingPublic(BaseModel):
    id: str
    phone_masked: str
    proof: str
    bound_at: datetime
    last_used_at: datetime | None
    current: bool  # the phone this request comes from


class BindingList(BaseModel):
    max_phones: int  # FLEET_MAX_PHONES_PER_CITIZEN
    items: list[BindingPublic]


@router.get("/bindings", response_model=BindingList)
def my_bindings(session: SessionDep, ctx: CitizenDep, settings: SettingsDep) -> BindingList:
    rows = bindings_service.list_bindings(session, ctx.citizen.id)
    result = [
        BindingPublic(
            id=r.binding.id,
            phone_masked=r.phone_masked,
            proof=r.binding.proof,
            bound_at=r.binding.created_at,
            last_used_at=r.binding.last_used_at,
            current=r.binding.id == ctx.token.binding_id,
        )
        for r in rows
    ]
    citizen_audit.record(
        session,
        actor=ctx.actor,
        citizen_id=ctx.citizen.id,
        action="bindings.list",
        detail=f"{len(rows)} rows",
    )
    session.commit()
    return BindingList(max_phones=settings.max_phones_per_citizen, items=result)


@router.delete("/bindings/{binding_id}", status_code=204)
def revoke_binding(
    session: SessionDep, ctx: CitizenDep, notifier: NotifierDep, binding_id: BindingId
) -> Response:
    try:
        revoked = bindings_service.revoke(
            session, citizen_id=ctx.citizen.id, binding_id=binding_id, actor=ctx.actor
        )
    except CitizenRefused as err:
        raise HTTPException(404, detail={"reason": err.code, "message": str(err)}) from err
    masked = revoked.phone_masked
    citizen_audit.record(
        session,
        actor=ctx.actor,
        citizen_id=ctx.citizen.id,
        action="binding.revoke",
        detail=f"binding of {masked} revoked",
    )
    notifications.notify(
        session,
        notifier,
        citizen_id=ctx.citizen.id,
        kind="binding",
        title="手机已解除绑定",
        body=f"手机 {masked} 已解除与您实名身份的绑定，该手机上的登录已失效。",
    )
    session.commit()
    return Response(status_code=204)
