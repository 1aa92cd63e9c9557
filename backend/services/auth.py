"""Who is asking: log-in sessions, CSRF tokens, bearer tokens, and region scoping.

A ``Principal`` is what every ops page and endpoint gets once the caller is
known: a logged-in user (cookie) or a script (bearer token), with a role and,
for technicians, the GB/T 2260 code prefixes they may see and act on.

Sessions live server-side: the cookie carries 32 random bytes, the table only
their SHA-256, so a copy of the database opens no session. Each session has
its own CSRF token, which every POST form must echo in a hidden field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.models import ApiToken, LoginSession, TokenRegion, User
from backend.models.base import utcnow

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "token"
    name: str
    role: str
    regions: tuple[str, ...] | None  # None: the whole fleet; technicians: code prefixes
    display_name: str = ""
    user_id: int | None = None
    csrf_token: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.kind}:{self.name}"

    @property
    def scoped(self) -> bool:
        return self.regions is not None

    def covers(self, region_code: str | None) -> bool:
        """May this caller see and act on a kiosk placed in ``region_code``?"""
        if self.regions is None:
            return True
        if not region_code:
            return False
        return any(region_code.startswith(prefix) for prefix in self.regions)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _user_principal(user: User, login: LoginSession | None = None) -> Principal:
    return Principal(
        kind="user",
        name=user.username,
        role=user.role,
        regions=tuple(user.regions or ()) if user.role == "technician" else None,
        display_name=user.display_name,
        user_id=user.id,
        csrf_token=login.csrf_token if login else None,
    )


def start_session(session: Session, user: User, *, hours: float) -> tuple[str, Principal]:
    """A new log-in session for ``user``; returns the cookie value (shown once) and the principal."""
    now = utcnow()
    cookie = secrets.token_urlsafe(32)
    login = LoginSession(
        id_hash=_hash(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        last_seen_at=now,
    )
    session.add(login)
    user.last_login_at = now
    session.flush()
    return cookie, _user_principal(user, login)


def session_principal(
    session: Session, cookie: str, *, now: datetime | None = None
) -> Principal | None:
    """The principal of a live session cookie, or None (unknown, expired, user disabled)."""
    now = now or utcnow()
    if not cookie or len(cookie) > 128:
        return None
    row = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.id_hash == _hash(cookie))
    ).one_or_none()
    if row is None:
        return None
    login, user = row
    if login.expires_at <= now or not user.active:
        return None
    if now - login.last_seen_at > TOUCH_EVERY:
        login.last_seen_at = now
        session.commit()
    return _user_principal(user, login)


def end_session(session: Session, cookie: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.id_hash == _hash(cookie)))


def end_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


def prune_sessions(session: Session, *, now: datetime | None = None) -> int:
    result = session.execute(
        delete(LoginSession).where(LoginSession.expires_at <= (now or utcnow()))
    )
    return max(result.rowcount, 0)


def csrf_ok(principal: Principal, submitted: str | None) -> bool:
    """The form's CSRF field matches the session's token (constant-time comparison)."""
    if principal.csrf_token is None or not submitted:
        return False
    return hmac.compare_digest(principal.csrf_token.encode(), submitted.encode())


def token_principal(session: Session, token: ApiToken) -> Principal:
    regions: tuple[str, ...] | None = None
    if token.role == "technician":
        regions = tuple(
            session.scalars(select(TokenRegion.region_code).where(TokenRegion.token_id == token.id))
        )
    return Principal(
        kind="token", name=token.name, role=token.role, regions=regions, display_name=token.name
    )


def set_token_regions(session: Session, token_hash_of: str, regions: Sequence[str]) -> None:
    """Give the technician token whose plain text is ``token_hash_of`` its regions."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token_hash_of)))
    if token is None:
        raise LookupError("no such token")
    for code in sorted(set(regions)):
        session.add(TokenRegion(token_id=token.id, region_code=code))
    session.flush()
