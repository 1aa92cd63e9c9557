"""Who may use the ops centre: the dependencies every /ops page and /api/v1/ops endpoint declares.

A caller is a bearer token (``Authorization: Bearer gk_...``, from
``fleet-backend admin create-token``) or a log-in session (the HttpOnly
``fleet_session`` cookie; a session's POSTs to the API carry its CSRF token in
``X-CSRF-Token``, as its forms carry it in a hidden field). API endpoints answer 401/403; pages send a browser
that is not logged in to the log-in page. Technicians are limited to kiosks
placed in their regions: ``kiosk_in_scope`` refuses the others with 403.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.api.deps import SessionDep
from backend.services import auth as auth_service
from backend.services import fleet as fleet_service
from backend.services import tokens as tokens_service
from backend.services.auth import Principal

COOKIE = "fleet_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_ROLES = ("admin", "operator", "technician")

_bearer = HTTPBearer(
    auto_error=False, description="a token from `fleet-backend admin create-token`"
)


def principal_of(
    request: Request, session: SessionDep, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    if credentials is not None:
        token = tokens_service.authenticate(session, credentials.credentials)
        if token is None:
            raise HTTPException(
                401, detail="unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        return auth_service.token_principal(session, token)
    cookie = request.cookies.get(COOKIE)
    return auth_service.session_principal(session, cookie) if cookie else None


def require_ops(*roles: str):  # type: ignore[no-untyped-def]
    """For the API: a live token or session of one of ``roles``, else 401 or 403."""
    allowed = roles or ALL_ROLES

    def check(
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = principal_of(request, session, credentials)
        if principal is None:
            raise HTTPException(
                401, detail="log in or send a bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        if (
            credentials is None
            and request.method not in SAFE_METHODS
            and not auth_service.csrf_ok(principal, request.headers.get(CSRF_HEADER))
        ):
            # A browser session changing something through the API: it must prove it read
            # one of our pages (the CSRF token), as forms do; bearer tokens need not.
            raise HTTPException(403, detail=f"a session needs the {CSRF_HEADER} header here")
        if principal.role not in allowed:
            raise HTTPException(
                403, detail=f"this needs the role {' or '.join(allowed)}, not {principal.role}"
            )
        return principal

    return check


def require_page(*roles: str):  # type: ignore[no-untyped-def]
    """For pages: a logged-in user of one of ``roles``; others go to the log-in page, or get 403."""
    allowed = roles or ALL_ROLES

    def check(request: Request, session: SessionDep) -> Principal:
        cookie = request.cookies.get(COOKIE)
        principal = auth_service.session_principal(session, cookie) if cookie else None
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(
                303, detail="请先登录", headers={"Location": f"/ops/login?next={quote(target)}"}
            )
        if principal.role not in allowed:
            raise HTTPException(403, detail="您的角色无权访问此页面")
        return principal

    return check


def kiosk_in_scope(session: SessionDep, principal: Principal, kiosk_id: str) -> None:
    """403 for a technician and a kiosk outside their regions (or not placed anywhere)."""
    if principal.regions is None:
        return
    if not principal.covers(fleet_service.region_of(session, kiosk_id)):
        raise HTTPException(403, detail=f"kiosk {kiosk_id} is outside your regions")


AnyOps = Annotated[Principal, Depends(require_ops())]
Operator = Annotated[Principal, Depends(require_ops("admin", "operator"))]
Admin = Annotated[Principal, Depends(require_ops("admin"))]
AnyPage = Annotated[Principal, Depends(require_page())]
OperatorPage = Annotated[Principal, Depends(require_page("admin", "operator"))]
AdminPage = Annotated[Principal, Depends(require_page("admin"))]
