"""/ops/: the fleet at a glance, and one page per kiosk.

Server-rendered with Jinja2 from the same services as the API; no JavaScript
and nothing from a CDN, since government networks are closed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from backend.api.deps import SessionDep
from backend.services import events as events_service
from backend.services import kiosks as kiosks_service

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

EVENT_NAMES = {
    "session.started": "会话开始",
    "card.read": "读卡",
    "face.verified": "人脸核验",
    "application.submitted": "提交申请",
    "receipt.printed": "打印",
    "rating.submitted": "好差评",
    "session.ended": "会话结束",
    "device.fault": "设备故障",
    "device.recovered": "设备恢复",
}
DEVICE_STATES = {
    "ok": "正常",
    "degraded": "降级",
    "fault": "故障",
    "absent": "未连接",
    "unknown": "未知",
}
PAPER = {"ok": "充足", "low": "将尽", "out": "缺纸", "unknown": "未知"}


def _local(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["when"] = _local
templates.env.globals.update(EVENT_NAMES=EVENT_NAMES, DEVICE_STATES=DEVICE_STATES, PAPER=PAPER)


@router.get("/ops", response_class=HTMLResponse)
def ops_root() -> RedirectResponse:
    return RedirectResponse("/ops/")


@router.get("/ops/", response_class=HTMLResponse)
def fleet_page(request: Request, session: SessionDep) -> HTMLResponse:
    kiosks, _ = kiosks_service.list_kiosks(session, limit=500)
    recent, _ = events_service.list_events(session, limit=20)
    return templates.TemplateResponse(
        request,
        "fleet.html",
        {"kiosks": kiosks, "counts": kiosks_service.counts(session), "events": recent},
    )


@router.get("/ops/kiosks/{kiosk_id}", response_class=HTMLResponse)
def kiosk_page(
    request: Request,
    session: SessionDep,
    kiosk_id: Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")],
) -> HTMLResponse:
    kiosk = kiosks_service.get_kiosk(session, kiosk_id)
    if kiosk is None:
        raise HTTPException(404, detail="没有这台终端")
    recent, _ = events_service.list_events(session, kiosk=kiosk_id, limit=50)
    return templates.TemplateResponse(request, "kiosk.html", {"kiosk": kiosk, "events": recent})
