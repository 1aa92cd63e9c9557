"""/api/v1/enrol (kiosks, with a one-time code) and the ops side: codes and retirement."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field

from backend.api.deps import SessionDep, require_role
from backend.core.config import Settings
from backend.models import ApiToken
from backend.services import audit
from backend.services import enrolment as enrolment_service
from provisioning.ca import CAError, FleetCA, ca_passphrase

router = APIRouter(tags=["enrolment"])

REFUSAL_STATUS = {"unknown_code": 403, "used_code": 409, "expired_code": 410, "bad_request": 422}


class EnrolRequest(BaseModel):
    code: str = Field(min_length=4, max_length=64, description="the one-time code, dashes optional")
    csr_pem: str = Field(
        max_length=16_384, description="PEM certificate signing request of the kiosk's key"
    )


class EnrolResponse(BaseModel):
    kiosk_id: str
    certificate_pem: str
    ca_certificate_pem: str
    broker_url: str


class CodeRequest(BaseModel):
    site: str = Field(
        min_length=1, max_length=200, description="where the kiosk stands: 西城区政务服务中心 1 楼"
    )
    region_code: str = Field(
        pattern=r"^\d{6}(\d{3}){0,2}$", description="GB/T 2260 code, 6, 9 or 12 digits"
    )
    ttl_hours: float | None = Field(default=None, gt=0, le=24 * 30)


class CodeResponse(BaseModel):
    code: str
    site: str
    region_code: str
    expires_at: datetime


class RetireResponse(BaseModel):
    kiosk_id: str
    revoked_serials: list[str]


def _ca(request: Request) -> FleetCA:
    settings: Settings = request.app.state.settings
    try:
        return FleetCA.load(settings.ca_dir, ca_passphrase())
    except CAError as err:
        raise HTTPException(503, detail=f"the fleet CA is not available: {err}") from err


@router.post("/api/v1/enrol", response_model=EnrolResponse, status_code=201)
def enrol(request: Request, session: SessionDep, body: EnrolRequest) -> EnrolResponse:
    ca = _ca(request)
    try:
        enrolled = enrolment_service.enrol(
            session,
            ca,
            code=body.code,
            csr_pem=body.csr_pem,
            broker_url=request.app.state.settings.broker_public_url,
        )
    except enrolment_service.EnrolmentRefused as err:
        raise HTTPException(
            REFUSAL_STATUS[err.code], detail={"reason": err.code, "message": str(err)}
        ) from err
    session.commit()
    return EnrolResponse(**vars(enrolled))


@router.post(
    "/api/v1/ops/enrolment-codes", response_model=CodeResponse, status_code=201, tags=["ops"]
)
def create_code(
    request: Request,
    session: SessionDep,
    body: CodeRequest,
    token: Annotated[ApiToken, Depends(require_role("admin", "operator"))],
) -> CodeResponse:
    ttl = timedelta(hours=body.ttl_hours or request.app.state.settings.enrol_code_ttl_hours)
    new = enrolment_service.create_code(
        session,
        site=body.site,
        region_code=body.region_code,
        ttl=ttl,
        created_by=f"token:{token.name}",
    )
    audit.record(
        session,
        actor=f"token:{token.name}",
        action="enrolment.code_created",
        target=f"region:{new.region_code}",
        detail={"site": new.site, "expires_at": new.expires_at.isoformat()},
    )
    session.commit()
    return CodeResponse(**vars(new))


@router.post("/api/v1/ops/kiosks/{kiosk_id}/retire", response_model=RetireResponse, tags=["ops"])
def retire(
    request: Request,
    session: SessionDep,
    kiosk_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")],
    token: Annotated[ApiToken, Depends(require_role("admin"))],
) -> RetireResponse:
    try:
        revoked = enrolment_service.retire(
            session,
            _ca(request),
            kiosk_id,
            broker_crl_file=request.app.state.settings.broker_crl_file,
        )
    except LookupError as err:
        raise HTTPException(404, detail=str(err)) from err
    audit.record(
        session,
        actor=f"token:{token.name}",
        action="kiosk.retire",
        target=kiosk_id,
        detail={"revoked_serials": revoked},
    )
    session.commit()
    return RetireResponse(kiosk_id=kiosk_id, revoked_serials=revoked)
