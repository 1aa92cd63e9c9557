"""/ops/: the ops centre's pages (Chinese, server-rendered, no CDN), behind log-in.

Every page needs a logged-in user (``require_page``); every form is a POST
carrying the session's CSRF token in a hidden field, checked before anything
changes; every change is written to the audit log in the same transaction.
Technicians see the kiosks of their regions only and are refused others with
403. The charts are drawn in the browser by ECharts, served from the backend
(``backend/web/node_modules``, installed at set-up), with data from
``/api/v1/ops/fleet/charts``: the page itself stays a fast, small HTML.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.alerts.rules import RULE_TITLES
from backend.api.deps import SessionDep, client_address
from backend.api.ops_deps import COOKIE, AdminPage, AnyPage, OperatorPage, kiosk_in_scope
from backend.api.routes.ops_commands import publisher
from backend.models.base import utcnow
from backend.services import alerts as alerts_service
from backend.services import audit, throttle
from backend.services import auth as auth_service
from backend.services import commands as commands_service
from backend.services import enrolment as enrolment_service
from backend.services import events as events_service
from backend.services import fleet as fleet_service
from backend.services import health as health_service
from backend.services import regions as regions_service
from backend.services import users as users_service
from backend.services.auth import Principal
from provisioning import enrolment_qr

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
WEB = HERE.parent / "web" / "node_modules"
STATIC = {
    "echarts.min.js": WEB / "echarts" / "dist" / "echarts.min.js",
    "ops.js": HERE / "static" / "ops.js",
    "ops.css": HERE / "static" / "ops.css",
}
PAGE_SIZE = 100
MAX_CODES_AT_ONCE = 100  # a sheet for a technician's week of installs
LOGIN_CSRF_COOKIE = "fleet_login_csrf"
LOGIN_MAX_FAILURES = 5  # passwords tried for one user name within LOGIN_LOCKOUT: wait
LOGIN_LOCKOUT = timedelta(minutes=15)

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
DEVICE_NAMES = {"card_reader": "读卡器", "printer": "打印机", "camera": "摄像头"}
PAPER = {"ok": "充足", "low": "将尽", "out": "缺纸", "unknown": "未知"}


def _local(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(value: datetime | None) -> str:
    if value is None:
        return "—"
    s = (utcnow() - value).total_seconds()
    if s < 60:
        return f"{max(s, 0):.0f} 秒前"
    if s < 3600:
        return f"{s / 60:.0f} 分钟前"
    if s < 86400:
        return f"{s / 3600:.0f} 小时前"
    return f"{s / 86400:.0f} 天前"


templates.env.filters["when"] = _local
# JSON as people read it (Chinese as is); autoescape still escapes it for HTML
templates.env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
templates.env.filters["ago"] = _ago
templates.env.globals.update(
    EVENT_NAMES=EVENT_NAMES,
    DEVICE_STATES=DEVICE_STATES,
    DEVICE_NAMES=DEVICE_NAMES,
    PAPER=PAPER,
    RULE_TITLES=RULE_TITLES,
    ALERT_STATES=alerts_service.STATE_NAMES,
    SEVERITIES=alerts_service.SEVERITY_NAMES,
    COMMANDS=commands_service.COMMANDS,
    ROLE_NAMES=users_service.ROLE_NAMES,
    region_name=regions_service.full_name,
)


def render(
    request: Request,
    name: str,
    principal: Principal | None,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, {"me": principal, **context}, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


def check_csrf(principal: Principal, submitted: str | None) -> None:
    if not auth_service.csrf_ok(principal, submitted):
        raise HTTPException(403, detail="表单已失效（CSRF 校验失败），请刷新页面后重试")


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no //host, no scheme): no open redirect after log-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ops/"


# error pages: a person reads them ---------------------------------------------------------------
ERROR_TITLES = {
    403: "无权访问",
    404: "未找到",
    422: "输入有误",
    409: "操作冲突",
    503: "暂不可用",
}


def install_error_pages(app: FastAPI) -> None:
    """Errors under /ops/ become a Chinese page; the API keeps its JSON errors."""

    @app.exception_handler(StarletteHTTPException)
    async def _error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if (
            path.startswith("/ops/")
            and not path.startswith("/ops/static/")
            and exc.status_code in ERROR_TITLES
        ):
            detail = exc.detail if isinstance(exc.detail, str) else ERROR_TITLES[exc.status_code]
            context = {"title": ERROR_TITLES[exc.status_code], "detail": detail}
            return render(request, "error.html", None, context, status_code=exc.status_code)
        return await http_exception_handler(request, exc)

    @app.exception_handler(audit.AuditKeyUnavailable)
    async def _no_audit_key(request: Request, exc: audit.AuditKeyUnavailable) -> Response:
        logger.error("refused an action that cannot be audited: %s", exc)
        return await _error(
            request, StarletteHTTPException(503, detail="审计密钥不可用，操作未执行")
        )


# static files, from the backend itself (closed networks) ---------------------------------------
@router.get("/ops/static/{name}")
def static(name: str) -> FileResponse:
    path = STATIC.get(name)
    if path is None or not path.exists():
        raise HTTPException(404, detail="no such file")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


# log-in -----------------------------------------------------------------------------------------
def _throttled(request: Request, wait_s: int, next_path: str, csrf: str) -> HTMLResponse:
    """429: this client address made too many failed log-ins; the form again, with a wait."""
    minutes = max(1, -(-wait_s // 60))
    response = render(
        request,
        "login.html",
        None,
        {"next": next_path, "csrf": csrf, "error": "throttled", "wait_minutes": minutes},
        status_code=429,
    )
    response.headers["Retry-After"] = str(wait_s)
    return response


@router.get("/ops/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None, error: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, {"next": _safe_next(next), "csrf": token, "error": error}
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        path="/ops/login",
    )
    return response


@router.post("/ops/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form(max_length=500)] = "/ops/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf):
        raise HTTPException(403, detail="登录表单已失效，请刷新页面后重试")
    username = username.strip()
    if not username.isprintable():  # no NUL or control characters into counters and the log
        return _back("/ops/login?" + urlencode({"next": _safe_next(next), "error": "1"}))
    source = client_address(request)
    settings = request.app.state.settings
    # One attempt is spent (and committed) before the password is checked: however many
    # requests arrive at once, at most LOGIN_MAX_FAILURES passwords are tried per user name,
    # and at most FLEET_SOURCE_LOGIN_FAILURES wrong ones per client address.
    source_key = throttle.key("ops-login-source", source)
    got = throttle.take(
        session,
        source_key,
        limit=settings.source_login_failures,
        window=timedelta(seconds=settings.source_window_s),
    )
    if not got:
        session.commit()
        return _throttled(request, got.retry_after_s, _safe_next(next), csrf)
    user_key = throttle.key("ops-login", username[:64])
    got = throttle.take(session, user_key, limit=LOGIN_MAX_FAILURES, window=LOGIN_LOCKOUT)
    if not got:
        throttle.give_back(session, source_key)  # no password was checked
        session.commit()
        response = _back("/ops/login?" + urlencode({"next": _safe_next(next), "error": "locked"}))
        response.headers["Retry-After"] = str(got.retry_after_s)
        return response
    session.commit()
    user = users_service.check_password(session, username, password)
    if user is None:
        audit.record(
            session,
            actor=f"anonymous:{source}",
            action="login.failed",
            target=f"user:{username[:64]}",
            detail=None,
        )
        session.commit()
        return _back("/ops/login?" + urlencode({"next": _safe_next(next), "error": "1"}))
    throttle.clear(session, user_key)
    throttle.give_back(session, source_key)
    throttle.prune(session)
    cookie, principal = auth_service.start_session(session, user, hours=settings.session_hours)
    audit.record(session, actor=principal.actor, action="login", target=None, detail=None)
    session.commit()
    response = _back(_safe_next(next))
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ops/login")
    return response


@router.post("/ops/logout")
def logout(
    request: Request, session: SessionDep, me: AnyPage, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(me, csrf)
    auth_service.end_session(session, request.cookies.get(COOKIE, ""))
    audit.record(session, actor=me.actor, action="logout", target=None, detail=None)
    session.commit()
    response = _back("/ops/login")
    response.delete_cookie(COOKIE, path="/")
    return response


# the fleet ---------------------------------------------------------------------------------------
@router.get("/ops", response_class=HTMLResponse)
def ops_root() -> RedirectResponse:
    return RedirectResponse("/ops/")


@router.get("/ops/", response_class=HTMLResponse)
def fleet_page(
    request: Request,
    session: SessionDep,
    me: AnyPage,
    region: Annotated[str | None, Query(pattern=r"^(none|\d{2,12})$")] = None,
    state: Annotated[str | None, Query(pattern=r"^(online|offline|alert)$")] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    wall: bool = False,
) -> HTMLResponse:
    settings = request.app.state.settings
    now = utcnow()
    offline_after = settings.alert_offline_after_s
    counts_rows = regions_service.placement_counts(
        session, fleet_service.online_expr(now, offline_after), me.regions
    )
    tree = regions_service.tree(counts_rows)
    rows, total = fleet_service.list_fleet(
        session,
        now=now,
        offline_after_s=offline_after,
        regions=me.regions,
        region=region,
        state=state,
        q=q,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    alerts, alert_total = alerts_service.list_alerts(
        session, regions=me.regions, region=region, active=True, limit=20
    )
    focus = tree  # the grid shows the selected region's subdivisions
    if region and region != "none":
        for prefix, _ in regions_service.path_of(region):
            focus = focus.children.get(prefix, focus)
    filters = {k: v for k, v in {"region": region, "state": state, "q": q}.items() if v}
    return render(
        request,
        "fleet.html",
        me,
        {
            "tree": tree,
            "focus": focus,
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PAGE_SIZE)),
            "filters": filters,
            "query": urlencode(filters),
            "region": region,
            "state": state,
            "q": q or "",
            "alerts": alerts,
            "alert_total": alert_total,
            "open_alerts": alerts_service.open_count(session, me.regions),
            "wall": wall,
        },
    )


@router.get("/ops/kiosks/{kiosk_id}", response_class=HTMLResponse)
def kiosk_page(
    request: Request,
    session: SessionDep,
    me: AnyPage,
    kiosk_id: Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")],
    sent: str | None = None,
) -> HTMLResponse:
    kiosk_in_scope(session, me, kiosk_id)
    found = fleet_service.kiosk_row(session, kiosk_id)
    if found is None:
        raise HTTPException(404, detail="没有这台终端")
    kiosk, placement = found
    now = utcnow()
    settings = request.app.state.settings
    online = (
        kiosk.online
        and (now - kiosk.last_seen_at).total_seconds() <= settings.alert_offline_after_s
    )
    recent, _ = events_service.list_events(session, kiosk=kiosk_id, limit=50)
    alerts, _ = alerts_service.list_alerts(session, kiosk_id=kiosk_id, active=None, limit=50)
    return render(
        request,
        "kiosk.html",
        me,
        {
            "kiosk": kiosk,
            "online": online,
            "placement": placement,
            "events": recent,
            "history": health_service.history(session, kiosk_id, limit=60),
            "alerts": alerts,
            "commands": commands_service.list_for_kiosk(session, kiosk_id, now=now, limit=30),
            "sent": sent,
        },
    )


@router.post("/ops/kiosks/{kiosk_id}/commands")
def send_command(
    request: Request,
    session: SessionDep,
    me: AnyPage,
    kiosk_id: Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")],
    name: Annotated[str, Form(max_length=64)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(me, csrf)
    kiosk_in_scope(session, me, kiosk_id)
    if fleet_service.kiosk_row(session, kiosk_id) is None:
        raise HTTPException(404, detail="没有这台终端")
    try:
        view = commands_service.send(
            session,
            publisher(request),
            request.app.state.settings,
            kiosk_id=kiosk_id,
            name=name,
            args={},
            actor=me.actor,
            now=utcnow(),
        )
    except commands_service.CommandRefused as err:
        raise HTTPException(422, detail=f"未知指令：{name}") from err
    return _back(f"/ops/kiosks/{kiosk_id}?sent={view.id}#commands")


@router.post("/ops/alerts/{alert_id}/acknowledge")
def acknowledge_alert(
    session: SessionDep,
    me: AnyPage,
    alert_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    csrf: Annotated[str, Form()] = "",
    back: Annotated[str, Form(max_length=500)] = "/ops/alerts",
) -> Response:
    check_csrf(me, csrf)
    alert = alerts_service.get(session, alert_id)
    if alert is None:
        raise HTTPException(404, detail="没有这条告警")
    kiosk_in_scope(session, me, alert.kiosk_id)
    if alert.state == "open":
        alerts_service.acknowledge(session, alert_id, by=me.actor, now=utcnow())
        audit.record(
            session,
            actor=me.actor,
            action="alert.acknowledge",
            target=alert.kiosk_id,
            detail={"alert_id": alert_id, "rule": alert.rule},
        )
        session.commit()
    return _back(_safe_next(back))


@router.get("/ops/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: SessionDep,
    me: AnyPage,
    history: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    rows, total = alerts_service.list_alerts(
        session,
        regions=me.regions,
        active=None if history else True,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "alerts.html",
        me,
        {
            "alerts": rows,
            "total": total,
            "history": history,
            "page": page,
            "pages": max(1, math.ceil(total / PAGE_SIZE)),
        },
    )


# enrolment codes (issue 7) -----------------------------------------------------------------------
def _enrolment(
    request: Request, session: SessionDep, me: Principal, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "codes": enrolment_service.outstanding_codes(session),
        "ttl_hours": request.app.state.settings.enrol_code_ttl_hours,
        **extra,
    }
    return render(request, "enrolment.html", me, context, status_code=status_code)


@router.get("/ops/enrolment", response_class=HTMLResponse)
def enrolment_page(request: Request, session: SessionDep, me: OperatorPage) -> HTMLResponse:
    return _enrolment(request, session, me)


@router.post("/ops/enrolment/codes", response_class=HTMLResponse)
def create_code(
    request: Request,
    session: SessionDep,
    me: OperatorPage,
    site: Annotated[str, Form(max_length=200)],
    region_code: Annotated[str, Form(max_length=12)],
    ttl_hours: Annotated[float | None, Form(gt=0, le=24 * 30)] = None,
    count: Annotated[int, Form(ge=1, le=MAX_CODES_AT_ONCE)] = 1,
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """One code, or a sheet of them for a technician's week (each with its QR, shown once)."""
    check_csrf(me, csrf)
    region_code = region_code.strip()
    if not regions_service.known(region_code):
        return _enrolment(
            request,
            session,
            me,
            error=f"区划代码 {region_code} 不是已知的县、乡级代码",
            site=site,
            region_code=region_code,
            status_code=422,
        )
    settings = request.app.state.settings
    ttl = timedelta(hours=ttl_hours or settings.enrol_code_ttl_hours)
    try:
        made = [
            enrolment_service.create_code(
                session, site=site, region_code=region_code, ttl=ttl, created_by=me.actor
            )
            for _ in range(count)
        ]
    except ValueError as err:
        return _enrolment(request, session, me, error=str(err), status_code=422)
    audit.record(
        session,
        actor=me.actor,
        action="enrolment.code_created",
        target=f"region:{region_code}",
        detail={"site": made[0].site, "count": count, "expires_at": made[0].expires_at.isoformat()},
    )
    session.commit()
    # make_qr: a short text would otherwise become a Micro QR, which kiosk cameras do not read.
    sheet = [
        (new, segno.make_qr(enrolment_qr.payload(new.code, settings.public_base_url), error="m"))
        for new in made
    ]
    return _enrolment(
        request,
        session,
        me,
        new_codes=[(new, qr.svg_inline(scale=4, dark="#111827")) for new, qr in sheet],
    )


