"""API tokens: SQL for creating, finding and revoking them. Only hashes are stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import ApiToken
from backend.models.base import utcnow

ROLES = ("admin", "operator", "technician", "reviewer")  # reviewer: moves applications (gov)
PREFIX = "gk_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, role: str, name: str) -> str:
    """A new token for ``role``; the plain text is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_hash(token), name=name, role=role, created_at=utcnow()))
    return token


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token matching ``token``, or None (unknown or revoked)."""
    if not token.startswith(PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    return row if row is not None and row.revoked_at is None else None
