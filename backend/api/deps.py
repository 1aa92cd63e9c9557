"""Dependencies the routers declare (full-stack-template style aliases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.models import ApiToken
from backend.services import tokens as tokens_service


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


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
