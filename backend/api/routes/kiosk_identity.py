"""/api/v1/kiosk/me: a kiosk asks who the backend takes it for (``kioskctl selftest`` uses it)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from backend.api.deps import KioskDep, SessionDep
from backend.models import Enrolment

router = APIRouter(tags=["kiosk"])


class KioskIdentity(BaseModel):
    kiosk_id: str
    site: str
    region_code: str


@router.get("/api/v1/kiosk/me", response_model=KioskIdentity)
def whoami(kiosk_id: KioskDep, session: SessionDep) -> KioskIdentity:
    enrolment = session.get(Enrolment, kiosk_id)
    if enrolment is None:  # authenticated_kiosk checked it; retired between the two reads
        raise HTTPException(401, detail="this kiosk is no longer enrolled")
    return KioskIdentity(kiosk_id=kiosk_id, site=enrolment.site, region_code=enrolment.region_code)