@router.post("/ops/enrolment/retire", response_class=HTMLResponse)
def retire_kiosk(
    request: Request,
    session: SessionDep,
    me: AdminPage,
    kiosk_id: Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")],
    confirm: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    from provisioning.ca import CAError, FleetCA, ca_passphrase

    check_csrf(me, csrf)
    if confirm != kiosk_id:
        return _enrolment(
            request, session, me, error="请再次输入终端编号以确认退役", status_code=422
        )
    try:
        ca = FleetCA.load(request.app.state.settings.ca_dir, ca_passphrase())
        revoked = enrolment_service.retire(
            session, ca, kiosk_id, broker_crl_file=request.app.state.settings.broker_crl_file
        )
    except LookupError:
        return _enrolment(
            request, session, me, error=f"没有已注册的终端 {kiosk_id}", status_code=404
        )
    except CAError as err:
        return _enrolment(request, session, me, error=f"证书中心不可用：{err}", status_code=503)
    audit.record(
        session,
        actor=me.actor,
        action="kiosk.retire",
        target=kiosk_id,
        detail={"revoked_serials": revoked},
    )
    session.commit()
    return _enrolment(request, session, me, retired=kiosk_id, revoked=revoked)


# users and the audit log (admin) ----------------------------------------------------------------
@router.get("/ops/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, me: AdminPage) -> HTMLResponse:
    return render(request, "users.html", me, {"users": users_service.list_users(session)})


@router.post("/ops/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    session: SessionDep,
    me: AdminPage,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    role: Annotated[str, Form(max_length=16)],
    display_name: Annotated[str, Form(max_length=100)] = "",
    regions: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(me, csrf)
    try:
        user = users_service.create_user(
            session,
            username=username.strip(),
            password=password,
            role=role,
            display_name=display_name.strip() or None,
            regions=regions.replace("，", ",").split(","),
        )
    except users_service.UserError as err:
        return render(
            request,
            "users.html",
            me,
            {"users": users_service.list_users(session), "error": str(err)},
            status_code=422,
        )
    audit.record(
        session,
        actor=me.actor,
        action="user.create",
        target=f"user:{user.username}",
        detail={"role": role, "regions": user.regions},
    )
    session.commit()
    return _back("/ops/users")


@router.post("/ops/users/{user_id}/active")
def set_user_active(
    session: SessionDep,
    me: AdminPage,
    user_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    active: Annotated[bool, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(me, csrf)
    if user_id == me.user_id and not active:
        raise HTTPException(409, detail="不能停用自己的账号")
    try:
        user = users_service.set_active(session, user_id, active)
    except LookupError as err:
        raise HTTPException(404, detail="没有这个用户") from err
    if not active:
        auth_service.end_sessions_of(session, user_id)
    audit.record(
        session,
        actor=me.actor,
        action="user.enable" if active else "user.disable",
        target=f"user:{user.username}",
        detail=None,
    )
    session.commit()
    return _back("/ops/users")


@router.post("/ops/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    session: SessionDep,
    me: AdminPage,
    user_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """A new password set by an admin; the user's open sessions end."""
    check_csrf(me, csrf)
    try:
        user = users_service.set_password(session, user_id, password)
    except LookupError as err:
        raise HTTPException(404, detail="没有这个用户") from err
    except users_service.UserError as err:
        users = users_service.list_users(session)
        return render(
            request, "users.html", me, {"users": users, "error": str(err)}, status_code=422
        )
    auth_service.end_sessions_of(session, user_id)
    audit.record(
        session,
        actor=me.actor,
        action="user.password_reset",
        target=f"user:{user.username}",
        detail=None,
    )
    session.commit()
    return _back("/ops/users")


@router.get("/ops/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    me: AdminPage,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    verify: bool = False,
) -> HTMLResponse:
    entries = audit.recent(session, limit=100, before=before)
    verdict = None
    if verify:  # walks the whole chain: on demand
        checkpoints = request.app.state.settings.audit_checkpoint_file
        verdict = audit.verify(session, checkpoint_file=checkpoints)
    return render(request, "audit.html", me, {"entries": entries, "verdict": verdict})
