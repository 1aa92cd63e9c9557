"""Dependencies the routers declare (full-stack-template style aliases)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from cryptography import x509
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.models import ApiToken
from backend.services import kiosk_auth
from backend.services import tokens as tokens_service
from provisioning.ca import CERT_FILE
from provisioning.request_signing import SignatureRefused


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    """The client's address, as the per-source limits count it. Behind a reverse proxy
    uvicorn takes it from X-Forwarded-For, but only from FORWARDED_ALLOW_IPS (loopback)."""
    return request.client.host if request.client else "?"


_bearer = HTTPBearer(
    auto_error=False, description="a token from `fleet-backend admin create-token`"
)


def require_role(*roles: str):
    """A dependency: the request carries a live bearer token of one of ``roles``."""

    def check(
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        if credentials is None:
            raise HTTPException(
                401, detail="a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        token = tokens_service.authenticate(session, credentials.credentials)
        if token is None:
            raise HTTPException(
                401, detail="unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        if token.role not in roles:
            raise HTTPException(
                403, detail=f"this needs the role {' or '.join(roles)}, not {token.role}"
            )
        return token

    return check


NONCE_PRUNE_EVERY_S = 60.0


def _fleet_ca_certificate(request: Request) -> x509.Certificate:
    """The fleet CA's certificate (public), read once per process."""
    state = request.app.state
    if getattr(state, "ca_certificate", None) is None:
        path = state.settings.ca_dir / CERT_FILE
        try:
            state.ca_certificate = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as err:
            raise HTTPException(503, detail=f"the fleet CA is not available: {err}") from err
    return state.ca_certificate


async def authenticated_kiosk(request: Request, session: SessionDep) -> str:
    """A dependency: the id of the enrolled kiosk that signed this request with its key.

    See provisioning/request_signing.py for the scheme; 401 names what was wrong.
    """
    ca_certificate = _fleet_ca_certificate(request)
    target = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    if request.scope.get("query_string"):
        target += "?" + request.scope["query_string"].decode("latin-1")
    try:
        kiosk_id = kiosk_auth.authenticate(
            session,
            ca_certificate,
            request.headers,
            method=request.method,
            target=target,
            body=await request.body(),
        )
    except SignatureRefused as err:
        raise HTTPException(
            401,
            detail={"reason": err.code, "message": str(err)},
            headers={"WWW-Authenticate": "KioskSignature"},
        ) from err
    state = request.app.state
    if time.monotonic() - getattr(state, "nonces_pruned_at", 0.0) > NONCE_PRUNE_EVERY_S:
        state.nonces_pruned_at = time.monotonic()
        kiosk_auth.prune_nonces(session)
    return kiosk_id


KioskDep = Annotated[str, Depends(authenticated_kiosk)]
