"""/api/v1/kiosk: what a kiosk asks online, signed with its enrolled key (see KioskDep).

- ``GET /catalog``: the whole catalog for the kiosk's offline copy, with the
  backend's public sealing key; ``ETag`` / ``If-None-Match`` give 304 when
  nothing changed, so 10,000 kiosks polling cost almost nothing.
- ``POST /citizen-sessions``: the kiosk vouches for the person it saw (card
  read and face matched, liveness passed); the answer is a short-lived
  citizen token bound to this kiosk.
- ``DELETE /citizen-sessions/current``: the citizen left; the token dies.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field

from backend.api.citizen_deps import (
    KeysDep,
    SealingKeyDep,
    SettingsDep,
    SignedKioskDep,
    TokenDep,
)
from backend.api.deps import KioskDep, SessionDep
from backend.gov.keys import sealing_public_key_pem
from backend.services import catalog as catalog_service
from backend.services import citizen_audit
from backend.services import citizens as citizens_service

router = APIRouter(prefix="/api/v1/kiosk", tags=["kiosk"])


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return etag in candidates


@router.get(
    "/catalog",
    responses={200: {"description": "the catalog snapshot"}, 304: {"description": "unchanged"}},
)
def kiosk_catalog(
    request: Request,
    session: SessionDep,
    kiosk_id: KioskDep,
    sealing_key: SealingKeyDep,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    version, digest = catalog_service.version(session)
    public_pem = sealing_public_key_pem(sealing_key)
    key_id = hashlib.sha256(public_pem.encode()).hexdigest()[:8]
    etag = f'"catalog-v{version}-{digest[:16]}-{key_id}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    cache = getattr(request.app.state, "catalog_snapshot", None)
    if cache is None or cache[0] != etag:
        snapshot = catalog_service.snapshot(session)
        snapshot["sealing_public_key_pem"] = public_pem
        body = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":")).encode()
        request.app.state.catalog_snapshot = cache = (etag, body)
    return Response(content=cache[1], media_type="application/json", headers=headers)


class FaceResult(BaseModel):
    decision: Literal["match", "no_match", "no_face", "multiple_faces", "liveness_failed", "error"]
    distance: float | None = Field(default=None, ge=0, le=10)
    liveness: Literal["passed", "failed", "not_checked"]


class KioskSessionRequest(BaseModel):
    id_number: str = Field(min_length=18, max_length=18, description="read from the card")
    name: str = Field(min_length=1, max_length=50, description="read from the card")
    card_type: Literal["resident_id", "social_security", "other"]
    face: FaceResult


class CitizenBrief(BaseModel):
    id: str
    name: str
    id_number_masked: str
    phone_masked: str | None


class KioskSessionResponse(BaseModel):
    token: str
    expires_at: datetime
    session_ref: str = Field(
        description="names this session in the events the kiosk sends for the citizen "
        "(application.submitted, rating.submitted: citizen_session); not a credential"
    )
    citizen: CitizenBrief


REFUSAL_STATUS = {
    "face_not_matched": 403,
    "liveness_not_passed": 403,
    "name_mismatch": 403,
    "not_registered": 404,
    "bad_id_number": 422,
}


@router.post(
    "/citizen-sessions",
    response_model=KioskSessionResponse,
    status_code=201,
    responses={
        403: {"description": "face, liveness or name refused"},
        404: {"description": "not in the registry"},
    },
)
def open_citizen_session(
    session: SessionDep,
    kiosk_id: SignedKioskDep,
    keys: KeysDep,
    settings: SettingsDep,
    body: KioskSessionRequest,
) -> KioskSessionResponse:
    try:
        issued, citizen = citizens_service.kiosk_session(
            session,
            keys,
            kiosk_id=kiosk_id,
            id_number=body.id_number,
            name=body.name,
            face_decision=body.face.decision,
            liveness=body.face.liveness,
            ttl=timedelta(minutes=settings.kiosk_citizen_token_minutes),
        )
    except citizens_service.CitizenRefused as err:
        raise HTTPException(
            REFUSAL_STATUS.get(err.code, 403), detail={"reason": err.code, "message": str(err)}
        ) from err
    citizen_audit.record(
        session,
        actor=f"kiosk:{kiosk_id}",
        citizen_id=citizen.id,
        action="kiosk_session.open",
        detail=f"card {body.card_type}, face {body.face.decision}",
    )
    session.commit()
    return KioskSessionResponse(
        token=issued.token,
        expires_at=issued.expires_at,
        session_ref=issued.ref or "",
        citizen=CitizenBrief(
            id=citizen.id,
            name=citizen.name,
            id_number_masked=citizen.id_number_masked,
            phone_masked=citizen.phone_masked,
        ),
    )


@router.delete("/citizen-sessions/current", status_code=204)
def close_citizen_session(
    session: SessionDep, kiosk_id: SignedKioskDep, token: TokenDep
) -> Response:
    if token.kiosk_id != kiosk_id:
        raise HTTPException(403, detail="this token is not a session of this kiosk")
    citizens_service.revoke_token(session, token)
    session.commit()
    return Response(status_code=204)
